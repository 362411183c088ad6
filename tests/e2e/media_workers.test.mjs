// A room's viewers on two media workers (issue 12): the studio goes live in Chromium on a server
// with --media-workers 2, four viewers open the watch page; each decodes frames, the server's
// /webRTC/stats shows viewers of the one room on both workers, the publisher's worker handing
// packets over and the other taking them, no hand-off dropped, and the room's viewer count is
// the sum over the workers. Then viewers leave and the others keep playing.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';

import { Api } from './lib/api.mjs';
import { expectVideoFlowing, launchBrowser, newPage, pageLog, waitFor } from './lib/browser.mjs';
import { startLiveroom } from './lib/server.mjs';

let server;
let browser;
let api;

before(async () => {
  server = await startLiveroom({ extraArgs: ['--media-workers', '2'] });
  api = new Api(server.url);
  browser = await launchBrowser();
});

after(async () => {
  await browser?.close();
  await server?.close();
});

async function mediaStats() {
  const res = await server.fetch(`${server.url}/webRTC/stats`);
  assert.equal(res.status, 200);
  return res.json();
}

test("a room's viewers spread over both media workers and all of them get its video", async () => {
  const room = await api.create({ title: 'Hội trường', host: 'Thầy Minh' });
  const { context: studioContext, page: studio } = await newPage(browser);
  const viewers = [];
  const ctx = async () => [studio, ...viewers.map((v) => v.page)]
    .map((p, i) => `--- page ${i} log ---\n${pageLog(p)}`).join('\n') + `\n--- server log ---\n${server.logTail()}`;
  try {
    await studio.goto(`${server.url}/studio/${room.room_id}#token=${room.host_token}`);
    await waitFor(() => studio.locator('#go-live').isEnabled(), { what: 'Go live enabled', context: ctx });
    await studio.click('#go-live');
    await waitFor(() => studio.locator('#status').getAttribute('data-state'),
      { what: 'studio live', accept: (s) => s === 'live', context: ctx });

    for (let i = 0; i < 4; i++) {
      const v = await newPage(browser);
      viewers.push(v);
      await v.page.goto(`${server.url}/watch/${room.room_id}`);
    }
    for (const v of viewers) await expectVideoFlowing(v.page, { selector: '#video', context: ctx });

    const stats = await waitFor(mediaStats, { what: 'viewers on both workers, packets handed over', context: ctx,
      accept: (s) => s.workers?.length === 2 && s.workers.every((w) => w.viewers >= 1) &&
        s.workers.some((w) => w.handoff_received > 0) });
    const [a, b] = stats.workers;
    assert.equal(a.publishers + b.publishers, 1, 'one publisher');
    assert.equal(a.viewers + b.viewers, 4, 'four viewers');
    const home = a.publishers === 1 ? a : b;
    const far = home === a ? b : a;
    assert.ok(home.handoff_sent > 0, "the publisher's worker hands its packets over");
    assert.ok(far.handoff_received > 0, 'the other worker takes them');
    assert.equal(home.handoff_dropped, 0);
    assert.equal(stats.inputs, 1, 'one room');
    await waitFor(() => api.join(room.room_id), { what: 'the room counts 4 viewers', context: ctx,
      accept: (r) => r.viewers === 4 });

    // Two viewers leave: the others keep playing, the count follows; then everyone has left.
    for (const v of viewers.splice(0, 2)) await v.context.close();
    await waitFor(() => api.join(room.room_id), { what: 'the room counts 2 viewers', context: ctx,
      accept: (r) => r.viewers === 2 });
    for (const v of viewers) await expectVideoFlowing(v.page, { selector: '#video', context: ctx });
    for (const v of viewers.splice(0)) await v.context.close();
    await waitFor(() => api.join(room.room_id), { what: 'the room counts 0 viewers', context: ctx,
      accept: (r) => r.viewers === 0 });
    const left = await mediaStats();
    assert.deepEqual(left.workers.map((w) => w.viewers), [0, 0]);
  } finally {
    for (const v of viewers) await v.context.close();
    await studioContext.close();
  }
});
