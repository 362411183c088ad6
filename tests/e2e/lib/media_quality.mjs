// Video quality of one broadcaster and one viewer on the media LAN (media_lan.mjs): the studio
// page going live in the publisher namespace, a WHEP viewer in the viewer namespace, random loss
// on the broadcaster's uplink, and both sides' getStats counters over a measured window. Shared by
// tests/e2e/uplink_loss.test.mjs and bench/media_paths_bench.mjs.
//
//   const server = await startLanServer(lan, 8443, ['--no-publisher-nack']);
//   const live = await goLiveInStudio(server, publisherBrowser, 'title');   // { room, page, context, granted }
//   const { page } = await qualityPage(viewerBrowser);
//   await page.goto(`${server.url}/`);
//   await page.evaluate(startViewerInPage, live.room.playback.whep_url);
//   const loss = uplinkLoss(lan, 5, 'link');
//   const cell = await measureCell({ viewerPage: page, publisherPage: live.page, table: loss, seconds: 15 });
//   loss.remove();
import { Api } from './api.mjs';
import { newPage, pageLog, videoState, waitFor } from './browser.mjs';
import { mediaPortsOf, startLiveroom } from './server.mjs';

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// ---------------------------------------------------------------------------------------------
// In the pages

// window.__lrSelectedPair(pc), the selected candidate pair of `pc`, as { local, remote }
// candidates ({ protocol, address, port, candidateType, tcpType }), or null.
export function installStatsHelpers() {
  window.__lrSelectedPair = selectedPair;
  async function selectedPair(pc) {
  const stats = await pc.getStats();
  const byId = new Map();
  stats.forEach((s) => byId.set(s.id, s));
  let pair = null;
  stats.forEach((s) => {
    if (s.type === 'transport' && s.selectedCandidatePairId) pair = byId.get(s.selectedCandidatePairId);
  });
  if (!pair) {
    stats.forEach((s) => {
      if (!pair && s.type === 'candidate-pair' && s.nominated && s.state === 'succeeded') pair = s;
    });
  }
  if (!pair) return null;
  const cand = (id) => {
    const c = byId.get(id);
    return c ? { protocol: c.protocol, address: c.address, port: c.port, candidateType: c.candidateType,
      tcpType: c.tcpType } : null;
  };
  return { local: cand(pair.localCandidateId), remote: cand(pair.remoteCandidateId),
    currentRoundTripTime: pair.currentRoundTripTime };
  }
}


// A viewer that stays: WHEP recvonly, its <video> playing; resolves once a frame is decoded.
export async function startViewerInPage(url) {
  const pc = new RTCPeerConnection();
  pc.addTransceiver('video', { direction: 'recvonly' });
  pc.addTransceiver('audio', { direction: 'recvonly' });
  const video = document.createElement('video');
  video.muted = true;
  video.autoplay = true;
  video.playsInline = true;
  video.width = 640;
  document.body.append(video);
  pc.ontrack = (e) => {
    if (e.track.kind === 'video') video.srcObject = new MediaStream([e.track]);
  };
  const firstFrame = new Promise((resolve) => video.requestVideoFrameCallback(() => resolve()));
  await pc.setLocalDescription(await pc.createOffer());
  await new Promise((resolve) => {
    if (pc.iceGatheringState === 'complete') return resolve();
    pc.addEventListener('icegatheringstatechange', () => pc.iceGatheringState === 'complete' && resolve());
    setTimeout(resolve, 1000);
  });
  const res = await fetch(url, { method: 'POST', headers: { 'Content-Type': 'application/sdp' },
    body: pc.localDescription.sdp });
  if (res.status !== 201) throw new Error(`WHEP POST answered ${res.status}: ${await res.text()}`);
  window.__lrViewer = { pc, video, location: new URL(res.headers.get('Location'), url).toString() };
  await pc.setRemoteDescription({ type: 'answer', sdp: await res.text() });
  await Promise.race([firstFrame, new Promise((_, reject) => setTimeout(() => reject(new Error('no frame in 20 s')), 20000))]);
}

// The staying viewer's inbound video (and the codec) plus its selected pair.
export async function viewerStatsInPage() {
  const selectedPair = window.__lrSelectedPair;
  const { pc } = window.__lrViewer;
  const stats = await pc.getStats();
  let v = null;
  const byId = new Map();
  stats.forEach((s) => byId.set(s.id, s));
  stats.forEach((s) => {
    if (s.type === 'inbound-rtp' && s.kind === 'video') v = s;
  });
  if (!v) return null;
  return {
    timestamp: v.timestamp, framesDecoded: v.framesDecoded, framesReceived: v.framesReceived,
    framesDropped: v.framesDropped, freezeCount: v.freezeCount, totalFreezesDuration: v.totalFreezesDuration,
    pauseCount: v.pauseCount, packetsLost: v.packetsLost, packetsReceived: v.packetsReceived,
    nackCount: v.nackCount, pliCount: v.pliCount, keyFramesDecoded: v.keyFramesDecoded,
    retransmittedPacketsReceived: v.retransmittedPacketsReceived, frameWidth: v.frameWidth,
    frameHeight: v.frameHeight, codec: byId.get(v.codecId)?.mimeType, pair: await selectedPair(pc),
  };
}

