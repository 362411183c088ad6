// Guards the test environment, without liveroom: can this Chromium (Debian's, driven by
// playwright-core) do what the end-to-end tests need?
//   - a page on http://127.0.0.1 (a secure context) gets the fake camera and microphone;
//   - a loopback pair of RTCPeerConnections in one page sends that camera as VP8 and as H.264
//     (chosen with setCodecPreferences), the receiving side's framesDecoded keeps rising and the
//     <video> gets videoWidth > 0;
//   - ICE candidates carry plain IPs (no mDNS `.local` names), also in a context that never
//     called getUserMedia (a viewer), and loopback candidates are gathered;
//   - a connection whose only remote candidates are on 127.0.0.1 (like liveroom's answer when it
//     listens on 127.0.0.1) connects.
// Run: node --test tests/e2e/   (after scripts/setup --test)
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';

import {
  launchBrowser, newPage, pageLog, inboundVideo, outboundVideo, peerStats, expectVideoFlowing, waitFor,
} from './lib/browser.mjs';

let server;
let origin;
let browser;

before(async () => {
  server = http.createServer((req, res) => {
    res.setHeader('Content-Type', 'text/html; charset=utf-8');
    res.end('<!doctype html><meta charset="utf-8"><title>e2e loopback</title><video autoplay playsinline muted></video>');
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  origin = `http://127.0.0.1:${server.address().port}`;
  browser = await launchBrowser();
});

after(async () => {
  await browser?.close();
  await new Promise((resolve) => server?.close(resolve));
});

// Runs in the page: connects a sender and a receiver RTCPeerConnection in this page, the sender
// offering only `codec` for video (setCodecPreferences). `onlyLoopback`: each side gets only the
// other's 127.0.0.1 candidates. Candidates are trickled through JS; no signalling server.
async function startLoopback({ codec, onlyLoopback }) {
  const stream = await navigator.mediaDevices.getUserMedia({ video: true, audio: true });
  const send = new RTCPeerConnection();
  const recv = new RTCPeerConnection();
  const isLoopback = (c) => / 127\.0\.0\.1 /.test(c.candidate);
  const wire = (from, to) => {
    from.onicecandidate = (e) => {
      if (e.candidate && e.candidate.candidate && (!onlyLoopback || isLoopback(e.candidate))) {
        to.addIceCandidate(e.candidate).catch((err) => console.error('addIceCandidate', err));
      }
    };
  };
  wire(send, recv);
  wire(recv, send);
  const video = send.addTransceiver(stream.getVideoTracks()[0], { direction: 'sendonly', streams: [stream] });
  send.addTransceiver(stream.getAudioTracks()[0], { direction: 'sendonly', streams: [stream] });
  const wanted = RTCRtpSender.getCapabilities('video').codecs.filter((c) =>
    c.mimeType.toLowerCase() === `video/${codec.toLowerCase()}` &&
    (codec !== 'H264' || /packetization-mode=1/.test(c.sdpFmtpLine || '')));
  if (!wanted.length) throw new Error(`RTCRtpSender.getCapabilities('video') has no ${codec}`);
  video.setCodecPreferences(wanted);
  recv.ontrack = (e) => {
    if (e.track.kind !== 'video') return;
    const el = document.querySelector('video');
    el.srcObject = e.streams[0] || new MediaStream([e.track]);
    el.play().catch((err) => console.error('play', err));
  };
  await send.setLocalDescription();
  await recv.setRemoteDescription(send.localDescription);
  await recv.setLocalDescription();
  await send.setRemoteDescription(recv.localDescription);
  window.__loopback = { send, recv, stream };
  return send.localDescription.sdp.split('\r\n').filter((l) => l.startsWith('m=video') || l.startsWith('a=rtpmap'));
}

for (const codec of ['VP8', 'H264']) {
  test(`loopback ${codec}: the receiver's framesDecoded rises and <video> has a size`, async (t) => {
    const { context, page } = await newPage(browser);
    try {
      await page.goto(origin);
      const offerLines = await page.evaluate(startLoopback, { codec, onlyLoopback: false });
      t.diagnostic(`offer: ${offerLines.join(' | ')}`);
      const inbound = await expectVideoFlowing(page);
      assert.equal(inbound.codec?.mimeType, `video/${codec}`, `received codec: ${JSON.stringify(inbound)}`);
      const outbound = await waitFor(() => outboundVideo(page), { what: 'outbound video with an encoder name',
        accept: (s) => s && s.framesEncoded > 0 && s.encoderImplementation });
      assert.equal(outbound.codec?.mimeType, `video/${codec}`, `sent codec: ${JSON.stringify(outbound)}`);
      t.diagnostic(`${codec}: Chromium ${browser.version()} encoder ${outbound.encoderImplementation}, ` +
        `decoder ${inbound.decoderImplementation}, ${inbound.frameWidth}x${inbound.frameHeight}, ` +
        `fmtp ${inbound.codec?.sdpFmtpLine || '-'}`);
    } catch (e) {
      e.message += `\npage log:\n${pageLog(page)}`;
      throw e;
    } finally {
      await context.close();
    }
  });
}

test('a connection whose remote candidates are all 127.0.0.1 connects (liveroom on 127.0.0.1)', async (t) => {
  const { context, page } = await newPage(browser);
  try {
    await page.goto(origin);
    await page.evaluate(startLoopback, { codec: 'VP8', onlyLoopback: true });
    await expectVideoFlowing(page);
    const pcs = await peerStats(page);
    const pair = pcs[0].candidatePair;
    assert.equal(pair?.remote?.address, '127.0.0.1', `sender's selected pair: ${JSON.stringify(pair)}`);
    t.diagnostic(`selected pair ${pair.local?.address}:${pair.local?.port} -> ${pair.remote.address}:${pair.remote.port}`);
  } finally {
    await context.close();
  }
});

test('a viewer context that never calls getUserMedia gathers plain-IP host candidates, loopback included', async (t) => {
  const { context, page } = await newPage(browser);
  try {
    await page.goto(origin);
    const candidates = await page.evaluate(async () => {
      const pc = new RTCPeerConnection();
      pc.addTransceiver('video', { direction: 'recvonly' });
      pc.addTransceiver('audio', { direction: 'recvonly' });
      const seen = [];
      const done = new Promise((resolve) => {
        pc.onicecandidate = (e) => (e.candidate && e.candidate.candidate ? seen.push(e.candidate.candidate) : resolve());
      });
      await pc.setLocalDescription();
      await done;
      pc.close();
      return seen;
    });
    t.diagnostic(`candidates: ${candidates.join(' | ')}`);
    assert.ok(candidates.length > 0, 'no ICE candidates gathered');
    assert.deepEqual(candidates.filter((c) => c.includes('.local')), [], 'mDNS candidates: local IPs are hidden');
    assert.ok(candidates.some((c) => / 127\.0\.0\.1 /.test(c)), 'no 127.0.0.1 candidate (--allow-loopback-in-peer-connection)');
  } finally {
    await context.close();
  }
});

test('inbound stats before any connection are empty, not an error', async () => {
  const { context, page } = await newPage(browser);
  try {
    await page.goto(origin);
    assert.equal(await inboundVideo(page), null);
    assert.deepEqual(await peerStats(page), []);
  } finally {
    await context.close();
  }
});
