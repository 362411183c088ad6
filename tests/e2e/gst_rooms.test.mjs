// GStreamer's webrtcbin (gst_webrtc.py: WHIP publisher / WHEP player) against a real `liveroom serve`
// on its embedded media server, with the client's defaults (max-bundle, so the audio section is
// bundle-only; H.264 announced as the encoder's 42c01e): GStreamer -> GStreamer for VP8 and
// H.264 with the room's live flag and viewer count; mixed with Chromium both ways; OBS-style
// publishing to /whip/<room_id> with the host token (and a wrong one); a second publisher.
// Run: node --test tests/e2e/gst_rooms.test.mjs   (after scripts/setup --test and scripts/build)
import { after, afterEach, before, test } from 'node:test';
import assert from 'node:assert/strict';

import { Api } from './lib/api.mjs';
import { expectVideoFlowing, launchBrowser, newPage, pageLog, videoState, waitFor } from './lib/browser.mjs';
import { startGst } from './lib/gst.mjs';
import { startLiveroom } from './lib/server.mjs';

let server;
let api;
let browser; // launched by the first test that needs it

// Every gst_webrtc.py run not yet ended: killed after each test, so a failing test leaves none.
const running = new Set();

before(async () => {
  server = await startLiveroom();
  api = new Api(server.url);
});

afterEach(async () => {
  const left = [...running];
  for (const g of left) g.kill();
  await Promise.allSettled(left.map((g) => g.result));
});

after(async () => {
  await browser?.close();
  await server?.close();
});

async function getBrowser() {
  browser ??= await launchBrowser();
  return browser;
}

/** startGst(args), tracked for the cleanup above; `g.args` kept for messages. */
function gst(args, options) {
  const g = startGst(args, options);
  g.args = args;
  running.add(g);
  const done = () => running.delete(g);
  g.result.then(done, done);
  return g;
}

/** Runs gst_webrtc.py to its end (a short run: `timeout` turns a hang into a failure). */
function runGst(args, { timeout = 60000 } = {}) {
  return gst(args, { timeout }).result;
}

/** SIGTERM (the run ends the normal way: stats, DELETE, JSON), SIGKILL if it does not end. */
async function stopGst(g, ms = 20000) {
  g.stop();
  const timer = setTimeout(() => g.kill(), ms);
  try {
    return await g.result;
  } finally {
    clearTimeout(timer);
  }
}

const tail = (text, n = 2500) => (text.length > n ? `...${text.slice(-n)}` : text);

function context(procs = [], pages = []) {
  return async () => [
    ...procs.map((g) => `--- gst_webrtc.py ${g.args[0]} stderr ---\n${tail(g.log())}`),
    ...pages.map((p, i) => `--- page ${i} log ---\n${pageLog(p)}`),
    `--- server log ---\n${server.logTail(4000)}`,
  ].join('\n');
}

/** A gst_webrtc.py result for messages (without its stderr, which the context shows). */
function show(r, g) {
  const { stderr, ...rest } = r || {};
  return `${JSON.stringify(rest)}${g ? `\n--- stderr ---\n${tail(g.log())}` : stderr ? `\n--- stderr ---\n${tail(stderr)}` : ''}`;
}

/**
 * Polls the room's join view until `accept(view)`; fails early (with its JSON) if one of `procs`
 * (clients that should still be running) has ended meanwhile.
 */
async function waitJoin(roomId, what, accept, procs = []) {
  const got = await waitFor(async () => ({ view: await api.join(roomId), gone: procs.find((g) => g.exited) }), {
    what: `join view: ${what}`,
    accept: (x) => accept(x.view) || x.gone,
    context: context(procs),
  });
  if (!accept(got.view)) {
    assert.fail(`join view: ${what}: gst_webrtc.py ${got.gone.args.join(' ')} ended first: ` +
      `${show(await got.gone.result, got.gone)}\nview: ${JSON.stringify(got.view)}\n--- server log ---\n${server.logTail(4000)}`);
  }
  return got.view;
}

function publishArgs(url, codec, { token, seconds = 60 } = {}) {
  return ['publish', '--url', url, '--codec', codec, '--seconds', String(seconds), ...(token ? ['--token', token] : [])];
}

function playArgs(url, { seconds = 60, frames } = {}) {
  return ['play', '--url', url, '--seconds', String(seconds), ...(frames ? ['--frames', String(frames)] : [])];
}

