// The paths media takes when the plain UDP one is not there, with real browsers, and the ICE-TCP
// port under hostile input:
//   1. a network that drops UDP (nftables in the browsers' namespace): the studio goes live and a
//      viewer plays over ICE-TCP (RFC 6544 passive candidates on --webrtc-tcp-port);
//   2. a TURN relay: coturn (--use-auth-secret) beside liveroom (--ice-server turn:... --turn-secret),
//      studio and viewer forced to relay (?ice=relay) with the credentials of the Link headers;
//   3. ICE restarts: the viewer's media path drops (then everything drops) and comes back; the
//      page restarts ICE on the same WHEP session (PATCH, RFC 9725) instead of a new POST;
//   4. IPv6 on loopback: GStreamer publishes and plays over ::1 (--webrtc-ip ::1, HTTP on [::1]);
//   5. IPv6 in the browser: unique local addresses on a LAN, a studio over UDP and a viewer over
//      ICE-TCP (UDP dropped);
//   6. hostile bytes on the ICE-TCP port (raw sockets from node): bad framing, HTTP, a slow drip,
//      silence, STUN with a wrong password, 200 connections from one address; the server still
//      serves afterwards.
// Tests 1-3 and 5 run liveroom (HTTPS with its own certificate, like class_https.test.mjs) in the
// server namespace of a LAN made by the test (lib/netns.mjs: 10.77.X.1 <-> 10.77.X.2 over a veth
// pair), with Chromium on the other side; a broadcaster that is not under test runs beside the
// server (lib/media_paths.mjs launchBrowserInLan). There is no netem on this machine: "a network
// that drops" is an nftables table in the browser namespace, removed after the test (and with the
// namespace). Tests 4 and 6 stay on the suite's loopback. What is asserted is what the clients
// say (getStats: the selected candidate pair's protocol, address and candidate type,
// framesDecoded rising; the pages' window.liveroomDebug; gst_webrtc.py's JSON), the SDP answers
// and the logs (liveroom's, coturn's); every wait is a hang guard, nothing asserts on time.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

import { Api } from './lib/api.mjs';
import { expectVideoFlowing, inboundVideo, newPage, outboundVideo, pageLog, peerStats, videoState, waitFor,
  waitRising } from './lib/browser.mjs';
import { runGst, startGst } from './lib/gst.mjs';
import { addUlaAddresses, frame, iceServerLinks, launchBrowserInLan, liveroomDebug, missingTools, nftTable, parseStun,
  sdpCandidates, sdpIce, startCoturn, STUN, stunBindingRequest, tcpProbe, turnRestCredential } from './lib/media_paths.mjs';
import { createLan, launchBrowserInNamespace } from './lib/netns.mjs';
import { mediaPortsOf, startLiveroom } from './lib/server.mjs';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const WHEP_OFFER = fs.readFileSync(path.join(HERE, 'fixtures', 'chromium156-whep-offer.sdp'), 'utf8');

let lan;
let server; // tests 1 and 3: no ICE servers; a debug log ("viewer session ... created")
let api;
let browserB; // Chromium in the browser namespace: the side whose network the tests break
let browserS; // Chromium in the server namespace: a broadcaster off the path under test
let tmp;

/** The media ports of a server, from its start line (one per media worker). */
function mediaPorts(srv) {
  const m = mediaPortsOf(srv.logText);
  assert.ok(m, `no "media server on UDP port N, TCP port M" line in the log:\n${srv.logTail(2000)}`);
  return m;
}

// A liveroom in the LAN's server namespace on its address, HTTPS with its own certificate (the
// studio needs a secure context for the camera), media advertised on that address only.
// `media` replaces the advertised address (an IPv6 one).
async function startLanServer(port, extraArgs = [], { on = lan, media = on.serverAddress } = {}) {
  return startLiveroom({
    host: on.serverAddress,
    port,
    tlsSelfSigned: true,
    wrap: on.inServer,
    socketPath: await on.bridge(port),
    args: ['--webrtc-port', '0', '--webrtc-ip', media,
      '--public-url', `https://${on.serverAddress}:${port}`, ...extraArgs],
  });
}

before(async () => {
  const missing = missingTools();
  assert.deepEqual(missing, [], `missing: ${missing.join(', ')}`);
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'liveroom-media-paths-'));
  const dir = tmp;
  process.on('exit', () => !process.env.LIVEROOM_E2E_KEEP && fs.rmSync(dir, { recursive: true, force: true }));
  lan = createLan();
  server = await startLanServer(8443, ['--log-level', 'debug']);
  api = new Api(server.url, { fetch: server.fetch });
  browserB = await launchBrowserInNamespace(lan);
  browserS = await launchBrowserInLan(lan, 'server');
});

