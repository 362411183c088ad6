// The committed build/ artifacts (what the C++ program embeds) equal a fresh compile.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { createRequire } from 'node:module';
import { ethers } from 'ethers';
import { compile, ABI_PATH, BIN_PATH, SOLC_VERSION } from '../scripts/compile.mjs';

const require = createRequire(import.meta.url);

test('pinned toolchain: solc and OpenZeppelin exact versions', () => {
  const pkg = JSON.parse(fs.readFileSync(new URL('../package.json', import.meta.url), 'utf8'));
  for (const [name, v] of Object.entries({ ...pkg.devDependencies, ...pkg.optionalDependencies })) assert.match(v, /^\d+\.\d+\.\d+$/, `${name} not pinned`);
  assert.equal(pkg.devDependencies.solc, SOLC_VERSION);
  assert.ok(require('solc').version().startsWith(SOLC_VERSION + '+'));
});

test('build/RoomRegistry.abi.json and build/RoomRegistry.bin equal a fresh compile', () => {
  const r = compile();
  assert.equal(fs.readFileSync(ABI_PATH, 'utf8'), r.abiJson, 'ABI differs: run `npm run compile` and commit build/');
  assert.equal(fs.readFileSync(BIN_PATH, 'utf8'), r.bin, 'bytecode differs: run `npm run compile` and commit build/');
  assert.match(r.bin, /^[0-9a-f]+\n$/);
});

// The backend's C++ code encodes and decodes these exact selectors and topics, so an ABI change
// shows up here (and in README.md's tables) rather than as a failed call on chain.
test('ABI: the functions, events and errors with their selectors', () => {
  const abi = JSON.parse(fs.readFileSync(ABI_PATH, 'utf8'));
  const iface = new ethers.Interface(abi);
  const functions = {};
  iface.forEachFunction((f) => (functions[f.format('sighash')] = f.selector));
  assert.deepEqual(functions, {
    'createRoom(bytes32,address,bytes16,string,string,string)': '0x9ce2358b',
    'updateRoom(bytes32,string)': '0xa3f37f9c',
    'endRoom(bytes32)': '0x5d7cbced',
    'getRoom(bytes32)': '0xad9a2866',
    'deployBlock()': '0xa3ec191a',
    'OPERATOR_ROLE()': '0xf5b541a6',
    'DEFAULT_ADMIN_ROLE()': '0xa217fddf',
    'hasRole(bytes32,address)': '0x91d14854',
    'getRoleAdmin(bytes32)': '0x248a9ca3',
    'grantRole(bytes32,address)': '0x2f2ff15d',
    'revokeRole(bytes32,address)': '0xd547741f',
    'renounceRole(bytes32,address)': '0x36568abe',
    'supportsInterface(bytes4)': '0x01ffc9a7',
  });
  assert.equal(iface.getFunction('deployBlock').outputs.map((o) => o.type).join(), 'uint64');
  assert.equal(iface.getFunction('deployBlock').stateMutability, 'view');
  assert.equal(iface.getFunction('getRoom').outputs[0].format(), '(address,uint8,uint64,uint64,bytes16)');
  const events = {};
  iface.forEachEvent((e) => (events[e.format('sighash')] = e.topicHash));
  assert.deepEqual(events, {
    'RoomCreated(bytes32,address,bytes16,uint64,string,string,string)': '0xbe800895ce2a2b15ff80b411de59d54db1f0e84df967fcac66a22a545b7afb60',
    'RoomUpdated(bytes32,string)': '0x25f0ee7c7d971e404a52ca591c3ddc5315005738fd63f8f6fa1d1f7b9649a82d',
    'RoomEnded(bytes32,uint64)': '0xda6af329f39acfc7084994b24984651e9c4e6372dc8b5319c5cf19c43a327a25',
    'RoleGranted(bytes32,address,address)': '0x2f8788117e7eff1d82e926ec794901d17c78024a50270940304540a733656f0d',
    'RoleRevoked(bytes32,address,address)': '0xf6391f5c32d9c69d2a47ea670b442974b53935d1edc7fd64eb21e047a839171b',
    'RoleAdminChanged(bytes32,bytes32,bytes32)': '0xbd79b86ffe0ab8e8776151514217cd7cacd52c909f66475c3af44e129f0b00ff',
  });
  const errors = {};
  iface.forEachError((e) => (errors[e.format('sighash')] = e.selector));
  assert.deepEqual(errors, {
    'RoomExists(bytes32)': '0xec93d742',
    'RoomNotFound(bytes32)': '0xd0cb83a2',
    'InvalidTransition(bytes32,uint8)': '0x428a4325',
    'NotAuthorized(address)': '0x4a0bfec1',
    'AccessControlUnauthorizedAccount(address,bytes32)': '0xe2517d3f',
    'AccessControlBadConfirmation()': '0x6697b232',
  });
});
