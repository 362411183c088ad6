// Simulcast end to end, with real browsers:
//   1. a Chromium broadcaster sends three simulcast layers over WHIP (addTransceiver with
//      sendEncodings q: 1/4 size at most 150 kbit/s, h: 1/2 at 500 kbit/s, f: full size at
//      1.5 Mbit/s, from a 1280x720 fake camera): the answer receives all three (a=rid:<id> recv,
//      a=simulcast:recv) and Chromium sends all three (getStats: three outbound-rtp video streams
//      named by their rids, each with bytesSent rising);
//   2. two viewers on the real watch page get one layer each, chosen by the server from their
//      receiver reports: viewer A beside the server (nothing in the way), viewer B across a link
//      held to 300 kbit/s (tbf on the server's egress towards B). Once the choice has settled,
//      both decode without a freeze during a measured window and A shows a wider picture than B;
//   3. viewer A ended on the widest layer without a
//      freeze, from test 2's timeline.
// The OBS-shaped simulcast offer and hostile a=rid / a=simulcast input are in
// tests/integration/test_simulcast_offer.py (no browser needed; runs against the ASan build too).
//
// Layout (lib/netns.mjs): liveroom (HTTPS with its own certificate: the broadcaster's page needs a
// secure context for the camera) in the server namespace of a LAN made by the test, on
// 10.77.X.1, advertising only that address (--webrtc-ip); the broadcaster and viewer A in a
// Chromium beside it (lib/media_paths.mjs launchBrowserInLan 'server'), viewer B in a Chromium
// across the veth pair. There is no netem on this machine: the slow link is `tc qdisc ... tbf` on
// the server end of the pair (lib/simulcast.mjs), removed after the test and with the namespace.
// Everything asserted is what the clients say (getStats, the SDP answer) and what tc counted;
// every wait is a hang guard with a condition, nothing asserts on how long anything took. The
// figures (per second: each viewer's frame size, fps, freezes, packets lost, bytes; the key frames
// the server asked of each layer) are printed as test diagnostics.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';

import { Api } from './lib/api.mjs';
import { expectVideoFlowing, newPage, pageLog, waitFor } from './lib/browser.mjs';
import { launchBrowserInLan, missingTools } from './lib/media_paths.mjs';
import { createLan } from './lib/netns.mjs';
import { startLiveroom } from './lib/server.mjs';
import { publishSimulcastInPage, sdpSimulcast, simulcastSendersInPage, tbf, TC, videoReceiverInPage }
  from './lib/simulcast.mjs';

const LAYERS = [
  { rid: 'q', scaleResolutionDownBy: 4, maxBitrate: 150000 },
  { rid: 'h', scaleResolutionDownBy: 2, maxBitrate: 500000 },
  { rid: 'f', maxBitrate: 1500000 },
];
const RIDS = LAYERS.map((l) => l.rid);
const CAMERA = { width: { ideal: 1280 }, height: { ideal: 720 }, frameRate: { ideal: 30 } };
const SLOW_LINK = { rate: '300kbit', burst: '32kbit', latency: '400ms' };
const SETTLE_TIMEOUT = 40000; // the layer choice settles well within this (hang guard)
const STABLE_SAMPLES = 6; // "settled": this many samples in a row, one a second, with nothing changing
const WINDOW_SAMPLES = 8; // the measured window: 8 samples, one a second

let lan;
let server;
let api;
let browserS; // Chromium beside the server: the broadcaster and viewer A
let browserB; // Chromium across the veth pair: viewer B
let broadcast; // promise of the broadcaster (test 1 starts it; test 2 uses it)
let observed = null; // test 2's timeline and where it settled, for test 3

before(async () => {
  const missing = [...missingTools().filter((m) => m.startsWith('nft')), ...(TC ? [] : ['tc (Debian iproute2)'])];
  assert.deepEqual(missing, [], `missing: ${missing.join(', ')}`);
  lan = createLan();
  const port = 8443;
  server = await startLiveroom({
    host: lan.serverAddress,
    port,
    tlsSelfSigned: true,
    wrap: lan.inServer,
    socketPath: await lan.bridge(port),
    args: ['--webrtc-port', '0', '--webrtc-ip', lan.serverAddress, '--public-url', `https://${lan.serverAddress}:${port}`,
      '--log-level', 'debug'],
  });
  api = new Api(server.url, { fetch: server.fetch });
  browserS = await launchBrowserInLan(lan, 'server');
  browserB = await launchBrowserInLan(lan, 'browser');
});

