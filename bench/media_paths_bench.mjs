// Media path benchmarks of issue 11 ("Speed"), headless Chromium against `liveroom serve` on its
// embedded media server, over a LAN of network namespaces this benchmark makes (tests/e2e/lib/media_lan.mjs:
// server, publisher and viewer namespaces, the server's holding a bridge with one port per side).
// There is no netem on this machine: the network's faults are nftables tables.
//
// 1. Time to first frame over UDP and over ICE-TCP: a live room (the studio page going live with
//    Chromium's fake camera, in the publisher namespace), then BENCH_JOINS (10) WHEP joins per
//    mode from the viewer namespace, measured from the WHEP POST to the first decoded frame
//    (requestVideoFrameCallback); the modes interleaved, BENCH_JOIN_GAP_MS (1000) apart. "tcp":
//    the bridge drops every UDP frame from and to the viewer's port, so ICE can only succeed on
//    the server's passive TCP candidate (RFC 6544, same port number as UDP). "tcp-local": the
//    viewer namespace's own output/input hooks drop UDP instead (sendto() fails with EPERM,
//    which Chromium treats differently from silence). Median and p90 per mode, the ratios to
//    UDP, where the time goes (answer, ICE, DTLS, first RTP), and every join's selected
//    candidate pair (getStats) to show which path carried it.
// 2. Viewer quality with random loss on the broadcaster's uplink only: the bridge drops
//    `numgen random mod 100 < N` of the UDP datagrams arriving from the publisher's port, at
//    BENCH_LOSSES (0 2 5) %, with the server's NACKs to the publisher on (default) and off
//    (--no-publisher-nack, a second server): per cell BENCH_LOSS_SECONDS (20) of a viewer's
//    inbound-rtp (freezes, decoded fps, dropped frames, packets lost, NACKs sent) and the studio's
//    outbound-rtp (NACKs received, packets retransmitted), as deltas over the cell. The loss is
//    applied on the link and not in the publisher namespace's output hook on purpose: a datagram
//    dropped there fails sendto() with EPERM and Chromium sends it again at once, so the stream
//    would lose ~N² % (shown by one "(sender)" method-check cell, BENCH_SENDER_CHECK=0 skips it).
//
//   scripts/netns-run node bench/media_paths_bench.mjs     (as root, after scripts/build and
//                                                           scripts/setup --test)
//
// Traffic: the benchmark process refuses to start unless its own namespace is loopback-only
// (scripts/netns-run); everything else goes between the namespaces it creates, which have no
// route anywhere else and are removed on exit (also on errors and SIGINT/SIGTERM/SIGHUP), with
// their nftables tables. liveroom advertises the server namespace's address only (--webrtc-ip).
//
// Prints a report and saves it to bench/results/media-paths-<UTC date>.txt and
// media-paths-latest.txt. Other settings: BENCH_WARMUP_SECONDS (8, after going live, before the
// first loss cell), BENCH_SETTLE_SECONDS (3, at each new loss rate before counting), LIVEROOM_BIN.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

import { waitFor } from '../tests/e2e/lib/browser.mjs';
import { createMediaLan, NFT } from '../tests/e2e/lib/media_lan.mjs';
import {
  goLiveInStudio, measureCell, pairText, qualityPage, startLanServer, startViewerInPage, stopViewerInPage, uplinkLoss,
} from '../tests/e2e/lib/media_quality.mjs';
import { assertLoopbackOnlyNetwork } from '../tests/e2e/lib/network.mjs';

