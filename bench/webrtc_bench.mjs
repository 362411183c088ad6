// Media benchmarks of issue 3 ("Speed"), in headless Chromium against `liveroom serve` on its
// embedded media server, each beside a reference run in the same browser:
//
// 1. Time to first frame: from a viewer's WHEP POST to its first decoded frame
//    (requestVideoFrameCallback), median over BENCH_JOINS (20) joins of a live room whose
//    broadcaster is a Chromium studio page (fake camera). Reference: the same viewer code
//    connected directly to a Chromium peer in the same page (no server). Target <= 500 ms.
// 2. Congestion feedback: the publisher's availableOutgoingBitrate (its bandwidth estimate,
//    from the nominated candidate pair) sampled for BENCH_RAMP_SECONDS (10) after going live.
//    Reference: a Chromium sender to a Chromium receiver (libwebrtc's own feedback) over
//    loopback in the same page. Target: >= 1.5 Mbps within 10 s.
//
//   scripts/netns-run node bench/webrtc_bench.mjs     (after scripts/build and scripts/setup --test)
//
// Like the end-to-end tests it runs in a network namespace whose only interface is lo, with
// liveroom advertising 127.0.0.1 only (--webrtc-ip, the harness's default): Chromium gathers
// candidates on every interface it sees, and outside the namespace it would send the benchmark's
// media from and to the machine's network addresses. It refuses to start anywhere else.
//
// Prints a report and saves it to bench/results/webrtc-<UTC date>.txt and webrtc-latest.txt.
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

import { availableOutgoingBitrate, launchBrowser, newPage, videoState, waitFor } from '../tests/e2e/lib/browser.mjs';
import { Api } from '../tests/e2e/lib/api.mjs';
import { assertLoopbackOnlyNetwork } from '../tests/e2e/lib/network.mjs';
import { startLiveroom } from '../tests/e2e/lib/server.mjs';

const JOINS = Number(process.env.BENCH_JOINS || 20);
const PAIRS = Number(process.env.BENCH_PAIRS || 6);
const RAMP_SECONDS = Number(process.env.BENCH_RAMP_SECONDS || 10);
const here = path.dirname(fileURLToPath(import.meta.url));

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};
const pct = (xs, p) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor((p / 100) * xs.length))];
const fmtMs = (x) => (x == null || Number.isNaN(x) ? "n/a" : `${x.toFixed(0)} ms`);
const fmtMbps = (x) => (x == null ? 'n/a' : `${(x / 1e6).toFixed(2)} Mbps`);

// In the page: one WHEP join; resolves with ms from the POST to the first decoded frame. With
// `hold` ms, it stays that long after the first frame and, over its last second, also measures
// how long a video frame waited in the jitter buffer (ms, getStats: jitterBufferDelay /
// jitterBufferEmittedCount): { ttff, jitterMs }.
async function whepJoinInPage(arg) {
  const { url, hold = 0 } = typeof arg === 'string' ? { url: arg } : arg;
  const pc = new RTCPeerConnection();
  pc.addTransceiver('video', { direction: 'recvonly' });
  pc.addTransceiver('audio', { direction: 'recvonly' });
  const video = document.createElement('video');
  video.muted = true;
  video.autoplay = true;
  video.playsInline = true;
  document.body.append(video);
  pc.ontrack = (e) => {
    if (e.track.kind === 'video') video.srcObject = new MediaStream([e.track]);
  };
  await pc.setLocalDescription(await pc.createOffer());
  await new Promise((resolve) => {
    if (pc.iceGatheringState === 'complete') return resolve();
    pc.addEventListener('icegatheringstatechange', () => pc.iceGatheringState === 'complete' && resolve());
    setTimeout(resolve, 1000);
  });
  const firstFrame = new Promise((resolve) => video.requestVideoFrameCallback((now) => resolve(now)));
  const t0 = performance.now();
  const res = await fetch(url, { method: 'POST', headers: { 'Content-Type': 'application/sdp' },
    body: pc.localDescription.sdp });
  if (res.status !== 201) throw new Error(`WHEP POST answered ${res.status}: ${await res.text()}`);
  const location = new URL(res.headers.get('Location'), url).toString();
  await pc.setRemoteDescription({ type: 'answer', sdp: await res.text() });
  const t1 = await Promise.race([firstFrame, new Promise((_, rej) => setTimeout(() => rej(new Error('no frame in 10 s')), 10000))]);
  let jitterMs = null;
  if (hold > 0) {
    const inbound = async () => [...(await pc.getStats()).values()].find((s) => s.type === 'inbound-rtp' && s.kind === 'video');
    await new Promise((r) => setTimeout(r, Math.max(0, hold - 1000)));
    const a = await inbound();
    await new Promise((r) => setTimeout(r, 1000));
    const b = await inbound();
    const frames = (b?.jitterBufferEmittedCount ?? 0) - (a?.jitterBufferEmittedCount ?? 0);
    if (frames > 0) jitterMs = (1000 * ((b.jitterBufferDelay ?? 0) - (a.jitterBufferDelay ?? 0))) / frames;
  }
  pc.close();
  video.remove();
  await fetch(location, { method: 'DELETE' });
  return hold > 0 ? { ttff: t1 - t0, jitterMs } : t1 - t0;
}

