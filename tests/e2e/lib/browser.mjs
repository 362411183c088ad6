// Headless Chromium for the end-to-end tests: Debian's /usr/bin/chromium driven by
// playwright-core (no browser download: playwright-core only speaks CDP to the binary given).
//
//   const browser = await launchBrowser();
//   const { context, page } = await newPage(browser);   // RTCPeerConnections tracked
//   await page.goto(url);
//   await waitRising(() => inboundVideo(page).then((s) => s?.framesDecoded), { what: 'framesDecoded' });
//
// Every wait here is a poll with a generous timeout that only exists so a hang fails the test
// with a useful message; nothing asserts on how long anything took.
import { chromium } from 'playwright-core';

import { assertLoopbackOnlyNetwork } from './network.mjs';

export const CHROMIUM_PATH = process.env.LIVEROOM_CHROMIUM || '/usr/bin/chromium';

// Default timeout of every wait (ms). Generous: loaded CI machines, software video codecs.
export const DEFAULT_TIMEOUT = Number(process.env.LIVEROOM_E2E_TIMEOUT_MS || 45000);

// Why each flag is here:
// - fake device + fake UI: getUserMedia gets Chromium's synthetic camera (640x480 at 30 fps, a
//   moving pattern) and microphone (a beep) without a permission prompt. Side effect that the
//   tests rely on: with media permission granted, Chromium puts the plain host IPs in its ICE
//   candidates instead of mDNS `<uuid>.local` names (it hides local IPs only from pages without
//   camera/microphone permission), in every context, also pages that never call getUserMedia.
// - --allow-loopback-in-peer-connection: also gather 127.0.0.1 / ::1 host candidates (Chromium
//   skips loopback interfaces otherwise), so ICE works where lo is the only interface: the
//   network namespace the suite runs in (scripts/netns-run; launchBrowser() checks it).
// - no sandbox / no GPU / no /dev/shm: containers and CI runners.
// - autoplay without a gesture: the watch page's <video> plays with sound and without a click.
//
// Not passed: --disable-features=WebRtcHideLocalIpsWithMdns. It works (verified: without the
// fake UI flag it turns `.local` candidates back into IPs), but Chromium keeps only the last
// --disable-features switch, so ours would silently drop the list playwright-core passes. The
// fake UI flag already gives the same result; chromium_webrtc.test.mjs checks it.
export const CHROMIUM_ARGS = [
  '--use-fake-device-for-media-stream',
  '--use-fake-ui-for-media-stream',
  '--allow-loopback-in-peer-connection',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-dev-shm-usage',
  '--autoplay-policy=no-user-gesture-required',
];

/**
 * Launches headless Chromium. `args` are appended to CHROMIUM_ARGS. Refuses (throws) unless this
 * process's network namespace has loopback addresses only (scripts/netns-run): Chromium gathers
 * ICE candidates and sends media on every interface it sees (lib/network.mjs).
 *
 * `fakeMediaUi: false` leaves out --use-fake-ui-for-media-stream: camera and microphone are then
 * refused (NotAllowedError, as when a person clicks Block) until the test grants them with
 * `context.grantPermissions(['camera', 'microphone'], { origin })`. With the flag, every request
 * is accepted whatever the context's permissions say (checked: even a CDP "denied" is ignored).
 * Such contexts gather mDNS host candidates until the permission is granted.
 */
export async function launchBrowser({ args = [], headless = true, fakeMediaUi = true, ...options } = {}) {
  assertLoopbackOnlyNetwork('Chromium');
  const base = fakeMediaUi ? CHROMIUM_ARGS : CHROMIUM_ARGS.filter((a) => a !== '--use-fake-ui-for-media-stream');
  return chromium.launch({
    executablePath: CHROMIUM_PATH,
    headless,
    args: [...base, ...args],
    // Debian's wrapper script (/usr/bin/chromium) prints harmless noise on stderr; keep quiet
    // unless asked.
    ...(process.env.LIVEROOM_E2E_BROWSER_LOG ? { logger: consoleLogger } : {}),
    ...options,
  });
}

const consoleLogger = {
  isEnabled: () => true,
  log: (name, severity, message) => console.error(`[${name}:${severity}] ${message}`),
};

// Installed in every page before its scripts run: remembers each RTCPeerConnection the page
// creates (window.__e2e.pcs), so the tests can read stats from any page without the page's help.
function trackPeerConnectionsInPage() {
  if (window.__e2e) return;
  const Native = window.RTCPeerConnection;
  const e2e = { pcs: [] };
  Object.defineProperty(window, '__e2e', { value: e2e });
  if (!Native) return;
  class TrackedPeerConnection extends Native {
    constructor(...args) {
      super(...args);
      e2e.pcs.push(this);
    }
  }
  window.RTCPeerConnection = TrackedPeerConnection;
}

/**
 * A fresh browser context (own cookies/storage: a second viewer is a second context) with one
 * page whose RTCPeerConnections are tracked and whose console and errors are kept in
 * `page.e2eLog` (an array of strings) for failure messages.
 */
