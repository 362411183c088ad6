// web/js/whip.js without a browser: the ICE servers of RFC 9725 Link headers, the sdpfrag of an
// ICE restart and what is done with the server's reply, on a fake RTCPeerConnection and fetch.
// Run: node --test tests/web/
import { test } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const whip = await import(pathToFileURL(path.join(REPO, 'web', 'js', 'whip.js')).href);
const {
  parseIceServerLinks, fetchIceServers, iceParamsOf, restartFragment, withIceCredentials, selectedCandidatePair,
  iceTransportPolicyFrom, Session, ICE_RESTART_UNSUPPORTED,
} = whip;

// ---- Link headers ----

test('one STUN link', () => {
  assert.deepEqual(parseIceServerLinks('<stun:stun.example.net:3478>; rel="ice-server"'),
    [{ urls: 'stun:stun.example.net:3478' }]);
});

test('several links joined by fetch with ", ", TURN credentials with commas and semicolons inside quotes', () => {
  const value = [
    '<stun:stun.example.net:3478>; rel="ice-server"',
    '<turn:turn.example.net:3478?transport=udp>; rel="ice-server"; username="1767225600:liveroom"; ' +
      'credential="a,b;c=="; credential-type="password"',
    '<turns:turn.example.net:5349?transport=tcp>; rel=ice-server; username="u, v"; credential="p\\"q"',
  ].join(', ');
  assert.deepEqual(parseIceServerLinks(value), [
    { urls: 'stun:stun.example.net:3478' },
    { urls: 'turn:turn.example.net:3478?transport=udp', username: '1767225600:liveroom', credential: 'a,b;c==' },
    { urls: 'turns:turn.example.net:5349?transport=tcp', username: 'u, v', credential: 'p"q' },
  ]);
});

test('links with another rel, another scheme, or malformed are left out', () => {
  const value = '</whip/next>; rel="next", <stun:a.example:3478>; rel="preconnect", ' +
    '<https://example.net/>; rel="ice-server", garbage, <stun:>; rel="ice-server", ' +
    '<stun:b.example>; rel="ice-server"';
  assert.deepEqual(parseIceServerLinks(value), [{ urls: 'stun:b.example' }]);
});

test('rel is a list, case-insensitive; parameter names are case-insensitive; the first rel counts', () => {
  assert.deepEqual(parseIceServerLinks('<STUN:c.example>; REL="other ICE-Server"'), [{ urls: 'STUN:c.example' }]);
  assert.deepEqual(parseIceServerLinks('<turn:t.example>; Rel="ice-server"; UserName=u; Credential=p'),
    [{ urls: 'turn:t.example', username: 'u', credential: 'p' }]);
  assert.deepEqual(parseIceServerLinks('<stun:d.example>; rel="next"; rel="ice-server"'), []);
});

test('TURN without username or credential, or with a credential-type other than password, is left out', () => {
  assert.deepEqual(parseIceServerLinks('<turn:t.example:3478>; rel="ice-server"'), []);
  assert.deepEqual(parseIceServerLinks('<turn:t.example:3478>; rel="ice-server"; username="u"'), []);
  assert.deepEqual(parseIceServerLinks('<turns:t.example>; rel="ice-server"; credential="p"'), []);
  assert.deepEqual(parseIceServerLinks('<turn:t.example>; rel="ice-server"; username=u; credential=p; credential-type="oauth"'), []);
  // STUN needs none; credentials given anyway are passed on.
  assert.deepEqual(parseIceServerLinks('<stun:s.example>; rel="ice-server"; username="u"'), [{ urls: 'stun:s.example', username: 'u' }]);
});

test('nothing, or not a string: no servers', () => {
  assert.deepEqual(parseIceServerLinks(null), []);
  assert.deepEqual(parseIceServerLinks(''), []);
  assert.deepEqual(parseIceServerLinks(undefined), []);
  assert.deepEqual(parseIceServerLinks(' , ,'), []);
});

