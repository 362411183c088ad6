// Guards the traffic rule of the tests (lib/network.mjs): media between the WebRTC clients and
// liveroom goes over loopback only, never over this machine's network addresses.
//   - the suite runs in a network namespace whose only interface is lo (scripts/netns-run);
//   - liveroom, started by the harness, offers only 127.0.0.1 in its SDP answers;
//   - a Chromium publisher (WHIP) and a Chromium viewer (WHEP) through liveroom: every local and
//     remote ICE candidate in their getStats, every candidate pair and the pair in use are on
//     loopback addresses, and their offers carry loopback candidates only;
//   - a GStreamer player (gst_webrtc.py) offers loopback candidates only and gets 127.0.0.1.
// If someone runs the suite outside the namespace, lets the server advertise its interface
// addresses, or lets a client gather on them, a test here fails.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import os from 'node:os';

import { Api } from './lib/api.mjs';
import { expectVideoFlowing, launchBrowser, newPage, pageLog, waitFor } from './lib/browser.mjs';
import { runGst } from './lib/gst.mjs';
import { HOW_TO_RUN, interfaceNames, isLoopbackAddress, nonLoopbackAddresses } from './lib/network.mjs';
import { startLiveroom } from './lib/server.mjs';

let server;
let api;
let browser;

before(async () => {
  server = await startLiveroom();
  api = new Api(server.url);
});

after(async () => {
  await browser?.close();
  await server?.close();
});

/** Connection addresses of an SDP's a=candidate lines. */
function candidateAddresses(sdp) {
  return sdp.split(/\r?\n/).filter((l) => l.startsWith('a=candidate:')).map((l) => l.split(' ')[4]);
}

function assertLoopbackCandidates(sdp, what) {
  const addrs = candidateAddresses(sdp);
  assert.ok(addrs.length > 0, `${what} has no candidates:\n${sdp}`);
  assert.deepEqual(addrs.filter((a) => !isLoopbackAddress(a)), [], `${what} has non-loopback candidates:\n${sdp}`);
  return addrs;
}

// In the page: a sendonly (fake camera and microphone) or recvonly RTCPeerConnection whose
// complete offer (gathering done, no trickle) is returned; window.__pc keeps it.
async function offerInPage(publish) {
  const pc = new RTCPeerConnection();
  window.__pc = pc;
  if (publish) {
    const stream = await navigator.mediaDevices.getUserMedia({ video: true, audio: true });
    for (const track of stream.getTracks()) pc.addTransceiver(track, { direction: 'sendonly', streams: [stream] });
  } else {
    pc.addTransceiver('video', { direction: 'recvonly' });
    pc.addTransceiver('audio', { direction: 'recvonly' });
  }
  const gathered = new Promise((resolve) => {
    pc.addEventListener('icegatheringstatechange', () => pc.iceGatheringState === 'complete' && resolve());
  });
  await pc.setLocalDescription();
  if (pc.iceGatheringState !== 'complete') await gathered;
  return pc.localDescription.sdp;
}

// In the page: every ICE candidate and candidate pair of window.__pc's stats, and the pair in use.
async function iceStatsInPage() {
  const report = await window.__pc.getStats();
  const byId = new Map();
  report.forEach((s) => byId.set(s.id, s));
  const out = { connectionState: window.__pc.connectionState, candidates: [], pairs: [], selected: null };
  report.forEach((s) => {
    if (s.type === 'local-candidate' || s.type === 'remote-candidate') {
      out.candidates.push({ type: s.type, address: s.address, port: s.port, protocol: s.protocol,
        candidateType: s.candidateType });
    } else if (s.type === 'transport' && s.selectedCandidatePairId) {
      out.selected = s.selectedCandidatePairId;
    }
  });
  report.forEach((s) => {
    if (s.type !== 'candidate-pair') return;
    out.pairs.push({ id: s.id, state: s.state, nominated: s.nominated, bytesSent: s.bytesSent,
      bytesReceived: s.bytesReceived, local: byId.get(s.localCandidateId)?.address,
      remote: byId.get(s.remoteCandidateId)?.address });
  });
  return out;
}

function assertLoopbackIce(stats, who) {
  const show = JSON.stringify(stats);
  assert.ok(stats.candidates.some((c) => c.type === 'local-candidate'), `${who}: no local candidates: ${show}`);
  assert.ok(stats.candidates.some((c) => c.type === 'remote-candidate'), `${who}: no remote candidates: ${show}`);
  assert.deepEqual(stats.candidates.filter((c) => !isLoopbackAddress(c.address)), [],
    `${who}: ICE candidates off loopback: ${show}`);
  assert.deepEqual(stats.pairs.filter((p) => !isLoopbackAddress(p.local) || !isLoopbackAddress(p.remote)), [],
    `${who}: candidate pairs off loopback: ${show}`);
  const inUse = stats.pairs.find((p) => p.id === stats.selected);
  assert.ok(inUse && inUse.bytesSent + inUse.bytesReceived > 0, `${who}: no candidate pair in use: ${show}`);
  for (const c of stats.candidates.filter((x) => x.type === 'remote-candidate')) {
    assert.equal(c.address, '127.0.0.1', `${who}: liveroom's candidates: ${show}`);
  }
  return inUse;
}

