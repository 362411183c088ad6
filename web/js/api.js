// The rooms API from the pages: JSON in and out, and every failure turned into an
// ApiError. What a person reads is made by ui.js errorText() in the page's language: a
// translation of the stable `code` when the catalogue has one (error.code.<code>), else the
// server's own message (`serverMessage`, English), else words for the HTTP status.

export class ApiError extends Error {
  // `message` is English, for logs; `key` + `params` name the catalogue text of errors the
  // page itself detects (e.g. the server cannot be reached).
  constructor(message, { status = 0, code = "network_error", serverMessage = "", key, params } = {}) {
    super(message);
    this.name = "ApiError";
    this.status = status;
    this.code = code;
    this.serverMessage = serverMessage;
    if (key) this.key = key;
    if (params) this.params = params;
  }
}

// The error a non-2xx reply stands for: the server's {"error": {"code", "message"}}
// when it sent one, else the status alone (code http_<status>).
export async function errorFromResponse(res) {
  let code = `http_${res.status}`;
  let message = "";
  try {
    const text = await res.text();
    if (text) {
      try {
        const body = JSON.parse(text);
        if (body && body.error) {
          code = body.error.code || code;
          message = body.error.message || "";
        }
      } catch {
        // A plain text reply (e.g. a proxy's page): use it if it is short.
        if (text.length < 200 && !text.trimStart().startsWith("<")) message = text.trim();
      }
    }
  } catch {
    // The body could not be read: the status alone has to do.
  }
  return new ApiError(message || `HTTP ${res.status}`, { status: res.status, code, serverMessage: message });
}

async function call(method, path, { body, token, signal } = {}) {
  const headers = { Accept: "application/json" };
  if (body !== undefined) headers["Content-Type"] = "application/json";
  if (token) headers.Authorization = `Bearer ${token}`;
  let res;
  try {
    res = await fetch(path, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
      signal,
      cache: "no-store",
    });
  } catch (err) {
    if (err && err.name === "AbortError") throw err;
    throw new ApiError("cannot reach the server", { key: "error.network" });
  }
  if (!res.ok) throw await errorFromResponse(res);
  try {
    return await res.json();
  } catch {
    throw new ApiError("unreadable reply", { status: res.status, code: "bad_reply" });
  }
}

const room = (id) => `/api/livestream/rooms/${encodeURIComponent(id)}`;

// Creates a room; `apiKey` only when the server was started with --api-key. `visibility`:
// "public" (listed in the lobby) or "unlisted" (only people with the link).
export function createRoom({ title, host, mode, visibility, apiKey }) {
  return call("POST", "/api/livestream/create", { body: { title, host, mode, visibility }, token: apiKey || undefined });
}

// What the pages need to know first: {version, create_requires_api_key, stream_provider}.
export function getInfo() {
  return call("GET", "/api/livestream/info");
}

// Whether `apiKey` is this server's key, without creating anything: listing every room
// (unlisted ones too) is allowed with the key only (403 forbidden otherwise).
export function checkApiKey(apiKey) {
  return call("GET", "/api/livestream/rooms?visibility=all&limit=1", { token: apiKey });
}

// A viewer's view of a room (410 once it has ended).
export function joinRoom(roomId, options) {
  return call("GET", `/api/livestream/join?room_id=${encodeURIComponent(roomId)}`, options);
}

// The public view of a room, ended or not.
export function getRoom(roomId, options) {
  return call("GET", room(roomId), options);
}

// The room's ingest credentials (WHIP URL, RTMPS, SRT): host only.
export function getIngest(roomId, hostToken) {
  return call("GET", `${room(roomId)}/ingest`, { token: hostToken });
}

export function endRoom(roomId, hostToken) {
  return call("POST", "/api/livestream/end", { body: { room_id: roomId }, token: hostToken });
}

// A room's link as a QR code (SVG text): the watch link, or with `token` (the host token) the
// studio link. Fetched rather than put in an <img src> because the studio link needs the token
// in a header; shown through a data: URL (the pages' security policy allows data: images).
export async function getQrSvg(roomId, { link = "watch", token } = {}) {
  const headers = { Accept: "image/svg+xml" };
  if (token) headers.Authorization = `Bearer ${token}`;
  let res;
  try {
    res = await fetch(`${room(roomId)}/qr.svg?link=${encodeURIComponent(link)}`, { headers, cache: "no-store" });
  } catch {
    throw new ApiError("cannot reach the server", { key: "error.network" });
  }
  if (!res.ok) throw await errorFromResponse(res);
  return res.text();
}

// One page of rooms, newest first: status "active" or "ended".
export function listRooms({ status, limit = 20, cursor } = {}) {
  const q = new URLSearchParams();
  if (status) q.set("status", status);
  if (limit) q.set("limit", String(limit));
  if (cursor) q.set("cursor", cursor);
  return call("GET", `/api/livestream/rooms?${q}`);
}
