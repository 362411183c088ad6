// Helpers of media_paths.test.mjs: the network paths media takes when the plain UDP one is not
// there (ICE-TCP, a TURN relay, an ICE restart, IPv6) and hostile input on the ICE-TCP port.
//
//   const block = nftTable(lan.browserNs, 'udp_block', { input: ['meta l4proto udp counter drop'],
//     output: ['meta l4proto udp counter drop'] });                // nftables: no netem on this machine
//   ... block.packets() ...; block.remove();                        // also gone with the namespace
//   const turn = await startCoturn({ wrap: lan.inServer, listenIp: lan.serverAddress, secret, dir });
//   const browser = await launchBrowserInLan(lan, 'server');       // Chromium beside the server
//   const probe = tcpProbe({ host: '127.0.0.1', port });            // raw sockets to the ICE-TCP port
//   probe.write(frame(stunBindingRequest({ username, password })));
//
// Traffic rule (lib/network.mjs): everything here talks to loopback or to addresses inside the
// namespaces the test made (lib/netns.mjs); coturn listens and relays on the server namespace's
// veth address only.
import { execFileSync, spawn } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import zlib from 'node:zlib';

import { chromium } from 'playwright-core';

import { CHROMIUM_ARGS, CHROMIUM_PATH } from './browser.mjs';
import { isLoopbackAddress } from './network.mjs';

const IP = ['/usr/sbin/ip', '/sbin/ip', '/usr/bin/ip', '/bin/ip'].find((p) => fs.existsSync(p)) || 'ip';
export const NFT = ['/usr/sbin/nft', '/sbin/nft', '/usr/bin/nft'].find((p) => fs.existsSync(p)) || null;
export const TURNSERVER = ['/usr/bin/turnserver', '/usr/sbin/turnserver'].find((p) => fs.existsSync(p)) || null;

/** What is missing on this machine for these tests, in words (empty when all is there). */
export function missingTools() {
  const out = [];
  if (!NFT) out.push('nft (Debian nftables: scripts/setup --test)');
  if (!TURNSERVER) out.push('turnserver (Debian coturn: scripts/setup --test)');
  return out;
}

// ---------------------------------------------------------------------------------------------
// nftables inside a namespace the test made

/**
 * An nftables table `inet <name>` in network namespace `ns` with an input and an output chain
 * (filter hooks, policy accept) holding `input` / `output` rules (nft syntax, one string each;
 * put `counter` in them to count what they matched). Applied at once. Returns
 * { name, packets() (sum of the table's counters), list() (the table as nft prints it),
 *   remove() (safe twice; the table also goes when the namespace is deleted) }.
 */