test('the suite runs in a network namespace whose only interface is lo (scripts/netns-run)', (t) => {
  t.diagnostic(`namespace ${process.env.LIVEROOM_NETNS || '(not scripts/netns-run)'}, ` +
    `interfaces ${interfaceNames().join(' ')}`);
  assert.deepEqual(interfaceNames(), ['lo'], HOW_TO_RUN);
  assert.deepEqual(nonLoopbackAddresses(), [], HOW_TO_RUN);
  const lo = os.networkInterfaces().lo || [];
  assert.ok(lo.some((a) => a.address === '127.0.0.1'), `lo is not up with 127.0.0.1: ${JSON.stringify(lo)}`);
});

test('Chromium -> liveroom -> Chromium and GStreamer: SDP candidates and ICE pairs are loopback only', async (t) => {
  browser = await launchBrowser();
  const room = await api.create({ title: 'loopback guard' });
  const { page: pub } = await newPage(browser);
  const { page: view } = await newPage(browser);
  const ctx = async () => `--- publisher ---\n${pageLog(pub)}\n--- viewer ---\n${pageLog(view)}\n` +
    `--- server log ---\n${server.logTail()}`;
  try {
    // Publish (WHIP): the offer's candidates, the server's answer, ICE connected.
    await pub.goto(`${server.url}/healthz`); // a page of liveroom's origin: a secure context
    const pubOffer = await pub.evaluate(offerInPage, true);
    const pubLocal = assertLoopbackCandidates(pubOffer, "Chromium's WHIP offer");
    const published = await api.postSdp(room.whip_url, pubOffer, { token: room.host_token });
    assert.equal(published.status, 201, published.text);
    assert.deepEqual([...new Set(candidateAddresses(published.answer))], ['127.0.0.1'],
      `liveroom's WHIP answer:\n${published.answer}`);
    await pub.evaluate((sdp) => window.__pc.setRemoteDescription({ type: 'answer', sdp }), published.answer);
    await waitFor(() => pub.evaluate(() => window.__pc.connectionState), { what: 'publisher connected',
      accept: (s) => s === 'connected', context: ctx });

    // Play (WHEP) in a second context.
    const { whep_url: whepUrl } = await api.join(room.room_id);
    await view.goto(`${server.url}/healthz`);
    const viewOffer = await view.evaluate(offerInPage, false);
    assertLoopbackCandidates(viewOffer, "Chromium's WHEP offer");
    const played = await api.postSdp(whepUrl, viewOffer);
    assert.equal(played.status, 201, played.text);
    assert.deepEqual([...new Set(candidateAddresses(played.answer))], ['127.0.0.1'],
      `liveroom's WHEP answer:\n${played.answer}`);
    await view.evaluate((sdp) => window.__pc.setRemoteDescription({ type: 'answer', sdp }), played.answer);
    await expectVideoFlowing(view, { selector: null, context: ctx });

    const pubPair = assertLoopbackIce(await pub.evaluate(iceStatsInPage), 'publisher');
    const viewPair = assertLoopbackIce(await view.evaluate(iceStatsInPage), 'viewer');
    t.diagnostic(`Chromium gathered ${[...new Set(pubLocal)].join(', ')}; pairs in use: publisher ` +
      `${pubPair.local} -> ${pubPair.remote}, viewer ${viewPair.local} -> ${viewPair.remote}`);

    // GStreamer (libnice) as a second viewer.
    const gst = await runGst(['play', '--url', whepUrl, '--seconds', '20', '--frames', '10', '--no-audio']);
    assert.equal(gst.ok, true,
      `gst play: ${JSON.stringify({ ...gst, stderr: undefined })}\n${gst.stderr.slice(-3000)}`);
    assert.ok(gst.offer_candidates.length > 0, JSON.stringify(gst));
    assert.deepEqual(gst.offer_candidates.filter((a) => !isLoopbackAddress(a)), [],
      `gst_webrtc.py offered non-loopback candidates: ${JSON.stringify(gst.offer_candidates)}`);
    assert.deepEqual(gst.answer_candidates, ['127.0.0.1'], JSON.stringify(gst));
    t.diagnostic(`gst_webrtc.py offered ${gst.offer_candidates.join(', ')}, decoded ${gst.frames} frames`);
  } finally {
    await pub.context().close();
    await view.context().close();
  }
});