after(async () => {
  await browserS?.close();
  await browserB?.close();
  await server?.close();
  lan?.close();
});

const context = (...pages) => async () =>
  pages.filter(Boolean).map((p, i) => `--- page ${i} log ---\n${pageLog(p)}`).join('\n') +
  `\n--- server log ---\n${server.logTail(4000)}`;

// The broadcaster: a page of the server's origin (secure: HTTPS) that publishes the camera in
// three layers to /whip/<room_id> with the host token. Started once.
function startBroadcast() {
  broadcast ??= (async () => {
    const room = await api.create({ title: 'Simulcast class' });
    const { page } = await newPage(browserS);
    await page.goto(`${server.url}/healthz`);
    const result = await page.evaluate(publishSimulcastInPage, {
      url: `/whip/${encodeURIComponent(room.room_id)}`, token: room.host_token, encodings: LAYERS, video: CAMERA,
    });
    return { room, page, result };
  })();
  return broadcast;
}

const senders = (page) => page.evaluate(simulcastSendersInPage);
const receiver = (page) => page.evaluate(videoReceiverInPage);
const kbps = (bytes, seconds) => Math.round((bytes * 8) / seconds / 1000);

test('a Chromium broadcaster sends three simulcast layers over WHIP; the answer receives all three', async (t) => {
  const { room, page, result } = await startBroadcast();
  const ctx = context(page);
  t.diagnostic(`camera ${result.settings.width}x${result.settings.height} at ${result.settings.frameRate} fps; ` +
    `encodings ${JSON.stringify(result.encodings)}`);
  assert.equal(result.status, 201, `WHIP POST: ${result.status} ${result.answer}`);
  assert.ok(result.location, 'the 201 has a Location');

  // The offer asked for q, h, f; the answer receives exactly those, in a=rid recv lines and in
  // a=simulcast:recv.
  const offered = sdpSimulcast(result.offer);
  assert.deepEqual(offered.rids.map((r) => `${r.id} ${r.direction}`), RIDS.map((r) => `${r} send`), result.offer);
  assert.deepEqual(offered.simulcast, [{ direction: 'send', streams: RIDS }], result.offer);
  const answered = sdpSimulcast(result.answer);
  t.diagnostic(`answer: ${result.answer.split(/\r?\n/).filter((l) => /^a=(rid|simulcast):/.test(l)).join(' | ')}`);
  assert.deepEqual(answered.rids.map((r) => `${r.id} ${r.direction}`).sort(), RIDS.map((r) => `${r} recv`).sort(),
    result.answer);
  assert.equal(answered.simulcast.length, 1, result.answer);
  assert.equal(answered.simulcast[0].direction, 'recv', result.answer);
  assert.deepEqual([...answered.simulcast[0].streams].sort(), [...RIDS].sort(), result.answer);
  // The sender kept its three encodings after the answer (none dropped as unanswered).
  assert.deepEqual(result.encodings.map((e) => e.rid), RIDS, JSON.stringify(result.encodings));

  // Chromium sends the three layers: three outbound-rtp video streams named q, h, f, each with
  // bytesSent rising (every rid seen rising twice, so no layer is left switched off).
  const rises = Object.fromEntries(RIDS.map((r) => [r, 0]));
  let last = null;
  const sent = await waitFor(async () => {
    const now = await senders(page);
    if (last) {
      for (const s of now) {
        const before = last.find((x) => x.rid === s.rid);
        if (before && s.bytesSent > before.bytesSent && s.rid in rises) rises[s.rid]++;
      }
    }
    last = now;
    return RIDS.every((r) => rises[r] >= 2) ? now : null;
  }, { what: 'three outbound video streams (q, h, f) each with bytesSent rising', interval: 1000, context: async () =>
    `rises ${JSON.stringify(rises)}; outbound ${JSON.stringify(last)}\n${await ctx()}` });
  for (const s of sent) {
    t.diagnostic(`layer ${s.rid}: ${s.frameWidth}x${s.frameHeight} at ${s.framesPerSecond} fps, ${s.bytesSent} bytes, ` +
      `target ${Math.round(s.targetBitrate / 1000)} kbit/s, ${s.encoderImplementation}, ` +
      `limited by ${s.qualityLimitationReason}`);
  }
  assert.deepEqual(sent.map((s) => s.rid).sort(), [...RIDS].sort(), JSON.stringify(sent));
  assert.equal(new Set(sent.map((s) => s.ssrc)).size, 3, `three SSRCs: ${JSON.stringify(sent)}`);
  // The room is live from the simulcast publisher.
  await waitFor(() => api.join(room.room_id), { what: 'room live', accept: (r) => r.live, context: ctx });
});

