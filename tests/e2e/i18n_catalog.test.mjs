// The pages' word catalogues (web/i18n/en.js, vi.js) without a browser: both have the same keys
// and the same {placeholders}, every key the pages use exists, every catalogue key is used, the
// Vietnamese is actually translated, the API error codes it translates are codes the server has,
// and the error words fall back to the server's message for codes it does not know.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';

import { loadCatalogues } from './lib/pages.mjs';
import { REPO } from './lib/server.mjs';

const WEB = path.join(REPO, 'web');
const { en, vi } = await loadCatalogues();
const read = (...parts) => fs.readFileSync(path.join(...parts), 'utf8');
const pageFiles = fs.readdirSync(WEB).filter((f) => f.endsWith('.html'));
const scriptFiles = fs.readdirSync(path.join(WEB, 'js')).filter((f) => f.endsWith('.js'));

// Keys built at run time from a stable name: the family and the names the code can produce.
const DYNAMIC = {
  'studio.health_warn_': ['loss', 'bandwidth', 'low_bitrate', 'cpu'], // health.js problemOf()
  'error.code.': null, // any API error code (checked against the server's below)
  'error.status.': null, // HTTP statuses
};
// The codes the watch page, the studio and the lobby meet most (issue 10): must be translated.
const REQUIRED_CODES = ['invalid_field', 'room_ended', 'room_not_found', 'too_many_sessions', 'rate_limited',
  'media_busy', 'unauthorized', 'forbidden', 'publisher_exists', 'unsupported_codec', 'mode_unsupported'];
// Codes made by the pages themselves (js/api.js, js/whip.js), not by the server.
const PAGE_CODES = ['bad_answer', 'bad_reply'];
// Texts that are the same in both languages on purpose: product, codec and protocol names, OBS's
// own English labels, units, and lines made only of placeholders.
const SAME_ON_PURPOSE = new Set(['lobby.studio', 'studio.tagline', 'studio.doc_title', 'studio.doc_title_room',
  'studio.mode_webrtc', 'studio.device_camera_n', 'studio.what_camera', 'studio.health_kbps', 'studio.health_mbps',
  'studio.health_loss_value', 'obs.bearer_token', 'obs.srt_url', 'obs.srt_stream_id', 'watch.doc_title_room',
  'common.press_ctrl_c']);

function placeholders(text) {
  return [...text.matchAll(/\{(\w+)\}/g)].map((m) => m[1]).sort();
}