after(async () => {
  await browserB?.close();
  await browserS?.close();
  await server?.close();
  lan?.close();
  if (tmp && !process.env.LIVEROOM_E2E_KEEP) fs.rmSync(tmp, { recursive: true, force: true });
});

const pageContext = (srv, ...pages) => async () =>
  pages.map((p, i) => `--- page ${i} log ---\n${pageLog(p)}`).join('\n') +
  `\n--- server log ---\n${srv.logTail(4000)}`;

const status = (page) => page.locator('#status').getAttribute('data-state');

// `url` with `query` added before its #fragment (a studio link carries the token there).
function withQuery(url, query) {
  const u = new URL(url);
  u.search = u.search ? `${u.search}&${query}` : `?${query}`;
  return u.href;
}

// Opens the studio at `url` (`onPage(page)` first), waits for the camera preview, goes live and
// waits until the page says it is live and frames are being encoded. Returns the page.
async function goLive(browser, url, ctxOf, { onPage = () => {} } = {}) {
  const { page } = await newPage(browser);
  onPage(page);
  const ctx = ctxOf(page);
  await page.goto(url);
  await waitFor(() => videoState(page, '#preview'), { what: 'camera preview', accept: (v) => v?.videoWidth > 0,
    context: ctx });
  await page.click('#go-live');
  await waitFor(() => status(page), { what: 'studio live', accept: (s) => s === 'live', context: ctx });
  await waitRising(async () => (await outboundVideo(page))?.framesEncoded, { what: 'studio framesEncoded',
    context: ctx });
  return page;
}

// A WHIP or WHEP offer (the studio posts to /whip/<room>, the viewer to the room's whep_url).
const isSdpPost = (request) => request.method() === 'POST' &&
  (request.headers()['content-type'] || '').startsWith('application/sdp');

// The selected candidate pair of the page's newest open connection with video (getStats).
async function videoPair(page, direction) {
  const v = direction === 'out' ? await outboundVideo(page) : await inboundVideo(page);
  if (!v) return null;
  return (await peerStats(page))[v.pc].candidatePair;
}

test('UDP blocked between browsers and server: the studio goes live and a viewer plays over ICE-TCP', async (t) => {
  const { udpPorts, tcpPorts } = mediaPorts(server);  // one of each per media worker
  t.diagnostic(`media: UDP ${udpPorts}, TCP ${tcpPorts} on ${lan.serverAddress}`);
  assert.deepEqual(tcpPorts, udpPorts, 'by default the TCP ports have the UDP ports\' numbers');
  // The school's firewall: no UDP at all in or out of the browser namespace.
  const block = nftTable(lan.browserNs, 'liveroom_e2e_no_udp', {
    input: ['meta l4proto udp counter drop'],
    output: ['meta l4proto udp counter drop'],
  });
  let studio;
  let viewer;
  try {
    const room = await api.create({ title: 'ICE-TCP class' });
    const ctxOf = (...pages) => pageContext(server, ...pages);
    // The answers list TCP candidates below UDP ones (what the page got: recorded from the network).
    const answers = [];
    const record = (page) => page.on('response', (r) => {
      if (isSdpPost(r.request())) {
        answers.push(r.text().catch((e) => `(no body: ${e.message})`));
      }
    });

    studio = await goLive(browserB, room.studio_url, (p) => ctxOf(p), { onPage: record });
    const sctx = ctxOf(studio);
    const out = await waitFor(() => videoPair(studio, 'out'), { what: 'studio: selected pair',
      accept: (p) => p?.local && p?.remote, context: sctx });
    assert.equal(out.local.protocol, 'tcp', `studio pair: ${JSON.stringify(out)}`);
    assert.equal(out.remote.protocol, 'tcp', `studio pair: ${JSON.stringify(out)}`);
    assert.equal(out.remote.address, lan.serverAddress, JSON.stringify(out));
    assert.ok(tcpPorts.includes(out.remote.port), JSON.stringify(out));
    const sdebug = await waitFor(() => liveroomDebug(studio), { what: 'studio liveroomDebug.candidatePair',
      accept: (d) => d?.candidatePair, context: sctx });
    assert.equal(sdebug.candidatePair.protocol, 'tcp', JSON.stringify(sdebug));
    assert.equal((await api.join(room.room_id)).live, true);

    ({ page: viewer } = await newPage(browserB));
    record(viewer);
    const ctx = ctxOf(studio, viewer);
    await viewer.goto(room.watch_url);
    await expectVideoFlowing(viewer, { selector: '#video', context: ctx });
    const pair = await videoPair(viewer, 'in');
    assert.equal(pair?.local?.protocol, 'tcp', `viewer pair: ${JSON.stringify(pair)}`);
    assert.equal(pair.remote.protocol, 'tcp', JSON.stringify(pair));
    assert.equal(pair.remote.address, lan.serverAddress, JSON.stringify(pair));
    assert.ok(tcpPorts.includes(pair.remote.port), JSON.stringify(pair));
    const vdebug = await waitFor(() => liveroomDebug(viewer), { what: 'viewer liveroomDebug.candidatePair',
      accept: (d) => d?.candidatePair, context: ctx });
    assert.equal(vdebug.candidatePair.protocol, 'tcp', JSON.stringify(vdebug));
    assert.equal(vdebug.iceRestartFallbacks, 0, JSON.stringify(vdebug));

    // The answers: UDP first, then passive TCP candidates with lower priorities, same address.
    assert.equal(answers.length, 2, 'one WHIP and one WHEP answer');
    for (const answer of await Promise.all(answers)) {
      // (each m-section lists the same candidates: the first one's count)
      const cands = sdpCandidates(answer.split(/\r?\nm=/).slice(0, 2).join('\nm='));
      const udp = cands.filter((c) => c.protocol === 'udp');
      const tcp = cands.filter((c) => c.protocol === 'tcp');
      // (the session's worker's ports: the TCP one has the UDP one's number)
      assert.equal(udp.length, 1, answer);
      assert.ok(udpPorts.includes(udp[0].port), answer);
      assert.deepEqual(udp.map((c) => `${c.address} ${c.port}`), [`${lan.serverAddress} ${udp[0].port}`], answer);
      assert.deepEqual(tcp.map((c) => `${c.address} ${c.port} ${c.type} ${c.tcptype}`),
        [`${lan.serverAddress} ${udp[0].port} host passive`], answer);
      assert.ok(cands.indexOf(tcp[0]) > cands.indexOf(udp[0]), 'TCP listed after UDP');
      assert.ok(tcp[0].priority < udp[0].priority, 'TCP below UDP');
    }
    // The firewall was real: Chromium tried UDP and it was dropped.
    const dropped = block.packets();
    t.diagnostic(`UDP packets dropped in the browser namespace: ${dropped}`);
    assert.ok(dropped > 0, block.list());
  } finally {
    block.remove();
    await studio?.context().close();
    await viewer?.context().close();
  }
});

