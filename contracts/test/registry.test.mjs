// RoomRegistry on a local anvil chain: every function, every revert (custom errors with their
// arguments), role checks, event contents, and the never-on-chain secret scan.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { ethers } from 'ethers';
import { startChain, deploy, roomKey, inputUid, expectRevert } from './chain.mjs';

const ACTIVE = 1n;
const ENDED = 2n;
const TITLE = 'Lớp học online';
const META = '{"host":"Cô Lan","mode":"broadcast","provider":"cloudflare"}';
let chain, admin, operator, host, stranger, reg, OPERATOR_ROLE, ADMIN_ROLE;
let n = 0;
const newRoom = () => {
  n += 1;
  const roomId = `live_test${n}AbCdEfGhIjKlMnOp`;
  return { roomId, id: roomKey(roomId), uid: inputUid(n.toString(16).padStart(32, 'a')) };
};
async function setNextTimestamp(ts) {
  await chain.provider.send('evm_setNextBlockTimestamp', [ts]);
}
async function create(r, signer = operator, hostAddr = host.address, title = TITLE) {
  return (await reg.connect(signer).createRoom(r.id, hostAddr, r.uid, r.roomId, title, META)).wait();
}
function eventsOf(receipt, name) {
  return receipt.logs.map((l) => reg.interface.parseLog(l)).filter((e) => e && e.name === name);
}

before(async () => {
  chain = await startChain();
  [admin, operator, host, stranger] = await Promise.all([0, 1, 2, 3].map((i) => chain.provider.getSigner(i)));
  reg = await deploy(admin);
  OPERATOR_ROLE = await reg.OPERATOR_ROLE();
  ADMIN_ROLE = await reg.DEFAULT_ADMIN_ROLE();
  await (await reg.connect(admin).grantRole(OPERATOR_ROLE, operator.address)).wait();
});
after(async () => chain && chain.stop());

test('constructor: deployer is admin and operator; role constants', async () => {
  assert.equal(OPERATOR_ROLE, ethers.id('OPERATOR_ROLE'));
  assert.equal(ADMIN_ROLE, ethers.ZeroHash);
  assert.equal(await reg.hasRole(ADMIN_ROLE, admin.address), true);
  assert.equal(await reg.hasRole(OPERATOR_ROLE, admin.address), true);
  assert.equal(await reg.getRoleAdmin(OPERATOR_ROLE), ADMIN_ROLE);
  assert.equal(await reg.hasRole(ADMIN_ROLE, operator.address), false);
  assert.equal(await reg.supportsInterface('0x7965db0b'), true); // IAccessControl
});

test('deployBlock is the block of the deployment transaction', async () => {
  const rc = await chain.provider.getTransactionReceipt(reg.deploymentTransaction().hash);
  assert.equal(await reg.deployBlock(), BigInt(rc.blockNumber));
  // a later deployment, after some empty blocks, records its own block, not a fixed value
  await chain.provider.send('anvil_mine', ['0x40']);
  const later = await deploy(admin);
  const laterRc = await chain.provider.getTransactionReceipt(later.deploymentTransaction().hash);
  assert.ok(laterRc.blockNumber > rc.blockNumber + 64);
  assert.equal(await later.deployBlock(), BigInt(laterRc.blockNumber));
  // immutable: the value is a word of the runtime code and no storage slot holds it (slots 0
  // and 1 are the two mappings' roots, which stay zero; nothing follows them)
  const code = (await chain.provider.getCode(later.target)).toLowerCase();
  assert.ok(code.includes(ethers.toBeHex(laterRc.blockNumber, 32).slice(2)));
  for (const slot of [0, 1, 2, 3]) {
    assert.equal(BigInt(await chain.provider.getStorage(later.target, slot)), 0n, `slot ${slot}`);
  }
});