const JOINS = Number(process.env.BENCH_JOINS || 10);
const LOSS_SECONDS = Number(process.env.BENCH_LOSS_SECONDS || 20);
const LOSSES = (process.env.BENCH_LOSSES || '0 2 5').split(/[\s,]+/).filter(Boolean).map(Number);
const WARMUP_SECONDS = Number(process.env.BENCH_WARMUP_SECONDS || 8);
const SETTLE_SECONDS = Number(process.env.BENCH_SETTLE_SECONDS || 3);
const SENDER_CHECK = process.env.BENCH_SENDER_CHECK !== '0';
const PARTS = (process.env.BENCH_PARTS || 'ttff loss').split(/[\s,]+/);
const JOIN_TIMEOUT_MS = 20000;
// Pause before each join. Chromium's encoder ignores a key frame request that comes within 300 ms
// of the previous one (libwebrtc EncoderRtcpFeedback, kMinKeyframeSendIntervalMs): joins back to
// back then wait ~250 ms more for a key frame, whichever the path (BENCH_JOIN_GAP_MS=0 shows it).
const JOIN_GAP_MS = Number(process.env.BENCH_JOIN_GAP_MS ?? 1000);
const here = path.dirname(fileURLToPath(import.meta.url));
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// How busy the machine is (the figures depend on it): load averages and running compilers.
function machineLoad() {
  let compilers = 0;
  for (const pid of fs.readdirSync('/proc').filter((d) => /^\d+$/.test(d))) {
    try {
      if (fs.readFileSync(`/proc/${pid}/comm`, 'utf8').trim() === 'cc1plus') compilers++;
    } catch {
      // gone
    }
  }
  return `load ${os.loadavg().map((x) => x.toFixed(2)).join(' ')}, ${compilers} cc1plus running`;
}

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};
// Nearest rank.
const pct = (xs, p) => [...xs].sort((a, b) => a - b)[Math.max(0, Math.ceil((p / 100) * xs.length) - 1)];
const fmtMs = (x) => (x == null || Number.isNaN(x) ? 'n/a' : `${x.toFixed(0)} ms`);

// ---------------------------------------------------------------------------------------------
// In the pages

// One WHEP join; resolves with { ms (POST -> first decoded frame), pair } or { error }.
async function whepJoinInPage([url, timeoutMs]) {
  const selectedPair = window.__lrSelectedPair;
  const pc = new RTCPeerConnection();
  pc.addTransceiver('video', { direction: 'recvonly' });
  pc.addTransceiver('audio', { direction: 'recvonly' });
  const video = document.createElement('video');
  video.muted = true;
  video.autoplay = true;
  video.playsInline = true;
  document.body.append(video);
  // Where the time goes: answer received, ICE connected, DTLS done (connectionState), first video
  // RTP (the remote track unmutes), first frame.
  const at = {};
  const mark = (name) => {
    if (at[name] === undefined) at[name] = performance.now();
  };
  pc.addEventListener('iceconnectionstatechange', () => pc.iceConnectionState === 'connected' && mark('ice'));
  pc.addEventListener('connectionstatechange', () => pc.connectionState === 'connected' && mark('dtls'));
  pc.ontrack = (e) => {
    if (e.track.kind !== 'video') return;
    video.srcObject = new MediaStream([e.track]);
    if (!e.track.muted) mark('rtp');
    e.track.addEventListener('unmute', () => mark('rtp'));
  };
  let location = null;
  try {
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
    if (res.status !== 201) return { error: `WHEP POST answered ${res.status}: ${await res.text()}` };
    location = new URL(res.headers.get('Location'), url).toString();
    const answer = await res.text();
    mark('answer');
    await pc.setRemoteDescription({ type: 'answer', sdp: answer });
    const t1 = await Promise.race([firstFrame, new Promise((resolve) => setTimeout(() => resolve(null), timeoutMs))]);
    if (t1 == null) {
      return { error: `no frame in ${timeoutMs} ms (ice ${pc.iceConnectionState})`, pair: await selectedPair(pc) };
    }
    const phases = Object.fromEntries(Object.entries(at).map(([k, v]) => [k, v - t0]));
    // Did the viewer itself ask for a key frame (PLI) before its first frame?
    let pli = null;
    (await pc.getStats()).forEach((st) => {
      if (st.type === 'inbound-rtp' && st.kind === 'video') pli = st.pliCount ?? null;
    });
    return { ms: t1 - t0, phases, pli, pair: await selectedPair(pc) };
  } finally {
    pc.close();
    video.remove();
    if (location) await fetch(location, { method: 'DELETE' }).catch(() => {});
  }
}