// One line of the timeline: each viewer's picture and counters, and the broadcaster's layers.
function describe(s) {
  const v = (x) => (x ? `${x.frameWidth}x${x.frameHeight} ${x.framesPerSecond ?? 0}fps dec=${x.framesDecoded} ` +
    `rcv=${x.framesReceived} kf=${x.keyFramesDecoded} frz=${x.freezeCount} lost=${x.packetsLost} nack=${x.nackCount} ` +
    `pli=${x.pliCount} kB=${Math.round(x.bytesReceived / 1000)}${x.pc ? ` pc#${x.pc}` : ''}` : 'none');
  const pub = s.senders.map((p) => `${p.rid}:${p.frameWidth}@${p.framesPerSecond ?? 0} kf=${p.keyFramesEncoded} ` +
    `pli=${p.pliCount}`).join(' ');
  return `t=${s.t.toFixed(1)}s A ${v(s.a)} | B ${v(s.b)} | layers ${pub} | tbf drops=${s.shaper?.drops ?? '?'}`;
}

test('two viewers get different layers: A unconstrained, B behind 300 kbit/s (tbf); both play without freezing',
  async (t) => {
    const { room, page: publisher, result } = await startBroadcast();
    assert.equal(result.status, 201, 'the broadcaster of test 1 is publishing');
    let shaper;
    let viewerA;
    let viewerB;
    const timeline = [];
    observed = { timeline, settledAt: null };
    const t0 = Date.now();
    const sample = async () => {
      const [a, b, pub] = await Promise.all([receiver(viewerA), receiver(viewerB), senders(publisher)]);
      const s = { t: (Date.now() - t0) / 1000, at: Date.now(), a, b, senders: pub, shaper: shaper.stats() };
      timeline.push(s);
      return s;
    };
    const ctx = async () => `--- timeline (one sample a second) ---\n${timeline.map(describe).join('\n')}\n` +
      `--- tbf ---\n${shaper?.show()}\n${await context(publisher, viewerA, viewerB)()}`;
    try {
      // The slow link: everything the server sends towards B (media and HTTPS) through 300 kbit/s.
      shaper = tbf(lan.serverNs, lan.serverInterface, SLOW_LINK);
      t.diagnostic(`tbf on ${lan.serverNs} ${lan.serverInterface}: ${shaper.show().split('\n')[0]}`);

      ({ page: viewerA } = await newPage(browserS));
      ({ page: viewerB } = await newPage(browserB));
      await Promise.all([viewerA.goto(room.watch_url), viewerB.goto(room.watch_url)]);
      await Promise.all([expectVideoFlowing(viewerA, { selector: '#video', context: ctx }),
        expectVideoFlowing(viewerB, { selector: '#video', context: ctx })]);
      t.diagnostic(`both viewers decode video after ${((Date.now() - t0) / 1000).toFixed(1)} s`);

      // Settling: one sample a second until the last STABLE_SAMPLES show each viewer on one frame
      // size, A's wider than B's, no new freeze and frames decoded by both.
      const stable = () => {
        if (timeline.length < STABLE_SAMPLES) return false;
        const w = timeline.slice(-STABLE_SAMPLES);
        const first = w[0];
        const lastS = w[w.length - 1];
        if (w.some((s) => !s.a || !s.b || s.a.pc !== first.a.pc || s.b.pc !== first.b.pc)) return false;
        const same = (k) => w.every((s) => s[k].frameWidth === first[k].frameWidth && s[k].frameWidth > 0);
        return same('a') && same('b') && first.a.frameWidth > first.b.frameWidth &&
          lastS.a.freezeCount === first.a.freezeCount && lastS.b.freezeCount === first.b.freezeCount &&
          lastS.a.framesDecoded > first.a.framesDecoded && lastS.b.framesDecoded > first.b.framesDecoded;
      };
      await waitFor(async () => {
        await sample();
        return stable();
      }, { what: `the layer choice to settle (A wider than B, ${STABLE_SAMPLES} samples without a change or a freeze)`,
        timeout: SETTLE_TIMEOUT, interval: 1000, context: ctx });
      const settledAt = timeline.length - 1;
      observed.settledAt = settledAt;
      t.diagnostic(`settled at t=${timeline[settledAt].t.toFixed(1)} s`);

      // The measured window.
      const start = timeline[settledAt];
      for (let i = 0; i < WINDOW_SAMPLES; i++) {
        await new Promise((r) => setTimeout(r, 1000));
        await sample();
      }
      const end = timeline[timeline.length - 1];
      const measured = timeline.slice(settledAt);
      for (const s of timeline) t.diagnostic(describe(s));
      const seconds = (end.at - start.at) / 1000;
      const figures = (k) => {
        const a = start[k];
        const b = end[k];
        return `${b.frameWidth}x${b.frameHeight}, ${((b.framesDecoded - a.framesDecoded) / seconds).toFixed(1)} fps ` +
          `decoded, freezes ${a.freezeCount} -> ${b.freezeCount}, packets lost ${a.packetsLost} -> ${b.packetsLost}, ` +
          `${kbps(b.bytesReceived - a.bytesReceived, seconds)} kbit/s received`;
      };
      t.diagnostic(`window of ${seconds.toFixed(1)} s: A ${figures('a')}; B ${figures('b')}`);
      const layers = end.senders.map((s) => `${s.rid} ${s.frameWidth}x${s.frameHeight}`).join(', ');
      t.diagnostic(`broadcaster's layers: ${layers}; tbf ${JSON.stringify(shaper.stats())}`);

      const show = await ctx();
      // Each viewer kept its connection and decoded frames all through the window, without a
      // freeze.
      for (const k of ['a', 'b']) {
        const who = k === 'a' ? 'viewer A' : 'viewer B';
        assert.equal(end[k].pc, start[k].pc, `${who} made a new connection during the window\n${show}`);
        assert.ok(end[k].framesDecoded > start[k].framesDecoded, `${who}: framesDecoded did not grow\n${show}`);
        assert.equal(end[k].freezeCount, start[k].freezeCount, `${who}: freezeCount grew during the window\n${show}`);
      }
      // Different layers: A's picture is wider than B's, at every sample of the window.
      const minA = Math.min(...measured.map((s) => s.a.frameWidth));
      const maxB = Math.max(...measured.map((s) => s.b.frameWidth));
      assert.ok(minA > maxB, `A's frameWidth (min ${minA}) > B's (max ${maxB}) through the window\n${show}`);
      // The slow link was real: tbf held packets back (overlimits) towards B.
      const st = shaper.stats();
      assert.ok(st && st.overlimits > 0, `tbf never limited anything: ${JSON.stringify(st)}`);
    } finally {
      shaper?.remove();
      await viewerA?.context().close();
      await viewerB?.context().close();
    }
  });

// Found by this file and fixed in the server: a viewer switched between VP8 layers used to get
// each layer's PictureID / TL0PICIDX unchanged, and Chromium's receiver (RtpVp8RefFinder, L1T3
// layers) stalled ~3 s with nothing lost. The rewriter now keeps them continuous per viewer, so
// the unconstrained viewer climbs q -> h -> f without a single freeze. Read from test 2's whole
// timeline (settling and window): climbing one layer per step from receiver reports takes a
// while, so the widest layer is checked at the last sample.
test('viewer A climbs to the widest layer without a freeze (switches land on key frames)', () => {
  assert.ok(observed?.settledAt !== null && observed?.settledAt !== undefined, 'test 2 did not get to settle');
  const { timeline } = observed;
  const last = timeline[timeline.length - 1];
  const widest = Math.max(...last.senders.map((s) => s.frameWidth));
  const history = timeline.map(describe).join('\n');
  assert.equal(last.a.frameWidth, widest, `A ends on the widest layer\n${history}`);
  assert.equal(last.a.freezeCount, 0, `A froze ${last.a.freezeCount} times while climbing, lost ${last.a.packetsLost} ` +
    `packets, sent ${last.a.pliCount} PLIs\n${history}`);
});