// The studio's outbound video (its newest open RTCPeerConnection, tracked by lib/browser.mjs).
export async function publisherStatsInPage() {
  const selectedPair = window.__lrSelectedPair;
  const pcs = ((window.__e2e && window.__e2e.pcs) || []).filter((p) => p.connectionState !== 'closed');
  for (let i = pcs.length - 1; i >= 0; i--) {
    const stats = await pcs[i].getStats();
    const byId = new Map();
    stats.forEach((s) => byId.set(s.id, s));
    let o = null;
    let remote = null;
    stats.forEach((s) => {
      if (s.type === 'outbound-rtp' && s.kind === 'video') o = s;
    });
    if (!o) continue;
    stats.forEach((s) => {
      if (s.type === 'remote-inbound-rtp' && s.localId === o.id) remote = s;
    });
    return {
      timestamp: o.timestamp, packetsSent: o.packetsSent, bytesSent: o.bytesSent, nackCount: o.nackCount,
      retransmittedPacketsSent: o.retransmittedPacketsSent, retransmittedBytesSent: o.retransmittedBytesSent,
      pliCount: o.pliCount, keyFramesEncoded: o.keyFramesEncoded, framesEncoded: o.framesEncoded,
      frameWidth: o.frameWidth, frameHeight: o.frameHeight, targetBitrate: o.targetBitrate,
      qualityLimitationReason: o.qualityLimitationReason, codec: byId.get(o.codecId)?.mimeType,
      remotePacketsLost: remote?.packetsLost, remoteFractionLost: remote?.fractionLost,
      pair: await selectedPair(pcs[i]),
    };
  }
  return null;
}


// ---------------------------------------------------------------------------------------------
// Around the pages

// lib/browser.mjs's newPage (RTCPeerConnections tracked, console kept) plus this file's helpers.
export async function qualityPage(browser) {
  const made = await newPage(browser);
  await made.context.addInitScript(installStatsHelpers);
  return made;
}

export async function startLanServer(lan, port, extraArgs = []) {
  const server = await startLiveroom({
    host: lan.serverAddress,
    port,
    tlsSelfSigned: true,
    wrap: lan.inServer,
    socketPath: await lan.bridge(port),
    args: ['--webrtc-port', '0', '--webrtc-ip', lan.serverAddress, '--public-url', `https://${lan.serverAddress}:${port}`,
      ...extraArgs],
  });
  const media = mediaPortsOf(server.logText);
  if (!media) throw new Error(`no "media server on UDP port N, TCP port M" line in the log:\n${server.logTail(2000)}`);
  server.media = { ...media, candidates: media.candidates.join(', ') };
  return server;
}

// The studio page going live in a new room (like bench/webrtc_bench.mjs). Returns { room, page, context }.
export async function goLiveInStudio(server, publisherBrowser, title) {
  const api = new Api(server.url, { fetch: server.fetch });
  const room = await api.create({ title, host: 'bench' });
  const { context, page } = await qualityPage(publisherBrowser);
  await page.goto(`${server.url}/`);
  await page.evaluate(([id, token]) => localStorage.setItem(`liveroom.host.${id}`,
    JSON.stringify({ token, saved_at: Date.now() })), [room.room_id, room.host_token]);
  await page.goto(`${server.url}/studio/${room.room_id}`);
  const ctx = async () => `studio log:\n${pageLog(page)}\nserver log:\n${server.logTail(3000)}`;
  await waitFor(() => videoState(page, '#preview'), { what: 'studio preview', accept: (v) => v?.videoWidth > 0,
    context: ctx });
  await page.click('#go-live');
  await waitFor(() => page.locator('#status').getAttribute('data-state'), { what: 'studio live',
    accept: (s) => s === 'live', context: ctx });
  await waitFor(() => page.evaluate(publisherStatsInPage), { what: 'studio sending video',
    accept: (s) => s && s.framesEncoded > 0 && s.pair, context: ctx });
  // What the server's answer granted the studio's video: NACK feedback and an RTX payload type.
  const answer = await page.evaluate(() => {
    const pcs = (window.__e2e?.pcs || []).filter((p) => p.connectionState !== 'closed' && p.remoteDescription);
    return pcs.length ? pcs[pcs.length - 1].remoteDescription.sdp : '';
  });
  const video = answer.split(/\r?\nm=/).find((m) => m.startsWith('video')) || '';
  const granted = {
    nack: /a=rtcp-fb:\d+ nack\r?\n/.test(video),
    rtx: /a=rtpmap:\d+ rtx\//.test(video),
    transportCc: /a=rtcp-fb:\d+ transport-cc/.test(video),
  };
  return { room, page, context, granted };
}