// ---------------------------------------------------------------------------------------------
// Around the pages

// How UDP is taken away from the viewer in part 1. Both leave its TCP (HTTPS, ICE-TCP) alone.
//  tcp:       dropped in the network: a bridge table in the server namespace drops UDP frames
//             from and to the viewer's port (view0), as a firewall between the two would. The
//             viewer's sends succeed and nothing answers.
//  tcp-local: refused by the viewer's own machine: an inet table in the viewer namespace drops
//             UDP in its output and input hooks. sendto() then fails with EPERM, which Chromium
//             takes as a transient error (it resends once, then drops the packet).
const TTFF_MODES = ['udp', 'tcp', 'tcp-local'];
const MODE_WORDS = {
  udp: 'UDP       (nothing blocked)',
  tcp: 'TCP       (UDP dropped on the link: bridge table on the viewer\'s port in the server namespace)',
  'tcp-local': 'TCP-local (UDP refused by the viewer\'s own nftables output/input hooks: sendto() gets EPERM)',
};

function blockUdp(lan, mode) {
  if (mode === 'tcp') {
    return lan.nft('server', { family: 'bridge', name: 'lrbench_no_udp', chains: {
      prerouting: ['iifname "view0" meta l4proto udp counter drop'],
      output: ['oifname "view0" meta l4proto udp counter drop'],
    } });
  }
  if (mode === 'tcp-local') {
    return lan.nft('viewer', { name: 'lrbench_no_udp', chains: {
      input: ['meta l4proto udp counter drop'],
      output: ['meta l4proto udp counter drop'],
    } });
  }
  return null;
}

