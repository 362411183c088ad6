// The traffic rule of liveroom's tests: a test sends only to loopback (127.0.0.0/8, ::1) or to
// addresses inside network namespaces it created itself; never to this machine's own network
// addresses or anywhere else.
//
// WebRTC clients break it on their own: Chromium and GStreamer's libnice gather ICE candidates
// on every interface and send STUN and media from each address, and liveroom answers whatever
// address a check came from. Pinning the server to --webrtc-ip 127.0.0.1 is not enough (Chromium
// then pairs eth0's address with 127.0.0.1). So the suite runs in a network namespace whose only
// interface is lo (scripts/netns-run), and launchBrowser() refuses to start Chromium anywhere else.
import fs from 'node:fs';
import os from 'node:os';

export const HOW_TO_RUN = 'run the end-to-end tests as `scripts/netns-run node --test tests/e2e/` ' +
  '(as root: a network namespace whose only interface is lo)';

/** True for 127.0.0.0/8, ::1 and IPv4-mapped 127.x addresses. */
export function isLoopbackAddress(address) {
  const a = String(address).toLowerCase().replace(/^\[|\]$/g, '');
  return /^127\.\d+\.\d+\.\d+$/.test(a) || a === '::1' || /^::ffff:127\.\d+\.\d+\.\d+$/.test(a);
}

/** Network interfaces of this namespace (/sys/class/net: `ip netns exec` mounts the namespace's own). */
export function interfaceNames() {
  try {
    return fs.readdirSync('/sys/class/net').sort();
  } catch {
    return [];
  }
}

/** Addresses of interfaces that are up and not loopback, as 'iface address' strings. */
export function nonLoopbackAddresses() {
  const out = [];
  for (const [name, addrs] of Object.entries(os.networkInterfaces())) {
    for (const a of addrs || []) {
      if (!a.internal || !isLoopbackAddress(a.address)) out.push(`${name} ${a.address}`);
    }
  }
  return out;
}

/**
 * Throws unless this process's network namespace offers only loopback addresses (every address
 * of an up interface is 127.x or ::1), i.e. a WebRTC client started here cannot send from or to
 * the machine's network addresses. `who` names what was about to start, for the message.
 */
export function assertLoopbackOnlyNetwork(who = 'this test') {
  const others = nonLoopbackAddresses();
  if (others.length) {
    throw new Error(`${who} would send WebRTC traffic from this machine's network addresses ` +
      `(${others.join(', ')}): ${HOW_TO_RUN}`);
  }
}
