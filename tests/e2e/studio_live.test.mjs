// The studio as Cô Lan uses it from her laptop (issue 10), in Vietnamese: a blocked camera
// offers "Thử lại" (Try again) that asks again without a reload; "Phát trực tiếp" (Go live)
// is off while there is nothing to send; while live the page shows the broadcast's health
// (time on air, microphone level, resolution, frame rate, bitrate, loss); leaving asks first;
// a reload while live offers "Tiếp tục phát" (Resume), which makes the room live again and the
// students see frames again.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';

import { Api } from './lib/api.mjs';
import { expectVideoFlowing, launchBrowser, newPage, pageLog, videoState, waitFor } from './lib/browser.mjs';
import { englishLeft, loadCatalogues, untranslated, VI_BROWSER } from './lib/pages.mjs';
import { startLiveroom } from './lib/server.mjs';

const TITLE = 'Lớp học online';
const HOST = 'Cô Lan';

let server;
let browser;
let api;
let catalogues;

before(async () => {
  server = await startLiveroom();
  api = new Api(server.url);
  browser = await launchBrowser();
  catalogues = await loadCatalogues();
});

after(async () => {
  await browser?.close();
  await server?.close();
});

const context = (...pages) => async () =>
  pages.map((p, i) => `--- page ${i} log ---\n${pageLog(p)}`).join('\n') + `\n--- server log ---\n${server.logTail()}`;

const state = (page) => page.locator('#status').getAttribute('data-state');
const waitState = (page, wanted, ctx) =>
  waitFor(() => state(page), { what: `#status data-state=${wanted}`, accept: (s) => s === wanted, context: ctx });
const studioUrl = (room) => `${server.url}/studio/${room.room_id}#token=${room.host_token}`;
const enabled = (page, selector) => page.locator(selector).isEnabled();
const visible = (page, selector) => page.locator(selector).isVisible();

test('a blocked camera: Try again asks again without a reload; Go live is off with nothing to send', async () => {
  // A browser whose permission prompt is not auto-accepted: camera and microphone are refused
  // until granted, like a teacher who clicked "Block".
  const strict = await launchBrowser({ fakeMediaUi: false });
  try {
    const room = await api.create({ title: TITLE, host: HOST });
    const { context: ctxBrowser, page } = await newPage(strict, VI_BROWSER);
    const ctx = context(page);
    await page.goto(studioUrl(room));
    await page.evaluate(() => (window.__sameDocument = true));

    await waitFor(() => visible(page, '#media-blocked'), { what: '#media-blocked shown', context: ctx });
    assert.match(await page.locator('#media-blocked-text').textContent(), /Trình duyệt đã chặn quyền dùng camera/);
    assert.equal(await page.locator('#retry-media').textContent(), 'Thử lại');
    assert.equal(await enabled(page, '#go-live'), false, 'Go live off without a camera or microphone');
    assert.ok(await visible(page, '#go-live-hint'));
    assert.deepEqual(await untranslated(page), []);

    // She allows the camera in the site settings and presses Try again: no reload needed.
    await ctxBrowser.grantPermissions(['camera', 'microphone'], { origin: server.url });
    await page.click('#retry-media');
    await waitFor(() => videoState(page, '#preview'), { what: 'preview shows the camera', accept: (v) => v?.videoWidth > 0,
      context: ctx });
    await waitFor(() => visible(page, '#media-blocked'), { what: '#media-blocked gone', accept: (v) => !v, context: ctx });
    assert.equal(await page.evaluate(() => window.__sameDocument), true, 'the page was not reloaded');
    await waitFor(() => enabled(page, '#go-live'), { what: 'Go live enabled', context: ctx });
    assert.equal(await visible(page, '#go-live-hint'), false);

    // Nothing to send again (no video, no microphone): Go live goes off, and back on with a camera.
    const camera = await page.locator('#camera').inputValue();
    await page.selectOption('#camera', 'none');
    await page.selectOption('#microphone', 'none');
    await waitFor(() => enabled(page, '#go-live'), { what: 'Go live disabled', accept: (e) => !e, context: ctx });
    assert.ok(await visible(page, '#go-live-hint'));
    await page.selectOption('#camera', camera);
    await waitFor(() => enabled(page, '#go-live'), { what: 'Go live enabled with a camera', context: ctx });
    await ctxBrowser.close();
  } finally {
    await strict.close();
  }
});

