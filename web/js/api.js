// The rooms API from the pages: JSON in and out, and every failure turned into an
// ApiError whose message can be shown to a person as it is.

export class ApiError extends Error {
  constructor(message, { status = 0, code = "network_error" } = {}) {
    super(message);
    this.name = "ApiError";
    this.status = status;
    this.code = code;
  }
}

const STATUS_WORDS = {
  400: "The request was not accepted",
  401: "You are not signed in for this",
  403: "This is not allowed",
  404: "Not found",
  409: "Conflict",
  410: "This is gone",
  413: "The request is too large",
  422: "The request could not be processed",
  429: "Too many requests; wait a moment and try again",
  500: "The server failed",
  502: "An upstream service failed",
  503: "The service is unavailable right now",
  504: "An upstream service timed out",
};

// The error a non-2xx reply stands for: the server's {"error": {"code", "message"}}
// when it sent one, else words for the status.
export async function errorFromResponse(res, what = "The server") {
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
  if (!message) {
    const words = STATUS_WORDS[res.status] || "Unexpected reply";
    message = `${what} answered ${res.status}: ${words}.`;
  }
  return new ApiError(message, { status: res.status, code });
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
    throw new ApiError("Cannot reach the server. Check your connection; the page keeps trying.");
  }
  if (!res.ok) throw await errorFromResponse(res);
  try {
    return await res.json();
  } catch {
    throw new ApiError("The server sent a reply this page cannot read.", { status: res.status, code: "bad_reply" });
  }
}

const room = (id) => `/api/livestream/rooms/${encodeURIComponent(id)}`;

// Creates a room; `apiKey` only when the server was started with --api-key.
export function createRoom({ title, host, mode, apiKey }) {
  return call("POST", "/api/livestream/create", { body: { title, host, mode }, token: apiKey || undefined });
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

// One page of rooms, newest first: status "active" or "ended".
export function listRooms({ status, limit = 20, cursor } = {}) {
  const q = new URLSearchParams();
  if (status) q.set("status", status);
  if (limit) q.set("limit", String(limit));
  if (cursor) q.set("cursor", cursor);
  return call("GET", `/api/livestream/rooms?${q}`);
}
