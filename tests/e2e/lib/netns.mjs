// A small LAN that exists only inside this test run: two new network namespaces joined by a veth
// pair, a "server" side (10.77.X.1) and a "browser" side (10.77.X.2). A test that needs a real,
// non-loopback address (HTTPS on a LAN address, the camera on a page that is not localhost) runs
// liveroom in the server namespace and Chromium in the browser namespace, and removes both
// afterwards.
//
//   const lan = createLan();
//   const server = await startLiveroom({ host: lan.serverAddress, port: 8443, tlsSelfSigned: true,
//     wrap: lan.inServer, socketPath: await lan.bridge(8443), ... });
//   const browser = await launchBrowserInNamespace(lan);      // Chromium in the browser namespace
//   ...
//   await browser.close(); await server.close(); lan.close();  // also on process exit
//
// The suite's own namespace (scripts/netns-run: only lo) is left as it is, so the other test
// files, running at the same time, still find nothing but loopback there (lib/network.mjs). The
// test process reaches the server through a Unix socket (file system, shared by every network
// namespace) that a small forwarder inside the server namespace connects to the server's address
// (lib/unix_tcp_bridge.mjs); it reaches Chromium through playwright's pipes.
//
// Traffic rule (lib/network.mjs): everything stays between the two namespaces. Each has lo and
// its end of the veth only, no route anywhere else, IPv6 off on the pair (no link-local addresses,
// no router solicitations); the server advertises its veth address only (--webrtc-ip). Names
// carry this process's id and a random part, so parallel runs do not collide; X is random.
import { execFileSync, spawn } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

import { chromium } from 'playwright-core';

import { CHROMIUM_ARGS, CHROMIUM_PATH } from './browser.mjs';
import { isLoopbackAddress } from './network.mjs';

const IP = ['/usr/sbin/ip', '/sbin/ip', '/usr/bin/ip', '/bin/ip'].find((p) => fs.existsSync(p)) || 'ip';
// util-linux's setpriv: what runs in the LAN gets SIGKILL when the test process dies, however it
// dies (a SIGKILLed test cannot clean up, and scripts/netns-run only empties its own namespace).
const SETPRIV = ['/usr/bin/setpriv', '/bin/setpriv'].find((p) => fs.existsSync(p));
const DIE_WITH_PARENT = SETPRIV ? [SETPRIV, '--pdeathsig', 'KILL'] : [];
const BRIDGE = path.join(path.dirname(fileURLToPath(import.meta.url)), 'unix_tcp_bridge.mjs');

/** Runs `ip ...args`; returns stdout (JSON parsed when `json`). Throws with stderr on failure. */
/**
 * Starts tests/e2e/lib/unix_tcp_bridge.mjs under `wrap` (a namespace's `ip netns exec` prefix):
 * connections to the Unix socket `socket` reach `host:port` in that namespace. Resolves with
 * `socket` once the bridge says it is ready.
 */
export async function startUnixBridge(wrap, socket, host, port) {
  const [cmd, ...argv] = [...wrap, process.execPath, BRIDGE, socket, host, String(port)];
  const child = spawn(cmd, argv, { stdio: ['ignore', 'pipe', 'inherit'] });
  await new Promise((resolve, reject) => {
    let out = '';
    child.stdout.setEncoding('utf8').on('data', (d) => {
      out += d;
      if (out.includes('ready')) resolve();
    });
    child.on('exit', (code) => reject(new Error(`unix_tcp_bridge exited (${code}) before it was ready`)));
    child.on('error', reject);
  });
  return socket;
}

export function ip(args, { json = false } = {}) {
  const out = execFileSync(IP, json ? ['-j', ...args] : args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  return json ? JSON.parse(out || '[]') : out;
}

function tryIp(args) {
  try {
    ip(args);
    return true;
  } catch {
    return false;
  }
}

// LANs still existing if the test process exits without closing them.
const open = new Set();
process.on('exit', () => {
  for (const lan of open) lan.close();
});
for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP']) {
  process.once(signal, () => {
    for (const lan of open) lan.close();
    process.kill(process.pid, signal); // then as if unhandled
  });
}

/** SIGKILLs every process in namespace `ns`. */
export function killAllIn(ns) {
  let pids = '';
  try {
    pids = ip(['netns', 'pids', ns]).trim();
  } catch {
    pids = '';
  }
  for (const pid of pids.split(/\s+/).filter(Boolean)) {
    try {
      process.kill(Number(pid), 'SIGKILL');
    } catch {
      // gone already
    }
  }
}