test('TURN: coturn beside liveroom, the pages use the Link headers\' credentials and relay (?ice=relay)', async (t) => {
  const secret = crypto.randomBytes(18).toString('base64url');
  const dir = fs.mkdtempSync(path.join(tmp, 'coturn-'));
  let turn;
  let turnServer;
  let studio;
  let viewer;
  try {
    turn = await startCoturn({ wrap: lan.inServer, listenIp: lan.serverAddress, secret, dir });
    turnServer = await startLanServer(8444, ['--ice-server', turn.url, '--turn-secret', secret]);
    const turnApi = new Api(turnServer.url, { fetch: turnServer.fetch });
    const room = await turnApi.create({ title: 'TURN class' });
    const ctxOf = (...pages) => async () => `${await pageContext(turnServer, ...pages)()}\n--- coturn log ---\n` +
      `${turn.log().slice(-4000)}`;

    // What the pages are told: the TURN server with REST credentials (coturn's use-auth-secret:
    // "<expiry>:<name>" and base64 HMAC-SHA1 of it under the secret), on OPTIONS and on the 201.
    const options = await turnApi.request('OPTIONS', room.playback.whep_url);
    assert.equal(options.status, 204, options.text);
    const links = iceServerLinks(options.headers);
    const turnLink = links.find((l) => l.url === turn.url);
    assert.ok(turnLink, `Link headers: ${options.headers.get('link')}`);
    const { username, credential } = turnLink.params;
    assert.match(username, /^\d+:/, JSON.stringify(turnLink));
    assert.ok(Number(username.split(':')[0]) > Date.now() / 1000, `expiry in the future: ${username}`);
    assert.equal(credential, turnRestCredential(secret, username), 'the credential coturn expects');

    // The broadcaster (beside the server) and the viewer (across the LAN), both through coturn.
    studio = await goLive(browserS, withQuery(room.studio_url, 'ice=relay'), (p) => ctxOf(p));
    const sdebug = await waitFor(() => liveroomDebug(studio), { what: 'studio on a relay candidate',
      accept: (d) => d?.candidatePair, context: ctxOf(studio) });
    assert.equal(sdebug.iceTransportPolicy, 'relay', JSON.stringify(sdebug));
    assert.equal(sdebug.candidateType, 'relay', JSON.stringify(sdebug));
    assert.ok(sdebug.iceServers.includes(turn.url), JSON.stringify(sdebug));

    ({ page: viewer } = await newPage(browserB));
    const ctx = ctxOf(studio, viewer);
    await viewer.goto(withQuery(room.watch_url, 'ice=relay'));
    await expectVideoFlowing(viewer, { selector: '#video', context: ctx });
    const pair = await videoPair(viewer, 'in');
    assert.equal(pair?.local?.candidateType, 'relay', `viewer pair: ${JSON.stringify(pair)}`);
    assert.equal(pair.remote.address, lan.serverAddress, JSON.stringify(pair));
    const vdebug = await waitFor(() => liveroomDebug(viewer), { what: 'viewer liveroomDebug.candidatePair',
      accept: (d) => d?.candidatePair, context: ctx });
    assert.equal(vdebug.iceTransportPolicy, 'relay', JSON.stringify(vdebug));
    assert.equal(vdebug.candidateType, 'relay', JSON.stringify(vdebug));
    assert.equal(vdebug.candidatePair.relayProtocol, 'udp', JSON.stringify(vdebug));
    assert.ok(vdebug.iceServers.includes(turn.url), JSON.stringify(vdebug));

    // coturn allocated relays for the time-limited username (so it checked the credential), and
    // let them send to liveroom's candidate.
    const log = turn.log();
    const allocations = [...log.matchAll(/user <([^>]*)>: incoming packet ALLOCATE processed, success/g)].map((m) => m[1]);
    t.diagnostic(`coturn allocations for: ${[...new Set(allocations)].join(', ')}`);
    assert.ok(allocations.length >= 2, `two allocations (studio, viewer) in the coturn log:\n${log.slice(-4000)}`);
    for (const user of allocations) assert.match(user, /^\d+:/, user);
    assert.match(log, /CREATE_PERMISSION processed, success/);
    // liveroom never writes the secret down.
    assert.equal(turnServer.logText.includes(secret), false, 'the TURN secret is in liveroom\'s log');
  } finally {
    await studio?.context().close();
    await viewer?.context().close();
    await turnServer?.close();
    await turn?.stop();
  }
});

