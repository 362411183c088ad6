// A small WHIP (RFC 9725) and WHEP client on the browser's RTCPeerConnection.
//
// The exchange is the same both ways: ask the server for its ICE servers (a non-preflight
// OPTIONS answered with `Link: <turn:…>; rel="ice-server"` headers, at most ICE_SERVERS_TIMEOUT_MS;
// none is fine), make an offer, wait for ICE gathering (at most ICE_GATHERING_TIMEOUT_MS, then
// send the candidates found so far: servers here are ICE-lite and list theirs in the answer, so
// no trickle is needed), POST the SDP, take the answer, the session URL from Location and the
// session's ETag. stop() DELETEs that URL.
//
// When the network path drops (Wi-Fi to mobile data, a NAT forgetting us), Session.recover()
// restarts ICE on the same session (RFC 9725 §4.3.2: PATCH an sdpfrag with new credentials,
// If-Match the ETag; the answer carries the server's new ones): media resumes without a new
// session. A server that cannot restart ICE answers 422 or 405: the caller then starts over
// with a new POST, as before.

import { ApiError, errorFromResponse } from "./api.js";

const ICE_GATHERING_TIMEOUT_MS = 1000;
const ICE_SERVERS_TIMEOUT_MS = 1500;
const STOP_GRACE_MS = 1000;
const RESTART_PATCH_TIMEOUT_MS = 3000; // one PATCH of an ICE restart
const RECOVER_BUDGET_MS = 8000; // Session.recover(): restarts until connected, for this long
const RECOVER_CONNECT_WAIT_MS = 3000; // after a restart: how long to wait for "connected"
const RECOVER_BACKOFF_MS = 500; // between failed restarts (doubled each time)
const SDPFRAG = "application/trickle-ice-sdpfrag";

// The code of the error restartIce() throws when the server cannot restart ICE (405, 422, 501),
// or no longer knows the session (404): start over with a new session.
export const ICE_RESTART_UNSUPPORTED = "ice_restart_unsupported";

// ---- ICE servers (RFC 9725 §4.6: Link headers) ----

// Splits a header value on `sep` outside <…> and "…" (with \-escapes inside quotes).
function splitOutside(value, sep) {
  const parts = [];
  let part = "";
  let inUri = false;
  let inQuote = false;
  for (let i = 0; i < value.length; i++) {
    const c = value[i];
    if (inQuote) {
      part += c;
      if (c === "\\" && i + 1 < value.length) part += value[++i];
      else if (c === '"') inQuote = false;
    } else if (inUri) {
      part += c;
      if (c === ">") inUri = false;
    } else if (c === sep) {
      parts.push(part);
      part = "";
    } else {
      part += c;
      if (c === '"') inQuote = true;
      else if (c === "<") inUri = true;
    }
  }
  parts.push(part);
  return parts.map((p) => p.trim()).filter((p) => p);
}

function unquote(value) {
  const v = value.trim();
  if (v.length >= 2 && v.startsWith('"') && v.endsWith('"')) return v.slice(1, -1).replace(/\\(.)/g, "$1");
  return v;
}

// The ICE servers named by a Link header value (several headers joined with ", ", as fetch()
// gives them): one RTCIceServer {urls, username?, credential?} per link whose rel is
// "ice-server" and whose URL is stun:, stuns:, turn: or turns:. A TURN link without username
// and credential (RTCPeerConnection would refuse it) or with a credential-type other than
// "password" is left out, as is anything malformed. Never throws.
export function parseIceServerLinks(headerValue) {
  const servers = [];
  if (typeof headerValue !== "string" || !headerValue) return servers;
  for (const link of splitOutside(headerValue, ",")) {
    const match = link.match(/^<([^>]*)>(.*)$/s);
    if (!match) continue;
    const url = match[1].trim();
    const params = {};
    for (const param of splitOutside(match[2], ";")) {
      const eq = param.indexOf("=");
      const name = (eq < 0 ? param : param.slice(0, eq)).trim().toLowerCase();
      if (name && !(name in params)) params[name] = eq < 0 ? "" : unquote(param.slice(eq + 1)); // the first one counts
    }
    const rels = (params.rel || "").toLowerCase().split(/\s+/);
    if (!rels.includes("ice-server")) continue;
    const scheme = url.slice(0, url.indexOf(":") + 1).toLowerCase();
    if (!["stun:", "stuns:", "turn:", "turns:"].includes(scheme) || url.length <= scheme.length) continue;
    const server = { urls: url };
    if (params["credential-type"] !== undefined && params["credential-type"].toLowerCase() !== "password") continue;
    if (params.username !== undefined) server.username = params.username;
    if (params.credential !== undefined) server.credential = params.credential;
    if (scheme.startsWith("turn") && (server.username === undefined || server.credential === undefined)) continue;
    servers.push(server);
  }
  return servers;
}