test('createRoom stores the packed room and emits RoomCreated', async () => {
  const r = newRoom();
  const ts = (await chain.provider.getBlock('latest')).timestamp + 100;
  await setNextTimestamp(ts);
  const rc = await create(r);
  const [ev] = eventsOf(rc, 'RoomCreated');
  assert.equal(ev.args.id, r.id);
  assert.equal(ev.args.host, host.address);
  assert.equal(ev.args.inputUid, r.uid);
  assert.equal(ev.args.createdAt, BigInt(ts));
  assert.equal(ev.args.roomId, r.roomId);
  assert.equal(ev.args.title, TITLE);
  assert.equal(ev.args.meta, META);
  assert.equal(rc.logs[0].topics.length, 3); // signature, id, host
  assert.equal(rc.logs[0].topics[1], r.id);
  const room = await reg.getRoom(r.id);
  assert.deepEqual([...room], [host.address, ACTIVE, BigInt(ts), 0n, r.uid]);
  assert.equal(room.host, host.address);
  assert.equal(room.status, ACTIVE);
  assert.equal(room.createdAt, BigInt(ts));
  assert.equal(room.endedAt, 0n);
  assert.equal(room.inputUid, r.uid);
});

test('storage layout: two slots per room (host|status|createdAt, endedAt|inputUid)', async () => {
  const r = newRoom();
  const rc = await create(r);
  const ts = BigInt((await chain.provider.getBlock(rc.blockNumber)).timestamp);
  // mapping at slot 1 (AccessControl's _roles is slot 0): keccak256(id . 1)
  const base = BigInt(ethers.keccak256(ethers.concat([r.id, ethers.toBeHex(1, 32)])));
  const s0 = BigInt(await chain.provider.getStorage(reg.target, base));
  const s1 = BigInt(await chain.provider.getStorage(reg.target, base + 1n));
  const s2 = BigInt(await chain.provider.getStorage(reg.target, base + 2n));
  assert.equal(s0, (ts << 168n) | (ACTIVE << 160n) | BigInt(host.address));
  assert.equal(s1, BigInt(r.uid) << 64n);
  assert.equal(s2, 0n);
  await (await reg.connect(operator).endRoom(r.id)).wait();
  const endTs = BigInt((await chain.provider.getBlock('latest')).timestamp);
  assert.equal(BigInt(await chain.provider.getStorage(reg.target, base)), (ts << 168n) | (ENDED << 160n) | BigInt(host.address));
  assert.equal(BigInt(await chain.provider.getStorage(reg.target, base + 1n)), (BigInt(r.uid) << 64n) | endTs);
});

test('getRoom of an unknown id is the zero struct (status None)', async () => {
  const room = await reg.getRoom(roomKey('live_nope'));
  assert.deepEqual([...room], [ethers.ZeroAddress, 0n, 0n, 0n, '0x' + '00'.repeat(16)]);
});

test('createRoom with host address(0) (a backend without per-user keys)', async () => {
  const r = newRoom();
  const rc = await create(r, operator, ethers.ZeroAddress);
  assert.equal(eventsOf(rc, 'RoomCreated')[0].args.host, ethers.ZeroAddress);
  assert.equal((await reg.getRoom(r.id)).host, ethers.ZeroAddress);
  // only an operator can update/end it
  await expectRevert(reg, reg.connect(stranger).endRoom(r.id), 'NotAuthorized', [stranger.address]);
  await (await reg.connect(operator).endRoom(r.id)).wait();
});

test('createRoom reverts: RoomExists (active and ended), non-operator', async () => {
  const r = newRoom();
  await create(r);
  await expectRevert(reg, reg.connect(operator).createRoom(r.id, host.address, r.uid, r.roomId, 'x', ''), 'RoomExists', [r.id]);
  await (await reg.connect(operator).endRoom(r.id)).wait();
  await expectRevert(reg, reg.connect(operator).createRoom(r.id, host.address, r.uid, r.roomId, 'x', ''), 'RoomExists', [r.id]);
  const r2 = newRoom();
  for (const s of [stranger, host]) {
    await expectRevert(reg, reg.connect(s).createRoom(r2.id, host.address, r2.uid, r2.roomId, 'x', ''),
      'AccessControlUnauthorizedAccount', [s.address, OPERATOR_ROLE]);
  }
  assert.equal((await reg.getRoom(r2.id)).status, 0n);
});

