// Helpers of simulcast.test.mjs: a Chromium broadcaster that sends simulcast layers over WHIP, what
// a viewer's video receiver says (freezes included), a token-bucket shaper on a namespace's
// interface, and the a=rid / a=simulcast lines of an SDP.
//
//   const pub = await page.evaluate(publishSimulcastInPage, { url, token, encodings, video });
//   const v = await page.evaluate(videoReceiverInPage);      // frameWidth, freezeCount, ...
//   const shaper = tbf(lan.serverNs, lan.serverInterface, { rate: '300kbit', burst: '32kbit', latency: '400ms' });
//   ... shaper.stats() ...; shaper.remove();                  // also gone with the namespace
//
// There is no netem on this machine: a slow link is `tc ... tbf` (it queues up to `latency`, then
// drops), applied to the egress of one end of the test's veth pair.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';

const IP = ['/usr/sbin/ip', '/sbin/ip', '/usr/bin/ip', '/bin/ip'].find((p) => fs.existsSync(p)) || 'ip';
export const TC = ['/usr/sbin/tc', '/sbin/tc', '/usr/bin/tc'].find((p) => fs.existsSync(p)) || null;

// ---------------------------------------------------------------------------------------------
// A slow link: tbf on one interface of a namespace the test made

/**
 * Replaces the root qdisc of `dev` in namespace `ns` with a token bucket filter (`tc qdisc add dev
 * <dev> root tbf rate <rate> burst <burst> latency <latency>`): what leaves through `dev` is held
 * to `rate`, queued for at most `latency`, dropped beyond. Returns { show() (tc's text),
 * stats() ({bytes, packets, drops, overlimits} from `tc -s -j`), remove() (safe twice; the qdisc
 * also goes with the namespace) }.
 */
