// Gas report: total transaction gas (21,000 base included) of create / update / end with a
// short Vietnamese title, against the targets; printed and written to gas-report.txt.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { startChain, deploy, roomKey, inputUid, ROOT } from './chain.mjs';

const TARGETS = { createRoom: 80000n, updateRoom: 40000n, endRoom: 40000n };
const TITLE = 'Lớp học online';
const META = '{"host":"Cô Lan","mode":"broadcast","provider":"cloudflare"}';
let chain, reg, operator;
const rows = [];

before(async () => {
  chain = await startChain();
  const admin = await chain.provider.getSigner(0);
  operator = await chain.provider.getSigner(1);
  reg = await deploy(admin);
  const rc = await (await reg.connect(admin).grantRole(await reg.OPERATOR_ROLE(), operator.address)).wait();
  const deployRc = await chain.provider.getTransactionReceipt(reg.deploymentTransaction().hash);
  rows.push({ op: 'deploy (constructor grants admin + operator)', gas: deployRc.gasUsed });
  rows.push({ op: 'grantRole(OPERATOR_ROLE)', gas: rc.gasUsed });
});

after(async () => {
  await chain?.stop();
  const lines = [
    'RoomRegistry gas report (anvil, total tx gas incl. 21,000 base)',
    `title "${TITLE}", roomId "live_" + 22 chars, meta ${META.length} bytes, host = an EOA`,
    '',
    ...rows.map((r) => {
      const t = TARGETS[r.op];
      const verdict = t === undefined ? '' : `  target <= ${t.toLocaleString('en-US')}  ${r.gas <= t ? 'PASS' : 'FAIL'}`;
      return `${r.op.padEnd(46)} ${r.gas.toLocaleString('en-US').padStart(9)}${verdict}`;
    }),
    '',
  ];
  const text = lines.join('\n');
  console.log(text);
  fs.writeFileSync(path.join(ROOT, 'gas-report.txt'), text);
});

test('create / update / end stay within the gas targets', async () => {
  const host = await chain.provider.getSigner(2);
  const roomId = 'live_7fGq2LmZk9XbW4cT1pVn0s';
  const id = roomKey(roomId);
  const uid = inputUid('0f1e2d3c4b5a69788796a5b4c3d2e1f0');
  const c = await (await reg.connect(operator).createRoom(id, host.address, uid, roomId, TITLE, META)).wait();
  rows.push({ op: 'createRoom', gas: c.gasUsed });
  const u = await (await reg.connect(operator).updateRoom(id, TITLE + ' 2')).wait();
  rows.push({ op: 'updateRoom', gas: u.gasUsed });
  const e = await (await reg.connect(operator).endRoom(id)).wait();
  rows.push({ op: 'endRoom', gas: e.gasUsed });
  // the same room without meta and with host address(0) (a backend without per-user keys)
  const roomId2 = 'live_Zz2LmZk9XbW4cT1pVn0s7f';
  const c2 = await (await reg.connect(operator).createRoom(roomKey(roomId2), '0x' + '00'.repeat(20), uid, roomId2, TITLE, '')).wait();
  rows.push({ op: 'createRoom (host 0x0, empty meta)', gas: c2.gasUsed });
  for (const [op, g] of [['createRoom', c.gasUsed], ['updateRoom', u.gasUsed], ['endRoom', e.gasUsed]]) {
    assert.ok(g <= TARGETS[op], `${op} used ${g} gas > ${TARGETS[op]}`);
  }
});