test('ICE restart: the viewer\'s media path drops and comes back; the same WHEP session plays again', async (t) => {
  const { udpPorts, tcpPorts } = mediaPorts(server);
  const tcpSet = `{ ${tcpPorts.join(', ')} }`;
  const room = await api.create({ title: 'ICE restart class' });
  let studio;
  let viewer;
  let cut;
  try {
    studio = await goLive(browserS, room.studio_url, (p) => pageContext(server, p));
    ({ page: viewer } = await newPage(browserB));
    const ctx = pageContext(server, studio, viewer);
    // Every WHEP request the viewer makes, and the session URL its POST got.
    const requests = [];
    let sessionUrl = null;
    viewer.on('request', (r) => {
      if (isSdpPost(r) || r.method() === 'PATCH') requests.push(`${r.method()} ${new URL(r.url()).pathname}`);
    });
    viewer.on('response', (r) => {
      if (isSdpPost(r.request()) && r.status() === 201) sessionUrl = new URL(r.headers().location, r.url()).pathname;
    });
    await viewer.goto(room.watch_url);
    await expectVideoFlowing(viewer, { selector: '#video', context: ctx });
    const first = await inboundVideo(viewer);
    assert.ok(sessionUrl, 'the WHEP POST gave a session URL');
    const sessionId = sessionUrl.split('/').pop();
    const logFrom = server.logText.length;
    assert.match(server.logText, new RegExp(`viewer session ${sessionId.slice(0, 8)} created`));

    // The media path drops: UDP and the ICE-TCP port, both ways, on the viewer's side. HTTPS
    // stays up, so the restart's PATCH is answered while media cannot pass yet: only the new
    // credentials can bring the connection back once the path is restored.
    cut = nftTable(lan.browserNs, 'liveroom_e2e_cut', {
      input: [`iifname "${lan.browserInterface}" meta l4proto udp counter drop`,
        `iifname "${lan.browserInterface}" tcp sport ${tcpSet} counter drop`],
      output: [`oifname "${lan.browserInterface}" meta l4proto udp counter drop`,
        `oifname "${lan.browserInterface}" tcp dport ${tcpSet} counter drop`],
    });
    const pcState = async () => (await peerStats(viewer))[first.pc];
    const lost = await waitFor(pcState, { what: 'the viewer notices: connection disconnected',
      accept: (s) => ['disconnected', 'failed'].includes(s?.connectionState), context: ctx });
    const framesAtLoss = (await inboundVideo(viewer))?.framesDecoded;
    const restarted = await waitFor(() => liveroomDebug(viewer), { what: 'an ICE restart accepted by the server',
      accept: (d) => d?.iceRestarts >= 1, context: ctx });
    t.diagnostic(`lost (${lost.connectionState}, ${lost.iceConnectionState}) at ${framesAtLoss} frames; ` +
      `restart accepted while cut: ${JSON.stringify(restarted)}; dropped ${cut.packets()} packets`);
    assert.ok(cut.packets() > 0, cut.list());
    cut.remove();

    // Back on the same session and the same peer connection; frames rise again.
    await waitFor(pcState, { what: 'the same connection connected again', accept: (s) => s?.connectionState === 'connected',
      context: ctx });
    await waitRising(async () => {
      const v = await inboundVideo(viewer);
      return v?.pc === first.pc ? v.framesDecoded : null;
    }, { what: 'framesDecoded on the same connection after the restart', context: ctx });
    const after = await inboundVideo(viewer);
    assert.equal(after.pc, first.pc, 'no new RTCPeerConnection');
    assert.ok(after.framesDecoded > framesAtLoss, `${after.framesDecoded} > ${framesAtLoss}`);
    const d = await liveroomDebug(viewer);
    assert.ok(d.iceRestarts >= 1, JSON.stringify(d));
    assert.equal(d.iceRestartFallbacks, 0, JSON.stringify(d));
    assert.equal(d.recovering, false, JSON.stringify(d));
    // One POST (the first), then PATCHes of that session only.
    const posts = requests.filter((r) => r.startsWith('POST'));
    const patches = requests.filter((r) => r.startsWith('PATCH'));
    assert.equal(posts.length, 1, requests.join('\n'));
    assert.ok(patches.length >= 1, requests.join('\n'));
    assert.deepEqual([...new Set(patches)], [`PATCH ${sessionUrl}`], requests.join('\n'));
    // The server: an ICE restart of that session, no new viewer session, that one not closed.
    const log = server.logText.slice(logFrom);
    assert.match(log, new RegExp(`session ${sessionId.slice(0, 8)}: ICE restart`), log.slice(-4000));
    assert.doesNotMatch(log, /viewer session \w+ created/, log.slice(-4000));
    assert.doesNotMatch(log, new RegExp(`viewer session ${sessionId.slice(0, 8)} closed`), log.slice(-4000));
    // The new pair is the viewer's address to the server's, as before.
    const pair = await videoPair(viewer, 'in');
    assert.equal(pair?.remote?.address, lan.serverAddress, JSON.stringify(pair));
    assert.ok([...udpPorts, ...tcpPorts].includes(pair.remote.port), JSON.stringify(pair));

    // Then everything drops for a moment (Wi-Fi gone: HTTPS too), and comes back as soon as the
    // page notices: the restart it starts then (its PATCH goes out, or is resent by TCP, once the
    // path is back) brings the same session back again.
    const restartsBefore = d.iceRestarts;
    const logFrom2 = server.logText.length;
    const framesBefore = after.framesDecoded;
    cut = nftTable(lan.browserNs, 'liveroom_e2e_cut_all', {
      input: [`iifname "${lan.browserInterface}" counter drop`],
      output: [`oifname "${lan.browserInterface}" counter drop`],
    });
    await waitFor(pcState, { what: 'the viewer notices the second drop',
      accept: (s) => ['disconnected', 'failed'].includes(s?.connectionState), context: ctx });
    assert.ok(cut.packets() > 0, cut.list());
    cut.remove();
    await waitFor(() => liveroomDebug(viewer), { what: 'recovered from the second drop',
      accept: (x) => x && !x.recovering && x.iceRestarts > restartsBefore, context: ctx });
    await waitRising(async () => {
      const v = await inboundVideo(viewer);
      return v?.pc === first.pc ? v.framesDecoded : null;
    }, { what: 'framesDecoded on the same connection after the second drop', context: ctx });
    const d2 = await liveroomDebug(viewer);
    t.diagnostic(`after the second drop: ${JSON.stringify(d2)}`);
    assert.ok((await inboundVideo(viewer)).framesDecoded > framesBefore);
    assert.equal(d2.iceRestartFallbacks, 0, JSON.stringify(d2));
    assert.equal(requests.filter((r) => r.startsWith('POST')).length, 1, requests.join('\n'));
    assert.deepEqual([...new Set(requests.filter((r) => r.startsWith('PATCH')))], [`PATCH ${sessionUrl}`]);
    const log2 = server.logText.slice(logFrom2);
    assert.match(log2, new RegExp(`session ${sessionId.slice(0, 8)}: ICE restart`), log2.slice(-4000));
    assert.doesNotMatch(log2, /viewer session \w+ (created|closed)/, log2.slice(-4000));
  } finally {
    cut?.remove();
    await studio?.context().close();
    await viewer?.context().close();
  }
});