export async function newPage(browser, contextOptions = {}) {
  const context = await browser.newContext(contextOptions);
  await context.addInitScript(trackPeerConnectionsInPage);
  const page = await context.newPage();
  const log = [];
  page.e2eLog = log;
  page.on('console', (m) => log.push(`console.${m.type()}: ${m.text()}`));
  page.on('pageerror', (e) => log.push(`pageerror: ${e.message}`));
  page.on('requestfailed', (r) => log.push(`requestfailed: ${r.method()} ${r.url()} ${r.failure()?.errorText}`));
  page.on('crash', () => log.push('page crashed'));
  return { context, page };
}

/** The last `n` lines of a page's console/error log, for assertion messages. */
export function pageLog(page, n = 40) {
  return (page.e2eLog || []).slice(-n).join('\n');
}

// Runs in the page: a plain-object summary of every tracked RTCPeerConnection's stats.
async function collectStatsInPage() {
  const pcs = (window.__e2e && window.__e2e.pcs) || [];
  const out = [];
  for (let i = 0; i < pcs.length; i++) {
    const pc = pcs[i];
    const item = {
      index: i,
      connectionState: pc.connectionState,
      iceConnectionState: pc.iceConnectionState,
      signalingState: pc.signalingState,
      inbound: [],
      outbound: [],
      candidatePair: null,
    };
    out.push(item);
    if (pc.connectionState === 'closed') continue;
    let report;
    try {
      report = await pc.getStats();
    } catch (e) {
      item.error = String(e);
      continue;
    }
    const byId = new Map();
    report.forEach((s) => byId.set(s.id, s));
    const codecOf = (s) => {
      const c = s.codecId && byId.get(s.codecId);
      return c ? { mimeType: c.mimeType, payloadType: c.payloadType, sdpFmtpLine: c.sdpFmtpLine } : null;
    };
    let selectedPairId = null;
    report.forEach((s) => {
      if (s.type === 'transport' && s.selectedCandidatePairId) selectedPairId = s.selectedCandidatePairId;
    });
    report.forEach((s) => {
      if (s.type === 'inbound-rtp') {
        item.inbound.push({
          kind: s.kind, ssrc: s.ssrc, mid: s.mid, codec: codecOf(s),
          packetsReceived: s.packetsReceived, packetsLost: s.packetsLost, bytesReceived: s.bytesReceived,
          framesDecoded: s.framesDecoded, framesReceived: s.framesReceived, keyFramesDecoded: s.keyFramesDecoded,
          frameWidth: s.frameWidth, frameHeight: s.frameHeight, framesPerSecond: s.framesPerSecond,
          decoderImplementation: s.decoderImplementation, nackCount: s.nackCount, pliCount: s.pliCount,
          firCount: s.firCount, totalSamplesReceived: s.totalSamplesReceived, jitter: s.jitter,
        });
      } else if (s.type === 'outbound-rtp') {
        item.outbound.push({
          kind: s.kind, ssrc: s.ssrc, mid: s.mid, rid: s.rid, codec: codecOf(s), active: s.active,
          packetsSent: s.packetsSent, bytesSent: s.bytesSent, framesEncoded: s.framesEncoded,
          keyFramesEncoded: s.keyFramesEncoded, frameWidth: s.frameWidth, frameHeight: s.frameHeight,
          framesPerSecond: s.framesPerSecond, targetBitrate: s.targetBitrate,
          encoderImplementation: s.encoderImplementation, qualityLimitationReason: s.qualityLimitationReason,
          nackCount: s.nackCount, pliCount: s.pliCount, firCount: s.firCount,
        });
      }
    });
    // The selected pair, else (older stats shapes) the nominated succeeded one.
    let pair = selectedPairId && byId.get(selectedPairId);
    if (!pair) {
      report.forEach((s) => {
        if (!pair && s.type === 'candidate-pair' && s.nominated && s.state === 'succeeded') pair = s;
      });
    }
    if (pair) {
      const cand = (id) => {
        const c = byId.get(id);
        return c ? { address: c.address, port: c.port, protocol: c.protocol, candidateType: c.candidateType } : null;
      };
      item.candidatePair = {
        state: pair.state, nominated: pair.nominated,
        availableOutgoingBitrate: pair.availableOutgoingBitrate,
        availableIncomingBitrate: pair.availableIncomingBitrate,
        currentRoundTripTime: pair.currentRoundTripTime,
        bytesSent: pair.bytesSent, bytesReceived: pair.bytesReceived,
        local: cand(pair.localCandidateId), remote: cand(pair.remoteCandidateId),
      };
    }
  }
  return out;
}

/** Stats summaries of every RTCPeerConnection the page created (closed ones included, empty). */
export async function peerStats(page) {
  return page.evaluate(collectStatsInPage);
}

/**
 * The video inbound-rtp of the page's newest open RTCPeerConnection that has one (a watch page
 * that reconnects makes a new connection; its counters start again from 0), or null.
 * Fields: framesDecoded, frameWidth, frameHeight, packetsReceived, codec.mimeType, ...
 */