/** Turns IPv6 off on `ifname` in `ns` (no link-local addresses for browsers to gather). */
export function disableIpv6(ns, ifname) {
  try {
    execFileSync(IP, ['netns', 'exec', ns, '/bin/sh', '-c',
      `f=/proc/sys/net/ipv6/conf/${ifname}/disable_ipv6; [ -e $f ] && echo 1 > $f || true`], { stdio: 'ignore' });
  } catch {
    // no IPv6 in this kernel: nothing to turn off
  }
}

/**
 * Removes namespaces left by processes that died without cleaning up (SIGKILL): a name matching
 * `nameRe`, whose first group is the creating process's pid in base 36, is deleted (after its
 * processes are killed) when that process is gone.
 */
export function sweepStaleNamespaces(nameRe) {
  let names = [];
  try {
    names = ip(['netns', 'list'], { json: true }).map((n) => n.name);
  } catch {
    return;
  }
  for (const name of names) {
    const m = nameRe.exec(name);
    if (!m) continue;
    let alive = true;
    try {
      process.kill(parseInt(m[1], 36), 0);
    } catch (e) {
      alive = e.code === 'EPERM';
    }
    if (alive) continue;
    killAllIn(name);
    tryIp(['netns', 'del', name]);
  }
}

// This file's LANs: lr-lan-{s,b}-<pid in base 36><6 hex digits>.
function sweepStaleLans() {
  sweepStaleNamespaces(/^lr-lan-[sb]-([0-9a-z]+)[0-9a-f]{6}$/);
}

/**
 * Creates the two namespaces and the veth pair between them. Returns
 * { serverNs, browserNs, serverInterface, browserInterface, serverAddress, browserAddress,
 *   inServer (argv prefix: run a command in the server namespace), bridge(port), close() }.
 * Must run as root (scripts/netns-run).
 */
export function createLan() {
  sweepStaleLans();
  const tag = `${process.pid.toString(36)}${crypto.randomBytes(3).toString('hex')}`;
  const serverNs = `lr-lan-s-${tag}`;
  const browserNs = `lr-lan-b-${tag}`;
  const serverInterface = 'lan0';
  const browserInterface = 'lan0';
  const octet = 1 + crypto.randomInt(254);
  const serverAddress = `10.77.${octet}.1`;
  const browserAddress = `10.77.${octet}.2`;
  const sockets = [];

  const lan = {
    serverNs,
    browserNs,
    serverInterface,
    browserInterface,
    serverAddress,
    browserAddress,
    prefix: 24,
    wrapper: null,
    closed: false,
    /**
     * argv prefix that runs a command in the server namespace (for spawn / startLiveroom's
     * `wrap`), killed if the test process dies.
     */
    inServer: [...DIE_WITH_PARENT, IP, 'netns', 'exec', serverNs],
    /** The same for the browser namespace. */
    inBrowser: [...DIE_WITH_PARENT, IP, 'netns', 'exec', browserNs],

    /**
     * A Unix socket (path) whose connections reach `serverAddress:port` inside the server
     * namespace: how the test process talks to a server it cannot reach over the network.
     */
    async bridge(port, host = serverAddress) {
      const socket = path.join(os.tmpdir(), `lr-lan-${tag}-${port}.sock`);
      sockets.push(socket);
      return startUnixBridge(lan.inServer, socket, host, port);
    },

    close() {
      if (lan.closed) return;
      lan.closed = true;
      open.delete(lan);
      // Whatever still runs there (a browser, a server, a bridge) goes with them.
      killAllIn(browserNs);
      killAllIn(serverNs);
      tryIp(['-n', serverNs, 'link', 'del', serverInterface]); // the pair, at once
      tryIp(['netns', 'del', browserNs]);
      tryIp(['netns', 'del', serverNs]);
      for (const socket of sockets) fs.rmSync(socket, { force: true });
      if (lan.wrapper) fs.rmSync(lan.wrapper, { force: true });
    },
  };

  ip(['netns', 'add', serverNs]);
  open.add(lan);
  try {
    ip(['netns', 'add', browserNs]);
    // Made inside the server namespace, the other end moved straight into the browser's: the
    // suite's own namespace never holds either end.
    ip(['-n', serverNs, 'link', 'add', serverInterface, 'type', 'veth', 'peer', 'name', browserInterface,
      'netns', browserNs]);
    // IPv6 off on both ends before they go up: no link-local addresses, no solicitations.
    disableIpv6(serverNs, serverInterface);
    disableIpv6(browserNs, browserInterface);
    for (const [ns, ifname, address] of [[serverNs, serverInterface, serverAddress],
      [browserNs, browserInterface, browserAddress]]) {
      ip(['-n', ns, 'link', 'set', 'lo', 'up']);
      ip(['-n', ns, 'addr', 'add', `${address}/24`, 'dev', ifname]);
      ip(['-n', ns, 'link', 'set', ifname, 'up']);
    }
  } catch (e) {
    lan.close();
    throw e;
  }
  return lan;
}