// Starts a player, waits for its first decoded video frame and audio buffer, runs `whilePlaying()`
// (e.g. the viewer count), waits for 60 decoded frames (a couple of seconds of media), then stops
// it and returns its JSON after checking what it decoded.
async function playWhile(whepUrl, codec, procs, whilePlaying = async () => {}) {
  const play = gst(playArgs(whepUrl));
  const all = [...procs, play];
  const fail = (why) => async (e) => assert.fail(`${why}${e.message}\n${await context(all)()}`);
  await play.waitForLog(/first video frame decoded/).catch(fail(''));
  await play.waitForLog(/first audio buffer decoded/).catch(
    fail('the player got video but no audio (is the publisher\'s bundle-only audio section accepted?): '));
  await whilePlaying(play);
  await play.waitForLog(/\b60 video frames decoded/).catch(fail('video stopped after the first frames: '));
  const r = await stopGst(play);
  assert.equal(r.ok, true, `play failed: ${show(r, play)}\n${server.logTail(4000)}`);
  assert.equal(r.status, 201);
  assert.ok(r.frames >= 60 && r.width > 0 && r.height > 0, show(r));
  assert.ok(r.audio_buffers > 0, show(r));
  assert.equal(r.video_codec?.toLowerCase(), codec, show(r));
  assert.equal(r.delete_status, 200, show(r));
  return r;
}

async function checkPublished(pub, codec) {
  const r = await stopGst(pub);
  assert.equal(r.ok, true, `publish failed: ${show(r, pub)}\n${server.logTail(4000)}`);
  assert.equal(r.status, 201);
  assert.equal(r.answer_video_codec?.toLowerCase(), codec, show(r));
  assert.ok(r.video_packets_sent > 0, show(r));
  assert.equal(r.delete_status, 200, show(r));
  return r;
}

// 1 + 2: GStreamer -> liveroom -> GStreamer, with the client's defaults (no --profile-level-id,
// no --bundle-policy).
for (const codec of ['vp8', 'h264']) {
  test(`GStreamer publishes ${codec} over WHIP, GStreamer plays over WHEP: live, viewers, decoded frames`, async (t) => {
    const room = await api.create({ title: `gst ${codec}` });
    const pub = gst(publishArgs(room.whip_url, codec));
    await waitJoin(room.room_id, 'live: true', (v) => v.live === true, [pub]);

    const { playback } = await api.join(room.room_id);
    const played = await playWhile(playback.whep_url, codec, [pub], (play) =>
      waitJoin(room.room_id, 'viewers: 1 while the player plays', (v) => v.viewers === 1 && v.live === true, [pub, play]));
    t.diagnostic(`played ${played.frames} frames ${played.width}x${played.height} ${played.video_codec} ` +
      `(${played.video_decoder}), ${played.audio_buffers} audio buffers`);
    await waitJoin(room.room_id, 'viewers: 0 after the player left', (v) => v.viewers === 0 && v.live === true, [pub]);

    const published = await checkPublished(pub, codec);
    if (codec === 'h264') {
      // The encoder's own spelling of Constrained Baseline, not rewritten by the client.
      assert.match(published.offer_video_fmtp ?? '', /profile-level-id=42c0/i, show(published));
    }
    t.diagnostic(`published with ${published.encoder}, fmtp ${published.offer_video_fmtp ?? '-'}, ` +
      `${published.video_packets_sent} video packets`);
    await waitJoin(room.room_id, 'live: false after the publisher stopped', (v) => v.live === false);
  });
}

// 3: mixed clients.
for (const codec of ['h264', 'vp8']) {
  test(`GStreamer publishes ${codec}, a Chromium viewer watches /watch/<room_id>`, async (t) => {
    const room = await api.create({ title: `gst to chromium ${codec}` });
    const pub = gst(publishArgs(room.whip_url, codec));
    await waitJoin(room.room_id, 'live: true', (v) => v.live === true, [pub]);

    const { context: ctx, page } = await newPage(await getBrowser());
    try {
      await page.goto(`${server.url}/watch/${room.room_id}`);
      const stats = await expectVideoFlowing(page, { selector: '#video', context: context([pub], [page]) });
      assert.equal(stats.codec?.mimeType?.toLowerCase(), `video/${codec}`, JSON.stringify(stats));
      t.diagnostic(`Chromium decoded ${stats.framesDecoded} frames ${stats.frameWidth}x${stats.frameHeight} ` +
        `${stats.codec?.mimeType} ${stats.codec?.sdpFmtpLine ?? ''}`);
    } finally {
      await ctx.close();
    }
    const published = await checkPublished(pub, codec);
    if (codec === 'h264') {
      // GStreamer announces 42c01e; Chromium offers 42e01f (same profile, Constrained Baseline).
      assert.match(published.offer_video_fmtp ?? '', /profile-level-id=42c0/i, show(published));
    }
  });
}