// In the page: the reference join, a viewer connected straight to a local Chromium sender.
async function directJoinInPage() {
  const stream = await navigator.mediaDevices.getUserMedia({ video: true, audio: true });
  const sender = new RTCPeerConnection();
  for (const t of stream.getTracks()) sender.addTransceiver(t, { direction: 'sendonly' });
  const receiver = new RTCPeerConnection();
  sender.onicecandidate = (e) => e.candidate && receiver.addIceCandidate(e.candidate);
  receiver.onicecandidate = (e) => e.candidate && sender.addIceCandidate(e.candidate);
  const video = document.createElement('video');
  video.muted = true;
  video.autoplay = true;
  document.body.append(video);
  receiver.ontrack = (e) => {
    if (e.track.kind === 'video') video.srcObject = new MediaStream([e.track]);
  };
  const firstFrame = new Promise((resolve) => video.requestVideoFrameCallback((now) => resolve(now)));
  await sender.setLocalDescription(await sender.createOffer());
  const t0 = performance.now();
  await receiver.setRemoteDescription(sender.localDescription);
  await receiver.setLocalDescription(await receiver.createAnswer());
  await sender.setRemoteDescription(receiver.localDescription);
  const t1 = await firstFrame;
  sender.close();
  receiver.close();
  for (const t of stream.getTracks()) t.stop();
  video.remove();
  return t1 - t0;
}

// In the page: a loopback Chromium->Chromium call; samples the sender's estimate every 500 ms.
async function referenceRampInPage(seconds) {
  const stream = await navigator.mediaDevices.getUserMedia({ video: { width: 1280, height: 720 }, audio: true });
  const a = new RTCPeerConnection();
  const b = new RTCPeerConnection();
  for (const t of stream.getTracks()) a.addTransceiver(t, { direction: 'sendonly' });
  a.onicecandidate = (e) => e.candidate && b.addIceCandidate(e.candidate);
  b.onicecandidate = (e) => e.candidate && a.addIceCandidate(e.candidate);
  await a.setLocalDescription(await a.createOffer());
  await b.setRemoteDescription(a.localDescription);
  await b.setLocalDescription(await b.createAnswer());
  await a.setRemoteDescription(b.localDescription);
  await new Promise((r) => (a.connectionState === 'connected' ? r() : a.addEventListener('connectionstatechange',
    () => a.connectionState === 'connected' && r())));
  const samples = [];
  const start = performance.now();
  while (performance.now() - start < seconds * 1000) {
    await new Promise((r) => setTimeout(r, 500));
    const stats = await a.getStats();
    let bps = null;
    stats.forEach((s) => {
      if (s.type === 'candidate-pair' && s.nominated && s.state === 'succeeded' && s.availableOutgoingBitrate) {
        bps = s.availableOutgoingBitrate;
      }
    });
    samples.push({ t: (performance.now() - start) / 1000, bps });
  }
  a.close();
  b.close();
  for (const t of stream.getTracks()) t.stop();
  return samples;
}