export async function inboundVideo(page) {
  const pcs = await peerStats(page);
  for (let i = pcs.length - 1; i >= 0; i--) {
    if (pcs[i].connectionState === 'closed') continue;
    const v = pcs[i].inbound.find((s) => s.kind === 'video');
    if (v) return { ...v, pc: pcs[i].index, connectionState: pcs[i].connectionState };
  }
  return null;
}

/** Like inboundVideo() for the outbound video (a studio page publishing). */
export async function outboundVideo(page) {
  const pcs = await peerStats(page);
  for (let i = pcs.length - 1; i >= 0; i--) {
    if (pcs[i].connectionState === 'closed') continue;
    const v = pcs[i].outbound.find((s) => s.kind === 'video');
    if (v) return { ...v, pc: pcs[i].index, connectionState: pcs[i].connectionState, candidatePair: pcs[i].candidatePair };
  }
  return null;
}

/** availableOutgoingBitrate (bits/s) of the newest open connection's selected pair, or null. */
export async function availableOutgoingBitrate(page) {
  const pcs = await peerStats(page);
  for (let i = pcs.length - 1; i >= 0; i--) {
    const b = pcs[i].candidatePair?.availableOutgoingBitrate;
    if (pcs[i].connectionState !== 'closed' && typeof b === 'number') return b;
  }
  return null;
}

/**
 * State of a <video> element (default: the first on the page), or null if there is none.
 * videoWidth > 0 means at least one frame was decoded and sized.
 */
export async function videoState(page, selector = 'video') {
  return page.evaluate((sel) => {
    const v = document.querySelector(sel);
    if (!v) return null;
    return {
      videoWidth: v.videoWidth, videoHeight: v.videoHeight, currentTime: v.currentTime,
      readyState: v.readyState, paused: v.paused, ended: v.ended, muted: v.muted,
      hasSrcObject: !!v.srcObject, error: v.error ? v.error.message || String(v.error.code) : null,
    };
  }, selector);
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

function show(v) {
  try {
    return JSON.stringify(v);
  } catch {
    return String(v);
  }
}

/**
 * Polls `probe` (sync or async) until `accept(value)` is true; returns that value. On timeout
 * throws an Error naming `what`, the last value (or the last error the probe threw) and
 * `context()` (e.g. pageLog(page) or server.logTail()).
 */
export async function waitFor(probe, { what = 'condition', accept = Boolean, timeout = DEFAULT_TIMEOUT, interval = 200,
  context } = {}) {
  const deadline = Date.now() + timeout;
  let last;
  let lastError;
  for (;;) {
    try {
      last = await probe();
      lastError = undefined;
      if (accept(last)) return last;
    } catch (e) {
      lastError = e;
    }
    if (Date.now() >= deadline) break;
    await sleep(interval);
  }
  const extra = context ? `\n--- context ---\n${await context()}` : '';
  const got = lastError ? `last error: ${lastError.stack || lastError}` : `last value: ${show(last)}`;
  throw new Error(`timed out after ${timeout} ms waiting for ${what}; ${got}${extra}`);
}

/**
 * Waits until the number `probe()` returns has risen `times` times (each sample strictly above
 * the previous one). A drop (a new connection whose counters restart) resets the baseline
 * without counting. Non-numbers count as "not yet". Returns the samples seen.
 */
export async function waitRising(probe, { what = 'value', times = 3, timeout = DEFAULT_TIMEOUT, interval = 250,
  context } = {}) {
  const samples = [];
  let prev = null;
  let rises = 0;
  await waitFor(async () => {
    const v = await probe();
    if (typeof v !== 'number' || Number.isNaN(v)) return false;
    samples.push(v);
    if (prev !== null && v > prev) rises++;
    prev = v;
    return rises >= times;
  }, {
    what: `${what} to rise ${times} times`,
    timeout,
    interval,
    context: async () => `samples: ${show(samples.slice(-20))}${context ? `\n${await context()}` : ''}`,
  });
  return samples;
}

/**
 * The usual viewer check: the page's video inbound-rtp framesDecoded keeps rising, with a
 * non-zero frameWidth, and (when `selector` is given, default 'video') the element has
 * videoWidth > 0. Returns the last inbound video stats.
 */
export async function expectVideoFlowing(page, { selector = 'video', times = 3, timeout = DEFAULT_TIMEOUT,
  context } = {}) {
  const ctx = async () => `page log:\n${pageLog(page)}\nstats: ${show(await peerStats(page).catch((e) => String(e)))}` +
    (context ? `\n${await context()}` : '');
  await waitRising(async () => (await inboundVideo(page))?.framesDecoded, { what: 'framesDecoded', times, timeout,
    context: ctx });
  const stats = await waitFor(() => inboundVideo(page), { what: 'inbound video frameWidth > 0',
    accept: (s) => s && s.frameWidth > 0, timeout, context: ctx });
  if (selector) {
    await waitFor(() => videoState(page, selector), { what: `${selector}.videoWidth > 0`,
      accept: (v) => v && v.videoWidth > 0, timeout, context: ctx });
  }
  return stats;
}
