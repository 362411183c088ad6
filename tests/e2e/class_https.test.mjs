// Cô Lan's class end to end (issue 10), in headless Chromium with a Vietnamese browser, served
// over HTTPS on an address that is not loopback: two network namespaces made by this test and
// joined by a veth pair (lib/netns.mjs) play the school's LAN. liveroom runs in one and listens on
// 10.77.X.1 with its self-signed certificate (--tls-self-signed) and --public-url
// https://10.77.X.1:8443; Chromium runs in the other (10.77.X.2), so every page is a real
// https:// page on a LAN address, where browsers give the camera only to a secure context. All
// traffic stays between the two namespaces; the suite's own namespace (only lo, shared with the
// other test files) is not touched. The test process talks to the servers through Unix sockets
// forwarded into the server namespace, and to Chromium through playwright's pipes.
//
// The class: she creates "Lớp học online" in the lobby (unlisted: only people with the link),
// lands in her studio through the server's studio link, finds the students' link (the server's
// watch_url, with Copy, Share and a QR code that decodes to it) and a "save your studio link"
// box; goes live (the camera works on this https page); a student on a phone watches, plays with
// the controls and goes full screen; she reloads by mistake and resumes; on another device (a
// fresh browser) her studio link takes her back into the room and she ends it there; the student
// sees why it ended. Then a second server with --room-empty-timeout 3s: the broadcaster stops,
// and the student's page shows the room ended by itself, told by the server's event stream.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

import { Api } from './lib/api.mjs';
import { expectVideoFlowing, inboundVideo, newPage, outboundVideo, pageLog, peerStats, videoState, waitFor } from
  './lib/browser.mjs';
import { assertLoopbackOnlyNetwork, isLoopbackAddress } from './lib/network.mjs';
import { createLan, describeLan, launchBrowserInNamespace } from './lib/netns.mjs';
import { PHONE, untranslated, VI_BROWSER } from './lib/pages.mjs';
import { mediaPortsOf, startLiveroom } from './lib/server.mjs';

const TITLE = 'Lớp học online';
const HOST = 'Cô Lan';
const LAPTOP = Object.freeze({ viewport: { width: 1280, height: 900 } });

let lan;
let server; // the class's server
let timerServer; // --room-empty-timeout 3s
let api;
let browser;
let shots;

// A liveroom in the LAN's server namespace, on its address (any port is free in a namespace this
// test just made), HTTPS with its own certificate, links built on that address.
async function startLanServer(port, extraArgs = []) {
  return startLiveroom({
    host: lan.serverAddress,
    port,
    tlsSelfSigned: true,
    wrap: lan.inServer,
    socketPath: await lan.bridge(port),
    args: ['--webrtc-port', '0', '--webrtc-ip', lan.serverAddress,
      '--public-url', `https://${lan.serverAddress}:${port}`, ...extraArgs],
  });
}

before(async () => {
  lan = createLan();
  shots = fs.mkdtempSync(path.join(os.tmpdir(), 'liveroom-class-'));
  server = await startLanServer(8443);
  timerServer = await startLanServer(8444, ['--room-empty-timeout', '3s']);
  api = new Api(server.url, { fetch: server.fetch });
  browser = await launchBrowserInNamespace(lan);
});

after(async () => {
  await browser?.close();
  await server?.close();
  await timerServer?.close();
  lan?.close();
  if (shots && !process.env.LIVEROOM_E2E_KEEP) fs.rmSync(shots, { recursive: true, force: true });
});

const context = (...pages) => async () =>
  pages.map((p, i) => `--- page ${i} log ---\n${pageLog(p)}`).join('\n') +
  `\n--- server log ---\n${server.logTail(3000)}\n--- timer server log ---\n${timerServer.logTail(3000)}`;

const status = (page) => page.evaluate(() => {
  const el = document.getElementById('status');
  return { state: el.dataset.state, reason: el.dataset.reason || null, endedReason: el.dataset.endedReason || null,
    text: el.textContent };
});
const waitStatus = (page, accept, what, ctx) => waitFor(() => status(page), { what, accept, context: ctx });
const text = (page, selector) => page.locator(selector).textContent();
const visible = (page, selector) => page.locator(selector).isVisible();

