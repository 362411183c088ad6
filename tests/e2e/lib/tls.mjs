// fetch() for a liveroom started with --tls-self-signed (or any server whose certificate the
// test holds): trusts exactly the given certificate, and checks, as a browser would, that it
// names the address asked for. Node's own fetch cannot be given a CA without undici's
// Agent (not a dependency here), and NODE_TLS_REJECT_UNAUTHORIZED=0 would check nothing.
//
//   const fetchTls = tlsFetch(() => fs.readFileSync('<data dir>/tls-self-signed.crt'));
//   const r = await fetchTls('https://10.77.5.1:8443/healthz');   // r.status, await r.json()
//
// `socketPath`: connect through this Unix socket instead of to the URL's address (a server in
// another network namespace, lib/netns.mjs); TLS and the certificate check still name the URL's
// host, as a browser on that network would.
//
// Only what lib/server.mjs and lib/api.mjs use: method, headers, body (string or Buffer),
// signal; the reply has status, ok, headers.get(), text(), json(), arrayBuffer(). Redirects are
// not followed (like `redirect: 'manual'`).
import https from 'node:https';

/** A fetch-like function that trusts `ca` (PEM text or Buffer, or a function returning one). */
export function tlsFetch(ca, { socketPath } = {}) {
  return (url, { method = 'GET', headers = {}, body, signal } = {}) => new Promise((resolve, reject) => {
    const target = new URL(url);
    if (target.protocol !== 'https:') {
      reject(new Error(`tlsFetch speaks https only, not ${url}`));
      return;
    }
    let pem;
    try {
      pem = typeof ca === 'function' ? ca() : ca;
    } catch (e) {
      reject(e);
      return;
    }
    const options = { method, headers, ca: pem, signal, agent: false };
    if (socketPath) options.socketPath = socketPath;
    const req = https.request(target, options, (res) => {
      const chunks = [];
      res.on('data', (c) => chunks.push(c));
      res.on('error', reject);
      res.on('end', () => {
        const buffer = Buffer.concat(chunks);
        const lower = Object.fromEntries(Object.entries(res.headers).map(([k, v]) => [k.toLowerCase(), v]));
        resolve({
          status: res.statusCode,
          ok: res.statusCode >= 200 && res.statusCode < 300,
          url,
          headers: {
            get: (name) => {
              const v = lower[String(name).toLowerCase()];
              return v === undefined ? null : Array.isArray(v) ? v.join(', ') : String(v);
            },
          },
          text: async () => buffer.toString('utf8'),
          json: async () => JSON.parse(buffer.toString('utf8')),
          arrayBuffer: async () => buffer.buffer.slice(buffer.byteOffset, buffer.byteOffset + buffer.byteLength),
        });
      });
    });
    req.on('error', reject);
    if (body !== undefined && body !== null) req.write(body);
    req.end();
  });
}