// Part 1: UDP and TCP joins of one live room, interleaved (each round rotates the modes' order).
async function timeToFirstFrame({ lan, server, publisherBrowser, viewerBrowser, say }) {
  const live = await goLiveInStudio(server, publisherBrowser, 'bench ttff');
  const { page } = await qualityPage(viewerBrowser);
  await page.goto(`${server.url}/`);
  const whep = live.room.playback.whep_url;
  const results = Object.fromEntries(TTFF_MODES.map((m) => [m, []]));
  const dropped = Object.fromEntries(TTFF_MODES.map((m) => [m, []]));
  const join = async (mode) => {
    const block = blockUdp(lan, mode);
    try {
      const r = await page.evaluate(whepJoinInPage, [whep, JOIN_TIMEOUT_MS]);
      if (block) r.dropped = block.counters().reduce((x, y) => x + y, 0);
      return r;
    } finally {
      block?.remove();
    }
  };
  // One join per mode first, not counted (the page's first connection sets things up).
  const warm = {};
  for (const mode of TTFF_MODES) warm[mode] = await join(mode);
  for (let i = 0; i < JOINS; i++) {
    const order = TTFF_MODES.map((_, k) => TTFF_MODES[(i + k) % TTFF_MODES.length]);
    for (const mode of order) {
      if (JOIN_GAP_MS) await sleep(JOIN_GAP_MS);
      const r = await join(mode);
      results[mode].push(r);
      if (r.dropped !== undefined) dropped[mode].push(r.dropped);
    }
  }
  await page.context().close();
  await live.context.close();

  say(`1. Time to first frame (WHEP POST -> first decoded frame), ${JOINS} joins per mode, interleaved, one live room,` +
    ` ${JOIN_GAP_MS} ms pause before each join (BENCH_JOIN_GAP_MS)`);
  say(`   server: UDP port ${server.media.udpPort}, TCP port ${server.media.tcpPort}, candidates ${server.media.candidates}` +
    ` (passive TCP candidate: "TCP" joins can only succeed through it)`);
  const summary = {};
  for (const mode of TTFF_MODES) {
    const ok = results[mode].filter((r) => typeof r.ms === 'number');
    const ms = ok.map((r) => r.ms);
    const protocols = {};
    for (const r of results[mode]) {
      const key = r.pair?.local ? `${r.pair.local.protocol}->${r.pair.remote.protocol}` : 'none';
      protocols[key] = (protocols[key] || 0) + 1;
    }
    const rtp = ok.map((r) => r.phases?.rtp).filter((x) => typeof x === 'number');
    summary[mode] = { med: ms.length ? median(ms) : NaN, p90: ms.length ? pct(ms, 90) : NaN, n: ms.length,
      protocols, rtpMed: rtp.length ? median(rtp) : NaN };
    say(`   ${MODE_WORDS[mode]}`);
    say(`      median ${fmtMs(summary[mode].med)}, p90 ${fmtMs(summary[mode].p90)}, ` +
      `min ${fmtMs(Math.min(...ms))}, max ${fmtMs(Math.max(...ms))} (n=${ms.length}` +
      `${results[mode].length - ok.length ? `, ${results[mode].length - ok.length} failed` : ''})`);
    say(`      selected pair (getStats) per join: ${Object.entries(protocols).map(([k, v]) => `${k} x${v}`).join(', ')}; ` +
      `e.g. ${pairText(results[mode].find((r) => r.pair)?.pair)}`);
    say(`      samples: ${results[mode].map((r) => (typeof r.ms === 'number' ? r.ms.toFixed(0) : 'FAIL')).join(' ')}`);
    const phase = (k) => {
      const xs = ok.map((r) => r.phases?.[k]).filter((x) => typeof x === 'number');
      return xs.length ? fmtMs(median(xs)) : 'n/a';
    };
    say(`      medians from the POST: answer ${phase('answer')}, ICE connected ${phase('ice')}, DTLS connected ` +
      `${phase('dtls')}, first video RTP (track unmuted) ${phase('rtp')}, first frame ${fmtMs(summary[mode].med)}`);
    const withPli = ok.filter((r) => r.pli > 0).map((r) => r.ms);
    const withoutPli = ok.filter((r) => r.pli === 0).map((r) => r.ms);
    say(`      joins where the viewer sent a PLI before its first frame: ${withPli.length}/${ok.length}` +
      (withPli.length ? `, median ${fmtMs(median(withPli))}` : '') +
      (withoutPli.length ? `; without: median ${fmtMs(median(withoutPli))}` : ''));
    if (dropped[mode].length) say(`      UDP packets the table dropped per join: ${dropped[mode].join(' ')}`);
    for (const r of results[mode].filter((x) => x.error)) say(`      failure: ${r.error}`);
  }
  for (const mode of TTFF_MODES.filter((m) => m !== 'udp')) {
    say(`   ratio ${mode.toUpperCase()} / UDP: median ${(summary[mode].med / summary.udp.med).toFixed(2)}, ` +
      `p90 ${(summary[mode].p90 / summary.udp.p90).toFixed(2)}; POST -> first video RTP (the path's own part): ` +
      `${fmtMs(summary[mode].rtpMed)} vs ${fmtMs(summary.udp.rtpMed)}, ratio ${(summary[mode].rtpMed / summary.udp.rtpMed).toFixed(2)}`);
  }
  say('   (from the first RTP to the first frame the viewer waits for a key frame: the server asks the studio for one');
  say('   when the viewer connects. Chromium\'s encoder ignores a request within 300 ms of the previous one, so a join');
  say('   close behind another waits for its own PLI and the server\'s 250 ms request window: ~+250 ms, any path)');
  say(`   warm-up joins (not counted): ${TTFF_MODES.map((m) => `${m} ${fmtMs(warm[m].ms)} ` +
    `(${warm[m].pair?.local?.protocol ?? warm[m].error})`).join(', ')}`);
  say();
  return summary;
}

