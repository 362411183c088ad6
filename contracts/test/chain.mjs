// Test helpers: a local anvil chain (binary from the @foundry-rs/anvil npm package, started
// on a free port and stopped by the caller), the RoomRegistry deployed from the committed
// build/ artifacts, and revert decoding.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import assert from 'node:assert/strict';
import { ethers } from 'ethers';
import { anvilBinary } from '../scripts/anvil.mjs';

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
export const ABI = JSON.parse(fs.readFileSync(path.join(ROOT, 'build/RoomRegistry.abi.json'), 'utf8'));
export const BYTECODE = '0x' + fs.readFileSync(path.join(ROOT, 'build/RoomRegistry.bin'), 'utf8').trim();

/** Starts anvil on a free port; resolves to { url, provider, stop }. */
export async function startChain() {
  const child = spawn(anvilBinary(), ['--port', '0', '--chain-id', '31337'], { stdio: ['ignore', 'pipe', 'pipe'] });
  const url = await new Promise((resolve, reject) => {
    let out = '';
    const timer = setTimeout(() => reject(new Error('anvil did not start:\n' + out)), 20000);
    const onData = (d) => {
      out += d;
      const m = out.match(/Listening on ([0-9.]+:\d+)/);
      if (m) {
        clearTimeout(timer);
        child.stdout.off('data', onData);
        child.stdout.resume();
        resolve(`http://${m[1]}`);
      }
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', (d) => (out += d));
    child.on('exit', (code) => reject(new Error(`anvil exited (${code}):\n${out}`)));
  });
  const provider = new ethers.JsonRpcProvider(url, 31337, { staticNetwork: true, polling: true, pollingInterval: 50, cacheTimeout: -1 });
  const stop = async () => {
    provider.destroy();
    child.kill('SIGTERM');
  };
  return { url, provider, stop };
}

export async function deploy(signer) {
  const factory = new ethers.ContractFactory(ABI, BYTECODE, signer);
  const c = await factory.deploy();
  await c.waitForDeployment();
  return c;
}

export const roomKey = (roomId) => ethers.keccak256(ethers.toUtf8Bytes(roomId));
/** 32 hex chars (the provider's live input uid) -> bytes16. */
export const inputUid = (hex32) => {
  assert.match(hex32, /^[0-9a-f]{32}$/);
  return '0x' + hex32;
};

/** Awaits a transaction (or a call) that must revert with the custom error `name` and `args`. */
export async function expectRevert(contract, promise, name, args) {
  let err;
  try {
    const tx = await promise;
    if (tx && tx.wait) await tx.wait();
  } catch (e) {
    err = e;
  }
  assert.ok(err, `expected revert ${name}, got success`);
  const data = err.data ?? err.info?.error?.data ?? err.error?.data;
  assert.ok(data, `no revert data in ${err}`);
  const parsed = contract.interface.parseError(data);
  assert.ok(parsed, `unknown revert data ${data}`);
  assert.equal(parsed.name, name);
  assert.deepEqual([...parsed.args], args);
}
