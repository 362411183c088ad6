// A small WHIP (RFC 9725) and WHEP client on the browser's RTCPeerConnection.
//
// The exchange is the same both ways: make an offer, wait for ICE gathering (at most
// ICE_GATHERING_TIMEOUT_MS, then send the candidates found so far: servers here are
// ICE-lite and list theirs in the answer, so no trickle is needed), POST the SDP, take
// the answer and the session URL from Location. stop() DELETEs that URL.

import { ApiError, errorFromResponse } from "./api.js";

const ICE_GATHERING_TIMEOUT_MS = 1000;
const STOP_GRACE_MS = 1000;

function waitForIceGathering(pc, timeoutMs) {
  if (pc.iceGatheringState === "complete") return Promise.resolve();
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

function authHeaders(token) {
  return token ? { Authorization: `Bearer ${token}` } : {};
}

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
    const host = new URL(url, location.href).host;
    throw new ApiError(`cannot reach the ${what} at ${host}`, { key: "error.media_unreachable", params: { host } });
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
  return sessionUrl;
}

function deleteSession(sessionUrl, token) {
  return fetch(sessionUrl, { method: "DELETE", headers: authHeaders(token), keepalive: true }).catch(() => {});
}

// One WHIP or WHEP session: its peer connection and the URL that ends it.
export class Session {
  constructor(pc, sessionUrl, token) {
    this.pc = pc;
    this.url = sessionUrl;
    this.token = token;
    this.stopping = null;
  }

  // DELETEs the session, then closes the peer connection once the server has answered
  // (at most STOP_GRACE_MS later): closing first would end the session from the media
  // side and leave the DELETE to find nothing. The promise settles when both are done;
  // it never rejects (the server also notices a peer going quiet).
  stop() {
    if (!this.stopping) {
      const deleted = this.url ? deleteSession(this.url, this.token) : Promise.resolve();
      const grace = new Promise((resolve) => setTimeout(resolve, STOP_GRACE_MS));
      this.stopping = Promise.race([deleted, grace]).then(() => this.pc.close());
    }
    return this.stopping;
  }
}

// Publishes `stream` over WHIP. One sendonly transceiver each for audio and video, even
// when the stream lacks that kind, so a camera or microphone picked later can be sent
// with replaceTrack() (see Session.pc.getSenders()) without a new negotiation.
// `videoCodec` ("vp8", "h264"; empty: the browser's order) is offered first: the server
// takes the first codec of the offer it supports.
export async function publish(url, stream, { token, signal, videoCodec } = {}) {
  const pc = new RTCPeerConnection({ bundlePolicy: "max-bundle" });
  try {
    for (const kind of ["audio", "video"]) {
      const track = stream.getTracks().find((t) => t.kind === kind);
      const transceiver = pc.addTransceiver(track || kind, { direction: "sendonly", streams: [stream] });
      if (kind === "video" && videoCodec) preferCodec(transceiver, videoCodec);
    }
    const sessionUrl = await exchange(pc, url, { token, signal, what: "media server" });
    return new Session(pc, sessionUrl, token);
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
// the received tracks, each time a track arrives.
export async function play(url, { token, signal, onTrack } = {}) {
  const pc = new RTCPeerConnection({ bundlePolicy: "max-bundle" });
  const stream = new MediaStream();
  pc.addEventListener("track", (event) => {
    if (!stream.getTracks().includes(event.track)) stream.addTrack(event.track);
    if (onTrack) onTrack(stream);
  });
  try {
    pc.addTransceiver("video", { direction: "recvonly" });
    pc.addTransceiver("audio", { direction: "recvonly" });
    const sessionUrl = await exchange(pc, url, { token, signal, what: "media server" });
    const session = new Session(pc, sessionUrl, token);
    session.stream = stream;
    return session;
  } catch (err) {
    pc.close();
    throw err;
  }
}