test('updateRoom emits RoomUpdated, leaves storage unchanged; operator or host', async () => {
  const r = newRoom();
  await create(r);
  const before = [...(await reg.getRoom(r.id))];
  for (const [s, title] of [[operator, 'Mới'], [host, 'Host renamed it'], [admin, '']]) {
    const rc = await (await reg.connect(s).updateRoom(r.id, title)).wait();
    const [ev] = eventsOf(rc, 'RoomUpdated');
    assert.equal(ev.args.id, r.id);
    assert.equal(ev.args.title, title);
    assert.equal(rc.logs[0].topics.length, 2);
    assert.equal(rc.logs[0].topics[1], r.id);
  }
  assert.deepEqual([...(await reg.getRoom(r.id))], before);
});

test('updateRoom reverts: RoomNotFound, NotAuthorized, InvalidTransition', async () => {
  const r = newRoom();
  await expectRevert(reg, reg.connect(operator).updateRoom(r.id, 't'), 'RoomNotFound', [r.id]);
  await expectRevert(reg, reg.connect(stranger).updateRoom(r.id, 't'), 'RoomNotFound', [r.id]);
  await create(r);
  await expectRevert(reg, reg.connect(stranger).updateRoom(r.id, 't'), 'NotAuthorized', [stranger.address]);
  await (await reg.connect(operator).endRoom(r.id)).wait();
  await expectRevert(reg, reg.connect(operator).updateRoom(r.id, 't'), 'InvalidTransition', [r.id, ENDED]);
  await expectRevert(reg, reg.connect(host).updateRoom(r.id, 't'), 'InvalidTransition', [r.id, ENDED]);
  await expectRevert(reg, reg.connect(stranger).updateRoom(r.id, 't'), 'NotAuthorized', [stranger.address]);
});

test('endRoom sets Ended + endedAt, emits RoomEnded; host may end its own room', async () => {
  for (const s of [operator, host]) {
    const r = newRoom();
    await create(r);
    const created = await reg.getRoom(r.id);
    const ts = (await chain.provider.getBlock('latest')).timestamp + 50;
    await setNextTimestamp(ts);
    const rc = await (await reg.connect(s).endRoom(r.id)).wait();
    const [ev] = eventsOf(rc, 'RoomEnded');
    assert.equal(ev.args.id, r.id);
    assert.equal(ev.args.endedAt, BigInt(ts));
    assert.equal(rc.logs[0].topics.length, 2);
    const room = await reg.getRoom(r.id);
    assert.deepEqual([...room], [host.address, ENDED, created.createdAt, BigInt(ts), r.uid]);
  }
});

test('endRoom reverts: RoomNotFound, NotAuthorized, InvalidTransition (ended twice)', async () => {
  const r = newRoom();
  await expectRevert(reg, reg.connect(operator).endRoom(r.id), 'RoomNotFound', [r.id]);
  await create(r);
  await expectRevert(reg, reg.connect(stranger).endRoom(r.id), 'NotAuthorized', [stranger.address]);
  await (await reg.connect(host).endRoom(r.id)).wait();
  await expectRevert(reg, reg.connect(operator).endRoom(r.id), 'InvalidTransition', [r.id, ENDED]);
  await expectRevert(reg, reg.connect(host).endRoom(r.id), 'InvalidTransition', [r.id, ENDED]);
});

test('the host of one room cannot update/end another host\'s room', async () => {
  const r = newRoom();
  await create(r, operator, stranger.address);
  await expectRevert(reg, reg.connect(host).updateRoom(r.id, 't'), 'NotAuthorized', [host.address]);
  await expectRevert(reg, reg.connect(host).endRoom(r.id), 'NotAuthorized', [host.address]);
});