export function nftTable(ns, name, { input = [], output = [] } = {}) {
  if (!NFT) throw new Error('nft is not installed (Debian nftables: run scripts/setup --test)');
  const run = (args, stdin) => execFileSync(IP, ['netns', 'exec', ns, NFT, ...args],
    { encoding: 'utf8', input: stdin, stdio: [stdin === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'] });
  const chain = (hook, rules) => `  chain ${hook} {\n    type filter hook ${hook} priority 0; policy accept;\n` +
    rules.map((r) => `    ${r}\n`).join('') + '  }\n';
  run(['-f', '-'], `table inet ${name} {\n${chain('input', input)}${chain('output', output)}}\n`);
  let removed = false;
  return {
    name,
    list: () => run(['list', 'table', 'inet', name]),
    packets() {
      const json = JSON.parse(run(['-j', 'list', 'table', 'inet', name]));
      let sum = 0;
      for (const item of json.nftables || []) {
        for (const expr of item.rule?.expr || []) {
          if (expr.counter) sum += expr.counter.packets;
        }
      }
      return sum;
    },
    remove() {
      if (removed) return;
      removed = true;
      try {
        run(['delete', 'table', 'inet', name]);
      } catch {
        // the namespace is gone already
      }
    },
  };
}

// ---------------------------------------------------------------------------------------------
// coturn

/**
 * Starts coturn (`turnserver -n`: no configuration file, everything on the command line) under
 * `wrap` (e.g. lan.inServer), listening on `listenIp:port` over UDP and TCP (no TLS, no DTLS, no
 * CLI), relaying from `relayIp` on ports minPort..maxPort, with the TURN REST credentials of
 * --use-auth-secret / --static-auth-secret=`secret` in realm `realm`; its user database and log
 * (-v: one line per request) in `dir`. Resolves once its UDP listener is open. Returns
 * { url (turn:IP:PORT?transport=udp), log() (the log so far), stop() }.
 */
export async function startCoturn({ wrap = [], listenIp, relayIp = listenIp, port = 3478, secret, realm = 'liveroom.test',
  minPort = 49160, maxPort = 49260, allowLoopbackPeers = false, dir, timeout = 20000 }) {
  if (!TURNSERVER) throw new Error('turnserver is not installed (Debian coturn: run scripts/setup --test)');
  const logFile = path.join(dir, 'turnserver.log');
  const args = ['-n', '-v', '--simple-log', `--log-file=${logFile}`,
    `--listening-ip=${listenIp}`, `--relay-ip=${relayIp}`, `--listening-port=${port}`,
    `--min-port=${minPort}`, `--max-port=${maxPort}`,
    '--use-auth-secret', `--static-auth-secret=${secret}`, `--realm=${realm}`,
    '--no-tls', '--no-dtls', '--no-cli', '--no-software-attribute', '--no-rfc5780',
    `--userdb=${path.join(dir, 'turndb')}`, `--pidfile=${path.join(dir, 'turnserver.pid')}`,
    ...(allowLoopbackPeers ? ['--allow-loopback-peers'] : [])];
  const [cmd, ...argv] = [...wrap, TURNSERVER, ...args];
  const child = spawn(cmd, argv, { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout.setEncoding('utf8').on('data', (d) => {
    out += d;
  });
  child.stderr.setEncoding('utf8').on('data', (d) => {
    out += d;
  });
  let exit = null;
  const exited = new Promise((resolve) => child.on('exit', (code, signal) => {
    exit = { code, signal };
    resolve();
  }));
  const log = () => {
    try {
      return fs.readFileSync(logFile, 'utf8');
    } catch {
      return out;
    }
  };
  const stop = async () => {
    if (!exit) {
      child.kill('SIGTERM');
      const timer = setTimeout(() => !exit && child.kill('SIGKILL'), 5000);
      await exited;
      clearTimeout(timer);
    }
  };
  const ready = new RegExp(`UDP listener opened on\\s*:\\s*${listenIp.replace(/\./g, '\\.')}:${port}\\b`);
  const deadline = Date.now() + timeout;
  while (!ready.test(log())) {
    if (exit || Date.now() > deadline) {
      await stop();
      throw new Error(`coturn did not open its UDP listener on ${listenIp}:${port} ` +
        `(${exit ? `exited ${JSON.stringify(exit)}` : `after ${timeout} ms`})\ncommand: ${[cmd, ...argv].join(' ')}\n` +
        `--- output ---\n${out.slice(-3000)}\n--- log ---\n${log().slice(-3000)}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  return { url: `turn:${listenIp}:${port}?transport=udp`, log, stop, get exit() { return exit; } };
}

/**
 * The TURN REST credential (coturn --use-auth-secret) of `username`: base64 of HMAC-SHA1 keyed
 * with the shared secret.
 */
export function turnRestCredential(secret, username) {
  return crypto.createHmac('sha1', secret).update(username).digest('base64');
}

/** The `Link: <...>; rel="ice-server"; ...` values of a Headers object, parsed: [{url, params}]. */
export function iceServerLinks(headers) {
  const value = headers.get('link') || '';
  const out = [];
  for (const m of value.matchAll(/<([^>]*)>((?:\s*;\s*[\w-]+(?:=(?:"(?:[^"\\]|\\.)*"|[^;,]*))?)*)/g)) {
    const params = {};
    for (const p of m[2].matchAll(/;\s*([\w-]+)(?:=("(?:[^"\\]|\\.)*"|[^;,]*))?/g)) {
      const v = p[2] ?? '';
      params[p[1].toLowerCase()] = v.startsWith('"') ? v.slice(1, -1).replace(/\\(.)/g, '$1') : v.trim();
    }
    if ((params.rel || '').split(/\s+/).includes('ice-server')) out.push({ url: m[1], params });
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// IPv6 on the LAN, and Chromium on either side of it

/**
 * Gives the LAN's veth pair IPv6 unique local addresses, fd77:X::1 (server) and fd77:X::2
 * (browser), and nothing else: no link-local address (addrgenmode none), no router
 * solicitations or advertisements, no duplicate address detection. Sets lan.serverAddress6 and
 * lan.browserAddress6. (lib/netns.mjs makes the pair with IPv6 off.)
 */
export function addUlaAddresses(lan) {
  const x = Number(lan.serverAddress.split('.')[2]).toString(16);
  lan.serverAddress6 = `fd77:${x}::1`;
  lan.browserAddress6 = `fd77:${x}::2`;
  for (const [ns, ifname, address] of [[lan.serverNs, lan.serverInterface, lan.serverAddress6],
    [lan.browserNs, lan.browserInterface, lan.browserAddress6]]) {
    execFileSync(IP, ['-n', ns, 'link', 'set', ifname, 'addrgenmode', 'none']);
    execFileSync(IP, ['netns', 'exec', ns, '/bin/sh', '-c', ['accept_ra', 'router_solicitations', 'disable_ipv6']
      .map((k) => `echo 0 > /proc/sys/net/ipv6/conf/${ifname}/${k}`).join('; ')]);
    execFileSync(IP, ['-n', ns, '-6', 'addr', 'add', `${address}/64`, 'dev', ifname, 'nodad']);
  }
  return lan;
}

function addressesOf(ns) {
  return JSON.parse(execFileSync(IP, ['-j', '-n', ns, 'addr', 'show'], { encoding: 'utf8' }) || '[]')
    .flatMap((l) => (l.addr_info || []).map((a) => ({ ifname: l.ifname, address: a.local })));
}

/**
 * Throws unless each LAN namespace has only loopback and its own veth addresses (IPv4, and the
 * IPv6 one of addUlaAddresses() when it was called): lib/netns.mjs's assertLanOnly(), IPv6 aware.
 */
export function assertLanOnlyV6(lan) {
  const others = [];
  for (const [ns, own] of [[lan.serverNs, [lan.serverAddress, lan.serverAddress6]],
    [lan.browserNs, [lan.browserAddress, lan.browserAddress6]]]) {
    for (const a of addressesOf(ns)) {
      if (!isLoopbackAddress(a.address) && !own.includes(a.address)) others.push(`${ns} ${a.ifname} ${a.address}`);
    }
  }
  if (others.length) throw new Error(`the test LAN has other addresses: ${others.join(', ')}`);
}

const wrappers = new Set();
process.on('exit', () => {
  for (const w of wrappers) fs.rmSync(w, { force: true });
});

/**
 * Headless Chromium inside one side of the LAN ('server': beside liveroom, off the path under
 * test; 'browser': across the veth pair), like lib/netns.mjs's launchBrowserInNamespace() (same
 * flags) but for either side and with IPv6 addresses allowed (addUlaAddresses()). The wrapper
 * script is removed when the browser closes.
 */
export async function launchBrowserInLan(lan, side = 'server', { args = [], headless = true, ...options } = {}) {
  assertLanOnlyV6(lan);
  const ns = side === 'server' ? lan.serverNs : lan.browserNs;
  const prefix = side === 'server' ? lan.inServer : lan.inBrowser;
  const wrapper = path.join(os.tmpdir(), `liveroom-chromium-${ns}-${crypto.randomBytes(3).toString('hex')}.sh`);
  fs.writeFileSync(wrapper, `#!/bin/sh\n# Chromium in network namespace ${ns} (tests/e2e/lib/media_paths.mjs)\n` +
    `exec ${prefix.join(' ')} ${CHROMIUM_PATH} "$@"\n`, { mode: 0o755 });
  wrappers.add(wrapper);
  const base = CHROMIUM_ARGS.filter((a) => a !== '--allow-loopback-in-peer-connection');
  const cleanup = () => {
    fs.rmSync(wrapper, { force: true });
    wrappers.delete(wrapper);
  };
  try {
    const browser = await chromium.launch({ executablePath: wrapper, headless,
      args: [...base, '--ignore-certificate-errors', ...args], ...options });
    browser.on('disconnected', cleanup);
    return browser;
  } catch (e) {
    cleanup();
    throw e;
  }
}

// ---------------------------------------------------------------------------------------------
// What the pages say (window.liveroomDebug: web/js/studio.js, watch.js)

/** A plain copy of the page's window.liveroomDebug (null before the page set it). */
export function liveroomDebug(page) {
  return page.evaluate(() => {
    const d = window.liveroomDebug;
    if (!d) return null;
    return {
      iceRestarts: d.iceRestarts, iceRestartAttempts: d.iceRestartAttempts,
      iceRestartFallbacks: d.iceRestartFallbacks, recovering: d.recovering,
      candidatePair: d.candidatePair, candidateType: d.candidateType,
      iceServers: d.iceServers, iceTransportPolicy: d.iceTransportPolicy,
    };
  });
}

/** The a=candidate lines of an SDP, parsed: [{foundation, component, protocol, priority, address, port, type, tcptype}]. */
export function sdpCandidates(sdp) {
  return String(sdp).split(/\r?\n/).filter((l) => l.startsWith('a=candidate:')).map((l) => {
    const f = l.slice('a=candidate:'.length).split(/\s+/);
    const tcptype = f.indexOf('tcptype');
    return { foundation: f[0], component: Number(f[1]), protocol: f[2].toLowerCase(), priority: Number(f[3]),
      address: f[4], port: Number(f[5]), type: f[7], tcptype: tcptype > 0 ? f[tcptype + 1] : null };
  });
}

/** The first a=ice-ufrag / a=ice-pwd of an SDP. */
export function sdpIce(sdp) {
  return { ufrag: /^a=ice-ufrag:(\S+)/m.exec(sdp)?.[1] ?? null, pwd: /^a=ice-pwd:(\S+)/m.exec(sdp)?.[1] ?? null };
}

// ---------------------------------------------------------------------------------------------
// STUN (RFC 8489) and RFC 4571 framing, to speak to the ICE-TCP port by hand

const MAGIC = 0x2112a442;
export const STUN = Object.freeze({
  BINDING_REQUEST: 0x0001, BINDING_SUCCESS: 0x0101, BINDING_ERROR: 0x0111,
  USERNAME: 0x0006, MESSAGE_INTEGRITY: 0x0008, ERROR_CODE: 0x0009, XOR_MAPPED_ADDRESS: 0x0020,
  PRIORITY: 0x0024, USE_CANDIDATE: 0x0025, FINGERPRINT: 0x8028, ICE_CONTROLLING: 0x802a,
});

function attribute(type, value) {
  const pad = (4 - (value.length % 4)) % 4;
  const header = Buffer.alloc(4);
  header.writeUInt16BE(type, 0);
  header.writeUInt16BE(value.length, 2);
  return Buffer.concat([header, value, Buffer.alloc(pad)]);
}

function crc32(buf) {
  if (typeof zlib.crc32 === 'function') return zlib.crc32(buf) >>> 0;
  let c = 0xffffffff;
  for (const byte of buf) {
    c ^= byte;
    for (let k = 0; k < 8; k++) c = (c >>> 1) ^ (0xedb88320 & -(c & 1));
  }
  return (c ^ 0xffffffff) >>> 0;
}

/**
 * A STUN binding request as an ICE connectivity check (RFC 8445 §7.2.2): USERNAME `username`
 * ("<server ufrag>:<our ufrag>"), PRIORITY, ICE-CONTROLLING, USE-CANDIDATE when asked,
 * MESSAGE-INTEGRITY keyed with `password` (the server's ice-pwd; a wrong one for a test), and
 * FINGERPRINT. Returns the bytes; `transactionId` (12 bytes) is random unless given.
 */
export function stunBindingRequest({ username, password, transactionId = crypto.randomBytes(12), useCandidate = false,
  fingerprint = true } = {}) {
  const attrs = [];
  if (username !== undefined) attrs.push(attribute(STUN.USERNAME, Buffer.from(username, 'utf8')));
  const priority = Buffer.alloc(4);
  priority.writeUInt32BE(0x6e7f00ff, 0);
  attrs.push(attribute(STUN.PRIORITY, priority));
  attrs.push(attribute(STUN.ICE_CONTROLLING, crypto.randomBytes(8)));
  if (useCandidate) attrs.push(attribute(STUN.USE_CANDIDATE, Buffer.alloc(0)));
  const header = (bodyLength) => {
    const h = Buffer.alloc(20);
    h.writeUInt16BE(STUN.BINDING_REQUEST, 0);
    h.writeUInt16BE(bodyLength, 2);
    h.writeUInt32BE(MAGIC, 4);
    transactionId.copy(h, 8);
    return h;
  };
  let body = Buffer.concat(attrs);
  if (password !== undefined) {
    // The HMAC covers the message up to MESSAGE-INTEGRITY, with the length counting it (24 bytes).
    const mac = crypto.createHmac('sha1', Buffer.from(password, 'utf8'))
      .update(Buffer.concat([header(body.length + 24), body])).digest();
    body = Buffer.concat([body, attribute(STUN.MESSAGE_INTEGRITY, mac)]);
  }
  if (fingerprint) {
    const crc = (crc32(Buffer.concat([header(body.length + 8), body])) ^ 0x5354554e) >>> 0;
    const value = Buffer.alloc(4);
    value.writeUInt32BE(crc, 0);
    body = Buffer.concat([body, attribute(STUN.FINGERPRINT, value)]);
  }
  return Buffer.concat([header(body.length), body]);
}

/**
 * Parses a STUN message: { type, transactionId (hex), errorCode, errorReason, xorMappedAddress
 * ({address, port}), attributes: [type...] }, or null when it is not one.
 */
export function parseStun(buf) {
  if (buf.length < 20 || (buf[0] & 0xc0) !== 0 || buf.readUInt32BE(4) !== MAGIC) return null;
  const length = buf.readUInt16BE(2);
  if (20 + length > buf.length) return null;
  const out = { type: buf.readUInt16BE(0), transactionId: buf.subarray(8, 20).toString('hex'), attributes: [],
    errorCode: null, errorReason: null, xorMappedAddress: null };
  for (let i = 20; i + 4 <= 20 + length;) {
    const type = buf.readUInt16BE(i);
    const len = buf.readUInt16BE(i + 2);
    const value = buf.subarray(i + 4, i + 4 + len);
    out.attributes.push(type);
    if (type === STUN.ERROR_CODE && len >= 4) {
      out.errorCode = (value[2] & 0x7) * 100 + value[3];
      out.errorReason = value.subarray(4).toString('utf8');
    } else if (type === STUN.XOR_MAPPED_ADDRESS && len >= 8) {
      const port = value.readUInt16BE(2) ^ (MAGIC >>> 16);
      if (value[1] === 1) {
        const a = value.readUInt32BE(4) ^ MAGIC;
        out.xorMappedAddress = { address: [a >>> 24, (a >>> 16) & 255, (a >>> 8) & 255, a & 255].join('.'), port };
      } else {
        const key = Buffer.concat([buf.subarray(4, 8), buf.subarray(8, 20)]);
        const bytes = Buffer.from(value.subarray(4, 20).map((b, k) => b ^ key[k]));
        out.xorMappedAddress = { address: ipv6Text(bytes), port };
      }
    }
    i += 4 + len + ((4 - (len % 4)) % 4);
  }
  return out;
}

// RFC 5952 text of 16 address bytes (the longest run of two or more zero groups as ::).
function ipv6Text(bytes) {
  const groups = [];
  for (let k = 0; k < 16; k += 2) groups.push(bytes.readUInt16BE(k));
  let best = [-1, 0];
  for (let k = 0; k < 8;) {
    if (groups[k] !== 0) {
      k++;
      continue;
    }
    let end = k;
    while (end < 8 && groups[end] === 0) end++;
    if (end - k > best[1] && end - k >= 2) best = [k, end - k];
    k = end;
  }
  const hex = groups.map((g) => g.toString(16));
  if (best[0] < 0) return hex.join(':');
  return `${hex.slice(0, best[0]).join(':')}::${hex.slice(best[0] + best[1]).join(':')}`;
}

/** One RFC 4571 frame: a 16-bit big-endian length, then the bytes. */
export function frame(bytes) {
  const h = Buffer.alloc(2);
  h.writeUInt16BE(bytes.length, 0);
  return Buffer.concat([h, bytes]);
}

/** Splits RFC 4571 frames out of `buf`: { frames: [Buffer], rest: Buffer (an incomplete frame) }. */
export function unframe(buf) {
  const frames = [];
  let i = 0;
  while (i + 2 <= buf.length) {
    const n = buf.readUInt16BE(i);
    if (i + 2 + n > buf.length) break;
    frames.push(buf.subarray(i + 2, i + 2 + n));
    i += 2 + n;
  }
  return { frames, rest: buf.subarray(i) };
}

/**
 * A raw TCP connection to the ICE-TCP port that records what happens to it:
 * { socket, connected (promise), received() (all bytes so far), frames() (RFC 4571 frames so far),
 *   state: { connected, endedByPeer (FIN or reset from the server), closed, error },
 *   closed (promise), write(bytes), end(), destroy() }.
 */
export function tcpProbe({ host, port, localAddress, family }) {
  const socket = net.connect({ host, port, localAddress, family });
  const chunks = [];
  const state = { connected: false, endedByPeer: false, closed: false, error: null, localPort: null, localAddress: null };
  let endedByUs = false;
  const connected = new Promise((resolve, reject) => {
    socket.once('connect', () => {
      state.connected = true;
      state.localPort = socket.localPort;
      state.localAddress = socket.localAddress;
      resolve();
    });
    socket.once('error', reject);
  });
  connected.catch(() => {});
  socket.on('data', (d) => chunks.push(d));
  socket.on('end', () => {
    if (!endedByUs) state.endedByPeer = true;
  });
  socket.on('error', (e) => {
    state.error = e.code || e.message;
    if (!endedByUs && (e.code === 'ECONNRESET' || e.code === 'EPIPE')) state.endedByPeer = true;
  });
  const closed = new Promise((resolve) => socket.on('close', () => {
    state.closed = true;
    resolve();
  }));
  return {
    socket,
    state,
    connected,
    closed,
    received: () => Buffer.concat(chunks),
    frames: () => unframe(Buffer.concat(chunks)).frames,
    write: (bytes) => new Promise((resolve) => {
      if (socket.destroyed || socket.writableEnded) return resolve(false);
      socket.write(bytes, (err) => resolve(!err));
      return undefined;
    }),
    end() {
      endedByUs = true;
      socket.end();
    },
    destroy() {
      endedByUs = true;
      socket.destroy();
    },
  };
}