function authHeaders(token) {
  return token ? { Authorization: `Bearer ${token}` } : {};
}

// An AbortSignal that fires after `ms` or when `signal` (optional) does; `done()` lets go of the timer.
function timeoutSignal(ms, signal) {
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(), ms);
  const onAbort = () => controller.abort();
  if (signal) {
    if (signal.aborted) controller.abort();
    else signal.addEventListener("abort", onAbort, { once: true });
  }
  const done = () => {
    clearTimeout(timer);
    if (signal) signal.removeEventListener("abort", onAbort);
  };
  return { signal: controller.signal, done };
}

// Asks a WHIP or WHEP URL for its ICE servers (STUN, TURN with credentials): a non-preflight
// OPTIONS, with the bearer token when there is one. At most ICE_SERVERS_TIMEOUT_MS; any failure
// (no answer, an error status, no Link header) gives [], and the connection is tried without.
export async function fetchIceServers(url, { token, signal } = {}) {
  const timeout = timeoutSignal(ICE_SERVERS_TIMEOUT_MS, signal);
  try {
    const res = await fetch(url, {
      method: "OPTIONS",
      headers: authHeaders(token),
      signal: timeout.signal,
      cache: "no-store",
    });
    if (!res.ok) return [];
    return parseIceServerLinks(res.headers.get("Link"));
  } catch {
    return [];
  } finally {
    timeout.done();
  }
}

// ---- SDP pieces ----

// The ICE credentials and candidates of an SDP (or sdpfrag): the first a=ice-ufrag / a=ice-pwd
// anywhere, and the first m-section's kind, proto, first format, mid and candidates.
export function iceParamsOf(sdp) {
  const out = { ufrag: "", pwd: "", mLine: "", mid: "", candidates: [] };
  let section = -1;
  for (const raw of String(sdp || "").split(/\r?\n/)) {
    const line = raw.trim();
    if (line.startsWith("m=")) {
      section += 1;
      if (section === 0) {
        const [kind, , proto, fmt] = line.slice(2).split(/\s+/);
        out.mLine = `m=${kind} 9 ${proto || "UDP/TLS/RTP/SAVPF"} ${fmt ?? "0"}`;
      }
    } else if (line.startsWith("a=ice-ufrag:")) {
      if (!out.ufrag) out.ufrag = line.slice("a=ice-ufrag:".length).trim();
    } else if (line.startsWith("a=ice-pwd:")) {
      if (!out.pwd) out.pwd = line.slice("a=ice-pwd:".length).trim();
    } else if (section === 0 && line.startsWith("a=mid:")) {
      if (!out.mid) out.mid = line.slice("a=mid:".length).trim();
    } else if (section === 0 && line.startsWith("a=candidate:")) {
      out.candidates.push(line);
    }
  }
  return out;
}

// The sdpfrag (RFC 8840) of an ICE restart from the new local description: the new ufrag and
// pwd (session level), the first m-section (port 9) with its mid, its candidates, and
// end-of-candidates (gathering is over, or as far as it went).
export function restartFragment(localSdp) {
  const p = iceParamsOf(localSdp);
  if (!p.ufrag || !p.pwd || !p.mLine) throw new Error("the offer has no ICE credentials or no m-line");
  const lines = [`a=ice-ufrag:${p.ufrag}`, `a=ice-pwd:${p.pwd}`, p.mLine];
  if (p.mid) lines.push(`a=mid:${p.mid}`);
  lines.push(...p.candidates, "a=end-of-candidates");
  return `${lines.join("\r\n")}\r\n`;
}

// `answerSdp` with every a=ice-ufrag / a=ice-pwd line carrying the server's new credentials.
export function withIceCredentials(answerSdp, ufrag, pwd) {
  return answerSdp
    .replace(/^a=ice-ufrag:[^\r\n]*/gm, `a=ice-ufrag:${ufrag}`)
    .replace(/^a=ice-pwd:[^\r\n]*/gm, `a=ice-pwd:${pwd}`);
}

