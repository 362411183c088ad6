// A three-namespace LAN that exists only while a test or a benchmark runs
// (tests/e2e/uplink_loss.test.mjs, bench/media_paths_bench.mjs): a "server" namespace holding a
// bridge (br0, 10.78.X.1/24) and two veth pairs off it, one to a "publisher" namespace (10.78.X.2,
// bridge port pub0) and one to a "viewer" namespace (10.78.X.3, port view0). liveroom runs in the
// server namespace and advertises 10.78.X.1 only (--webrtc-ip); the broadcaster's Chromium runs in
// the publisher namespace and the viewers' Chromium in the viewer namespace, so an nftables table
// on one bridge port (loss on the broadcaster's uplink, UDP blocked for the viewer), or in one
// side's namespace, touches that side's traffic only. One subnet and one server address: whatever
// address the server's socket answers from, it is the one the browsers sent to.
//
//   const lan = createMediaLan();
//   const server = await startLiveroom({ host: lan.serverAddress, port: 8443, tlsSelfSigned: true,
//     wrap: lan.inServer, socketPath: await lan.bridge(8443), args: [...] });
//   const browser = await lan.launchChromium('viewer');
//   const loss = lan.nft('server', { family: 'bridge', name: 'lrbench_loss', chains: {
//     prerouting: ['iifname "pub0" meta l4proto udp numgen random mod 100 < 5 counter drop'] } });
//   ... loss.counters(); loss.remove();
//   lan.close();                                  // also on exit, SIGINT, SIGTERM, SIGHUP
//
// Traffic rule (tests/e2e/lib/network.mjs): every namespace has lo and its own 10.78.X.0/24
// address only, no default route, IPv6 off on every link; the process that creates them stays in
// its loopback-only namespace (scripts/netns-run) and reaches the server through a Unix socket
// (tests/e2e/lib/unix_tcp_bridge.mjs run inside the server namespace) and Chromium through
// playwright's pipes. Namespaces are named lr-mb-{s,p,v}-<pid base 36><6 hex>; ones left by a
// run that was SIGKILLed are removed by the next one.
import { execFileSync } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';

import { CHROMIUM_ARGS, CHROMIUM_PATH } from './browser.mjs';
import { disableIpv6, ip, killAllIn, startUnixBridge, sweepStaleNamespaces } from './netns.mjs';
import { isLoopbackAddress } from './network.mjs';

// playwright-core is a dependency of tests/e2e (its node_modules).
const { chromium } = createRequire(new URL('../package.json', import.meta.url))('playwright-core');
const IP = ['/usr/sbin/ip', '/sbin/ip', '/usr/bin/ip', '/bin/ip'].find((p) => fs.existsSync(p)) || 'ip';
export const NFT = ['/usr/sbin/nft', '/sbin/nft', '/usr/bin/nft'].find((p) => fs.existsSync(p)) || null;
// What runs in a namespace gets SIGKILL when this process dies, however it dies.
const SETPRIV = ['/usr/bin/setpriv', '/bin/setpriv'].find((p) => fs.existsSync(p));
const DIE_WITH_PARENT = SETPRIV ? [SETPRIV, '--pdeathsig', 'KILL'] : [];
const NAME_RE = /^lr-mb-[spv]-([0-9a-z]+)[0-9a-f]{6}$/;

function tryRun(fn) {
  try {
    fn();
    return true;
  } catch {
    return false;
  }
}

function sweepStale() {
  sweepStaleNamespaces(NAME_RE);
}

const open = new Set();
process.on('exit', () => {
  for (const lan of open) lan.close();
});
for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP']) {
  process.once(signal, () => {
    console.error(`\n${signal}: removing the media LAN's namespaces`);
    for (const lan of open) lan.close();
    process.kill(process.pid, signal); // then as if unhandled
  });
}

function addressesIn(ns) {
  return ip(['-n', ns, 'addr', 'show'], { json: true })
    .flatMap((l) => (l.addr_info || []).map((a) => ({ ifname: l.ifname, address: a.local })));
}

/**
 * Creates the three namespaces, the bridge and the two veth pairs. Must run as root, in a
 * namespace of its own (scripts/netns-run). Returns the LAN (see the top of this file).
 */