// ---- fetch stubs ----

function withFetch(impl, fn) {
  return async () => {
    const saved = globalThis.fetch;
    const calls = [];
    globalThis.fetch = async (url, init = {}) => {
      calls.push({ url, ...init });
      return impl(url, init, calls.length);
    };
    try {
      await fn(calls);
    } finally {
      globalThis.fetch = saved;
    }
  };
}

test('fetchIceServers: a non-preflight OPTIONS with the bearer token, Link parsed', withFetch(
  () => new Response(null, { status: 204, headers: { Link: '<stun:s.example>; rel="ice-server"' } }),
  async (calls) => {
    assert.deepEqual(await fetchIceServers('http://h.example/whip/r', { token: 'lrh_x' }), [{ urls: 'stun:s.example' }]);
    assert.equal(calls[0].method, 'OPTIONS');
    assert.equal(calls[0].headers.Authorization, 'Bearer lrh_x');
    assert.equal(calls[0].headers['Access-Control-Request-Method'], undefined);
  }));

test('fetchIceServers: an error status or an unreachable server gives []', async () => {
  await withFetch(() => new Response('nope', { status: 404, headers: { Link: '<stun:s.example>; rel="ice-server"' } }),
    async () => assert.deepEqual(await fetchIceServers('http://h.example/x'), []))();
  await withFetch(() => { throw new TypeError('failed to fetch'); },
    async () => assert.deepEqual(await fetchIceServers('http://h.example/x'), []))();
});

test('fetchIceServers: a server that does not answer is given up after ~1.5 s', withFetch(
  (_url, init) => new Promise((_resolve, reject) => {
    init.signal.addEventListener('abort', () => reject(new DOMException('aborted', 'AbortError')));
  }),
  async () => {
    const started = Date.now();
    assert.deepEqual(await fetchIceServers('http://h.example/x'), []);
    const took = Date.now() - started;
    assert.ok(took >= 1400 && took < 3000, `took ${took} ms`);
  }));

// ---- SDP pieces ----

const OFFER = [
  'v=0', 'o=- 1 2 IN IP4 127.0.0.1', 's=-', 't=0 0', 'a=group:BUNDLE 0 1',
  'm=audio 9 UDP/TLS/RTP/SAVPF 111 63', 'c=IN IP4 0.0.0.0', 'a=ice-ufrag:NEWU', 'a=ice-pwd:newpassword0123456789ab',
  'a=mid:0', 'a=candidate:1 1 udp 2122260223 192.0.2.7 50000 typ host', 'a=candidate:2 1 udp 8331263 203.0.113.9 3478 typ relay raddr 0.0.0.0 rport 0',
  'm=video 9 UDP/TLS/RTP/SAVPF 96', 'a=ice-ufrag:NEWU', 'a=ice-pwd:newpassword0123456789ab', 'a=mid:1',
  'a=candidate:9 1 udp 1 192.0.2.99 1 typ host', '',
].join('\r\n');

const ANSWER = [
  'v=0', 'o=- 1 1 IN IP4 127.0.0.1', 's=-', 't=0 0', 'a=ice-lite', 'a=group:BUNDLE 0 1',
  'm=audio 9 UDP/TLS/RTP/SAVPF 111', 'a=ice-ufrag:oldsrv', 'a=ice-pwd:oldserverpassword', 'a=mid:0',
  'a=candidate:1 1 udp 2130706431 127.0.0.1 8189 typ host',
  'm=video 9 UDP/TLS/RTP/SAVPF 96', 'a=ice-ufrag:oldsrv', 'a=ice-pwd:oldserverpassword', 'a=mid:1', '',
].join('\r\n');