// The candidate pair in use, from a getStats() report (anything with forEach): {local, remote}
// candidate types ("host", "srflx", "prflx", "relay"), the protocol and, for a relay, the
// protocol to the TURN server; null while there is none.
export function selectedCandidatePair(report) {
  const byId = new Map();
  let selectedId = null;
  let nominated = null;
  report.forEach((s) => {
    byId.set(s.id, s);
    if (s.type === "transport" && s.selectedCandidatePairId) selectedId = s.selectedCandidatePairId;
    else if (s.type === "candidate-pair" && s.nominated && s.state === "succeeded" && !nominated) nominated = s;
  });
  const pair = (selectedId && byId.get(selectedId)) || nominated;
  if (!pair) return null;
  const local = byId.get(pair.localCandidateId);
  const remote = byId.get(pair.remoteCandidateId);
  return {
    local: (local && local.candidateType) || null,
    remote: (remote && remote.candidateType) || null,
    protocol: (local && local.protocol) || null,
    relayProtocol: (local && local.relayProtocol) || null,
  };
}

// The ICE transport policy a page's address asks for: "?ice=relay" forces TURN (tests), else
// undefined (the browser's default, "all").
export function iceTransportPolicyFrom(search) {
  return new URLSearchParams(search || "").get("ice") === "relay" ? "relay" : undefined;
}

// ---- the exchange ----

// Resolves when ICE gathering is complete or after `timeoutMs`. `fresh`: a gathering that is
// about to start (an ICE restart), so a "complete" from the previous one does not count.
function waitForIceGathering(pc, timeoutMs, { fresh = false } = {}) {
  if (!fresh && pc.iceGatheringState === "complete") return Promise.resolve();
  return new Promise((resolve) => {
    const done = () => {
      clearTimeout(timer);
      pc.removeEventListener("icegatheringstatechange", onChange);
      pc.removeEventListener("icecandidate", onCandidate);
      resolve();
    };
    const onChange = () => {
      if (pc.iceGatheringState === "complete") done();
    };
    const onCandidate = (event) => {
      if (!event.candidate) done();
    };
    const timer = setTimeout(done, timeoutMs);
    pc.addEventListener("icegatheringstatechange", onChange);
    pc.addEventListener("icecandidate", onCandidate);
  });
}

// Resolves true once `pc` is "connected" (at once if it is), false after `timeoutMs` or when closed.
function waitForConnected(pc, timeoutMs) {
  if (pc.connectionState === "connected") return Promise.resolve(true);
  if (pc.connectionState === "closed" || timeoutMs <= 0) return Promise.resolve(false);
  return new Promise((resolve) => {
    const finish = (value) => {
      clearTimeout(timer);
      pc.removeEventListener("connectionstatechange", onChange);
      resolve(value);
    };
    const onChange = () => {
      if (pc.connectionState === "connected") finish(true);
      else if (pc.connectionState === "closed") finish(false);
    };
    const timer = setTimeout(() => finish(false), timeoutMs);
    pc.addEventListener("connectionstatechange", onChange);
  });
}

function unreachable(url, what) {
  const host = new URL(url, location.href).host;
  return new ApiError(`cannot reach the ${what} at ${host}`, { key: "error.media_unreachable", params: { host } });
}

// The offer/answer exchange of a new session: {sessionUrl, etag, answer}.
async function exchange(pc, url, { token, signal, what }) {
  await pc.setLocalDescription(await pc.createOffer());
  await waitForIceGathering(pc, ICE_GATHERING_TIMEOUT_MS);
  let res;
  try {
    res = await fetch(url, {
      method: "POST",
      headers: { "Content-Type": "application/sdp", ...authHeaders(token) },
      body: pc.localDescription.sdp,
      signal,
      cache: "no-store",
    });
  } catch (err) {
    if (err && err.name === "AbortError") throw err;
    throw unreachable(url, what);
  }
  if (!res.ok) throw await errorFromResponse(res);
  const answer = await res.text();
  const where = res.headers.get("Location");
  const sessionUrl = where ? new URL(where, new URL(url, location.href)).href : null;
  try {
    await pc.setRemoteDescription({ type: "answer", sdp: answer });
  } catch (err) {
    // The server made a session we cannot use: end it before reporting.
    if (sessionUrl) deleteSession(sessionUrl, token);
    throw new ApiError(`the ${what}'s answer was not usable: ${err.message}`, {
      code: "bad_answer",
      serverMessage: err.message,
    });
  }
  // The 201 may list ICE servers too (fresher TURN credentials): used by the next ICE restart.
  const servers = parseIceServerLinks(res.headers.get("Link"));
  if (servers.length) {
    try {
      pc.setConfiguration({ ...pc.getConfiguration(), iceServers: servers });
    } catch {
      // Refused (e.g. a URL this browser does not take): the servers we have will do.
    }
  }
  return { sessionUrl, etag: res.headers.get("ETag"), answer };
}

