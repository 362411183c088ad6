// The committed build/ artifacts (what the C++ program embeds) equal a fresh compile.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { createRequire } from 'node:module';
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