// What a phone camera would read off the screen: the element's pixels, decoded by zbarimg.
async function decodeQr(page, selector, name) {
  await waitFor(() => page.locator(selector).evaluate((img) => img.complete && img.naturalWidth > 0), {
    what: `${selector} loaded`, context: context(page) });
  const file = path.join(shots, `${name}.png`);
  await page.locator(selector).screenshot({ path: file });
  try {
    return execFileSync('zbarimg', ['--raw', '-q', file], { encoding: 'utf8' }).trim();
  } catch (e) {
    if (e.code === 'ENOENT') throw new Error('zbarimg is not installed: run scripts/setup --test (Debian zbar-tools)');
    throw new Error(`zbarimg found no QR code in ${file} (exit ${e.status}): ${e.stderr || e.message}`);
  }
}

test('the LAN: 10.77.X.1 is a veth address, not loopback, and HTTPS on it has a certificate for it', async () => {
  const facts = describeLan(lan);
  assert.equal(isLoopbackAddress(lan.serverAddress), false);
  assert.equal(facts.serverLink.kind, 'veth', JSON.stringify(facts.serverLink));
  assert.ok(!facts.serverLink.flags.includes('LOOPBACK'), `flags ${facts.serverLink.flags}`);
  assert.equal(facts.serverAddr?.scope, 'global', JSON.stringify(facts.serverAddr));
  // Each side reaches the other through its end of the pair, and has nothing else.
  assert.equal(facts.browserRoute.dev, lan.browserInterface, JSON.stringify(facts.browserRoute));
  assert.equal(facts.serverRoute.dev, lan.serverInterface, JSON.stringify(facts.serverRoute));
  assert.deepEqual(facts.browserAddresses.filter((a) => !a.loopback).map((a) => a.address), [lan.browserAddress]);
  assert.deepEqual(facts.serverAddresses.filter((a) => !a.loopback).map((a) => a.address), [lan.serverAddress]);
  // The suite's own namespace still has loopback only (the other test files rely on it).
  assertLoopbackOnlyNetwork('the LAN test');
  assert.equal(server.url, `https://${lan.serverAddress}:8443`);
  // The media server offers that address only.
  assert.deepEqual(mediaPortsOf(server.logText)?.candidates, [lan.serverAddress], server.logTail(2000));
  // server.fetch trusts only the server's own certificate and checks that it names 10.77.X.1.
  const info = await api.request('GET', '/api/livestream/info');
  assert.equal(info.status, 200, info.text);
  assert.equal(info.json.create_requires_api_key, false);
  assert.equal(info.json.stream_provider, 'local');
});