function deleteSession(sessionUrl, token) {
  return fetch(sessionUrl, { method: "DELETE", headers: authHeaders(token), keepalive: true }).catch(() => {});
}

// A peer connection with these ICE servers; without them if the browser refuses one (a URL it
// cannot parse), rather than no connection at all.
function newPeerConnection({ iceServers, iceTransportPolicy }) {
  const config = { bundlePolicy: "max-bundle", iceServers: iceServers || [] };
  if (iceTransportPolicy) config.iceTransportPolicy = iceTransportPolicy;
  try {
    return new RTCPeerConnection(config);
  } catch (err) {
    if (!config.iceServers.length) throw err;
    return new RTCPeerConnection({ ...config, iceServers: [] });
  }
}

// The ICE servers of options.iceServers (an override, e.g. from a test), else the server's.
async function iceServersFor(url, { iceServers, token, signal }) {
  if (Array.isArray(iceServers)) return iceServers;
  return fetchIceServers(url, { token, signal });
}

function restartUnsupported(message, { status = 0, serverCode = "", serverMessage = "" } = {}) {
  const err = new ApiError(message, { status, code: ICE_RESTART_UNSUPPORTED, serverMessage });
  err.serverCode = serverCode;
  return err;
}

// One ICE restart of `session` (see Session.restartIce()).
async function restartOnce(session, timeoutMs) {
  const pc = session.pc;
  if (session.restartUnsupported) throw restartUnsupported("ICE restart: not supported by this server");
  if (!session.url) throw restartUnsupported("ICE restart: the server gave no session URL");
  if (session.stopping || pc.signalingState === "closed") {
    throw new ApiError("ICE restart: the session is closed", { code: "closed" });
  }
  let fragment;
  try {
    if (typeof pc.restartIce === "function") pc.restartIce();
    const gathered = waitForIceGathering(pc, ICE_GATHERING_TIMEOUT_MS, { fresh: true });
    await pc.setLocalDescription(await pc.createOffer({ iceRestart: true }));
    await gathered;
    fragment = restartFragment(pc.localDescription.sdp);
  } catch (err) {
    // Closed meanwhile, or the browser refused the offer: nothing was sent.
    const closed = pc.signalingState === "closed";
    throw new ApiError(`ICE restart: ${closed ? "the session is closed" : err.message}`, { code: closed ? "closed" : "offer_failed" });
  }

  const rollback = () => pc.setLocalDescription({ type: "rollback" }).catch(() => {});
  const timeout = timeoutSignal(timeoutMs, session.abort.signal);
  let res;
  let body;
  try {
    res = await fetch(session.url, {
      method: "PATCH",
      headers: { "Content-Type": SDPFRAG, "If-Match": session.etag || "*", ...authHeaders(session.token) },
      body: fragment,
      signal: timeout.signal,
      cache: "no-store",
    });
    if (res.ok) body = await res.text();
  } catch (err) {
    await rollback();
    if (session.abort.signal.aborted) throw new ApiError("ICE restart: the session was stopped", { code: "closed" });
    if (err && err.name === "AbortError") throw new ApiError("ICE restart: no answer in time", { code: "timeout" });
    throw unreachable(session.url, "media server");
  } finally {
    timeout.done();
  }
  if (!res.ok) {
    await rollback();
    const err = await errorFromResponse(res);
    if ([404, 405, 422, 501].includes(res.status)) {
      session.restartUnsupported = true;
      throw restartUnsupported(`ICE restart refused: ${err.message}`, {
        status: res.status,
        serverCode: err.code,
        serverMessage: err.serverMessage,
      });
    }
    // 412: the ETag moved on (a restart whose reply was lost): the next try asks with "*".
    if (res.status === 412) session.etag = null;
    throw err;
  }
  const remote = iceParamsOf(body);
  if (res.status !== 200 || !remote.ufrag || !remote.pwd) {
    // A 204 (a trickle taken as such) or a body without credentials: no restart happened.
    await rollback();
    session.restartUnsupported = true;
    throw restartUnsupported("ICE restart: the server's reply has no new ICE credentials", { status: res.status });
  }
  session.etag = res.headers.get("ETag") || session.etag; // the server's side has restarted
  const answer = withIceCredentials(session.answer, remote.ufrag, remote.pwd);
  try {
    await pc.setRemoteDescription({ type: "answer", sdp: answer });
  } catch (err) {
    await rollback();
    throw new ApiError(`ICE restart: the new answer was not usable: ${err.message}`, {
      code: "bad_answer",
      serverMessage: err.message,
    });
  }
  session.answer = answer;
  session.iceRestarts += 1;
}

