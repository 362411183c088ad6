// Tiny fetch helpers for liveroom's rooms API (README "API") and for WHIP/WHEP resources.
//
//   const api = new Api(server.url);
//   const room = await api.create({ title: 'e2e' });      // 201 body: room_id, host_token, whip_url, playback...
//   const view = await api.join(room.room_id);             // 200 body (throws on another status)
//   await api.end(room.room_id, room.host_token);
//   const r = await api.request('GET', '/api/livestream/join?room_id=x');  // any status: {status, json, text, headers}
//
// Methods that name the status they expect throw an Error with the method, path, status and
// body otherwise; request() never throws on a status.

export class ApiError extends Error {
  constructor(message, reply) {
    super(message);
    this.reply = reply;
  }
}

function describe(r) {
  return `${r.method} ${r.path} -> ${r.status} ${r.text.slice(0, 800)}`;
}

export class Api {
  /**
   * `base`: the server's URL, e.g. server.url. `apiKey`: sent as Bearer on create (--api-key).
   * `fetch`: what requests go through (default the global fetch; `server.fetch` for a server on
   * HTTPS with its own certificate, see lib/tls.mjs).
   */
  constructor(base, { apiKey, fetch: fetchImpl } = {}) {
    this.base = base.replace(/\/$/, '');
    this.apiKey = apiKey;
    this.fetch = fetchImpl || globalThis.fetch;
  }

  /**
   * One request. `json`: a body sent as application/json; `body` + `contentType`: a raw body;
   * `token`: Authorization: Bearer. Returns {status, headers, text, json (parsed or undefined),
   * method, path, url}.
   */
  async request(method, path, { json, body, contentType, token, headers = {}, timeout = 30000 } = {}) {
    const url = /^https?:/.test(path) ? path : this.base + path;
    const h = { ...headers };
    if (json !== undefined) {
      body = JSON.stringify(json);
      h['Content-Type'] = 'application/json';
    } else if (contentType) {
      h['Content-Type'] = contentType;
    }
    if (token) h.Authorization = `Bearer ${token}`;
    const res = await this.fetch(url, { method, headers: h, body, redirect: 'manual', signal: AbortSignal.timeout(timeout) });
    const text = await res.text();
    let parsed;
    try {
      parsed = text ? JSON.parse(text) : undefined;
    } catch {
      parsed = undefined;
    }
    return { status: res.status, headers: res.headers, text, json: parsed, method, path, url };
  }

  async #expect(status, method, path, options) {
    const r = await this.request(method, path, options);
    if (r.status !== status) throw new ApiError(`expected ${status}: ${describe(r)}`, r);
    return r.json;
  }

  /** POST /api/livestream/create -> the 201 body (room_id, host_token, whip_url, playback, ...). */
  create({ title = 'e2e room', host = 'e2e_host', mode, visibility } = {}) {
    const json = { title, host };
    if (mode) json.mode = mode;
    if (visibility) json.visibility = visibility;
    return this.#expect(201, 'POST', '/api/livestream/create', { json, token: this.apiKey });
  }

  /** GET /api/livestream/join -> the 200 public view (whep_url, playback, live, ...). */
  join(roomId) {
    return this.#expect(200, 'GET', `/api/livestream/join?room_id=${encodeURIComponent(roomId)}`);
  }

  /** GET /api/livestream/join with any status: {status, json, ...} (404 unknown, 410 ended). */
  joinReply(roomId) {
    return this.request('GET', `/api/livestream/join?room_id=${encodeURIComponent(roomId)}`);
  }

  /** GET /api/livestream/rooms/{id} -> the public view (also for ended rooms). */
  room(roomId) {
    return this.#expect(200, 'GET', `/api/livestream/rooms/${encodeURIComponent(roomId)}`);
  }

  /** POST /api/livestream/end -> {room_id, status: "ended", ended_at}. */
  end(roomId, hostToken) {
    return this.#expect(200, 'POST', '/api/livestream/end', { json: { room_id: roomId }, token: hostToken });
  }

  /** POST /api/livestream/update -> the public view. */
  update(roomId, title, hostToken) {
    return this.#expect(200, 'POST', '/api/livestream/update', { json: { room_id: roomId, title }, token: hostToken });
  }

  /** GET /api/livestream/rooms?... -> {rooms, next_cursor}. */
  rooms(params = {}) {
    const q = new URLSearchParams(Object.entries(params).filter(([, v]) => v !== undefined && v !== null));
    const qs = q.toString();
    return this.#expect(200, 'GET', `/api/livestream/rooms${qs ? `?${qs}` : ''}`);
  }

  /** GET /api/livestream/rooms/{id}/ingest with the host token -> the ingest object. */
  ingest(roomId, hostToken) {
    return this.#expect(200, 'GET', `/api/livestream/rooms/${encodeURIComponent(roomId)}/ingest`, { token: hostToken });
  }

  // -- WHIP / WHEP (RFC 9725 and the WHEP draft) --------------------------------------------

  /**
   * POSTs an SDP offer to a WHIP or WHEP endpoint. Returns {status, answer (the body),
   * location (absolute URL of the session resource, or null), etag, headers, text}.
   */
  async postSdp(endpoint, offer, { token } = {}) {
    const r = await this.request('POST', endpoint, { body: offer, contentType: 'application/sdp', token });
    const loc = r.headers.get('location');
    return { ...r, answer: r.text, location: loc ? new URL(loc, r.url).href : null, etag: r.headers.get('etag') };
  }

  /** DELETEs a WHIP/WHEP session resource (the Location of postSdp). Returns the reply. */
  deleteSession(location, { token } = {}) {
    return this.request('DELETE', location, { token });
  }
}
