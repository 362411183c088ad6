// The watch page as a student on a phone meets it (issue 10): Cô Lan's "Lớp học online" in
// Vietnamese on a 390x844 touch screen. The title card while waiting, "Live" only once frames
// arrive (not when the connection merely exists), the player's controls (mute/unmute both ways,
// volume, full screen), the picture filling the width (and the screen when turned sideways),
// "reconnecting" with the reason (network lost, the host left), the ended room's title, and
// "not found" at once for an unknown or truncated link.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';

import { Api } from './lib/api.mjs';
import { expectVideoFlowing, launchBrowser, newPage, pageLog, videoState, waitFor } from './lib/browser.mjs';
import { box, PHONE, untranslated, VI_BROWSER } from './lib/pages.mjs';
import { startLiveroom } from './lib/server.mjs';

const TITLE = 'Lớp học online';
const HOST = 'Cô Lan';

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
  await server?.close();
});

const context = (...pages) => async () =>
  pages.map((p, i) => `--- page ${i} log ---\n${pageLog(p)}`).join('\n') + `\n--- server log ---\n${server.logTail()}`;

const status = (page) => page.evaluate(() => {
  const el = document.getElementById('status');
  return { state: el.dataset.state, reason: el.dataset.reason || null, text: el.textContent };
});

function waitStatus(page, accept, what, ctx) {
  return waitFor(() => status(page), { what, accept, context: ctx });
}

const text = (page, selector) => page.locator(selector).textContent();
const visible = (page, selector) => page.locator(selector).isVisible();

async function phoneViewer(roomId) {
  const { page } = await newPage(browser, { ...VI_BROWSER, ...PHONE });
  await page.goto(`${server.url}/watch/${roomId}`);
  return page;
}

// A WHIP publisher that connects but sends nothing yet (its transceivers have no tracks), made
// with the pages' own client in a page of the server's origin; sendCamera() starts frames.
async function barePublisher(room) {
  const { page } = await newPage(browser);
  await page.goto(`${server.url}/healthz`);
  await page.evaluate(async ({ url, token }) => {
    const { publish } = await import('/js/whip.js');
    window.pub = await publish(url, new MediaStream(), { token });
  }, { url: `/whip/${room.room_id}`, token: room.host_token });
  return {
    page,
    sendCamera: () => page.evaluate(async () => {
      const media = await navigator.mediaDevices.getUserMedia({ video: { width: 640, height: 360 } });
      const sender = window.pub.pc.getTransceivers().find((t) => t.receiver.track.kind === 'video').sender;
      await sender.replaceTrack(media.getVideoTracks()[0]);
    }),
    stop: () => page.evaluate(() => window.pub.stop()),
  };
}