test('Cô Lan\'s class over HTTPS on the LAN: lobby, links, QR, live, a phone, reload, her link elsewhere, the end',
  async () => {
    // --- the lobby: she creates an unlisted room --------------------------------------------
    const { context: teacherContext, page: studio } = await newPage(browser, { ...VI_BROWSER, ...LAPTOP });
    // This desktop browser has no share sheet; give it one to see what the page would share. And
    // keep the create reply for the test (the lobby leaves the page as soon as it has it).
    await teacherContext.addInitScript(() => {
      navigator.share = async (data) => {
        window.__shared = data;
      };
      const nativeFetch = window.fetch;
      window.fetch = async (...args) => {
        const res = await nativeFetch(...args);
        if (String(args[0]).endsWith('/api/livestream/create') && res.ok) {
          sessionStorage.setItem('e2e.created', await res.clone().text());
        }
        return res;
      };
    });
    await studio.goto(`${server.url}/`);
    assert.equal(await text(studio, '#create'), 'Tạo phòng');
    assert.equal(await text(studio, 'label[for="visibility"]'), 'Ai có thể tìm thấy phòng');
    await studio.fill('#title', TITLE);
    await studio.fill('#host', HOST);
    await studio.selectOption('#visibility', 'unlisted');
    await studio.click('#create');
    await studio.waitForURL(/\/studio\/live_\w+$/);
    const created = JSON.parse(await studio.evaluate(() => sessionStorage.getItem('e2e.created')));
    assert.equal(created.visibility, 'unlisted');
    const roomId = created.room_id;
    assert.equal(created.studio_url, `${server.url}/studio/${roomId}#token=${created.host_token}`);
    assert.equal(created.watch_url, `${server.url}/watch/${roomId}`);
    const ctx = context(studio);

    // --- the studio, reached through the server's studio link ------------------------------
    assert.equal(studio.url(), `${server.url}/studio/${roomId}`);
    await waitFor(() => text(studio, '#room-title'), { what: 'studio loaded', accept: (t) => t === TITLE, context: ctx });
    assert.equal(new URL(studio.url()).hash, '', 'the token left the address bar');
    assert.equal(await studio.evaluate((id) => JSON.parse(localStorage.getItem(`liveroom.host.${id}`)).token, roomId),
      created.host_token, 'the token is kept in this browser');
    assert.equal(await studio.evaluate(() => window.isSecureContext), true, 'https page: a secure context');
    // Unlisted: not in the lobby's list, but there for whoever has the link.
    assert.equal((await api.rooms({ status: 'active' })).rooms.some((r) => r.room_id === roomId), false);
    assert.equal((await api.room(roomId)).visibility, 'unlisted');

    // The students' link is the server's, with Copy, Share and a QR code; no "this computer only".
    await waitFor(() => studio.locator('#share-url').inputValue(), { what: 'watch link from the server',
      accept: (v) => v === created.watch_url, context: ctx });
    assert.equal(await studio.locator('#watch-link').getAttribute('href'), created.watch_url);
    assert.equal(await visible(studio, '#watch-link-local'), false, 'a LAN address is not "this computer only"');
    assert.equal(await text(studio, '#share-native'), 'Chia sẻ…');
    await studio.click('#share-native');
    const shared = await waitFor(() => studio.evaluate(() => window.__shared), { what: 'navigator.share called',
      context: ctx });
    assert.equal(shared.url, created.watch_url);
    assert.equal(shared.title, TITLE);
    assert.equal(await decodeQr(studio, '#watch-qr', 'watch-qr'), created.watch_url, 'the QR code is the watch link');

    // "Save your studio link": the server's studio_url, Copy, and a QR code fetched with the token.
    assert.ok(await visible(studio, '#studio-link-box'));
    assert.equal(await text(studio, '#studio-link-heading'), 'Hãy lưu đường liên kết studio của bạn');
    assert.equal(await studio.locator('#studio-url').inputValue(), created.studio_url);
    assert.equal(await studio.locator('#studio-url').getAttribute('type'), 'password', 'hidden on a shared screen');
    await studio.click('#studio-qr-details summary');
    assert.equal(await decodeQr(studio, '#studio-qr', 'studio-qr'), created.studio_url);
    // (grantPermissions replaces the origin's permissions: the camera and microphone stay in.)
    await teacherContext.grantPermissions(['camera', 'microphone', 'clipboard-read', 'clipboard-write'],
      { origin: server.url });
    await studio.click('#studio-link-box button[data-copy="studio-url"]');
    await waitFor(() => studio.evaluate(() => navigator.clipboard.readText()), { what: 'studio link copied',
      accept: (v) => v === created.studio_url, context: ctx });
    assert.deepEqual(await untranslated(studio), []);
    await studio.click('#studio-link-dismiss');
    assert.equal(await visible(studio, '#studio-link-box'), false);

    // --- live: the camera works on this https page ------------------------------------------
    await waitFor(() => videoState(studio, '#preview'), { what: 'camera preview', accept: (v) => v?.videoWidth > 0,
      context: ctx });
    await studio.click('#go-live');
    await waitStatus(studio, (s) => s.state === 'live', 'studio live', ctx);
    assert.equal(await text(studio, '#status'), 'Bạn đang phát trực tiếp');
    await waitFor(() => api.join(roomId), { what: 'room live', accept: (r) => r.live === true, context: ctx });
    const out = await waitFor(() => outboundVideo(studio), { what: 'studio sends over the veth pair',
      accept: (v) => v?.framesEncoded > 0 && v.candidatePair?.local, context: ctx });
    assert.equal(out.candidatePair.local.address, lan.browserAddress, JSON.stringify(out.candidatePair));
    assert.equal(out.candidatePair.remote.address, lan.serverAddress, JSON.stringify(out.candidatePair));

    // --- a student on a phone ---------------------------------------------------------------
    const { page: phone } = await newPage(browser, { ...VI_BROWSER, ...PHONE });
    const both = context(studio, phone);
    await phone.goto(created.watch_url);
    await expectVideoFlowing(phone, { selector: '#video', context: both });
    await waitStatus(phone, (s) => s.state === 'live', 'phone live', both);
    assert.equal(await text(phone, '#status'), 'Trực tiếp');
    assert.equal(await text(phone, '#room-title'), TITLE);
    assert.equal(await text(phone, '#room-host'), `Người phát: ${HOST}`);
    const inbound = await inboundVideo(phone);
    assert.ok(inbound.frameWidth > 0);
    const pair = (await peerStats(phone))[inbound.pc].candidatePair;
    assert.equal(pair?.local?.address, lan.browserAddress, JSON.stringify(pair));
    assert.equal(pair?.remote?.address, lan.serverAddress, JSON.stringify(pair));
    // The teacher sees her student, pushed by the server.
    await waitFor(() => studio.locator('#viewers').getAttribute('data-count'), { what: 'studio: 1 watching',
      accept: (c) => c === '1', context: both });

    // The controls, by touch: sound on, pause and play again, full screen and back.
    const media = () => phone.evaluate(() => {
      const v = document.getElementById('video');
      return { muted: v.muted, paused: v.paused, fullscreen: document.fullscreenElement?.id || null };
    });
    await phone.tap('#unmute');
    await waitFor(media, { what: 'unmuted', accept: (m) => !m.muted, context: both });
    await phone.tap('#play-pause');
    await waitFor(media, { what: 'paused', accept: (m) => m.paused, context: both });
    await phone.tap('#play-big');
    await waitFor(media, { what: 'playing again', accept: (m) => !m.paused, context: both });
    await phone.tap('#fullscreen');
    await waitFor(media, { what: 'full screen', accept: (m) => m.fullscreen === 'stage', context: both });
    assert.equal(await phone.locator('#fullscreen').getAttribute('aria-label'), 'Thoát toàn màn hình');
    await phone.tap('#fullscreen');
    await waitFor(media, { what: 'full screen left', accept: (m) => m.fullscreen === null, context: both });
    assert.deepEqual(await untranslated(phone), []);

    // --- she reloads by mistake, and resumes ------------------------------------------------
    studio.on('dialog', (d) => d.accept().catch(() => {}));
    await studio.reload();
    await waitFor(() => visible(studio, '#resume-panel'), { what: 'Resume offered', context: both });
    assert.equal(await text(studio, '#resume'), 'Tiếp tục phát');
    assert.equal(await visible(studio, '#studio-link-box'), false, 'the studio link box stays closed for this room');
    await studio.click('#resume');
    await waitStatus(studio, (s) => s.state === 'live', 'studio live again', both);
    await expectVideoFlowing(phone, { selector: '#video', context: both });
    await waitStatus(phone, (s) => s.state === 'live', 'phone live again', both);

    // --- on another device (a fresh browser), her studio link takes her back into the room ----
    const { context: otherDevice, page: second } = await newPage(browser, { ...VI_BROWSER, ...LAPTOP });
    const all = context(studio, phone, second);
    await second.goto(created.studio_url);
    await waitFor(() => text(second, '#room-title'), { what: 'studio on the other device', accept: (t) => t === TITLE,
      context: all });
    await waitFor(() => visible(second, '#end-panel'), { what: 'host controls on the other device', context: all });
    assert.equal(new URL(second.url()).hash, '', 'the token left the address bar');
    assert.equal(await visible(second, '#token-form'), false, 'no token asked for');
    assert.equal(await second.evaluate((id) => JSON.parse(localStorage.getItem(`liveroom.host.${id}`)).token, roomId),
      created.host_token);
    assert.ok(await visible(second, '#studio-link-box'), 'a new device offers to save the link too');
    // The room is live from her laptop: this device says so.
    await waitStatus(second, (s) => s.state === 'live', 'other device: live (from the laptop)', all);
    await second.click('#end-room');
    await second.click('#end-room-confirm');
    await waitStatus(second, (s) => s.state === 'ended', 'other device: ended', all);

    // Everyone is told at once: the laptop's studio and the phone, with the title and why.
    await waitStatus(studio, (s) => s.state === 'ended', 'laptop studio: ended', all);
    assert.equal(await text(studio, '#ended-reason'), `${HOST} đã kết thúc buổi phát.`);
    // The page may show "ended" a moment before the reason arrives (the room view is fetched after
    // the media goes): wait for both.
    const endedPhone = await waitStatus(phone, (s) => s.state === 'ended' && s.endedReason, 'phone: ended, with why',
      all);
    assert.equal(endedPhone.endedReason, 'host');
    assert.equal(await text(phone, '#poster-title'), TITLE);
    assert.equal(await text(phone, '#overlay-text'), 'Buổi phát đã kết thúc');
    assert.equal(await text(phone, '#overlay-reason'), `${HOST} đã kết thúc buổi phát.`);
    assert.equal((await api.room(roomId)).ended_reason, 'host');
    await otherDevice.close();
    await phone.context().close();
    await teacherContext.close();
  });