function rampSummary(samples, target = 1.5e6) {
  const reached = samples.find((s) => s.bps != null && s.bps >= target);
  const last = samples[samples.length - 1]?.bps ?? null;
  const peak = Math.max(...samples.map((s) => s.bps ?? 0));
  return { reachedAt: reached ? reached.t : null, last, peak };
}

async function main() {
  const lines = [];
  const say = (s = '') => {
    lines.push(s);
    console.log(s);
  };
  assertLoopbackOnlyNetwork('the webrtc benchmark');
  const server = await startLiveroom();
  const browser = await launchBrowser();
  try {
    const api = new Api(server.url);
    const chromium = browser.version();
    say(`webrtc benchmark ${new Date().toISOString()} — Chromium ${chromium}, ${JOINS} joins, ramp ${RAMP_SECONDS} s`);
    say(`machine: ${(await import('node:os')).cpus().length} cores, loopback only (network namespace ` +
      `${process.env.LIVEROOM_NETNS || 'with lo only'}); liveroom ${server.url}, ${server.args.join(' ')}`);
    say();

    // Broadcaster: the studio page going live (publishes the fake camera over WHIP).
    const room = await api.create({ title: 'bench', host: 'bench' });
    const { page: studio } = await newPage(browser);
    await studio.goto(`${server.url}/`);
    await studio.evaluate(([id, token]) => localStorage.setItem(`liveroom.host.${id}`,
      JSON.stringify({ token, saved_at: Date.now() })), [room.room_id, room.host_token]);
    await studio.goto(`${server.url}/studio/${room.room_id}`);
    // The preview shows the camera first (a user sees it before pressing Go live).
    await waitFor(() => videoState(studio, '#preview'), { what: 'studio preview', accept: (v) => v?.videoWidth > 0 });
    await studio.click('#go-live');
    const wentLive = Date.now();
    await waitFor(() => studio.locator('#status').getAttribute('data-state'), { what: 'studio live',
      accept: (s) => s === 'live' });

    // Ramp: sample the studio's estimate from the moment Go live was pressed.
    const ramp = [];
    while ((Date.now() - wentLive) / 1000 < RAMP_SECONDS) {
      await new Promise((r) => setTimeout(r, 500));
      ramp.push({ t: (Date.now() - wentLive) / 1000, bps: await availableOutgoingBitrate(studio) });
    }
    const { page: ref } = await newPage(browser);
    await ref.goto(`${server.url}/`);
    const refRamp = await ref.evaluate(referenceRampInPage, RAMP_SECONDS);

    // Time to first frame: 20 WHEP joins of the live room, one after the other.
    const { page: viewer } = await newPage(browser);
    await viewer.goto(`${server.url}/`);
    const ttff = [];
    for (let i = 0; i < JOINS; i++) ttff.push(await viewer.evaluate(whepJoinInPage, room.playback.whep_url));
    const direct = [];
    for (let i = 0; i < Math.min(JOINS, 10); i++) direct.push(await ref.evaluate(directJoinInPage));
    // Pairs: a viewer joins (the server asks the studio for a key frame), a second one 150 ms
    // later (it gets that key frame replayed when it is under half a second old); both stay 3 s,
    // and the jitter buffer's delay in their last second says whether the second one plays late.
    const pairs = [];
    for (let i = 0; i < PAIRS; i++) {
      await new Promise((r) => setTimeout(r, 1000));  // the studio's encoder takes key frame requests again
      const first = viewer.evaluate(whepJoinInPage, { url: room.playback.whep_url, hold: 3000 });
      await new Promise((r) => setTimeout(r, 150));
      const second = viewer.evaluate(whepJoinInPage, { url: room.playback.whep_url, hold: 3000 });
      pairs.push(await Promise.all([first, second]));
    }

    say('Time to first frame (WHEP POST -> first decoded frame), live room, loopback');
    say(`  liveroom:  median ${fmtMs(median(ttff))}, p90 ${fmtMs(pct(ttff, 90))}, min ${fmtMs(Math.min(...ttff))}, ` +
      `max ${fmtMs(Math.max(...ttff))} (n=${ttff.length})`);
    say(`  reference: median ${fmtMs(median(direct))} (Chromium -> Chromium in one page, no server, n=${direct.length})`);
    say(`  ratio liveroom / reference: ${(median(ttff) / median(direct)).toFixed(2)}   target <= 500 ms: ` +
      `${median(ttff) <= 500 ? 'PASS' : 'FAIL'}`);
    say(`  samples: ${ttff.map((x) => x.toFixed(0)).join(' ')}`);
    say();
    const firsts = pairs.map((p) => p[0]);
    const seconds = pairs.map((p) => p[1]);
    const jit = (xs) => xs.map((x) => x.jitterMs).filter((x) => x != null);
    say(`Viewers joining 150 ms apart (${PAIRS} pairs; the second may get the first one's key frame replayed)`);
    say(`  first:  time to first frame median ${fmtMs(median(firsts.map((x) => x.ttff)))}; ` +
      `jitter buffer delay 2-3 s later median ${fmtMs(median(jit(firsts)))}`);
    say(`  second: time to first frame median ${fmtMs(median(seconds.map((x) => x.ttff)))}; ` +
      `jitter buffer delay 2-3 s later median ${fmtMs(median(jit(seconds)))}`);
    say(`  samples (ttff/jitter ms): ${pairs.map((p) => p.map((x) => `${x.ttff.toFixed(0)}/${x.jitterMs == null ? '-' : x.jitterMs.toFixed(0)}`).join(' ')).join(', ')}`);
    say();
    const ours = rampSummary(ramp);
    const theirs = rampSummary(refRamp);
    say(`Publisher bandwidth estimate (availableOutgoingBitrate) over ${RAMP_SECONDS} s after going live`);
    say(`  liveroom:  reached 1.5 Mbps at ${ours.reachedAt == null ? 'never' : `${ours.reachedAt.toFixed(1)} s`}, ` +
      `at ${RAMP_SECONDS} s ${fmtMbps(ours.last)}, peak ${fmtMbps(ours.peak)}`);
    say(`  reference: reached 1.5 Mbps at ${theirs.reachedAt == null ? 'never' : `${theirs.reachedAt.toFixed(1)} s`}, ` +
      `at ${RAMP_SECONDS} s ${fmtMbps(theirs.last)}, peak ${fmtMbps(theirs.peak)} (Chromium -> Chromium, libwebrtc feedback)`);
    say(`  ratio at ${RAMP_SECONDS} s liveroom / reference: ${ours.last && theirs.last ? (ours.last / theirs.last).toFixed(2) : 'n/a'}` +
      `   target >= 1.5 Mbps within 10 s: ${ours.reachedAt != null && ours.reachedAt <= 10 ? 'PASS' : 'FAIL'}`);
    say(`  liveroom samples (s:Mbps): ${ramp.map((s) => `${s.t.toFixed(1)}:${s.bps == null ? '-' : (s.bps / 1e6).toFixed(2)}`).join(' ')}`);
    say(`  reference samples (s:Mbps): ${refRamp.map((s) => `${s.t.toFixed(1)}:${s.bps == null ? '-' : (s.bps / 1e6).toFixed(2)}`).join(' ')}`);
  } finally {
    await browser.close();
    await server.stop();
  }
  const dir = path.join(here, 'results');
  fs.mkdirSync(dir, { recursive: true });
  const stamp = new Date().toISOString().replace(/[-:]/g, '').replace(/\..*/, 'Z');
  fs.writeFileSync(path.join(dir, `webrtc-${stamp}.txt`), lines.join('\n') + '\n');
  fs.writeFileSync(path.join(dir, 'webrtc-latest.txt'), lines.join('\n') + '\n');
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