export const pairText = (p) => (p?.local && p?.remote
  ? `${p.local.protocol}${p.local.tcpType ? `/${p.local.tcpType}` : ''} ${p.local.address}:${p.local.port} -> ` +
    `${p.remote.protocol}${p.remote.tcpType ? `/${p.remote.tcpType}` : ''} ${p.remote.address}:${p.remote.port}`
  : 'none');

// The loss on the broadcaster's uplink, `loss` % of its UDP datagrams to the server, at random:
//  link:   a bridge table in the server namespace drops them as they arrive from the publisher's
//          port (pub0), i.e. on the link: the publisher sent them fine, the server never sees them.
//  sender: an inet table in the publisher namespace drops them in its output hook (the method
//          check): sendto() fails with EPERM, and Chromium resends a datagram at once after such
//          a "transient" error (services/network/p2p/socket_udp.cc), so only ~loss² % are lost.
export function uplinkLoss(lan, loss, where) {
  const target = `ip daddr ${lan.serverAddress} meta l4proto udp`;
  const rules = (prefix) => [`${prefix}${target} counter`,
    ...(loss > 0 ? [`${prefix}${target} numgen random mod 100 < ${loss} counter drop`] : [])];
  if (where === 'sender') return lan.nft('publisher', { name: 'lr_uplink_loss', chains: { output: rules('') } });
  return lan.nft('server', { family: 'bridge', name: 'lr_uplink_loss', chains: { prerouting: rules('iifname "pub0" ') } });
}


/**
 * Both sides' counters over `seconds`: the viewer's inbound video (freezes, decoded fps, dropped
 * frames, packets lost, NACKs and PLIs it sent, retransmissions it got), the studio's outbound
 * video (NACKs it received, packets it retransmitted, key frames, bitrate) and, when `table` (an
 * uplinkLoss() table) is given, the UDP datagrams the link carried and dropped. All deltas.
 */
export async function measureCell({ viewerPage, publisherPage, table = null, seconds }) {
  const snap = async () => [await viewerPage.evaluate(viewerStatsInPage), await publisherPage.evaluate(publisherStatsInPage),
    table ? table.counters() : []];
  const [v0, p0, c0] = await snap();
  await sleep(seconds * 1000);
  const [v1, p1, c1] = await snap();
  if (!v0 || !v1 || !p0 || !p1) throw new Error('no inbound or outbound video to measure');
  const dv = (k) => (v1[k] ?? 0) - (v0[k] ?? 0);
  const dp = (k) => (p1[k] ?? 0) - (p0[k] ?? 0);
  const secs = (v1.timestamp - v0.timestamp) / 1000;
  const psecs = (p1.timestamp - p0.timestamp) / 1000;
  const sent = (c1[0] ?? 0) - (c0[0] ?? 0);
  const drop = (c1[1] ?? 0) - (c0[1] ?? 0);
  return {
    secs,
    freezeCount: dv('freezeCount'), freezeSeconds: dv('totalFreezesDuration'), fps: dv('framesDecoded') / secs,
    framesDecoded: dv('framesDecoded'), framesDropped: dv('framesDropped'), packetsLost: dv('packetsLost'),
    viewerNacks: dv('nackCount'), viewerPlis: dv('pliCount'), keyFrames: dv('keyFramesDecoded'),
    viewerRtx: dv('retransmittedPacketsReceived'),
    pubNacks: dp('nackCount'), pubRtx: dp('retransmittedPacketsSent'), pubKeyFrames: dp('keyFramesEncoded'),
    pubPlis: dp('pliCount'), pubKbps: (dp('bytesSent') * 8) / psecs / 1000, pubPackets: dp('packetsSent'),
    pubSize: `${p1.frameWidth}x${p1.frameHeight}`, pubLimit: p1.qualityLimitationReason,
    udpOut: sent, udpDropped: drop, measuredLoss: sent ? (100 * drop) / sent : 0,
    viewerSize: `${v1.frameWidth}x${v1.frameHeight}`, viewerCodec: v1.codec, pubCodec: p1.codec,
    viewerPair: v1.pair, pubPair: p1.pair,
  };
}

/** Ends the viewer started by startViewerInPage (WHEP DELETE). */
export async function stopViewerInPage() {
  const v = window.__lrViewer;
  if (!v) return;
  v.pc.close();
  await fetch(v.location, { method: 'DELETE' }).catch(() => {});
}