test('a room ends by itself when the broadcaster leaves (--room-empty-timeout 3s): the phone is told why', async () => {
  const timerApi = new Api(timerServer.url, { fetch: timerServer.fetch });
  const room = await timerApi.create({ title: TITLE, host: HOST });
  const { page: studio } = await newPage(browser, { ...VI_BROWSER, ...LAPTOP });
  const { page: phone } = await newPage(browser, { ...VI_BROWSER, ...PHONE });
  const ctx = context(studio, phone);
  // What the phone asks the server: the status should come from the event stream, not polls.
  const asked = [];
  phone.on('request', (r) => {
    if (r.url().includes('/api/livestream/')) asked.push(`${r.resourceType()} ${new URL(r.url()).pathname}`);
  });

  await studio.goto(room.studio_url);
  await waitFor(() => videoState(studio, '#preview'), { what: 'camera preview', accept: (v) => v?.videoWidth > 0,
    context: ctx });
  await studio.click('#go-live');
  await waitStatus(studio, (s) => s.state === 'live', 'studio live', ctx);
  await phone.goto(room.watch_url);
  await expectVideoFlowing(phone, { selector: '#video', context: ctx });
  await waitStatus(phone, (s) => s.state === 'live', 'phone live', ctx);

  // She stops; nobody comes back: the server ends the room 3 s later, and says why.
  await studio.click('#stop');
  await waitStatus(phone, (s) => s.reason === 'broadcaster_left', 'phone: the host left', ctx);
  const ended = await waitStatus(phone, (s) => s.state === 'ended', 'phone: ended by itself', ctx);
  assert.equal(ended.endedReason, 'empty');
  assert.equal(await text(phone, '#poster-title'), TITLE);
  assert.equal(await text(phone, '#overlay-reason'),
    `Phòng đã tự động kết thúc vì ${HOST} đã rời buổi phát và không quay lại.`);
  assert.equal((await timerApi.room(room.room_id)).ended_reason, 'empty');
  await waitStatus(studio, (s) => s.state === 'ended', 'studio: ended', ctx);
  assert.match(await text(studio, '#ended-reason'), /tự động kết thúc/);
  // Told, not found out: one event stream, and no polling of the room.
  const eventStreams = asked.filter((a) => a === `eventsource /api/livestream/rooms/${room.room_id}/events`);
  assert.ok(eventStreams.length >= 1, asked.join('\n'));
  assert.deepEqual(asked.filter((a) => a.includes('/join')), [], 'the watch page did not poll');
  assert.deepEqual(await untranslated(phone), []);
  await studio.context().close();
  await phone.context().close();
});