// One WHIP or WHEP session: its peer connection, the URL that ends it, its ETag (If-Match of an
// ICE restart) and the answer it was given (what an ICE restart's new credentials go into).
export class Session {
  constructor(pc, sessionUrl, token, { etag = null, answer = "" } = {}) {
    this.pc = pc;
    this.url = sessionUrl;
    this.token = token;
    this.etag = etag;
    this.answer = answer;
    this.stopping = null;
    this.iceRestarts = 0; // ICE restarts the server accepted
    this.restartUnsupported = false; // the server said it cannot (or the session is gone)
    this.restarting = null; // the running restartIce()
    this.abort = new AbortController(); // stop() ends a running restart
  }

  // DELETEs the session, then closes the peer connection once the server has answered
  // (at most STOP_GRACE_MS later): closing first would end the session from the media
  // side and leave the DELETE to find nothing. The promise settles when both are done;
  // it never rejects (the server also notices a peer going quiet).
  stop() {
    if (!this.stopping) {
      this.abort.abort();
      const deleted = this.url ? deleteSession(this.url, this.token) : Promise.resolve();
      const grace = new Promise((resolve) => setTimeout(resolve, STOP_GRACE_MS));
      this.stopping = Promise.race([deleted, grace]).then(() => this.pc.close());
    }
    return this.stopping;
  }

  // Restarts ICE on this session (RFC 9725 §4.3.2): new local credentials, an sdpfrag PATCHed
  // with If-Match (the ETag, else "*"), the server's new credentials put into the answer. The
  // PATCH waits at most `timeoutMs`. Resolves once the new answer is applied (connectivity
  // checks then run; see recover()). Throws an ApiError: code ICE_RESTART_UNSUPPORTED when the
  // server cannot restart ICE (405, 422, 501) or no longer has the session (404): start over
  // with a new session; anything else (unreachable, timeout, 412, 5xx) may be tried again.
  // One restart at a time: a call during a restart gets that restart's promise.
  restartIce({ timeoutMs = RESTART_PATCH_TIMEOUT_MS } = {}) {
    if (!this.restarting) {
      this.restarting = restartOnce(this, timeoutMs).finally(() => {
        this.restarting = null;
      });
    }
    return this.restarting;
  }

  // recover(), counting into `stats` (iceRestartAttempts, iceRestarts), and saying how it ended:
  // "recovered"; "unsupported" (the server cannot restart ICE: 405, 422, not a lost session's
  // 404), so the caller goes back to what it did before ICE restarts; or "lost".
  async recoverOutcome(stats) {
    let lastError = null;
    const ok = await this.recover({
      onRestart: (err) => {
        lastError = err;
        stats.iceRestartAttempts += 1;
        if (!err) stats.iceRestarts += 1;
      },
    });
    if (ok || this.pc.connectionState === "connected") return "recovered";
    if (lastError && lastError.code === ICE_RESTART_UNSUPPORTED && lastError.status !== 404) return "unsupported";
    return "lost";
  }

