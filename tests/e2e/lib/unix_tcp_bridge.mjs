// Forwards connections from a Unix socket to HOST:PORT, byte for byte (TLS passes through):
//
//   ip netns exec <ns> node unix_tcp_bridge.mjs SOCKET HOST PORT     # prints "ready" when listening
//
// lib/netns.mjs runs it inside a network namespace the test process is not in, so the test can
// reach a server there through the file system (a Unix socket is not tied to a network
// namespace). It stops on SIGTERM / SIGKILL or when its namespace is removed.
import fs from 'node:fs';
import net from 'node:net';

const [socket, host, port] = process.argv.slice(2);
if (!socket || !host || !port) {
  process.stderr.write('usage: node unix_tcp_bridge.mjs SOCKET HOST PORT\n');
  process.exit(2);
}
fs.rmSync(socket, { force: true });
const server = net.createServer((client) => {
  const upstream = net.connect(Number(port), host);
  client.pipe(upstream);
  upstream.pipe(client);
  client.on('error', () => upstream.destroy());
  upstream.on('error', () => client.destroy());
});
server.listen(socket, () => process.stdout.write('ready\n'));
process.on('SIGTERM', () => {
  server.close();
  fs.rmSync(socket, { force: true });
  process.exit(0);
});