function addressesIn(ns) {
  return ip(['-n', ns, 'addr', 'show'], { json: true })
    .flatMap((l) => (l.addr_info || []).map((a) => ({ ifname: l.ifname, address: a.local, scope: a.scope,
      loopback: (l.flags || []).includes('LOOPBACK') })));
}

/**
 * What `ip` says about the LAN, for the test to assert on: the server's address sits on a veth
 * that is not a loopback device, with global scope; each side reaches the other through its veth
 * end (not lo); neither namespace has another address than loopback and its own. Returns
 * { serverLink, serverAddr, browserRoute, serverRoute, serverAddresses, browserAddresses }.
 */
export function describeLan(lan) {
  const [link] = ip(['-n', lan.serverNs, '-d', 'link', 'show', 'dev', lan.serverInterface], { json: true });
  const [iface] = ip(['-n', lan.serverNs, 'addr', 'show', 'dev', lan.serverInterface], { json: true });
  const [browserRoute] = ip(['-n', lan.browserNs, 'route', 'get', lan.serverAddress], { json: true });
  const [serverRoute] = ip(['-n', lan.serverNs, 'route', 'get', lan.browserAddress], { json: true });
  return {
    serverLink: { ifname: link.ifname, flags: link.flags, kind: link.linkinfo?.info_kind },
    serverAddr: (iface.addr_info || []).find((a) => a.local === lan.serverAddress) || null,
    browserRoute,
    serverRoute,
    serverAddresses: addressesIn(lan.serverNs),
    browserAddresses: addressesIn(lan.browserNs),
  };
}

/**
 * Throws unless each namespace offers only loopback and its own veth address: what runs there
 * can send nowhere but to the other side.
 */
export function assertLanOnly(lan) {
  const others = [
    ...addressesIn(lan.serverNs).filter((a) => !isLoopbackAddress(a.address) && a.address !== lan.serverAddress),
    ...addressesIn(lan.browserNs).filter((a) => !isLoopbackAddress(a.address) && a.address !== lan.browserAddress),
  ];
  if (others.length) {
    throw new Error(`the test LAN has other addresses: ${others.map((a) => `${a.ifname} ${a.address}`).join(', ')}`);
  }
}

/**
 * Headless Chromium running inside the LAN's browser namespace (playwright-core talks to it over
 * pipes, through a wrapper script that does `ip netns exec <ns> chromium "$@"`). The flags of
 * lib/browser.mjs (fake camera and microphone, accepted without a prompt) plus
 * --ignore-certificate-errors (the server's certificate is self-signed), minus
 * --allow-loopback-in-peer-connection (the veth address is the one to use). `args` are added.
 */
export async function launchBrowserInNamespace(lan, { args = [], headless = true, ...options } = {}) {
  assertLanOnly(lan);
  if (!lan.wrapper) {
    const wrapper = path.join(os.tmpdir(), `liveroom-chromium-${lan.browserNs}.sh`);
    fs.writeFileSync(wrapper, `#!/bin/sh\n# Chromium in network namespace ${lan.browserNs} (tests/e2e/lib/netns.mjs)\n` +
      `exec ${lan.inBrowser.join(' ')} ${CHROMIUM_PATH} "$@"\n`, { mode: 0o755 });
    lan.wrapper = wrapper;
  }
  const base = CHROMIUM_ARGS.filter((a) => a !== '--allow-loopback-in-peer-connection');
  return chromium.launch({
    executablePath: lan.wrapper,
    headless,
    args: [...base, '--ignore-certificate-errors', ...args],
    ...options,
  });
}