test('IPv6: GStreamer publishes and plays over ::1 (--webrtc-ip ::1, HTTP on [::1])', async (t) => {
  // The suite's own namespace (loopback only) has ::1 on lo. Chromium 156 gathers no ::1
  // candidate even with --allow-loopback-in-peer-connection (only 127.0.0.1), so the clients
  // here are GStreamer's (libnice), told to gather on ::1 only (--local-ip ::1).
  const v6 = await startLiveroom({ host: '[::1]', args: ['--webrtc-port', '0', '--webrtc-ip', '::1'] });
  let pub;
  try {
    const { candidates } = mediaPorts(v6);
    assert.deepEqual(candidates, ['::1']);
    assert.equal(v6.url, `http://[::1]:${v6.port}`);
    const v6api = new Api(v6.url);
    const room = await v6api.create({ title: 'IPv6 class' });
    assert.ok(room.playback.whep_url.startsWith(`http://[::1]:${v6.port}/`), room.playback.whep_url);
    pub = startGst(['publish', '--url', room.whip_url, '--token', room.host_token, '--codec', 'vp8',
      '--seconds', '60', '--local-ip', '::1']);
    await waitFor(() => v6api.join(room.room_id), { what: 'room live (GStreamer over ::1)', accept: (r) => r.live,
      context: async () => `${pub.log().slice(-3000)}\n--- server log ---\n${v6.logTail(3000)}` });
    const play = await runGst(['play', '--url', room.playback.whep_url, '--seconds', '40', '--frames', '30',
      '--local-ip', '::1']);
    const show = JSON.stringify({ ...play, stderr: undefined });
    t.diagnostic(`play: ${play.frames} frames ${play.width}x${play.height} ${play.video_codec}, offer ` +
      `${play.offer_candidates}, answer ${play.answer_candidates}, ${play.connection_state}`);
    assert.equal(play.ok, true, `${show}\n${play.stderr.slice(-3000)}\n--- server log ---\n${v6.logTail(3000)}`);
    assert.ok(play.frames >= 30, show);
    // Both ends offered ::1 only: the pair that carried the frames is ::1 <-> ::1.
    assert.deepEqual([...new Set(play.offer_candidates)], ['::1'], show);
    assert.deepEqual([...new Set(play.answer_candidates)], ['::1'], show);
    assert.equal(play.connection_state, 'connected', show);
    pub.stop();
    const published = await pub.result;
    const pshow = JSON.stringify({ ...published, stderr: undefined });
    assert.equal(published.status, 201, pshow);
    assert.deepEqual([...new Set(published.offer_candidates)], ['::1'], pshow);
    assert.deepEqual([...new Set(published.answer_candidates)], ['::1'], pshow);
    const sent = (published.rtp?.['outbound-rtp'] || []).find((r) => r.kind === 'video');
    assert.ok(sent?.packets_sent > 0, pshow);
  } finally {
    if (pub && !pub.exited) pub.kill();
    await v6.close();
  }
});