test('a phone viewer: title card, Live only after frames, controls, full screen, reasons, the ended title', async () => {
  const room = await api.create({ title: TITLE, host: HOST });
  const viewer = await phoneViewer(room.room_id);
  const ctx = context(viewer);

  // Waiting: the title card names the class and the teacher, in Vietnamese.
  await waitStatus(viewer, (s) => s.state === 'waiting', 'waiting', ctx);
  assert.equal(await viewer.evaluate(() => document.documentElement.lang), 'vi');
  assert.ok(await visible(viewer, '#overlay'), 'title card shown while waiting');
  assert.equal(await text(viewer, '#poster-title'), TITLE);
  assert.match(await text(viewer, '#poster-host'), /Cô Lan/);
  assert.equal(await text(viewer, '#overlay-text'), `Đang chờ ${HOST} bắt đầu phát…`);
  assert.equal(await visible(viewer, '#live-badge'), false);

  // The phone's network drops (the polls fail): "reconnecting" and why; back when it returns.
  await viewer.context().setOffline(true);
  const offline = await waitStatus(viewer, (s) => s.reason === 'network_lost', 'reason network_lost', ctx);
  assert.match(offline.text, /^(Đang kết nối lại…|Kết nối lại sau \d+ giây…)$/);
  assert.match(await text(viewer, '#overlay-reason'), /Mất kết nối mạng/);
  await viewer.context().setOffline(false);
  await waitStatus(viewer, (s) => s.state === 'waiting' && !s.reason, 'waiting again once online', ctx);

  // A broadcaster connects but sends no frames: the room is live, the page is not.
  const pub = await barePublisher(room);
  await waitFor(() => api.join(room.room_id), { what: 'room live', accept: (r) => r.live === true, context: context(viewer, pub.page) });
  await waitStatus(viewer, (s) => s.state === 'connecting', 'connecting while no frames', context(viewer, pub.page));
  const whep = await waitFor(() => viewer.evaluate(() => window.__e2e.pcs.at(-1)?.connectionState), {
    what: 'viewer WHEP connected', accept: (s) => s === 'connected', context: ctx });
  assert.equal(whep, 'connected');
  for (let i = 0; i < 8; i++) { // a few samples of the page's own 0.5 s media check
    const s = await status(viewer);
    assert.notEqual(s.state, 'live', 'Live shown although no frame has arrived');
    await new Promise((r) => setTimeout(r, 250));
  }
  assert.ok(await visible(viewer, '#overlay'), 'title card stays until frames arrive');

  // Frames: Live, the badge, the picture.
  await pub.sendCamera();
  await expectVideoFlowing(viewer, { selector: '#video', context: context(viewer, pub.page) });
  await waitStatus(viewer, (s) => s.state === 'live', 'live', ctx);
  assert.equal(await text(viewer, '#status'), 'Trực tiếp');
  assert.ok(await visible(viewer, '#live-badge'));
  assert.equal(await visible(viewer, '#overlay'), false);

  // Controls a phone user needs, visible and inside the screen; the picture uses the width.
  for (const id of ['#controls', '#play-pause', '#mute', '#volume', '#fullscreen']) {
    assert.ok(await visible(viewer, id), `${id} visible`);
    const b = await box(viewer, id);
    assert.ok(b.x >= 0 && b.x + b.width <= 390 && b.y + b.height <= 844, `${id} on screen: ${JSON.stringify(b)}`);
  }
  // The player fills the phone's screen: the whole width, at least half the height, and the
  // room's title still on screen under it (no strip of video over an empty page).
  const video = await box(viewer, '#video');
  const title = await box(viewer, '#room-title');
  assert.ok(video.width >= 380, `video width ${video.width}`);
  assert.ok(video.height >= 844 / 2, `video height ${video.height}`);
  assert.ok(title.y >= video.y + video.height && title.y + title.height <= 844, `title under the player ${JSON.stringify(title)}`);
  const picture = await videoState(viewer, '#video');
  const shown = Math.min(video.width / picture.videoWidth, video.height / picture.videoHeight) * picture.videoWidth;
  assert.ok(shown >= 380, `the picture uses the width (${shown} px of ${video.width})`);
  assert.deepEqual(await untranslated(viewer), []);

  // Mute and unmute, both ways, and the slider in step.
  const media = () => viewer.evaluate(() => {
    const v = document.getElementById('video');
    return { muted: v.muted, volume: v.volume, paused: v.paused, pressed: document.getElementById('mute').getAttribute('aria-pressed'),
      slider: Number(document.getElementById('volume').value) };
  });
  assert.equal((await media()).muted, true, 'starts muted (autoplay rules)');
  await viewer.tap('#unmute');
  let m = await waitFor(media, { what: 'unmuted', accept: (x) => !x.muted, context: ctx });
  assert.equal(m.pressed, 'false');
  assert.ok(m.slider > 0);
  assert.equal(await visible(viewer, '#unmute'), false);
  await viewer.tap('#mute');
  m = await waitFor(media, { what: 'muted again', accept: (x) => x.muted, context: ctx });
  assert.equal(m.pressed, 'true');
  assert.equal(m.slider, 0);
  await viewer.tap('#mute');
  m = await waitFor(media, { what: 'unmuted again', accept: (x) => !x.muted && x.volume > 0, context: ctx });
  await viewer.locator('#volume').fill('0.3');
  m = await waitFor(media, { what: 'volume 0.3', accept: (x) => Math.abs(x.volume - 0.3) < 0.01 && !x.muted, context: ctx });
  await viewer.locator('#volume').fill('0');
  m = await waitFor(media, { what: 'slider at 0 mutes', accept: (x) => x.muted, context: ctx });
  await viewer.tap('#mute');
  m = await waitFor(media, { what: 'unmute brings the last level back', accept: (x) => !x.muted, context: ctx });
  assert.ok(Math.abs(m.volume - 0.3) < 0.01, `volume ${m.volume}`);
  assert.equal(m.paused, false);

  // Paused (by the viewer here; by the browser when it refuses to autoplay): the big play button.
  assert.equal(await visible(viewer, '#play-big'), false);
  await viewer.tap('#play-pause');
  await waitFor(media, { what: 'paused', accept: (x) => x.paused, context: ctx });
  await waitFor(() => visible(viewer, '#play-big'), { what: 'big play button while paused', context: ctx });
  await viewer.tap('#play-big');
  await waitFor(media, { what: 'playing again', accept: (x) => !x.paused, context: ctx });
  await waitFor(() => visible(viewer, '#play-big'), { what: 'big play button gone', accept: (v) => !v, context: ctx });

  // Full screen (the stage, so the controls stay), and back.
  await viewer.tap('#fullscreen');
  await waitFor(() => viewer.evaluate(() => document.fullscreenElement?.id || null), {
    what: 'fullscreenElement = #stage', accept: (id) => id === 'stage', context: ctx });
  assert.equal(await viewer.locator('#fullscreen').getAttribute('aria-label'), 'Thoát toàn màn hình');
  await viewer.tap('#fullscreen');
  await waitFor(() => viewer.evaluate(() => document.fullscreenElement), { what: 'left full screen', accept: (e) => e === null, context: ctx });
  // Picture-in-picture only where the browser has it.
  const pip = await viewer.evaluate(() => ({ enabled: Boolean(document.pictureInPictureEnabled), shown: !document.getElementById('pip').hidden }));
  assert.equal(pip.shown, pip.enabled);

  // Turned sideways: the picture fills the screen.
  await viewer.setViewportSize({ width: 844, height: 390 });
  await waitFor(() => box(viewer, '#stage'), { what: 'stage fills the landscape screen',
    accept: (b) => b && b.width >= 840 && b.height >= 385 && b.y <= 1, context: ctx });
  await viewer.setViewportSize(PHONE.viewport);

  // The teacher leaves: reconnecting, because she left (by name).
  await pub.stop();
  const left = await waitStatus(viewer, (s) => s.reason === 'broadcaster_left', 'reason broadcaster_left', context(viewer, pub.page));
  assert.equal(left.state, 'waiting');
  assert.equal(left.text, 'Đang kết nối lại…');
  assert.equal(await text(viewer, '#overlay-reason'), `${HOST} đã ngừng phát. Video sẽ tự tiếp tục khi ${HOST} quay lại.`);
  assert.ok(await visible(viewer, '#overlay'));

  // The room ends: the page says so, with the class's title; a late student sees the same.
  await api.end(room.room_id, room.host_token);
  await waitStatus(viewer, (s) => s.state === 'ended', 'ended', ctx);
  assert.equal(await text(viewer, '#poster-title'), TITLE);
  assert.equal(await text(viewer, '#overlay-text'), 'Buổi phát đã kết thúc');
  const late = await phoneViewer(room.room_id);
  await waitStatus(late, (s) => s.state === 'ended', 'late viewer: ended', context(late));
  await waitFor(() => text(late, '#room-title'), { what: 'ended room title', accept: (t) => t === TITLE, context: context(late) });
  assert.equal(await text(late, '#poster-title'), TITLE);
  assert.ok(await visible(late, '#ended-note'));
  assert.deepEqual(await untranslated(late), []);
  await late.context().close();
  await pub.page.context().close();
  await viewer.context().close();
});

