// The smaller pieces of issue 10's pages, on loopback, in a Vietnamese browser: the lobby asks for
// the API key once (servers with --api-key), remembers it and asks again when the server refuses
// it; public and unlisted rooms; a studio opened on 127.0.0.1 says its students' link works only
// on this computer (and shows no QR code for it); the "not found" page in both languages; and a
// watch page whose event stream cannot be opened falls back to asking, and still learns that the
// room ended and why. (The whole class over HTTPS on a LAN address: class_https.test.mjs.)
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';

import { Api } from './lib/api.mjs';
import { launchBrowser, newPage, pageLog, waitFor } from './lib/browser.mjs';
import { EN_BROWSER, englishLeft, loadCatalogues, untranslated, VI_BROWSER } from './lib/pages.mjs';
import { startLiveroom } from './lib/server.mjs';

const TITLE = 'Lớp học online';
const HOST = 'Cô Lan';
const KEY = 'k_lop_hoc_0123456789';

let server;
let api;
let browser;
let en;
let vi;

before(async () => {
  server = await startLiveroom({ extraArgs: ['--api-key', KEY] });
  api = new Api(server.url, { apiKey: KEY });
  browser = await launchBrowser();
  ({ en, vi } = await loadCatalogues());
});

after(async () => {
  await browser?.close();
  await server?.close();
});

const context = (page) => async () => `--- page log ---\n${pageLog(page)}\n--- server log ---\n${server.logTail()}`;
const text = (page, selector) => page.locator(selector).textContent();
const visible = (page, selector) => page.locator(selector).isVisible();

test('the lobby asks for the API key once, remembers it, and asks again when the server refuses it', async () => {
  const { page } = await newPage(browser, VI_BROWSER);
  const ctx = context(page);
  await page.goto(`${server.url}/`);
  await waitFor(() => visible(page, '#api-key-form'), { what: 'API key asked for first', context: ctx });
  assert.equal(await visible(page, '#create-form'), false);
  assert.equal(await text(page, '#api-key-notice'), vi['lobby.api_key_needed']);

  await page.click('#api-key-save');
  assert.equal(await text(page, '#api-key-error'), vi['lobby.api_key_empty']);
  await page.fill('#api-key', 'not the key');
  await page.click('#api-key-save');
  await waitFor(() => text(page, '#api-key-error'), { what: 'wrong key refused',
    accept: (t) => t === vi['lobby.api_key_rejected'], context: ctx });
  assert.equal(await visible(page, '#create-form'), false);

  await page.fill('#api-key', KEY);
  await page.click('#api-key-save');
  await waitFor(() => visible(page, '#create-form'), { what: 'create form after the right key', context: ctx });
  assert.equal(await page.evaluate(() => localStorage.getItem('liveroom.apiKey')), KEY);
  assert.deepEqual(await untranslated(page), []);

  // Remembered: the next visit goes straight to the form.
  await page.reload();
  await waitFor(() => visible(page, '#create-form'), { what: 'create form on the next visit', context: ctx });
  assert.equal(await visible(page, '#api-key-form'), false);
  assert.ok(await visible(page, '#api-key-change'));

  // The server's key changed since: create is refused, the key is asked for again (with why), the
  // title and name are kept, and the room is created with the new key.
  await page.evaluate(() => localStorage.setItem('liveroom.apiKey', 'the old key'));
  await page.reload();
  await waitFor(() => visible(page, '#create-form'), { what: 'create form with the old key', context: ctx });
  await page.fill('#title', TITLE);
  await page.fill('#host', HOST);
  await page.click('#create');
  await waitFor(() => visible(page, '#api-key-form'), { what: 'key asked for again', context: ctx });
  assert.equal(await text(page, '#api-key-error'), vi['lobby.api_key_rejected']);
  assert.equal(await page.evaluate(() => localStorage.getItem('liveroom.apiKey')), null, 'the refused key is forgotten');
  await page.fill('#api-key', KEY);
  await page.click('#api-key-save');
  await waitFor(() => visible(page, '#create-form'), { what: 'create form again', context: ctx });
  assert.equal(await page.locator('#title').inputValue(), TITLE);
  await page.click('#create');
  await page.waitForURL(/\/studio\/live_\w+$/);
  const roomId = new URL(page.url()).pathname.split('/').pop();
  assert.equal((await api.room(roomId)).visibility, 'public', 'public unless chosen otherwise');

  // Opened on 127.0.0.1, the students' link leads nowhere on their phones: the studio says so in
  // words, with what to do, and shows no QR code for it.
  await waitFor(() => visible(page, '#watch-link-local'), { what: 'this-computer-only warning', context: ctx });
  const warning = await text(page, '#watch-link-local');
  assert.ok(warning.startsWith('Đường liên kết này chỉ mở được trên chính máy tính này'), warning);
  assert.ok(warning.includes(new URL(server.url).host), warning);
  assert.ok(warning.includes('--public-url'), warning);
  assert.equal(await visible(page, '#watch-qr-figure'), false);
  assert.deepEqual(await untranslated(page), []);
  assert.deepEqual(await englishLeft(page, en, vi, { ignore: [TITLE, HOST] }), []);
  await page.context().close();
});