test('iceParamsOf: credentials, the first m-section and its candidates', () => {
  const p = iceParamsOf(OFFER);
  assert.equal(p.ufrag, 'NEWU');
  assert.equal(p.pwd, 'newpassword0123456789ab');
  assert.equal(p.mLine, 'm=audio 9 UDP/TLS/RTP/SAVPF 111');
  assert.equal(p.mid, '0');
  assert.equal(p.candidates.length, 2);
  assert.deepEqual(iceParamsOf('a=ice-ufrag:x\na=ice-pwd:y\n'), { ufrag: 'x', pwd: 'y', mLine: '', mid: '', candidates: [] });
});

test('restartFragment: RFC 8840 sdpfrag with the new credentials, the first mid and end-of-candidates', () => {
  assert.equal(restartFragment(OFFER), [
    'a=ice-ufrag:NEWU', 'a=ice-pwd:newpassword0123456789ab', 'm=audio 9 UDP/TLS/RTP/SAVPF 111', 'a=mid:0',
    'a=candidate:1 1 udp 2122260223 192.0.2.7 50000 typ host',
    'a=candidate:2 1 udp 8331263 203.0.113.9 3478 typ relay raddr 0.0.0.0 rport 0', 'a=end-of-candidates', '',
  ].join('\r\n'));
  assert.throws(() => restartFragment('v=0\r\n'));
});

test('withIceCredentials: every ufrag and pwd line replaced, the rest untouched', () => {
  const out = withIceCredentials(ANSWER, 'newsrv', 'newserverpassword');
  assert.equal(out.match(/a=ice-ufrag:newsrv\r\n/g).length, 2);
  assert.equal(out.match(/a=ice-pwd:newserverpassword\r\n/g).length, 2);
  assert.ok(!out.includes('oldsrv') && !out.includes('oldserverpassword'));
  assert.equal(out.replace(/newsrv/g, 'oldsrv').replace(/newserverpassword/g, 'oldserverpassword'), ANSWER);
});

test('selectedCandidatePair: the transport\'s pair, else a nominated succeeded one', () => {
  const stats = [
    { id: 'T', type: 'transport', selectedCandidatePairId: 'P2' },
    { id: 'P1', type: 'candidate-pair', localCandidateId: 'L1', remoteCandidateId: 'R1', nominated: true, state: 'succeeded' },
    { id: 'P2', type: 'candidate-pair', localCandidateId: 'L2', remoteCandidateId: 'R1' },
    { id: 'L1', type: 'local-candidate', candidateType: 'host', protocol: 'udp' },
    { id: 'L2', type: 'local-candidate', candidateType: 'relay', protocol: 'udp', relayProtocol: 'tls' },
    { id: 'R1', type: 'remote-candidate', candidateType: 'host' },
  ];
  assert.deepEqual(selectedCandidatePair(stats), { local: 'relay', remote: 'host', protocol: 'udp', relayProtocol: 'tls' });
  assert.deepEqual(selectedCandidatePair(stats.slice(1)), { local: 'host', remote: 'host', protocol: 'udp', relayProtocol: null });
  assert.equal(selectedCandidatePair([]), null);
});

test('iceTransportPolicyFrom: ?ice=relay, else the default', () => {
  assert.equal(iceTransportPolicyFrom('?ice=relay'), 'relay');
  assert.equal(iceTransportPolicyFrom('?lang=vi&ice=relay'), 'relay');
  assert.equal(iceTransportPolicyFrom('?ice=all'), undefined);
  assert.equal(iceTransportPolicyFrom(''), undefined);
});

// ---- ICE restart on a fake peer connection ----

