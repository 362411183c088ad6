// The anvil binary from the @foundry-rs/anvil-<platform> npm package (linux x64 is the one
// pinned in package.json; elsewhere set ANVIL_BIN to an anvil binary).
//   node scripts/anvil.mjs --path        prints the binary's path (for other test harnesses)
//   node scripts/anvil.mjs [anvil args]  runs anvil (e.g. --port 8545 --chain-id 31337)
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';

const require = createRequire(import.meta.url);

export function anvilBinary() {
  if (process.env.ANVIL_BIN) return process.env.ANVIL_BIN;
  const arch = { x64: 'amd64', arm64: 'arm64' }[process.arch];
  const pkg = `@foundry-rs/anvil-${process.platform}-${arch}`;
  let dir;
  try {
    dir = path.dirname(require.resolve(`${pkg}/package.json`));
  } catch {
    throw new Error(`${pkg} is not installed (run npm ci --prefix contracts on linux x64, or set ANVIL_BIN)`);
  }
  const bin = path.join(dir, 'bin', process.platform === 'win32' ? 'anvil.exe' : 'anvil');
  if (!fs.existsSync(bin)) throw new Error(`no anvil binary at ${bin}`);
  return bin;
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const args = process.argv.slice(2);
  if (args[0] === '--path') {
    console.log(anvilBinary());
  } else {
    const child = spawn(anvilBinary(), args, { stdio: 'inherit' });
    for (const sig of ['SIGINT', 'SIGTERM']) process.on(sig, () => child.kill(sig));
    child.on('exit', (code, sig) => process.exit(code ?? (sig ? 1 : 0)));
  }
}