test('the lobby lists public rooms only; an unlisted one is reached by its link', async () => {
  const open = await api.create({ title: 'Lớp công khai', host: HOST });
  const hidden = await api.create({ title: 'Lớp riêng', host: HOST, visibility: 'unlisted' });
  const { page } = await newPage(browser, VI_BROWSER);
  await page.goto(`${server.url}/`);
  await waitFor(() => page.locator('#live-rooms').getAttribute('data-loaded'), { what: 'lobby loaded',
    accept: (v) => v === 'true', context: context(page) });
  assert.equal(await page.locator(`li[data-room-id="${open.room_id}"]`).count(), 1);
  assert.equal(await page.locator(`li[data-room-id="${hidden.room_id}"]`).count(), 0);
  await page.goto(hidden.watch_url);
  await waitFor(() => text(page, '#room-title'), { what: 'unlisted room by its link', accept: (t) => t === 'Lớp riêng',
    context: context(page) });
  await page.context().close();
});

test('an address nothing is at: a "not found" page in the reader\'s language, with the way to the lobby', async () => {
  for (const [options, language] of [[VI_BROWSER, 'vi'], [EN_BROWSER, 'en']]) {
    const words = language === 'vi' ? vi : en;
    const { page } = await newPage(browser, options);
    const reply = await page.goto(`${server.url}/lop-hoc/khong-co`);
    assert.equal(reply.status(), 404);
    await waitFor(() => text(page, '#not-found-heading'), { what: 'not found heading',
      accept: (t) => t === words['common.not_found_heading'], context: context(page) });
    assert.equal(await page.title(), words['common.not_found_doc_title']);
    assert.equal(await page.evaluate(() => document.documentElement.lang), language);
    assert.deepEqual(await untranslated(page), []);
    const left = language === 'vi' ? await englishLeft(page, en, vi) : await englishLeft(page, vi, en);
    assert.deepEqual(left, []);
    await page.click('#to-lobby');
    await page.waitForURL(`${server.url}/`);
    await page.context().close();
  }
});

test('when the event stream cannot be opened, the watch page asks instead, and still learns why the room ended',
  async () => {
    const room = await api.create({ title: TITLE, host: HOST });
    const { page } = await newPage(browser, VI_BROWSER);
    const ctx = context(page);
    // A proxy that refuses streaming replies.
    await page.route('**/api/livestream/rooms/*/events', (route) => route.fulfill({ status: 502, body: 'no streaming' }));
    const joins = [];
    page.on('request', (r) => {
      if (r.url().includes('/api/livestream/join')) joins.push(r.url());
    });
    await page.goto(room.watch_url);
    await waitFor(() => page.locator('#status').getAttribute('data-state'), { what: 'waiting (from a poll)',
      accept: (s) => s === 'waiting', context: ctx });
    assert.ok(joins.length >= 1, 'asked the room with join');
    await api.end(room.room_id, room.host_token);
    await waitFor(() => page.locator('#status').getAttribute('data-state'), { what: 'ended (from a poll)',
      accept: (s) => s === 'ended', context: ctx });
    await waitFor(() => page.locator('#status').getAttribute('data-ended-reason'), { what: 'why it ended',
      accept: (r) => r === 'host', context: ctx });
    assert.equal(await text(page, '#overlay-reason'), `${HOST} đã kết thúc buổi phát.`);
    assert.equal(await text(page, '#poster-title'), TITLE);
    await page.context().close();
  });