test('"not found" at once for an unknown id, a truncated id and a malformed one, in both languages', async () => {
  const room = await api.create({ title: TITLE, host: HOST });
  const cases = [
    ['unknown', 'live_doesnotexist123'],
    ['truncated (still well-formed)', room.room_id.slice(0, -3)],
    ['truncated (too short)', room.room_id.slice(0, 10)],
    ['malformed', 'live_abc-def_ghijkl'],
  ];
  for (const [lang, options, words] of [['vi', VI_BROWSER, 'Không tìm thấy phòng'], ['en', {}, 'Room not found']]) {
    const { page } = await newPage(browser, { ...options, ...PHONE });
    for (const [what, id] of cases) {
      await page.goto(`${server.url}/watch/${id}`);
      const s = await waitStatus(page, (x) => x.state === 'error', `${lang} ${what}: error state`, context(page));
      assert.equal(s.reason, 'not_found', `${lang} ${what}`);
      assert.equal(await text(page, '#room-title'), words, `${lang} ${what}`);
      assert.equal(await text(page, '#poster-title'), words);
      assert.ok((await text(page, '#overlay-reason')).length > 10, 'says what to do');
      assert.ok(await visible(page, '#ended-note'), 'a way back to the rooms');
      assert.deepEqual(await untranslated(page), []);
      const v = await videoState(page, '#video');
      assert.equal(v.hasSrcObject, false, 'no playback attempted');
    }
    await page.context().close();
  }
});