test('roles: admin grants/revokes operators; only the admin may; renounce', async () => {
  const [a, b] = [host, stranger];
  // non-admins (including an operator) cannot grant or revoke
  for (const s of [operator, a, b]) {
    await expectRevert(reg, reg.connect(s).grantRole(OPERATOR_ROLE, b.address), 'AccessControlUnauthorizedAccount', [s.address, ADMIN_ROLE]);
    await expectRevert(reg, reg.connect(s).revokeRole(OPERATOR_ROLE, operator.address), 'AccessControlUnauthorizedAccount', [s.address, ADMIN_ROLE]);
  }
  // grant: RoleGranted, then b can create
  let rc = await (await reg.connect(admin).grantRole(OPERATOR_ROLE, b.address)).wait();
  let ev = rc.logs.map((l) => reg.interface.parseLog(l)).find((e) => e.name === 'RoleGranted');
  assert.deepEqual([...ev.args], [OPERATOR_ROLE, b.address, admin.address]);
  assert.equal(await reg.hasRole(OPERATOR_ROLE, b.address), true);
  const r = newRoom();
  await create(r, b);
  await (await reg.connect(b).updateRoom(r.id, 'by b')).wait();
  // revoke: RoleRevoked, then b is rejected again
  rc = await (await reg.connect(admin).revokeRole(OPERATOR_ROLE, b.address)).wait();
  ev = rc.logs.map((l) => reg.interface.parseLog(l)).find((e) => e.name === 'RoleRevoked');
  assert.deepEqual([...ev.args], [OPERATOR_ROLE, b.address, admin.address]);
  assert.equal(await reg.hasRole(OPERATOR_ROLE, b.address), false);
  const r2 = newRoom();
  await expectRevert(reg, reg.connect(b).createRoom(r2.id, b.address, r2.uid, r2.roomId, 't', ''), 'AccessControlUnauthorizedAccount', [b.address, OPERATOR_ROLE]);
  await expectRevert(reg, reg.connect(b).endRoom(r.id), 'NotAuthorized', [b.address]);
  // renounceRole: only for oneself (AccessControlBadConfirmation otherwise)
  await (await reg.connect(admin).grantRole(OPERATOR_ROLE, b.address)).wait();
  await expectRevert(reg, reg.connect(a).renounceRole(OPERATOR_ROLE, b.address), 'AccessControlBadConfirmation', []);
  await (await reg.connect(b).renounceRole(OPERATOR_ROLE, b.address)).wait();
  assert.equal(await reg.hasRole(OPERATOR_ROLE, b.address), false);
  // a second admin can be granted by the admin and may then grant operators
  await (await reg.connect(admin).grantRole(ADMIN_ROLE, a.address)).wait();
  await (await reg.connect(a).grantRole(OPERATOR_ROLE, b.address)).wait();
  assert.equal(await reg.hasRole(OPERATOR_ROLE, b.address), true);
  await (await reg.connect(a).revokeRole(OPERATOR_ROLE, b.address)).wait();
  await (await reg.connect(admin).revokeRole(ADMIN_ROLE, a.address)).wait();
  assert.equal(await reg.hasRole(ADMIN_ROLE, a.address), false);
});

test('never on chain: a full create/update/end cycle carries no secrets in calldata or logs', async () => {
  const uidHex = 'f1e2d3c4b5a69788796a5b4c3d2e1f00';
  const secrets = [
    `https://customer-abc.cloudflarestream.com/${uidHex}k9s8d7f6g5h4j3k2l1/webRTC/publish`,
    'k9s8d7f6g5h4j3k2l1secretstreamkey',
    'srt-passphrase-Zq8x!2',
    'host-token-6b1c0f5e0a2d4e7f9c3b8a1d',
  ];
  const r = { roomId: 'live_secretScan0123456789', id: roomKey('live_secretScan0123456789'), uid: inputUid(uidHex) };
  const txs = [
    await reg.connect(operator).createRoom(r.id, host.address, r.uid, r.roomId, TITLE, META),
    await reg.connect(operator).updateRoom(r.id, 'Lớp học online 2'),
    await reg.connect(operator).endRoom(r.id),
  ];
  const blobs = [];
  for (const tx of txs) {
    const rc = await tx.wait();
    blobs.push((await chain.provider.getTransaction(tx.hash)).data);
    for (const l of rc.logs) blobs.push(l.data, ...l.topics);
  }
  const hay = blobs.join('').toLowerCase();
  for (const s of secrets) {
    for (const needle of [ethers.hexlify(ethers.toUtf8Bytes(s)).slice(2), ethers.hexlify(ethers.toUtf8Bytes(s.slice(0, 12))).slice(2)]) {
      assert.equal(hay.includes(needle.toLowerCase()), false, `secret ${s} found on chain`);
    }
  }
  // what is on chain: the room id string, title, meta, the input uid (public: playback uses it)
  assert.ok(hay.includes(ethers.hexlify(ethers.toUtf8Bytes(r.roomId)).slice(2)));
  assert.ok(hay.includes(uidHex));
});