// Part 2: one NACK mode (one server): a room, its studio, one viewer; then one cell per loss rate
// (`cells`: [{ loss, where }]).
async function lossSeries({ lan, server, publisherBrowser, viewerBrowser, nack, cells: specs }) {
  const live = await goLiveInStudio(server, publisherBrowser, `bench loss nack ${nack ? 'on' : 'off'}`);
  const { context, page } = await qualityPage(viewerBrowser);
  await page.goto(`${server.url}/`);
  await page.evaluate(startViewerInPage, live.room.playback.whep_url);
  await sleep(WARMUP_SECONDS * 1000);
  const cells = [];
  for (const { loss, where } of specs) {
    const table = uplinkLoss(lan, loss, where);
    try {
      await sleep(SETTLE_SECONDS * 1000);
      const cell = await measureCell({ viewerPage: page, publisherPage: live.page, table, seconds: LOSS_SECONDS });
      cells.push({ loss, where, nack, ...cell, granted: live.granted, machine: machineLoad() });
    } finally {
      table.remove();
    }
  }
  await page.evaluate(stopViewerInPage);
  await context.close();
  await live.context.close();
  // The server's own account of loss repair, logged when the publisher leaves.
  const repairs = await waitFor(() => server.logText.split('\n').filter((l) => l.includes('NACKed') || l.includes(' NACKs: ')),
    { what: 'the server\'s repair summary', accept: (l) => l.length > 0 }).catch(() => []);
  if (cells.length) {
    cells[cells.length - 1].serverRepairs = repairs.map((l) => l.replace(/^.*media: /, '')).join(' | ');
    // Publisher sessions in this series (more than one: the studio reconnected mid-series).
    cells[cells.length - 1].publisherSessions =
      server.logText.split('\n').filter((l) => / publisher session [0-9a-f]+ created/.test(l)).length;
  }
  return cells;
}

