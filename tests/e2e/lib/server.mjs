// One `liveroom serve` child process per test file (or per test), on a free port of 127.0.0.1,
// with its own temporary data directory; its log is kept for failure messages.
//
//   const server = await startLiveroom();            // LIVEROOM_BIN or build/liveroom
//   ... server.url ('http://127.0.0.1:PORT'), server.logTail() ...
//   await server.stop();
//
// Like tests/integration/liveroom_harness.py (LiveroomServer), except that the port is the
// server's own choice (--listen 127.0.0.1:0), read from its "listening on http://HOST:PORT" line.
//
// HTTPS: `startLiveroom({ tlsSelfSigned: true, host, port })` adds --tls-self-signed; the server
// then makes a certificate for its listen and public addresses in its data directory, and
// `server.fetch` is a fetch() that trusts exactly that certificate (lib/tls.mjs), so the test's
// own requests check that the certificate is valid for the address (no "ignore errors").
// `wrap` runs the server under a command prefix (e.g. `ip netns exec <ns>`: lib/netns.mjs), and
// `socketPath` is then how the test's requests reach it (a Unix socket forwarded to its address).
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

import { tlsFetch } from './tls.mjs';

export const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');

/** The binary: $LIVEROOM_BIN, else build/liveroom of this checkout. */
export function liveroomBinary() {
  return process.env.LIVEROOM_BIN || path.join(REPO, 'build', 'liveroom');
}

// Arguments after `serve --listen 127.0.0.1:0 --data-dir <tmp>` unless the caller gives `args`:
// $LIVEROOM_E2E_SERVE_ARGS (split on spaces), or the media server's UDP port chosen by the OS and
// 127.0.0.1 as the only address it advertises. Tests send only to loopback (or inside a network
// namespace they made): without --webrtc-ip the server would offer every interface address of
// the machine as an ICE candidate, and the clients would send media there.
export const DEFAULT_SERVE_ARGS = Object.freeze(['--webrtc-port', '0', '--webrtc-ip', '127.0.0.1']);

export function defaultServeArgs() {
  const fromEnv = process.env.LIVEROOM_E2E_SERVE_ARGS;
  if (fromEnv !== undefined) return fromEnv.split(/\s+/).filter(Boolean);
  return [...DEFAULT_SERVE_ARGS];
}

const LISTENING_RE = /listening on (https?):\/\/([^\s:]+|\[[^\]]+\]):(\d+)/;
// eslint-disable-next-line no-control-regex
const ANSI_RE = /\x1b\[[0-9;]*m/g;

// How many media workers (threads, each with its own ports) the servers of the end-to-end tests
// run: $LIVEROOM_E2E_MEDIA_WORKERS, else 2, so a room's viewers spread over two workers whatever
// the machine's cores (scripts/test also runs the browser tests with 1). A test's own
// --media-workers argument wins (a flag beats the environment).
// The media ports from a server's start line: "media server on UDP port(s) A[, B], TCP port(s)
// C[, D] (candidates ...)". udpPort/tcpPort: the first worker's.
const MEDIA_LINE_RE = /media server on UDP ports? ([\d, ]+?), (?:TCP ports? ([\d, ]+?)|no TCP) \(candidates ([^)]*)\)/;
export function mediaPortsOf(logText) {
  const m = MEDIA_LINE_RE.exec(logText);
  if (!m) return null;
  const list = (text) => (text ? text.split(/,\s*/).map(Number) : []);
  const udpPorts = list(m[1]);
  const tcpPorts = list(m[2]);
  return { udpPorts, tcpPorts, udpPort: udpPorts[0], tcpPort: tcpPorts[0], candidates: m[3].split(/,\s*/) };
}

export function e2eMediaWorkers() {
  return process.env.LIVEROOM_E2E_MEDIA_WORKERS || '2';
}

// The child's environment: ours without CLOUDFLARE_* / LIVEROOM_* (so a developer's shell cannot
// switch the server to Cloudflare or another store), the media workers, plus `extra`.
function childEnv(extra) {
  const env = {};
  for (const [k, v] of Object.entries(process.env)) {
    if (!k.startsWith('CLOUDFLARE_') && !k.startsWith('LIVEROOM_')) env[k] = v;
  }
  return { ...env, LIVEROOM_MEDIA_WORKERS: e2eMediaWorkers(), ...extra };
}

export class LiveroomProcess {
  #logWaiters = new Set(); // callbacks run on each new log chunk

