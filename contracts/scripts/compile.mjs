// Compiles src/RoomRegistry.sol with the bundled solc-js compiler (exact version pinned in
// package.json; nothing is downloaded) and writes build/RoomRegistry.abi.json and
// build/RoomRegistry.bin. `--check` compiles in memory and exits 1 if the committed
// artifacts differ from a fresh compile.
import fs from 'node:fs';
import path from 'node:path';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';

const require = createRequire(import.meta.url);
const solc = require('solc');

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
export const SOLC_VERSION = '0.8.37';
export const EVM_VERSION = 'cancun';

export function compile() {
  const v = solc.version();
  if (!v.startsWith(SOLC_VERSION + '+')) throw new Error(`solc ${v}, expected ${SOLC_VERSION}`);
  const source = fs.readFileSync(path.join(root, 'src/RoomRegistry.sol'), 'utf8');
  const input = {
    language: 'Solidity',
    sources: { 'src/RoomRegistry.sol': { content: source } },
    settings: {
      optimizer: { enabled: true, runs: 10000 },
      viaIR: true,
      evmVersion: EVM_VERSION,
      // No metadata hash: the bytecode depends only on the source and settings.
      metadata: { bytecodeHash: 'none', appendCBOR: false },
      outputSelection: { '*': { '*': ['abi', 'evm.bytecode.object', 'evm.deployedBytecode.object'] } },
    },
  };
  const findImports = (p) => {
    try {
      return { contents: fs.readFileSync(require.resolve(p), 'utf8') };
    } catch (e) {
      return { error: `not found: ${p}` };
    }
  };
  const out = JSON.parse(solc.compile(JSON.stringify(input), { import: findImports }));
  const errors = (out.errors || []).filter((e) => e.severity === 'error');
  for (const e of out.errors || []) console.error(e.formattedMessage);
  if (errors.length) throw new Error('compilation failed');
  const c = out.contracts['src/RoomRegistry.sol'].RoomRegistry;
  return {
    abiJson: JSON.stringify(c.abi, null, 2) + '\n',
    bin: c.evm.bytecode.object + '\n',
    abi: c.abi,
    bytecode: '0x' + c.evm.bytecode.object,
  };
}

export const ABI_PATH = path.join(root, 'build/RoomRegistry.abi.json');
export const BIN_PATH = path.join(root, 'build/RoomRegistry.bin');

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const r = compile();
  if (process.argv.includes('--check')) {
    const same = fs.readFileSync(ABI_PATH, 'utf8') === r.abiJson && fs.readFileSync(BIN_PATH, 'utf8') === r.bin;
    console.log(same ? 'build/ is up to date' : 'build/ differs from a fresh compile: run `npm run compile`');
    process.exit(same ? 0 : 1);
  }
  fs.mkdirSync(path.dirname(ABI_PATH), { recursive: true });
  fs.writeFileSync(ABI_PATH, r.abiJson);
  fs.writeFileSync(BIN_PATH, r.bin);
  console.log(`solc ${solc.version()}: wrote build/RoomRegistry.abi.json, build/RoomRegistry.bin (${(r.bin.length - 1) / 2} bytes)`);
}