test('IPv6 in the browser: a studio over UDP and a viewer over ICE-TCP on unique local addresses (fd77:X::1)',
  async (t) => {
    // A LAN of its own whose veth pair has IPv6 (fd77:X::1 <-> fd77:X::2, nothing else); the pages
    // are served over IPv4 HTTPS, the media server advertises the IPv6 address only. The studio
    // runs beside the server (UDP over IPv6); the viewer across the pair, where UDP is dropped
    // (ICE-TCP over IPv6).
    const lan6 = addUlaAddresses(createLan());
    let v6;
    let studioBrowser;
    let viewerBrowser;
    let block;
    try {
      v6 = await startLanServer(8443, [], { on: lan6, media: lan6.serverAddress6 });
      const { udpPorts, tcpPorts, candidates } = mediaPorts(v6);
      assert.deepEqual(candidates, [lan6.serverAddress6]);
      const v6api = new Api(v6.url, { fetch: v6.fetch });
      const room = await v6api.create({ title: 'IPv6 class' });
      studioBrowser = await launchBrowserInLan(lan6, 'server');
      viewerBrowser = await launchBrowserInLan(lan6, 'browser');
      block = nftTable(lan6.browserNs, 'liveroom_e2e_no_udp', {
        input: ['meta l4proto udp counter drop'],
        output: ['meta l4proto udp counter drop'],
      });
      const answers = [];
      const record = (page) => page.on('response', (r) => isSdpPost(r.request()) &&
        answers.push(r.text().catch((e) => `(no body: ${e.message})`)));
      const ctxOf = (...pages) => pageContext(v6, ...pages);
      const studio = await goLive(studioBrowser, room.studio_url, (p) => ctxOf(p), { onPage: record });
      const { page: viewer } = await newPage(viewerBrowser);
      record(viewer);
      const ctx = ctxOf(studio, viewer);
      await viewer.goto(room.watch_url);
      await expectVideoFlowing(viewer, { selector: '#video', context: ctx });

      const out = await waitFor(() => videoPair(studio, 'out'), { what: 'studio: selected pair',
        accept: (p) => p?.remote, context: ctx });
      const pair = await videoPair(viewer, 'in');
      t.diagnostic(`studio [${out.local.address}] -> [${out.remote.address}]:${out.remote.port}/${out.remote.protocol}, ` +
        `viewer [${pair?.local?.address}] -> [${pair?.remote?.address}]:${pair?.remote?.port}/${pair?.remote?.protocol}`);
      assert.deepEqual([out.local.address, out.remote.address, out.remote.protocol],
        [lan6.serverAddress6, lan6.serverAddress6, 'udp'], `studio: ${JSON.stringify(out)}`);
      assert.ok(udpPorts.includes(out.remote.port), `studio: ${JSON.stringify(out)}`);
      assert.deepEqual([pair?.local?.address, pair?.remote?.address, pair?.remote?.protocol],
        [lan6.browserAddress6, lan6.serverAddress6, 'tcp'], `viewer: ${JSON.stringify(pair)}`);
      assert.ok(tcpPorts.includes(pair.remote.port), `viewer: ${JSON.stringify(pair)}`);
      assert.equal(answers.length, 2, 'one WHIP and one WHEP answer');
      for (const answer of await Promise.all(answers)) {
        const cands = sdpCandidates(answer);
        const port = cands[0]?.port;  // the session's worker's (TCP has the UDP port's number)
        assert.ok(udpPorts.includes(port), answer);
        assert.deepEqual([...new Set(cands.map((c) => `${c.protocol} ${c.address} ${c.port}`))],
          [`udp ${lan6.serverAddress6} ${port}`, `tcp ${lan6.serverAddress6} ${port}`], answer);
      }
      assert.ok(block.packets() > 0, block.list());
      await studio.context().close();
      await viewer.context().close();
    } finally {
      block?.remove();
      await studioBrowser?.close();
      await viewerBrowser?.close();
      await v6?.close();
      lan6.close();
    }
  });