test('live: health numbers, leaving asks first, a reload offers Resume, and resuming makes the room live again',
  async () => {
    const room = await api.create({ title: TITLE, host: HOST });
    const { page: studio } = await newPage(browser, VI_BROWSER);
    const { page: viewer } = await newPage(browser);
    const ctx = context(studio, viewer);
    const dialogs = [];
    studio.on('dialog', (d) => {
      dialogs.push(d.type());
      d.accept().catch(() => {});
    });

    await studio.goto(studioUrl(room));
    await waitFor(() => videoState(studio, '#preview'), { what: 'preview', accept: (v) => v?.videoWidth > 0, context: ctx });
    assert.equal(await studio.locator('#go-live').textContent(), 'Phát trực tiếp');
    // The microphone meter moves before going live (Chromium's fake microphone beeps).
    await waitFor(() => studio.locator('#mic-level').getAttribute('data-level'), { what: 'microphone level > 0',
      accept: (l) => Number(l) > 0, context: ctx });

    await studio.click('#go-live');
    await waitState(studio, 'live', ctx);
    await viewer.goto(`${server.url}/watch/${room.room_id}`);
    await expectVideoFlowing(viewer, { selector: '#video', context: ctx });

    // Health while live, in numbers.
    assert.ok(await visible(studio, '#health'));
    const health = await waitFor(() => studio.evaluate(() => Object.fromEntries(
      ['elapsed', 'resolution', 'fps', 'bitrate', 'loss'].map((k) => [k, document.getElementById(`health-${k}`).textContent]))),
    { what: 'health numbers', context: ctx, accept: (h) => /^\d+×\d+$/.test(h.resolution) && /\d/.test(h.fps) &&
      /\d.*(kbps|Mbps)/.test(h.bitrate) && h.elapsed !== '0:00:00' && /^\d+(,\d)? %$/.test(h.loss) });
    assert.match(health.fps, /khung hình\/giây/);
    assert.ok(await visible(studio, '#on-air'), 'time on air next to the status');
    assert.deepEqual(await untranslated(studio), []);
    assert.deepEqual(await englishLeft(studio, catalogues.en, catalogues.vi), []);

    // A reload while live: the browser asks first, then the page offers Resume.
    await studio.reload();
    assert.deepEqual(dialogs, ['beforeunload'], 'leaving while live asks first');
    await waitFor(() => visible(studio, '#resume-panel'), { what: 'Resume offered', context: ctx });
    assert.equal(await studio.locator('#resume').textContent(), 'Tiếp tục phát');
    // The reload ended the broadcast (its session was DELETEd on the way out).
    await waitFor(() => api.join(room.room_id), { what: 'room not live after the reload', accept: (r) => r.live === false,
      context: ctx });

    await studio.click('#resume');
    await waitState(studio, 'live', ctx);
    await waitFor(() => api.join(room.room_id), { what: 'room live again', accept: (r) => r.live === true, context: ctx });
    await expectVideoFlowing(viewer, { selector: '#video', context: ctx });
    await waitFor(() => viewer.locator('#status').getAttribute('data-state'), { what: 'viewer live again',
      accept: (s) => s === 'live', context: ctx });
    assert.equal(await visible(studio, '#resume-panel'), false);

    // Stopped on purpose: a reload neither asks nor offers Resume.
    await studio.click('#stop');
    await waitState(studio, 'waiting', ctx);
    await studio.reload();
    await waitFor(() => studio.locator('#room-title').textContent(), { what: 'studio loaded', accept: (t) => t === TITLE,
      context: ctx });
    await waitFor(() => enabled(studio, '#go-live'), { what: 'Go live ready', context: ctx });
    assert.equal(await visible(studio, '#resume-panel'), false);
    assert.deepEqual(dialogs, ['beforeunload']);
    await studio.context().close();
    await viewer.context().close();
  });