export function createMediaLan() {
  sweepStale();
  const tag = `${process.pid.toString(36)}${crypto.randomBytes(3).toString('hex')}`;
  const octet = 1 + crypto.randomInt(254);
  const sides = {
    server: { ns: `lr-mb-s-${tag}`, address: `10.78.${octet}.1`, ifname: 'br0' },
    publisher: { ns: `lr-mb-p-${tag}`, address: `10.78.${octet}.2`, ifname: 'lan0' },
    viewer: { ns: `lr-mb-v-${tag}`, address: `10.78.${octet}.3`, ifname: 'lan0' },
  };
  for (const side of Object.values(sides)) side.wrap = [...DIE_WITH_PARENT, IP, 'netns', 'exec', side.ns];
  const sockets = [];
  const wrappers = [];
  const tables = new Set();

  const lan = {
    sides,
    serverNs: sides.server.ns,
    serverAddress: sides.server.address,
    publisherAddress: sides.publisher.address,
    viewerAddress: sides.viewer.address,
    inServer: sides.server.wrap,
    closed: false,

    /** A Unix socket whose connections reach the server namespace's address:port. */
    async bridge(port) {
      const socket = path.join(os.tmpdir(), `lr-mb-${tag}-${port}.sock`);
      sockets.push(socket);
      return startUnixBridge(sides.server.wrap, socket, sides.server.address, port);
    },

    /**
     * Headless Chromium in the `publisher` or `viewer` namespace: lib/browser.mjs's flags (fake
     * camera, no prompt) without --allow-loopback-in-peer-connection (the LAN address is the one
     * to use), with --ignore-certificate-errors (the server's certificate is self-signed).
     */
    async launchChromium(which, { args = [] } = {}) {
      lan.assertLanOnly();
      const side = sides[which];
      const wrapper = path.join(os.tmpdir(), `liveroom-lan-chromium-${side.ns}.sh`);
      fs.writeFileSync(wrapper, `#!/bin/sh\n# Chromium in network namespace ${side.ns} (tests/e2e/lib/media_lan.mjs)\n` +
        `exec ${side.wrap.join(' ')} ${CHROMIUM_PATH} "$@"\n`, { mode: 0o755 });
      wrappers.push(wrapper);
      const base = CHROMIUM_ARGS.filter((a) => a !== '--allow-loopback-in-peer-connection');
      return chromium.launch({ executablePath: wrapper, headless: true,
        args: [...base, '--ignore-certificate-errors', ...args] });
    },

    /**
     * An nftables table `<family> <name>` in a side's namespace (`which`: 'server', 'publisher',
     * 'viewer'), one filter chain (policy accept) per entry of `chains` ({ hook: [rules] }, nft
     * syntax), applied at once. Family `bridge` in the server namespace filters frames crossing
     * the bridge, i.e. on the links themselves (iifname/oifname "pub0" or "view0": the ports of
     * the publisher's and the viewer's veths). Returns { counters() (packets of each rule that
     * has a counter, in order), remove() (safe twice; the namespace takes it along anyway) }.
     */
    nft(which, { family = 'inet', name, chains }) {
      if (!NFT) throw new Error('nft is not installed (Debian nftables: scripts/setup --test)');
      const side = sides[which];
      const run = (args, stdin) => execFileSync(IP, ['netns', 'exec', side.ns, NFT, ...args],
        { encoding: 'utf8', input: stdin, stdio: [stdin === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'] });
      const body = Object.entries(chains).map(([hook, rules]) =>
        `  chain ${hook} {\n    type filter hook ${hook} priority 0; policy accept;\n` +
        rules.map((r) => `    ${r}\n`).join('') + '  }\n').join('');
      run(['-f', '-'], `table ${family} ${name} {\n${body}}\n`);
      const table = {
        name,
        removed: false,
        counters() {
          const doc = JSON.parse(run(['-j', 'list', 'table', family, name]));
          const out = [];
          for (const item of doc.nftables) {
            const c = item.rule?.expr?.find((e) => e.counter)?.counter;
            if (c) out.push(c.packets);
          }
          return out;
        },
        remove() {
          if (table.removed) return;
          table.removed = true;
          tables.delete(table);
          if (!lan.closed) tryRun(() => run(['delete', 'table', family, name]));
        },
      };
      tables.add(table);
      return table;
    },

    /** Throws unless every namespace has loopback and its own LAN address only. */
    assertLanOnly() {
      const others = [];
      for (const side of Object.values(sides)) {
        for (const a of addressesIn(side.ns)) {
          if (!isLoopbackAddress(a.address) && a.address !== side.address) others.push(`${side.ns} ${a.ifname} ${a.address}`);
        }
        const routes = ip(['-n', side.ns, 'route', 'show', 'default'], { json: true });
        if (routes.length) others.push(`${side.ns} has a default route`);
      }
      if (others.length) throw new Error(`the media LAN reaches further than itself: ${others.join(', ')}`);
    },

    close() {
      if (lan.closed) return;
      for (const t of [...tables]) t.remove();
      lan.closed = true;
      open.delete(lan);
      for (const side of Object.values(sides)) killAllIn(side.ns);
      for (const side of Object.values(sides)) tryRun(() => ip(['netns', 'del', side.ns]));
      for (const f of [...sockets, ...wrappers]) fs.rmSync(f, { force: true });
    },
  };

  const s = sides.server.ns;
  ip(['netns', 'add', s]);
  open.add(lan);
  try {
    ip(['netns', 'add', sides.publisher.ns]);
    ip(['netns', 'add', sides.viewer.ns]);
    ip(['-n', s, 'link', 'set', 'lo', 'up']);
    ip(['-n', s, 'link', 'add', 'br0', 'type', 'bridge', 'stp_state', '0', 'forward_delay', '0']);
    disableIpv6(s, 'br0');
    for (const [which, port] of [['publisher', 'pub0'], ['viewer', 'view0']]) {
      const side = sides[which];
      // Made in the server namespace, the far end moved straight into the side's namespace.
      ip(['-n', s, 'link', 'add', port, 'type', 'veth', 'peer', 'name', side.ifname, 'netns', side.ns]);
      disableIpv6(s, port);
      disableIpv6(side.ns, side.ifname);
      ip(['-n', s, 'link', 'set', port, 'master', 'br0']);
      ip(['-n', s, 'link', 'set', port, 'up']);
      ip(['-n', side.ns, 'link', 'set', 'lo', 'up']);
      ip(['-n', side.ns, 'addr', 'add', `${side.address}/24`, 'dev', side.ifname]);
      ip(['-n', side.ns, 'link', 'set', side.ifname, 'up']);
    }
    ip(['-n', s, 'addr', 'add', `${sides.server.address}/24`, 'dev', 'br0']);
    ip(['-n', s, 'link', 'set', 'br0', 'up']);
    lan.assertLanOnly();
  } catch (e) {
    lan.close();
    throw e;
  }
  return lan;
}