export function tbf(ns, dev, { rate, burst, latency }) {
  if (!TC) throw new Error('tc is not installed (Debian iproute2)');
  const run = (args) => execFileSync(IP, ['netns', 'exec', ns, TC, ...args],
    { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  run(['qdisc', 'add', 'dev', dev, 'root', 'tbf', 'rate', rate, 'burst', burst, 'latency', latency]);
  let removed = false;
  return {
    show: () => run(['-s', 'qdisc', 'show', 'dev', dev]),
    stats() {
      const q = JSON.parse(run(['-s', '-j', 'qdisc', 'show', 'dev', dev]) || '[]').find((x) => x.kind === 'tbf');
      return q ? { bytes: q.bytes, packets: q.packets, drops: q.drops, overlimits: q.overlimits, backlog: q.backlog }
        : null;
    },
    remove() {
      if (removed) return;
      removed = true;
      try {
        run(['qdisc', 'del', 'dev', dev, 'root']);
      } catch {
        // the namespace (or the interface) is gone already
      }
    },
  };
}

// ---------------------------------------------------------------------------------------------
// Page scripts (page.evaluate)

/**
 * Runs in a page of the server's origin (a secure context: the camera): takes Chromium's fake
 * camera at `video` (getUserMedia constraints) and its microphone, makes an RTCPeerConnection with
 * an audio transceiver and a video transceiver with `encodings` as sendEncodings (simulcast),
 * waits for ICE gathering, POSTs the offer to `url` (Bearer `token`) and applies a 201's answer.
 * Keeps { pc, stream } in window.__simulcast. Returns { status, offer, answer, location, settings
 * (the camera track's), encodings (the sender's parameters after the answer) }.
 */
export async function publishSimulcastInPage({ url, token, encodings, video }) {
  const stream = await navigator.mediaDevices.getUserMedia({ audio: true, video });
  const pc = new RTCPeerConnection({ bundlePolicy: 'max-bundle' });
  pc.addTransceiver(stream.getAudioTracks()[0], { direction: 'sendonly', streams: [stream] });
  const transceiver = pc.addTransceiver(stream.getVideoTracks()[0], { direction: 'sendonly', streams: [stream],
    sendEncodings: encodings });
  window.__simulcast = { pc, stream };
  await pc.setLocalDescription(await pc.createOffer());
  await new Promise((resolve) => {
    if (pc.iceGatheringState === 'complete') return resolve();
    const timer = setTimeout(resolve, 5000);
    pc.addEventListener('icegatheringstatechange', () => {
      if (pc.iceGatheringState === 'complete') {
        clearTimeout(timer);
        resolve();
      }
    });
    return undefined;
  });
  const headers = { 'Content-Type': 'application/sdp' };
  if (token) headers.Authorization = `Bearer ${token}`;
  const res = await fetch(url, { method: 'POST', headers, body: pc.localDescription.sdp, cache: 'no-store' });
  const answer = await res.text();
  if (res.status === 201) await pc.setRemoteDescription({ type: 'answer', sdp: answer });
  return {
    status: res.status,
    offer: pc.localDescription.sdp,
    answer,
    location: res.headers.get('Location'),
    settings: stream.getVideoTracks()[0].getSettings(),
    encodings: transceiver.sender.getParameters().encodings.map((e) => ({ rid: e.rid, active: e.active,
      maxBitrate: e.maxBitrate, scaleResolutionDownBy: e.scaleResolutionDownBy })),
  };
}

/**
 * Runs in a page: the video inbound-rtp of the newest open RTCPeerConnection that has one (a watch
 * page that reconnects makes a new one: `pc` says which), with the freeze counters lib/browser.mjs
 * does not collect. null when there is none yet.
 */
export async function videoReceiverInPage() {
  const pcs = (window.__e2e && window.__e2e.pcs) || [];
  for (let i = pcs.length - 1; i >= 0; i--) {
    const pc = pcs[i];
    if (pc.connectionState === 'closed') continue;
    let v = null;
    (await pc.getStats()).forEach((s) => {
      if (s.type === 'inbound-rtp' && s.kind === 'video') v = s;
    });
    if (!v) continue;
    return {
      pc: i, connectionState: pc.connectionState, ssrc: v.ssrc,
      frameWidth: v.frameWidth ?? 0, frameHeight: v.frameHeight ?? 0, framesPerSecond: v.framesPerSecond ?? 0,
      framesDecoded: v.framesDecoded ?? 0, framesReceived: v.framesReceived ?? 0, framesDropped: v.framesDropped ?? 0,
      keyFramesDecoded: v.keyFramesDecoded ?? 0, retransmittedPacketsReceived: v.retransmittedPacketsReceived ?? 0,
      freezeCount: v.freezeCount ?? 0, totalFreezesDuration: v.totalFreezesDuration ?? 0, pauseCount: v.pauseCount ?? 0,
      packetsReceived: v.packetsReceived ?? 0, packetsLost: v.packetsLost ?? 0, bytesReceived: v.bytesReceived ?? 0,
      nackCount: v.nackCount ?? 0, pliCount: v.pliCount ?? 0, firCount: v.firCount ?? 0, jitter: v.jitter ?? 0,
    };
  }
  return null;
}

/**
 * Runs in the broadcaster's page: each outbound-rtp video stream of window.__simulcast.pc, by rid
 * (bytesSent, frameWidth, framesPerSecond, pliCount: the key frames the server asked of that
 * layer, qualityLimitationReason, targetBitrate, active).
 */
export async function simulcastSendersInPage() {
  const pc = window.__simulcast && window.__simulcast.pc;
  if (!pc) return [];
  const out = [];
  (await pc.getStats()).forEach((s) => {
    if (s.type !== 'outbound-rtp' || s.kind !== 'video') return;
    out.push({ rid: s.rid ?? null, ssrc: s.ssrc, active: s.active, bytesSent: s.bytesSent ?? 0,
      packetsSent: s.packetsSent ?? 0, framesEncoded: s.framesEncoded ?? 0, keyFramesEncoded: s.keyFramesEncoded ?? 0,
      frameWidth: s.frameWidth ?? 0,
      frameHeight: s.frameHeight ?? 0, framesPerSecond: s.framesPerSecond ?? 0, pliCount: s.pliCount ?? 0,
      nackCount: s.nackCount ?? 0, targetBitrate: s.targetBitrate ?? 0, scalabilityMode: s.scalabilityMode ?? null,
      qualityLimitationReason: s.qualityLimitationReason ?? null, encoderImplementation: s.encoderImplementation });
  });
  return out.sort((a, b) => String(a.rid).localeCompare(String(b.rid)));
}

// ---------------------------------------------------------------------------------------------
// SDP

/** The media sections of an SDP: [{kind, lines}] (lines without the m= line's own). */
export function sdpSections(sdp) {
  const out = [];
  for (const line of String(sdp).split(/\r?\n/).filter(Boolean)) {
    if (line.startsWith('m=')) out.push({ kind: line.slice(2).split(' ')[0], mLine: line, lines: [] });
    else if (out.length) out[out.length - 1].lines.push(line);
  }
  return out;
}

/**
 * The simulcast description of the first video section: { rids: [{id, direction, rest}],
 * simulcast: [{direction, streams: [id...]}] } (a paused stream keeps its ~).
 */
export function sdpSimulcast(sdp) {
  const video = sdpSections(sdp).find((s) => s.kind === 'video');
  const rids = [];
  const simulcast = [];
  for (const line of video?.lines || []) {
    let m = /^a=rid:(\S+) (send|recv)(?: (.*))?$/.exec(line);
    if (m) rids.push({ id: m[1], direction: m[2], rest: m[3] ?? '' });
    m = /^a=simulcast:(.*)$/.exec(line);
    if (m) {
      const f = m[1].trim().split(/\s+/);
      for (let i = 0; i + 1 < f.length; i += 2) {
        simulcast.push({ direction: f[i], streams: f[i + 1].split(';').map((x) => x.split(',')[0]) });
      }
    }
  }
  return { rids, simulcast };
}