  constructor({ bin, args, env, dataDir, ownsDataDir, host, port = 0, fetch: fetchImpl = globalThis.fetch, wrap = [] }) {
    this.bin = bin;
    this.wrap = wrap; // argv prefix the server runs under (e.g. ip netns exec <ns>)
    this.args = args;
    this.env = env;
    this.dataDir = dataDir;
    this.ownsDataDir = ownsDataDir;
    this.host = host;
    this.port = port; // 0 (the OS picks) until started; kept across restart()
    this.scheme = 'http'; // 'https' when the server said so in its "listening on" line
    this.fetch = fetchImpl; // what the test's own requests to this server use (health, Api)
    this.proc = null;
    this.exit = null; // { code, signal } once the process ended
    this.logPath = path.join(dataDir, 'liveroom.log');
    this.logText = '';
  }

  get url() {
    return `${this.scheme}://${this.host}:${this.port}`;
  }

  command() {
    return [...this.wrap, this.bin, 'serve', '--listen', `${this.host}:${this.port}`, '--data-dir', this.dataDir, ...this.args];
  }

  /** Starts the process and waits for its "listening on" line and a 200 from /healthz. */
  async start({ timeout = 20000 } = {}) {
    if (this.proc && !this.exit) throw new Error('liveroom already running');
    const [cmd, ...argv] = this.command();
    this.exit = null;
    this.#append(`\n===== ${new Date().toISOString()} liveroom serve starting\n`);
    const proc = spawn(cmd, argv, { env: this.env, cwd: this.dataDir, stdio: ['ignore', 'pipe', 'pipe'] });
    this.proc = proc;
    proc.stdout.setEncoding('utf8').on('data', (d) => this.#append(d));
    proc.stderr.setEncoding('utf8').on('data', (d) => this.#append(d));
    const exited = new Promise((resolve) => {
      proc.on('error', (e) => {
        this.#append(`\n===== spawn error: ${e.message}\n`);
        this.exit = { code: null, signal: null, error: e };
        resolve();
      });
      proc.on('exit', (code, signal) => {
        this.exit = { code, signal };
        this.#append(`\n===== liveroom exited (code ${code}, signal ${signal})\n`);
        resolve();
      });
    });
    this.exited = exited;
    liveChildren.add(this);
    exited.then(() => liveChildren.delete(this));

    let match;
    try {
      match = await this.waitForLog(LISTENING_RE, { timeout, from: this.logText.lastIndexOf('===== ') });
    } catch (e) {
      await this.kill();
      throw new Error(`liveroom did not start: ${e.message}\ncommand: ${this.command().join(' ')}`);
    }
    this.scheme = match[1];
    this.port = Number(match[3]);
    const deadline = Date.now() + timeout;
    let last = 'no attempt';
    while (Date.now() < deadline && !this.exit) {
      try {
        const r = await this.fetch(`${this.url}/healthz`, { signal: AbortSignal.timeout(2000) });
        if (r.status === 200) return this;
        last = `status ${r.status}`;
      } catch (e) {
        last = String(e);
      }
      await new Promise((r) => setTimeout(r, 50));
    }
    await this.kill();
    throw new Error(`liveroom /healthz not 200 (last: ${last})\ncommand: ${this.command().join(' ')}\n` +
      `--- log ---\n${this.logTail()}`);
  }

  #append(text) {
    const clean = text.replace(ANSI_RE, '');
    this.logText += clean;
    try {
      fs.appendFileSync(this.logPath, clean);
    } catch {
      // the data dir may be gone after stop(); the in-memory copy stays
    }
    for (const w of this.#logWaiters) w();
  }

  /**
   * Waits until the log (from character offset `from`, default: what this start wrote) matches
   * `re`; returns the match. Rejects if the process exits first or after `timeout` ms.
   */
  waitForLog(re, { timeout = 20000, from = 0 } = {}) {
    return new Promise((resolve, reject) => {
      const check = () => {
        const m = this.logText.slice(from).match(re);
        if (m) return finish(null, m);
        if (this.exit) return finish(new Error(`liveroom exited (${JSON.stringify(this.exit)}) before ${re} appeared in its log\n--- log ---\n${this.logTail()}`));
        return undefined;
      };
      const timer = setTimeout(() => finish(new Error(`${re} not in the liveroom log after ${timeout} ms\n--- log ---\n${this.logTail()}`)), timeout);
      const finish = (err, m) => {
        clearTimeout(timer);
        this.#logWaiters.delete(check);
        if (err) reject(err);
        else resolve(m);
      };
      this.#logWaiters.add(check);
      check();
    });
  }

  /** The last `chars` characters of the log (for failure messages). */
  logTail(chars = 6000) {
    return this.logText.slice(-chars);
  }

  /** SIGTERM, then SIGKILL after `timeout` ms. Returns the exit code (null if killed by a signal). */
  async stop({ timeout = 10000 } = {}) {
    if (this.proc && !this.exit) {
      this.proc.kill('SIGTERM');
      const timer = setTimeout(() => !this.exit && this.proc.kill('SIGKILL'), timeout);
      await this.exited;
      clearTimeout(timer);
    }
    return this.exit?.code ?? null;
  }

  async kill() {
    if (this.proc && !this.exit) {
      this.proc.kill('SIGKILL');
      await this.exited;
    }
  }

  /** stop() then start() on the same port and data directory. */
  async restart(options) {
    await this.stop();
    return this.start(options);
  }

  /** Stops the server and removes its temporary data directory (unless LIVEROOM_E2E_KEEP=1). */
  async close() {
    await this.stop();
    if (this.ownsDataDir && !process.env.LIVEROOM_E2E_KEEP) {
      fs.rmSync(this.dataDir, { recursive: true, force: true });
    }
  }
}

// Children still running if the test process exits without closing them (a crashed test).
const liveChildren = new Set();
process.on('exit', () => {
  for (const c of liveChildren) {
    try {
      c.proc.kill('SIGKILL');
    } catch {
      // already gone
    }
  }
});

/**
 * `args` plus `--webrtc-ip 127.0.0.1` unless they (or `env`, as LIVEROOM_WEBRTC_IP) already say
 * which addresses the media server advertises: so a test that replaces the default arguments
 * (LIVEROOM_E2E_SERVE_ARGS, `args`) still keeps its media on loopback.
 */
export function pinWebrtcIp(args, env = {}) {
  const named = args.some((a) => a === '--webrtc-ip' || a.startsWith('--webrtc-ip='));
  return named || env.LIVEROOM_WEBRTC_IP !== undefined ? [...args] : [...args, '--webrtc-ip', '127.0.0.1'];
}

/**
 * Starts `liveroom serve --listen 127.0.0.1:0 --data-dir <new tmp dir> ...args` and resolves once
 * /healthz answers 200.
 *   args:      what follows; default defaultServeArgs() (['--webrtc-port', '0', '--webrtc-ip', '127.0.0.1']);
 *              `--webrtc-ip 127.0.0.1` is added to any args that do not name --webrtc-ip (pinWebrtcIp)
 *   extraArgs: appended after args (e.g. ['--api-key', 'k'])
 *   env:       added to the child's environment (CLOUDFLARE_* / LIVEROOM_* of ours are dropped)
 *   dataDir:   use this directory instead of a new temporary one (kept on close())
 *   host:      the address to listen on (default 127.0.0.1); port: a fixed port (default 0: the OS picks)
 *   tlsSelfSigned: add --tls-self-signed; `server.url` is then https://... and `server.fetch` trusts
 *              the certificate the server made (and only it), checking it names `host`
 *   wrap:      argv prefix to run the server under (['ip', 'netns', 'exec', ns]: lib/netns.mjs)
 *   socketPath: with tlsSelfSigned, the Unix socket server.fetch connects through (a server in
 *              another network namespace)
 */
export async function startLiveroom({ bin = liveroomBinary(), args = defaultServeArgs(), extraArgs = [], env = {},
  dataDir, host = '127.0.0.1', port = 0, tlsSelfSigned = false, wrap = [], socketPath, timeout } = {}) {
  if (!fs.existsSync(bin)) {
    throw new Error(`liveroom binary ${bin} does not exist: run scripts/build (or set LIVEROOM_BIN)`);
  }
  const owns = !dataDir;
  const dir = dataDir || fs.mkdtempSync(path.join(os.tmpdir(), 'liveroom-e2e-'));
  fs.mkdirSync(dir, { recursive: true });
  const tls = tlsSelfSigned ? ['--tls-self-signed'] : [];
  // The certificate exists once the server has started: read it at each request.
  const fetchImpl = tlsSelfSigned
    ? tlsFetch(() => fs.readFileSync(path.join(dir, 'tls-self-signed.crt')), { socketPath })
    : globalThis.fetch;
  const server = new LiveroomProcess({ bin, args: pinWebrtcIp([...args, ...extraArgs, ...tls], env), env: childEnv(env),
    dataDir: dir, ownsDataDir: owns, host, port, fetch: fetchImpl, wrap });
  try {
    await server.start({ timeout });
  } catch (e) {
    await server.close(); // the error message carries the log
    throw e;
  }
  return server;
}