test('hostile bytes on the ICE-TCP port: bad framing, HTTP, drips, silence, wrong passwords, 200 connections', async (t) => {
  // Per address at most max(16, --max-sessions-per-ip) ICE-TCP connections; an unvalidated one is
  // closed after --ice-timeout-ms. Small numbers, so the test sees both.
  const PER_ADDRESS = 20;
  // One media worker: every session's ICE-TCP candidate is the one port probed here.
  const tcpServer = await startLiveroom({ args: ['--webrtc-port', '0', '--webrtc-ip', '127.0.0.1',
    '--max-sessions-per-ip', String(PER_ADDRESS), '--ice-timeout-ms', '8000', '--media-workers', '1'] });
  const probes = [];
  const open = (options = {}) => {
    const p = tcpProbe({ host: '127.0.0.1', port: tcpPort, ...options });
    probes.push(p);
    return p;
  };
  const ctx = async () => `probes: ${JSON.stringify(probes.map((p) => p.state).slice(-20))}\n--- server log ---\n` +
    tcpServer.logTail(3000);
  const closedByServer = (p, what) => waitFor(() => p.state.endedByPeer || p.state.closed, {
    what: `${what}: closed by the server`, context: ctx });
  let tcpPort;
  try {
    ({ tcpPort } = mediaPorts(tcpServer));
    const tcpApi = new Api(tcpServer.url);
    const room = await tcpApi.create({ title: 'ICE-TCP under fire' });
    const whep = room.playback.whep_url;
    // A WHEP session to aim STUN checks at (a recvonly offer; the room need not be live).
    const newSession = async () => {
      const r = await tcpApi.postSdp(whep, WHEP_OFFER);
      assert.equal(r.status, 201, r.text);
      const tcp = sdpCandidates(r.answer).find((c) => c.protocol === 'tcp');
      assert.equal(tcp?.port, tcpPort, r.answer);
      const server = sdpIce(r.answer);
      const client = sdpIce(WHEP_OFFER);
      return { username: `${server.ufrag}:${client.ufrag}`, password: server.pwd, location: r.location };
    };
    const check = async (probe, session, { password = session.password } = {}) => {
      const request = stunBindingRequest({ username: session.username, password });
      const tid = request.subarray(8, 20).toString('hex');
      await probe.connected;
      const before = probe.frames().length;
      await probe.write(frame(request));
      await waitFor(() => probe.frames().length > before || probe.state.endedByPeer, {
        what: 'a STUN response frame', context: ctx });
      const reply = parseStun(probe.frames()[before] || Buffer.alloc(0));
      assert.ok(reply, `a STUN message: ${probe.received().toString('hex')}`);
      assert.equal(reply.transactionId, tid);
      return reply;
    };

    // Slow ones first, running while the rest goes on: silence, a drip of a frame that never
    // ends, a well-formed check nobody knows (an unknown ufrag: no answer). Each is closed by the
    // server once --ice-timeout-ms passes without a session validating it.
    const silent = open();
    const drip = open();
    const stranger = open();
    await Promise.all([silent.connected, drip.connected, stranger.connected]);
    await stranger.write(frame(stunBindingRequest({ username: 'nosuchufrag:abcd', password: 'x'.repeat(22) })));
    const dripping = (async () => {
      await drip.write(Buffer.from([0x07, 0xd0, 0x00, 0x01])); // a 2000-byte frame, STUN-looking start
      for (let i = 0; i < 240 && !drip.state.endedByPeer && !drip.state.closed; i++) {
        await new Promise((r) => setTimeout(r, 250));
        await drip.write(Buffer.from([i & 0xff]));
      }
    })();

    // Closed at once, unanswered: a 0xFFFF length and garbage; an HTTP request; an empty frame; a
    // well-framed first packet that is not STUN (DTLS-looking).
    const hostile = {
      'length 0xFFFF then garbage': Buffer.concat([Buffer.from([0xff, 0xff]), crypto.randomBytes(3000)]),
      'an HTTP request': Buffer.from(`GET / HTTP/1.1\r\nHost: 127.0.0.1:${tcpPort}\r\n\r\n`),
      'an empty frame': Buffer.from([0x00, 0x00, 0x00, 0x14, 0x00, 0x01]),
      'a first frame that is not STUN': frame(Buffer.concat([Buffer.from([0x16, 0xfe, 0xfd]), crypto.randomBytes(60)])),
    };
    for (const [what, bytes] of Object.entries(hostile)) {
      const p = open();
      await p.connected;
      await p.write(bytes);
      await closedByServer(p, what);
      assert.equal(p.received().length, 0, `${what}: the server answered ${p.received().toString('hex')}`);
    }

    // STUN over TCP: a wrong password gets a framed 401 (and does not validate the connection);
    // the right one on the same connection a success with our address.
    const s1 = await newSession();
    const checker = open();
    const refused = await check(checker, s1, { password: `${s1.password}x` });
    assert.equal(refused.type, STUN.BINDING_ERROR, JSON.stringify(refused));
    assert.equal(refused.errorCode, 401, JSON.stringify(refused));
    const ok = await check(checker, s1);
    assert.equal(ok.type, STUN.BINDING_SUCCESS, JSON.stringify(ok));
    assert.deepEqual(ok.xorMappedAddress, { address: '127.0.0.1', port: checker.state.localPort });
    checker.end();

    // The slow ones end, closed by the server, never answered.
    await dripping;
    for (const [what, p] of [['a silent connection', silent], ['a slow drip', drip], ['an unknown ufrag', stranger]]) {
      await closedByServer(p, what);
      assert.equal(p.received().length, 0, `${what}: the server answered ${p.received().toString('hex')}`);
    }
    assert.ok(drip.state.endedByPeer, 'the drip was cut off by the server, not by the test running out of bytes');
    await checker.closed;

    // 200 connections from 127.0.0.1: PER_ADDRESS stay, the rest are closed at once. Another
    // address (127.0.0.2) is still served meanwhile.
    const crowd = Array.from({ length: 200 }, () => open());
    await Promise.all(crowd.map((p) => p.connected.catch(() => {})));
    await waitFor(() => crowd.filter((p) => p.state.endedByPeer || p.state.closed).length,
      { what: `${200 - PER_ADDRESS} of 200 closed by the server`, accept: (n) => n >= 200 - PER_ADDRESS, context: ctx });
    const kept = crowd.filter((p) => !p.state.endedByPeer && !p.state.closed);
    t.diagnostic(`200 connections from 127.0.0.1: ${kept.length} kept, ${200 - kept.length} closed`);
    assert.equal(kept.length, PER_ADDRESS);
    const s2 = await newSession();
    const other = open({ localAddress: '127.0.0.2' });
    const fromOther = await check(other, s2);
    assert.equal(fromOther.type, STUN.BINDING_SUCCESS, JSON.stringify(fromOther));
    assert.equal(fromOther.xorMappedAddress?.address, '127.0.0.2', JSON.stringify(fromOther));
    for (const p of crowd) p.destroy();
    other.end();

    // Afterwards: healthy, a new WHEP offer gets 201, and 127.0.0.1 is served again.
    assert.equal(tcpServer.exit, null, 'liveroom still running');
    const health = await tcpApi.request('GET', '/healthz');
    assert.equal(health.status, 200, health.text);
    const s3 = await newSession();
    const again = await waitFor(async () => {
      const p = open();
      await p.connected;
      const reply = await check(p, s3).catch(() => null);
      p.end();
      return reply;
    }, { what: '127.0.0.1 served again once its connections closed', context: ctx });
    assert.equal(again.type, STUN.BINDING_SUCCESS, JSON.stringify(again));
    assert.equal(tcpServer.exit, null, 'liveroom still running');
  } finally {
    for (const p of probes) p.destroy();
    await tcpServer.close();
  }
});