class FakePc extends EventTarget {
  constructor() {
    super();
    this.connectionState = 'disconnected';
    this.signalingState = 'stable';
    this.iceGatheringState = 'complete';
    this.localDescription = null;
    this.remote = [];
    this.restartCalled = 0;
    this.rollbacks = 0;
    this.generation = 0;
  }
  restartIce() { this.restartCalled += 1; }
  async createOffer(options) {
    assert.equal(options.iceRestart, true);
    this.generation += 1;
    return { type: 'offer', sdp: OFFER.replace(/NEWU/g, `NEWU${this.generation}`) };
  }
  async setLocalDescription(desc) {
    if (desc.type === 'rollback') {
      this.rollbacks += 1;
      this.signalingState = 'stable';
      return;
    }
    this.localDescription = desc;
    this.signalingState = 'have-local-offer';
    this.iceGatheringState = 'gathering';
    setTimeout(() => {
      this.iceGatheringState = 'complete';
      this.dispatchEvent(new Event('icegatheringstatechange'));
    }, 5);
  }
  async setRemoteDescription(desc) {
    this.remote.push(desc);
    this.signalingState = 'stable';
  }
  setState(state) {
    this.connectionState = state;
    this.dispatchEvent(new Event('connectionstatechange'));
  }
  close() { this.setState('closed'); this.signalingState = 'closed'; }
}

const FRAG_REPLY = 'a=ice-lite\r\na=ice-ufrag:newsrv\r\na=ice-pwd:newserverpassword\r\nm=audio 9 UDP/TLS/RTP/SAVPF 0\r\n' +
  'a=mid:0\r\na=candidate:1 1 udp 2130706431 127.0.0.1 8189 typ host\r\na=end-of-candidates\r\n';

test('restartIce: PATCH of the sdpfrag with If-Match, the new answer applied, the ETag updated', withFetch(
  () => new Response(FRAG_REPLY, { status: 200, headers: { 'Content-Type': 'application/trickle-ice-sdpfrag', ETag: '"e2"' } }),
  async (calls) => {
    const pc = new FakePc();
    const s = new Session(pc, 'http://h.example/webRTC/sessions/abc', 'lrh_t', { etag: '"e1"', answer: ANSWER });
    await s.restartIce();
    assert.equal(pc.restartCalled, 1);
    assert.equal(calls.length, 1);
    assert.equal(calls[0].method, 'PATCH');
    assert.equal(calls[0].url, 'http://h.example/webRTC/sessions/abc');
    assert.equal(calls[0].headers['Content-Type'], 'application/trickle-ice-sdpfrag');
    assert.equal(calls[0].headers['If-Match'], '"e1"');
    assert.equal(calls[0].headers.Authorization, 'Bearer lrh_t');
    assert.match(calls[0].body, /^a=ice-ufrag:NEWU1\r\na=ice-pwd:newpassword0123456789ab\r\nm=audio 9 /);
    assert.match(calls[0].body, /a=end-of-candidates\r\n$/);
    assert.equal(pc.remote.length, 1);
    assert.equal(pc.remote[0].type, 'answer');
    assert.equal(pc.remote[0].sdp, withIceCredentials(ANSWER, 'newsrv', 'newserverpassword'));
    assert.equal(s.answer, pc.remote[0].sdp);
    assert.equal(s.etag, '"e2"');
    assert.equal(s.iceRestarts, 1);
  }));

test('restartIce: without an ETag, If-Match is "*"', withFetch(
  () => new Response(FRAG_REPLY, { status: 200, headers: { ETag: '"e9"' } }),
  async (calls) => {
    const s = new Session(new FakePc(), 'http://h.example/s', undefined, { answer: ANSWER });
    await s.restartIce();
    assert.equal(calls[0].headers['If-Match'], '*');
    assert.equal(calls[0].headers.Authorization, undefined);
    assert.equal(s.etag, '"e9"');
  }));

for (const status of [422, 405, 404]) {
  test(`restartIce: ${status} is "not supported" (rolled back, not tried again)`, withFetch(
    () => new Response(JSON.stringify({ error: { code: 'ice_restart_unsupported', message: 'no ICE restart' } }),
      { status, headers: { 'Content-Type': 'application/json' } }),
    async (calls) => {
      const pc = new FakePc();
      const s = new Session(pc, 'http://h.example/s', undefined, { etag: '"e1"', answer: ANSWER });
      await assert.rejects(s.restartIce(), (err) => err.code === ICE_RESTART_UNSUPPORTED && err.status === status);
      assert.equal(pc.rollbacks, 1);
      assert.equal(pc.remote.length, 0);
      assert.equal(s.restartUnsupported, true);
      await assert.rejects(s.restartIce(), (err) => err.code === ICE_RESTART_UNSUPPORTED);
      assert.equal(calls.length, 1, 'no second PATCH');
      assert.equal(s.etag, '"e1"');
    }));
}

