// The product end to end in headless Chromium against a real `liveroom serve` on its embedded
// media server: create a room in the lobby, go live in the studio (WHIP), watch in a second
// browser context (WHEP) — for VP8 and for H.264 — then the watch page's live/ended states, a
// viewer that arrives before the broadcaster, and a broadcast stopped and restarted.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';

import { Api } from './lib/api.mjs';
import { expectVideoFlowing, launchBrowser, newPage, outboundVideo, pageLog, videoState, waitFor } from
  './lib/browser.mjs';
import { startLiveroom } from './lib/server.mjs';

let server;
let browser;
let api;

before(async () => {
  server = await startLiveroom();
  api = new Api(server.url);
  browser = await launchBrowser();
});

after(async () => {
  await browser?.close();
  await server?.stop();
});

const context = (...pages) => async () =>
  pages.map((p, i) => `--- page ${i} log ---\n${pageLog(p)}`).join('\n') + `\n--- server log ---\n${server.logTail()}`;

async function state(page) {
  return page.locator('#status').getAttribute('data-state');
}

async function waitState(page, wanted, ctx) {
  return waitFor(() => state(page), { what: `#status data-state=${wanted}`, accept: (s) => s === wanted, context: ctx });
}

// Creates a room through the lobby form; returns {page (the studio), roomId}.
async function createInLobby(title) {
  const { page } = await newPage(browser);
  await page.goto(`${server.url}/`);
  await page.fill('#title', title);
  await page.fill('#host', 'e2e_teacher');
  await page.click('#create');
  await page.waitForURL(/\/studio\/live_/, { timeout: 30000 });
  const roomId = new URL(page.url()).pathname.split('/').pop();
  return { page, roomId };
}

async function goLive(studio, codec) {
  // The preview shows the camera first, as a user sees it before pressing Go live.
  await waitFor(() => videoState(studio, '#preview'), { what: 'studio preview', accept: (v) => v?.videoWidth > 0,
    context: context(studio) });
  if (codec) await studio.selectOption('#codec', codec);
  await studio.click('#go-live');
  await waitState(studio, 'live', context(studio));
}

async function openWatch(roomId) {
  const { page } = await newPage(browser);
  await page.goto(`${server.url}/watch/${roomId}`);
  return page;
}

for (const codec of ['vp8', 'h264']) {
  test(`lobby -> studio goes live -> a second browser watches (${codec})`, async () => {
    const { page: studio, roomId } = await createInLobby(`e2e ${codec}`);
    await goLive(studio, codec);
    const out = await waitFor(() => outboundVideo(studio), { what: 'outbound video codec',
      accept: (s) => s?.codec?.mimeType, context: context(studio) });
    assert.equal(out.codec.mimeType.toLowerCase(), `video/${codec}`);

    const watch = await openWatch(roomId);
    const stats = await expectVideoFlowing(watch, { selector: '#video', context: context(studio, watch) });
    assert.equal(stats.codec?.mimeType?.toLowerCase(), `video/${codec}`);
    await waitState(watch, 'live', context(watch));
    // The viewer count reaches the pages through the rooms API.
    await waitFor(() => api.join(roomId), { what: 'viewers = 1', accept: (r) => r.viewers === 1 && r.live === true,
      context: context(studio, watch) });
    await waitFor(() => studio.locator('#viewers').getAttribute('data-count'), { what: 'studio shows 1 viewer',
      accept: (c) => c === '1', context: context(studio) });

    await studio.click('#end-room');
    await studio.click('#end-room-confirm');
    await waitState(watch, 'ended', context(studio, watch));
    await waitState(studio, 'ended', context(studio));
    await studio.context().close();
    await watch.context().close();
  });
}

test('a viewer who arrives before the broadcaster gets video once it goes live, and again after a restart',
  async () => {
    const { page: studio, roomId } = await createInLobby('early viewer');
    const watch = await openWatch(roomId);
    await waitState(watch, 'waiting', context(watch));

    await goLive(studio);
    await expectVideoFlowing(watch, { selector: '#video', context: context(studio, watch) });
    await waitState(watch, 'live', context(watch));

    await studio.click('#stop');
    await waitState(studio, 'waiting', context(studio));
    await waitState(watch, 'waiting', context(studio, watch));

    await goLive(studio);
    await waitState(watch, 'live', context(studio, watch));
    await expectVideoFlowing(watch, { selector: '#video', context: context(studio, watch) });
    await studio.context().close();
    await watch.context().close();
  });