function lossReport(cells, say) {
  say(`2. Viewer quality with random loss on the broadcaster's uplink only: a bridge table in the server namespace ` +
    `drops N % of the UDP datagrams arriving from the publisher's port (pub0), numgen random mod 100 < N`);
  say(`   ${LOSS_SECONDS} s per cell (after ${SETTLE_SECONDS} s at that loss; ${WARMUP_SECONDS} s warm-up after going live),` +
    ` one studio (Chromium, fake camera) and one WHEP viewer per NACK mode; counters are deltas over the cell`);
  say(`   NACK on: the server asks the broadcaster for lost packets (default); off: liveroom serve --no-publisher-nack`);
  say();
  const cols = [
    ['loss', (c) => `${c.loss}%${c.where === 'sender' ? ' (sender)' : ''}`],
    ['NACK', (c) => (c.nack ? 'on' : 'off')],
    ['meas.loss', (c) => `${c.measuredLoss.toFixed(1)}%`],
    ['freezes', (c) => String(c.freezeCount)],
    ['freeze s', (c) => c.freezeSeconds.toFixed(2)],
    ['dec fps', (c) => c.fps.toFixed(1)],
    ['fr.dropped', (c) => String(c.framesDropped)],
    ['pk.lost', (c) => String(c.packetsLost)],
    ['v.NACKs', (c) => String(c.viewerNacks)],
    ['pub NACKs', (c) => String(c.pubNacks)],
    ['pub rtx sent', (c) => String(c.pubRtx)],
  ];
  const extra = [
    ['loss', (c) => `${c.loss}%${c.where === 'sender' ? ' (sender)' : ''}`],
    ['NACK', (c) => (c.nack ? 'on' : 'off')],
    ['v.PLIs', (c) => String(c.viewerPlis)],
    ['v.keyframes', (c) => String(c.keyFrames)],
    ['v.rtx rcvd', (c) => String(c.viewerRtx)],
    ['pub PLIs', (c) => String(c.pubPlis)],
    ['pub kbps', (c) => c.pubKbps.toFixed(0)],
    ['pub pkts', (c) => String(c.pubPackets)],
    ['udp out/dropped', (c) => `${c.udpOut}/${c.udpDropped}`],
    ['pub size', (c) => c.pubSize],
    ['pub limit', (c) => c.pubLimit ?? '-'],
  ];
  const table = (columns, rows) => {
    const widths = columns.map(([h, f]) => Math.max(h.length, ...rows.map((r) => f(r).length)));
    const line = (cells) => `   | ${cells.map((x, i) => x.padStart(widths[i])).join(' | ')} |`;
    say(line(columns.map(([h]) => h)));
    say(`   |${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`);
    const rank = (c) => (c.where === 'sender' ? 1 : 0);
    const sorted = [...rows].sort((a, b) => rank(a) - rank(b) || a.loss - b.loss || (b.nack ? 1 : 0) - (a.nack ? 1 : 0));
    for (const r of sorted) say(line(columns.map(([, f]) => f(r))));
  };
  table(cols, cells);
  say();
  say('   viewer: freezes/freeze s = inbound-rtp freezeCount/totalFreezesDuration, dec fps = framesDecoded per second,');
  say('   fr.dropped = framesDropped, pk.lost = packetsLost, v.NACKs = nackCount (NACKs the viewer sent);');
  say('   publisher (studio outbound-rtp): pub NACKs = nackCount (NACKs it received), pub rtx sent = retransmittedPacketsSent;');
  say('   meas.loss = UDP datagrams the nftables rule dropped / UDP datagrams from the publisher to the server it saw.');
  if (cells.some((c) => c.where === 'sender')) {
    say('   "(sender)": method check, the same loss applied in the publisher namespace\'s own output hook instead of on');
    say('   the link: sendto() fails with EPERM there and Chromium resends the datagram at once (a "transient" error in');
    say('   services/network/p2p/socket_udp.cc), so the stream loses only ~N² % (a few packets per cell instead of dozens).');
  }
  say();
  say('   machine at the end of each cell: ' + cells.map((c) => `${c.loss}%${c.where === 'sender' ? '(sender)' : ''}/` +
    `${c.nack ? 'on' : 'off'}: ${c.machine}`).join('; '));
  say();
  say('   more counters (same cells):');
  table(extra, cells);
  const any = cells[0];
  if (any) {
    say();
    for (const nack of [true, false]) {
      const g = cells.find((c) => c.nack === nack)?.granted;
      if (g) {
        say(`   NACK ${nack ? 'on' : 'off'}: the server's WHIP answer gives the studio's video nack ${g.nack ? 'yes' : 'no'}, ` +
          `rtx ${g.rtx ? 'yes' : 'no'}, transport-cc ${g.transportCc ? 'yes' : 'no'}`);
      }
    }
    say(`   codec: publisher ${any.pubCodec}, viewer ${any.viewerCodec} (${any.viewerSize}); ` +
      `pairs: publisher ${pairText(any.pubPair)}, viewer ${pairText(any.viewerPair)}`);
    for (const c of cells.filter((x) => x.serverRepairs)) {
      say(`   server, NACK ${c.nack ? 'on' : 'off'}, whole series (${c.publisherSessions} publisher session(s) on this ` +
        `server so far): ${c.serverRepairs}`);
    }
  }
  say();
}