test('restartIce: a 204 without credentials is no restart', withFetch(
  () => new Response(null, { status: 204 }),
  async () => {
    const s = new Session(new FakePc(), 'http://h.example/s', undefined, { answer: ANSWER });
    await assert.rejects(s.restartIce(), (err) => err.code === ICE_RESTART_UNSUPPORTED);
  }));

test('restartIce: 412 forgets the ETag, so the next try asks with "*"', withFetch(
  (_url, _init, n) => (n === 1 ? new Response('', { status: 412 }) : new Response(FRAG_REPLY, { status: 200, headers: { ETag: '"e3"' } })),
  async (calls) => {
    const s = new Session(new FakePc(), 'http://h.example/s', undefined, { etag: '"e1"', answer: ANSWER });
    await assert.rejects(s.restartIce(), (err) => err.status === 412 && err.code !== ICE_RESTART_UNSUPPORTED);
    await s.restartIce();
    assert.equal(calls[1].headers['If-Match'], '*');
    assert.equal(s.etag, '"e3"');
  }));

test('restartIce: one at a time', withFetch(
  () => new Response(FRAG_REPLY, { status: 200, headers: { ETag: '"e2"' } }),
  async (calls) => {
    const s = new Session(new FakePc(), 'http://h.example/s', undefined, { answer: ANSWER });
    const a = s.restartIce();
    const b = s.restartIce();
    assert.equal(a, b);
    await a;
    assert.equal(calls.length, 1);
  }));

test('recover: restarts, then true once connected again', withFetch(
  () => new Response(FRAG_REPLY, { status: 200, headers: { ETag: '"e2"' } }),
  async () => {
    const pc = new FakePc();
    const origSrd = pc.setRemoteDescription.bind(pc);
    pc.setRemoteDescription = async (d) => {
      await origSrd(d);
      setTimeout(() => pc.setState('connected'), 20);
    };
    const s = new Session(pc, 'http://h.example/s', undefined, { answer: ANSWER });
    const seen = [];
    assert.equal(await s.recover({ onRestart: (err) => seen.push(err) }), true);
    assert.deepEqual(seen, [null]);
    assert.equal(s.iceRestarts, 1);
  }));

test('recover: false at once when the server cannot restart ICE', withFetch(
  () => new Response('{}', { status: 422 }),
  async () => {
    const s = new Session(new FakePc(), 'http://h.example/s', undefined, { answer: ANSWER });
    const started = Date.now();
    assert.equal(await s.recover(), false);
    assert.ok(Date.now() - started < 1000);
  }));

test('recover: an unreachable server is tried again with backoff until the budget ends', withFetch(
  () => { throw new TypeError('failed to fetch'); },
  async (calls) => {
    globalThis.location ??= { href: 'http://h.example/' };
    const s = new Session(new FakePc(), 'http://h.example/s', undefined, { answer: ANSWER });
    const started = Date.now();
    assert.equal(await s.recover({ budgetMs: 1200 }), false);
    const took = Date.now() - started;
    assert.ok(took >= 1100 && took < 2500, `took ${took} ms`);
    assert.ok(calls.length >= 2, `${calls.length} PATCHes`);
  }));

test('recover: a stopped session gives up', withFetch(
  () => new Response(null, { status: 200 }),
  async () => {
    const s = new Session(new FakePc(), 'http://h.example/s', undefined, { answer: ANSWER });
    s.stopping = Promise.resolve();
    assert.equal(await s.recover(), false);
  }));
