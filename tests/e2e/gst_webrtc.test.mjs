// Guards the GStreamer side of the test environment, without liveroom: gst_webrtc.py (webrtcbin
// WHIP publisher / WHEP player, run by Debian's /usr/bin/python3) publishes and plays VP8 and
// H.264 against an in-process webrtcbin, directly and over a WHIP/WHEP-shaped HTTP endpoint.
// Run: node --test tests/e2e/   (after scripts/setup --test)
import { test } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';

import { runGst, startGst } from './lib/gst.mjs';

for (const codec of ['vp8', 'h264']) {
  test(`gst_webrtc.py selftest ${codec}: publisher -> player, both offer directions, and over HTTP`, async (t) => {
    const r = await runGst(['selftest', '--codec', codec]);
    t.diagnostic(`${r.gstreamer}, ${r.python}`);
    for (const c of r.cases) {
      const d = c.result || c;
      t.diagnostic(`${c.codec} ${c.offerer ? `${c.offerer} offers` : c.case}: ok=${c.ok} frames=${d.frames ?? d.answerer_frames} ` +
        `${d.width ?? ''}x${d.height ?? ''} encoder=${d.encoder ?? c.encoder ?? '-'} decoder=${d.video_decoder ?? '-'}`);
    }
    assert.equal(r.ok, true, `selftest failed: ${JSON.stringify(r.cases)}\n${r.stderr.slice(-3000)}`);
    assert.equal(r.cases.length, 4);
    for (const c of r.cases.filter((x) => x.offerer)) {
      assert.ok(c.frames > 0 && c.width > 0, JSON.stringify(c));
      assert.equal(c.answer_video_codec.toLowerCase(), codec);
    }
  });
}

test('gst_webrtc.py publish prints JSON with the error when nothing listens', async () => {
  const port = await new Promise((resolve) => {
    const s = net.createServer().listen(0, '127.0.0.1', () => {
      const p = s.address().port;
      s.close(() => resolve(p));
    });
  });
  const r = await runGst(['publish', '--url', `http://127.0.0.1:${port}/whip`, '--seconds', '1']);
  assert.equal(r.ok, false);
  assert.equal(r.exitCode, 1);
  assert.equal(r.status, null);
  assert.match(r.error, /POST .*refused/i);
});

test('gst_webrtc.py: a bad option exits 2, kill() resolves as killed', async () => {
  const bad = startGst(['publish', '--codec', 'av1']);
  await assert.rejects(bad.result, /code 2.*without JSON/);
  const p = startGst(['selftest', '--codec', 'vp8', '--seconds', '30']);
  p.kill();
  const r = await p.result;
  assert.equal(r.killed, true);
});