  // Brings a dropped connection back on this session: ICE restarts (each bounded: gathering
  // ICE_GATHERING_TIMEOUT_MS, the PATCH RESTART_PATCH_TIMEOUT_MS, then RECOVER_CONNECT_WAIT_MS
  // for "connected"; a failed one is tried again after RECOVER_BACKOFF_MS, doubling) until the
  // peer connection is "connected" again or `budgetMs` has passed. Resolves true when connected,
  // false when the caller should start over with a new session (the server cannot restart ICE,
  // the session was stopped, or the time ran out). Never rejects. `onRestart(error|null)` is
  // called after each attempt (null: the server accepted the restart).
  async recover({ budgetMs = RECOVER_BUDGET_MS, onRestart } = {}) {
    const deadline = Date.now() + budgetMs;
    const left = () => deadline - Date.now();
    let backoff = RECOVER_BACKOFF_MS;
    while (left() > 0 && !this.stopping && this.pc.connectionState !== "closed") {
      if (this.pc.connectionState === "connected" && !this.restarting) return true;
      let error = null;
      try {
        await this.restartIce({ timeoutMs: Math.max(1, Math.min(RESTART_PATCH_TIMEOUT_MS, left())) });
      } catch (err) {
        error = err;
      }
      if (onRestart) onRestart(error);
      if (error && (error.code === ICE_RESTART_UNSUPPORTED || error.code === "closed")) return false;
      const wait = error ? Math.min(backoff, left()) : Math.min(RECOVER_CONNECT_WAIT_MS, left());
      if (error) backoff *= 2;
      if (await waitForConnected(this.pc, wait)) return true;
    }
    return !this.stopping && this.pc.connectionState === "connected";
  }
}

// Publishes `stream` over WHIP. One sendonly transceiver each for audio and video, even
// when the stream lacks that kind, so a camera or microphone picked later can be sent
// with replaceTrack() (see Session.pc.getSenders()) without a new negotiation.
// `videoCodec` ("vp8", "h264"; empty: the browser's order) is offered first: the server
// takes the first codec of the offer it supports. `iceServers` replaces the server's (asked
// with OPTIONS); `iceTransportPolicy` "relay" sends through TURN only.
export async function publish(url, stream, { token, signal, videoCodec, iceServers, iceTransportPolicy } = {}) {
  const servers = await iceServersFor(url, { iceServers, token, signal });
  const pc = newPeerConnection({ iceServers: servers, iceTransportPolicy });
  try {
    for (const kind of ["audio", "video"]) {
      const track = stream.getTracks().find((t) => t.kind === kind);
      const transceiver = pc.addTransceiver(track || kind, { direction: "sendonly", streams: [stream] });
      if (kind === "video" && videoCodec) preferCodec(transceiver, videoCodec);
    }
    const { sessionUrl, etag, answer } = await exchange(pc, url, { token, signal, what: "media server" });
    const session = new Session(pc, sessionUrl, token, { etag, answer });
    session.iceServers = servers;
    return session;
  } catch (err) {
    pc.close();
    throw err;
  }
}

// Puts the codecs named `name` (case-insensitive, e.g. "h264") first in the offer; the
// browser's order is kept when it cannot send that codec or cannot reorder.
export function preferCodec(transceiver, name) {
  const caps = globalThis.RTCRtpSender?.getCapabilities?.("video");
  if (!caps || typeof transceiver.setCodecPreferences !== "function") return false;
  const wanted = `video/${name}`.toLowerCase();
  const first = caps.codecs.filter((c) => c.mimeType.toLowerCase() === wanted);
  if (first.length === 0) return false;
  transceiver.setCodecPreferences([...first, ...caps.codecs.filter((c) => c.mimeType.toLowerCase() !== wanted)]);
  return true;
}

// Plays over WHEP. `onTrack(stream)` is called with the one MediaStream that gathers
// the received tracks, each time a track arrives. `iceServers`, `iceTransportPolicy`: as publish().
export async function play(url, { token, signal, onTrack, iceServers, iceTransportPolicy } = {}) {
  const servers = await iceServersFor(url, { iceServers, token, signal });
  const pc = newPeerConnection({ iceServers: servers, iceTransportPolicy });
  const stream = new MediaStream();
  pc.addEventListener("track", (event) => {
    if (!stream.getTracks().includes(event.track)) stream.addTrack(event.track);
    if (onTrack) onTrack(stream);
  });
  try {
    pc.addTransceiver("video", { direction: "recvonly" });
    pc.addTransceiver("audio", { direction: "recvonly" });
    const { sessionUrl, etag, answer } = await exchange(pc, url, { token, signal, what: "media server" });
    const session = new Session(pc, sessionUrl, token, { etag, answer });
    session.iceServers = servers;
    session.stream = stream;
    return session;
  } catch (err) {
    pc.close();
    throw err;
  }
}
