// 5 % random loss on the broadcaster's path only (issue 11): the server asks the broadcaster for
// what it lost (NACK), the broadcaster retransmits (RTX), and the viewer keeps playing.
//
// The media LAN of lib/media_lan.mjs: liveroom in a server namespace holding a bridge, the studio's
// Chromium in a publisher namespace, a WHEP viewer's Chromium in a viewer namespace. The loss is a
// bridge table in the server namespace (`numgen random mod 100 < 5 drop` on UDP arriving from the
// publisher's port): the viewer's path is untouched. There is no netem on this machine. The loss
// is on the link, not in the publisher namespace's output hook: there sendto() would fail and
// Chromium would resend at once (bench/media_paths_bench.mjs shows it).
//
// One session, two windows of the same stream: first loss-free, then at 5 %. Asserted: the rule
// dropped datagrams in the lossy window and none in the clean one; the studio's outbound-rtp
// shows NACKs received and packets retransmitted while the loss lasts; the viewer still decodes
// frames; the server's repair summary counts recovered packets. Reported (a figure, not a timed
// assertion): the viewer's freezes and decoded frame rate in both windows, side by side.
// bench/media_paths_bench.mjs has the longer version with NACK on and off and 0 / 2 / 5 %.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';

import { waitFor } from './lib/browser.mjs';
import { createMediaLan, NFT } from './lib/media_lan.mjs';
import {
  goLiveInStudio, measureCell, qualityPage, startLanServer, startViewerInPage, stopViewerInPage, uplinkLoss,
} from './lib/media_quality.mjs';

const LOSS = 5;
const WARMUP_SECONDS = 5; // after the viewer's first frame: the studio's encoder ramps up
const CLEAN_SECONDS = 12;
const SETTLE_SECONDS = 2; // at 5 % before counting
const LOSSY_SECONDS = 15;

let lan;
let server;
let publisherBrowser;
let viewerBrowser;

before(async () => {
  if (!NFT) throw new Error('nft is not installed (Debian nftables: scripts/setup --test)');
  if (process.getuid?.() !== 0) throw new Error('must run as root: the test creates network namespaces');
  lan = createMediaLan();
  server = await startLanServer(lan, 8443);
  publisherBrowser = await lan.launchChromium('publisher');
  viewerBrowser = await lan.launchChromium('viewer');
});

after(async () => {
  for (const b of [publisherBrowser, viewerBrowser]) await b?.close().catch(() => {});
  await server?.close().catch(() => {});
  lan?.close();
});

const row = (name, c) => `${name.padEnd(10)} | ${c.fps.toFixed(1).padStart(7)} | ${String(c.freezeCount).padStart(7)} | ` +
  `${c.freezeSeconds.toFixed(2).padStart(8)} | ${String(c.packetsLost).padStart(7)} | ${String(c.pubNacks).padStart(9)} | ` +
  `${String(c.pubRtx).padStart(7)} | ${`${c.udpDropped}/${c.udpOut}`.padStart(13)}`;

test(`${LOSS} % random loss on the broadcaster's uplink only: NACKs reach the studio, it retransmits, the viewer plays`,
  async (t) => {
    const live = await goLiveInStudio(server, publisherBrowser, 'Lớp học: mất gói');
    assert.ok(live.granted.nack && live.granted.rtx, `the WHIP answer grants the studio nack and rtx: ${JSON.stringify(live.granted)}`);
    const { context, page } = await qualityPage(viewerBrowser);
    try {
      await page.goto(`${server.url}/`);
      await page.evaluate(startViewerInPage, live.room.playback.whep_url);
      await new Promise((r) => setTimeout(r, WARMUP_SECONDS * 1000));

      const cleanTable = uplinkLoss(lan, 0, 'link');
      let clean;
      try {
        clean = await measureCell({ viewerPage: page, publisherPage: live.page, table: cleanTable, seconds: CLEAN_SECONDS });
      } finally {
        cleanTable.remove();
      }
      const lossyTable = uplinkLoss(lan, LOSS, 'link');
      let lossy;
      try {
        await new Promise((r) => setTimeout(r, SETTLE_SECONDS * 1000));
        lossy = await measureCell({ viewerPage: page, publisherPage: live.page, table: lossyTable, seconds: LOSSY_SECONDS });
      } finally {
        lossyTable.remove();
      }

      t.diagnostic(`viewer quality, loss-free ${CLEAN_SECONDS} s vs ${LOSS} % uplink loss ${LOSSY_SECONDS} s (same session):`);
      t.diagnostic('window     | dec fps | freezes | freeze s | pk.lost | pub NACKs | pub rtx | udp drop/seen');
      t.diagnostic(row('loss-free', clean));
      t.diagnostic(row(`${LOSS} % loss`, lossy));
      t.diagnostic(`decoded fps ${LOSS} % / loss-free: ${(lossy.fps / clean.fps).toFixed(2)}; publisher ${lossy.pubCodec} ` +
        `${lossy.pubSize} at ${lossy.pubKbps.toFixed(0)} kbit/s, viewer NACKs ${lossy.viewerNacks}, PLIs ${lossy.viewerPlis}`);

      const facts = JSON.stringify({ clean, lossy });
      // The network did what the test says.
      assert.ok(clean.udpOut > 0 && clean.udpDropped === 0, `nothing dropped in the loss-free window: ${facts}`);
      assert.ok(lossy.udpDropped > 0 && lossy.measuredLoss > 1 && lossy.measuredLoss < 10,
        `the rule dropped about ${LOSS} % of the publisher's datagrams: ${facts}`);
      // The broadcaster was asked for what was lost and sent it again.
      assert.ok(lossy.pubNacks > 0, `the studio's outbound-rtp shows NACKs received: ${facts}`);
      assert.ok(lossy.pubRtx > 0, `the studio's outbound-rtp shows packets retransmitted: ${facts}`);
      // The viewer kept playing.
      assert.ok(clean.framesDecoded > 0 && lossy.framesDecoded > 0, `the viewer decodes in both windows: ${facts}`);
    } finally {
      await page.evaluate(stopViewerInPage).catch(() => {});
      await context.close();
      await live.context.close();
    }
    // The server's own account, logged when the publisher leaves: packets it asked for and got.
    const summary = await waitFor(
      () => server.logText.split('\n').find((l) => / publisher \S+ video.*NACKed \d+, recovered \d+/.test(l)),
      { what: 'the server\'s repair summary for the publisher', accept: Boolean,
        context: async () => server.logTail(3000) });
    t.diagnostic(`server: ${summary.replace(/^.*media: /, '')}`);
    const recovered = Number(/recovered (\d+)/.exec(summary)?.[1] ?? 0);
    assert.ok(recovered > 0, `the server recovered packets by NACK: ${summary}`);
  });