async function main() {
  const started = Date.now();
  const lines = [];
  const say = (s = '') => {
    lines.push(s);
    console.log(s);
  };
  assertLoopbackOnlyNetwork('the media paths benchmark');
  if (!NFT) throw new Error('nft is not installed (Debian nftables: scripts/setup --test)');
  if (process.getuid?.() !== 0) throw new Error('must run as root: it creates network namespaces (scripts/netns-run)');

  const lan = createMediaLan();
  const servers = [];
  const browsers = [];
  try {
    const serverOn = await startLanServer(lan, 8443);
    servers.push(serverOn);
    const publisherBrowser = await lan.launchChromium('publisher');
    browsers.push(publisherBrowser);
    const viewerBrowser = await lan.launchChromium('viewer');
    browsers.push(viewerBrowser);

    say(`media paths benchmark ${new Date().toISOString()} — Chromium ${viewerBrowser.version()}, ` +
      `${JOINS} joins per mode, loss ${LOSSES.join('/')} % x ${LOSS_SECONDS} s, NACK on/off`);
    say(`machine: ${os.cpus().length} cores, ${machineLoad()} at the start; ` +
      `outer namespace ${process.env.LIVEROOM_NETNS || '(loopback only)'}`);
    say(`LAN (namespaces made by this run, one bridge): server ${lan.serverAddress} (${lan.serverNs}), ` +
      `publisher ${lan.publisherAddress}, viewer ${lan.viewerAddress}`);
    say(`liveroom ${serverOn.url}: ${serverOn.args.join(' ')}`);
    say();

    const ctx = { lan, server: serverOn, publisherBrowser, viewerBrowser, say };
    let ttff = null;
    if (PARTS.includes('ttff')) {
      ttff = await timeToFirstFrame(ctx);
      say(`(machine after part 1: ${machineLoad()})`);
      say();
    }
    const cells = [];
    if (PARTS.includes('loss')) {
      const specs = LOSSES.map((loss) => ({ loss, where: 'link' }));
      const check = Math.max(...LOSSES);
      cells.push(...await lossSeries({ ...ctx, nack: true, cells: specs }));
      await serverOn.close();
      const serverOff = await startLanServer(lan, 8444, ['--no-publisher-nack']);
      servers.push(serverOff);
      cells.push(...await lossSeries({ ...ctx, server: serverOff, nack: false,
        cells: [...specs, ...(SENDER_CHECK && check > 0 ? [{ loss: check, where: 'sender' }] : [])] }));
      await serverOff.close();
      lossReport(cells, say);
    }

    say('Summary');
    if (ttff) {
      say(`   time to first frame: UDP median ${fmtMs(ttff.udp.med)} / p90 ${fmtMs(ttff.udp.p90)}; ` +
        `TCP median ${fmtMs(ttff.tcp.med)} / p90 ${fmtMs(ttff.tcp.p90)}; TCP/UDP ${(ttff.tcp.med / ttff.udp.med).toFixed(2)} ` +
        `(median), ${(ttff.tcp.p90 / ttff.udp.p90).toFixed(2)} (p90); TCP-local/UDP ` +
        `${(ttff['tcp-local'].med / ttff.udp.med).toFixed(2)} (median); POST -> first video RTP: UDP ${fmtMs(ttff.udp.rtpMed)}, ` +
        `TCP ${fmtMs(ttff.tcp.rtpMed)}`);
    }
    for (const loss of LOSSES) {
      const on = cells.find((c) => c.loss === loss && c.nack && c.where === 'link');
      const off = cells.find((c) => c.loss === loss && !c.nack && c.where === 'link');
      if (!on || !off) continue;
      say(`   ${loss}% uplink loss: freezes ${on.freezeCount} (${on.freezeSeconds.toFixed(1)} s) with NACK vs ` +
        `${off.freezeCount} (${off.freezeSeconds.toFixed(1)} s) without; decoded fps ${on.fps.toFixed(1)} vs ${off.fps.toFixed(1)}; ` +
        `viewer packets lost ${on.packetsLost} vs ${off.packetsLost}`);
    }
    say(`   run time ${((Date.now() - started) / 1000).toFixed(0)} s; machine at the end: ${machineLoad()}`);
  } finally {
    for (const b of browsers) await b.close().catch(() => {});
    for (const s of servers) await s.close().catch(() => {});
    lan.close();
  }
  const dir = path.join(here, 'results');
  fs.mkdirSync(dir, { recursive: true });
  const stamp = new Date().toISOString().replace(/[-:]/g, '').replace(/\..*/, 'Z');
  fs.writeFileSync(path.join(dir, `media-paths-${stamp}.txt`), lines.join('\n') + '\n');
  // A partial run (BENCH_PARTS) does not replace the latest full report.
  const full = PARTS.includes('ttff') && PARTS.includes('loss');
  if (full) fs.writeFileSync(path.join(dir, 'media-paths-latest.txt'), lines.join('\n') + '\n');
  console.log(`\nsaved bench/results/media-paths-${stamp}.txt${full ? ' and media-paths-latest.txt' : ''}`);
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