for (const codec of ['vp8', 'h264']) {
  test(`Chromium goes live from the studio (${codec}), GStreamer plays over WHEP`, async (t) => {
    const room = await api.create({ title: `chromium to gst ${codec}` });
    const { context: ctx, page: studio } = await newPage(await getBrowser());
    try {
      const ctxFn = context([], [studio]);
      await studio.goto(`${server.url}/studio/${room.room_id}#token=${encodeURIComponent(room.host_token)}`);
      await waitFor(() => videoState(studio, '#preview'), { what: 'studio preview', accept: (v) => v?.videoWidth > 0,
        context: ctxFn });
      await studio.selectOption('#codec', codec);
      await studio.click('#go-live');
      await waitFor(() => studio.locator('#status').getAttribute('data-state'), { what: '#status data-state=live',
        accept: (s) => s === 'live', context: ctxFn });
      await waitJoin(room.room_id, 'live: true', (v) => v.live === true);

      const { playback } = await api.join(room.room_id);
      const played = await playWhile(playback.whep_url, codec, []);
      t.diagnostic(`GStreamer decoded ${played.frames} frames ${played.width}x${played.height} ${played.video_codec} ` +
        `(${played.video_decoder}) from Chromium`);

      await studio.click('#stop');
      await waitJoin(room.room_id, 'live: false after Stop', (v) => v.live === false);
    } catch (e) {
      e.message += `\n--- studio log ---\n${pageLog(studio)}`;
      throw e;
    } finally {
      await ctx.close();
    }
  });
}

// 4: OBS-style: the room's alias /whip/<room_id> with the host token as Bearer.
test('OBS-style publish to /whip/<room_id>: the host token works, a wrong token gets 403 without hanging', async (t) => {
  const room = await api.create({ title: 'gst obs-style' });
  const obsUrl = `${server.url}/whip/${room.room_id}`;

  const bad = await runGst(publishArgs(obsUrl, 'h264', { token: 'lrh_not_the_host_token', seconds: 3 }));
  assert.equal(bad.status, 403, show(bad));
  assert.equal(bad.ok, false, show(bad));
  assert.equal(bad.exitCode, 1, show(bad));
  assert.match(bad.error ?? '', /403/, show(bad));
  assert.equal((await api.join(room.room_id)).live, false);

  const pub = gst(publishArgs(obsUrl, 'h264', { token: room.host_token }));
  await waitJoin(room.room_id, 'live: true', (v) => v.live === true, [pub]);
  const { playback } = await api.join(room.room_id);
  const played = await playWhile(playback.whep_url, 'h264', [pub]);
  t.diagnostic(`played ${played.frames} frames from the OBS-style publisher`);
  await checkPublished(pub, 'h264');
  await waitJoin(room.room_id, 'live: false after the publisher stopped', (v) => v.live === false);
});

// 5: one broadcaster per room.
test('a second GStreamer publisher on a live room gets 409; the first keeps the room', async () => {
  const room = await api.create({ title: 'gst second publisher' });
  const first = gst(publishArgs(room.whip_url, 'vp8'));
  await waitJoin(room.room_id, 'live: true', (v) => v.live === true, [first]);

  const second = await runGst(publishArgs(room.whip_url, 'vp8', { seconds: 3 }));
  assert.equal(second.status, 409, show(second));
  assert.equal(second.ok, false, show(second));
  assert.equal(second.exitCode, 1, show(second));

  assert.equal(first.exited, false, `the first publisher ended: ${first.log()}`);
  await waitJoin(room.room_id, 'still live', (v) => v.live === true, [first]);
  const { playback } = await api.join(room.room_id);
  await playWhile(playback.whep_url, 'vp8', [first]);
  await checkPublished(first, 'vp8');
});