function keysUsedByPages() {
  const used = new Map(); // key -> where
  for (const file of pageFiles) {
    for (const m of read(WEB, file).matchAll(/data-i18n(?:-[a-z-]+)?="([^"]+)"/g)) used.set(m[1], `web/${file}`);
  }
  const KEY = /["'`]((?:common|lobby|studio|watch|player|obs|error|time)\.[a-z0-9_]+(?:\.[a-z0-9_]+)*)["'`]/g;
  for (const file of scriptFiles) {
    for (const m of read(WEB, 'js', file).matchAll(KEY)) used.set(m[1], `web/js/${file}`);
  }
  return used;
}

test('en and vi have the same keys and the same placeholders, all non-empty', () => {
  const enKeys = Object.keys(en).sort();
  const viKeys = Object.keys(vi).sort();
  assert.deepEqual(enKeys.filter((k) => !(k in vi)), [], 'keys in en.js missing from vi.js');
  assert.deepEqual(viKeys.filter((k) => !(k in en)), [], 'keys in vi.js missing from en.js');
  for (const key of enKeys) {
    assert.equal(typeof en[key], 'string', `en ${key}`);
    assert.equal(typeof vi[key], 'string', `vi ${key}`);
    assert.ok(en[key].trim() && vi[key].trim(), `${key} is empty in a catalogue`);
    assert.deepEqual(placeholders(vi[key]).filter((p, i, a) => a.indexOf(p) === i),
      placeholders(en[key]).filter((p, i, a) => a.indexOf(p) === i), `${key}: placeholders differ`);
  }
});

test('every key the pages use exists in both catalogues, and every catalogue key is used', () => {
  const used = keysUsedByPages();
  const missing = [...used].filter(([key]) => !(key in en) || !(key in vi)).map(([k, where]) => `${k} (${where})`);
  assert.deepEqual(missing, [], 'keys used by the pages but not in the catalogues');

  for (const [prefix, names] of Object.entries(DYNAMIC)) {
    for (const name of names || []) assert.ok(`${prefix}${name}` in en, `${prefix}${name} missing`);
  }
  const unused = Object.keys(en).filter((key) => !used.has(key) && !Object.keys(DYNAMIC).some((p) => key.startsWith(p)));
  assert.deepEqual(unused, [], 'catalogue keys no page uses (remove them, or use them)');
});

test('the Vietnamese is translated: only names and units read the same as in English', () => {
  const same = Object.keys(en).filter((k) => en[k] === vi[k] && !SAME_ON_PURPOSE.has(k));
  assert.deepEqual(same, [], 'vi.js entries identical to English');
  // Written with its diacritics (a catalogue typed without them would pass the checks above).
  assert.equal(vi['studio.go_live'], 'Phát trực tiếp');
  assert.equal(vi['studio.end_room'], 'Kết thúc phòng');
  assert.equal(vi['studio.media_retry'], 'Thử lại');
  assert.match(vi['watch.status_waiting'], /^Đang chờ \{host\}/);
});

test('API error codes: the usual ones are translated, and every translated code exists on the server', () => {
  for (const code of REQUIRED_CODES) assert.ok(`error.code.${code}` in en, `error.code.${code} missing`);
  // The server's codes: the one table of codes and HTTP statuses, codes::kTable in
  // src/common/error.hpp ({kName, status} entries naming the constants above it).
  const header = read(REPO, 'src/common/error.hpp');
  const constants = Object.fromEntries([...header.matchAll(/(k\w+)\s*=\s*"([a-z_]+)"/g)].map((m) => [m[1], m[2]]));
  const table = header.slice(header.indexOf('kTable'));
  const serverCodes = new Set([...table.matchAll(/\{(k\w+),\s*\d+\}/g)].map((m) => constants[m[1]]));
  assert.ok(serverCodes.has('room_not_found') && serverCodes.has('too_many_sessions'), 'could not read the server codes');
  const unknown = Object.keys(en).filter((k) => k.startsWith('error.code.')).map((k) => k.slice('error.code.'.length))
    .filter((code) => !serverCodes.has(code) && !PAGE_CODES.includes(code));
  assert.deepEqual(unknown, [], 'translations for codes the server does not have (typo?)');
});

test('errorText: a known code in words, an unknown one in the server\'s words, else the status', async () => {
  const { errorText } = await import(pathToFileURL(path.join(WEB, 'js', 'ui.js')).href);
  const { ApiError } = await import(pathToFileURL(path.join(WEB, 'js', 'api.js')).href);
  const known = new ApiError('no room with id live_x', { status: 404, code: 'room_not_found', serverMessage: 'no room with id live_x' });
  assert.equal(errorText(known), en['error.code.room_not_found']);
  const field = new ApiError('x', { status: 400, code: 'invalid_field', serverMessage: 'title must not be empty' });
  assert.equal(errorText(field), en['error.code.invalid_field'].replace('{detail}', 'Title must not be empty.'));
  const unknown = new ApiError('x', { status: 418, code: 'teapot', serverMessage: 'i am a teapot' });
  assert.equal(errorText(unknown), 'I am a teapot.');
  const bare = new ApiError('HTTP 502', { status: 502, code: 'http_502' });
  assert.equal(errorText(bare), en['error.status.502']);
  assert.equal(errorText({ key: 'lobby.load_failed', params: { reason: () => errorText(bare) } }),
    en['lobby.load_failed'].replace('{reason}', en['error.status.502']));
});

test('language choice: vi* is Vietnamese, en* and anything else English, the first match wins', async () => {
  const { languageFromTags } = await import(pathToFileURL(path.join(WEB, 'js', 'i18n.js')).href);
  assert.equal(languageFromTags(['vi-VN', 'vi', 'en-US']), 'vi');
  assert.equal(languageFromTags(['vi']), 'vi');
  assert.equal(languageFromTags(['en-US', 'vi']), 'en');
  assert.equal(languageFromTags(['fr-FR', 'vi-VN']), 'vi');
  assert.equal(languageFromTags(['fr-FR', 'de']), 'en');
  assert.equal(languageFromTags([]), 'en');
  assert.equal(languageFromTags(undefined), 'en');
});
