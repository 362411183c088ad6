// Small helpers the three pages share: building elements without innerHTML, the error
// box, status badges, copy buttons, relative times, and the host tokens this browser
// keeps for the rooms it created.

import { formatDate, formatNumber, hasKey, initI18n, onLanguageChange, setText, t as tr } from "./i18n.js";

export const $ = (id) => document.getElementById(id);

// h("a", {href: "/x", class: "button"}, "text", child): attributes are set as
// attributes (or properties for `on*` handlers); children are nodes or text.
export function h(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs)) {
    if (value === undefined || value === null || value === false) continue;
    if (name.startsWith("on")) node.addEventListener(name.slice(2), value);
    else node.setAttribute(name, value === true ? "" : String(value));
  }
  for (const child of children.flat()) {
    if (child === undefined || child === null || child === false) continue;
    node.append(child instanceof Node ? child : String(child));
  }
  return node;
}

// The server's messages are lowercase fragments ("the host token does not match this
// room"): shown as sentences. Messages that start with an id or a URL keep their case.
export function sentence(text) {
  let t = String(text).trim();
  if (/^[a-z]+(\s|$)/.test(t)) t = t[0].toUpperCase() + t.slice(1);
  if (t && !/[.!?…]$/.test(t)) t += ".";
  return t;
}

// What an error says to a person, in the page's language:
// - a string: already words (made with t());
// - {key, params}: that catalogue entry (errors the page detects itself);
// - an error with a `code` the catalogue knows (error.code.<code>): its translation, with the
//   server's message as {detail} where the entry uses it;
// - else the server's own message (English), else words for the HTTP status.
export function errorText(err) {
  if (err === undefined || err === null) return tr("error.generic");
  if (typeof err === "string") return err;
  if (err.key) return tr(err.key, err.params);
  const detail = err.serverMessage || "";
  if (err.code && hasKey(`error.code.${err.code}`)) {
    return tr(`error.code.${err.code}`, { detail: detail ? sentence(detail) : "" }).trim();
  }
  if (detail) return sentence(detail);
  if (err.status && hasKey(`error.status.${err.status}`)) return tr(`error.status.${err.status}`);
  if (err.status) return tr("error.status.other", { status: err.status });
  if (err.message) return sentence(err.message);
  return tr("error.generic");
}

// The page's error box (#error): shows an error in words (see errorText), and its stable code
// in data-code for tests. The words follow a later language switch.
export function showError(err, box = $("error")) {
  if (!box) return;
  box.__error = err;
  box.textContent = errorText(err);
  box.dataset.code = (err && err.code) || (err && err.key ? "page" : "error");
  box.hidden = false;
}

export function clearError(box = $("error")) {
  if (!box) return;
  box.textContent = "";
  delete box.__error;
  delete box.dataset.code;
  box.hidden = true;
}

// Anything that escapes a handler still reaches the person, not only the console.
export function reportUncaughtErrors() {
  window.addEventListener("unhandledrejection", (event) => showError(event.reason));
  window.addEventListener("error", (event) => showError(event.error || event.message));
}

// Translates the page now, wires the language picker, and on every later switch re-renders
// the error boxes and calls `rerender` (the page's own dynamic texts).
export function setupLanguage(rerender) {
  initI18n();
  onLanguageChange(() => {
    for (const box of document.querySelectorAll(".error")) {
      if (!box.hidden && box.__error !== undefined) box.textContent = errorText(box.__error);
    }
    if (rerender) rerender();
  });
}

// #status: data-state drives the style and the tests; the text says it in words
// (catalogue `key` with `params`). `reason` (optional) goes to data-reason.
export function setStatus(state, key, params, el = $("status")) {
  if (!el) return;
  if (el.dataset.state !== state) el.dataset.state = state;
  setText(el, key, params);
}

export function setViewers(count, el = $("viewers")) {
  if (!el) return;
  const n = Number.isFinite(count) ? count : 0;
  el.dataset.count = String(n);
  el.textContent = formatNumber(n);
}

async function copyText(text) {
  if (navigator.clipboard && window.isSecureContext) {
    await navigator.clipboard.writeText(text);
    return;
  }
  // Plain http on another host: the old way, through a selected text area.
  const area = h("textarea", { readonly: true });
  area.style.position = "fixed";
  area.style.opacity = "0";
  area.value = text;
  document.body.append(area);
  area.select();
  const ok = document.execCommand("copy");
  area.remove();
  if (!ok) throw new Error("copy failed");
}

// Wires every button[data-copy="<input id>"] under `root` to copy that input's value.
export function wireCopyButtons(root = document) {
  for (const button of root.querySelectorAll("button[data-copy]")) {
    if (button.dataset.wired) continue;
    button.dataset.wired = "1";
    button.addEventListener("click", async () => {
      const input = $(button.dataset.copy);
      if (!input || !input.value) return;
      try {
        await copyText(input.value);
        setText(button, "common.copied");
      } catch {
        input.type = "text";
        input.select();
        setText(button, "common.press_ctrl_c");
      }
      clearTimeout(button.__reset);
      button.__reset = setTimeout(() => setText(button, "common.copy"), 1500);
    });
  }
}

// Wires every button[data-reveal="<input id>"] to show/hide a password input.
export function wireRevealButtons(root = document) {
  for (const button of root.querySelectorAll("button[data-reveal]")) {
    if (button.dataset.wired) continue;
    button.dataset.wired = "1";
    button.addEventListener("click", () => {
      const input = $(button.dataset.reveal);
      if (!input) return;
      const hidden = input.type === "password";
      input.type = hidden ? "text" : "password";
      setText(button, hidden ? "common.hide" : "common.show");
      button.setAttribute("aria-pressed", String(hidden));
    });
  }
}

export function timeAgo(iso) {
  const then = Date.parse(iso);
  if (!Number.isFinite(then)) return "";
  const s = Math.max(0, Math.round((Date.now() - then) / 1000));
  if (s < 60) return tr("time.just_now");
  const m = Math.round(s / 60);
  if (m < 60) return tr("time.minutes_ago", { n: m });
  const hours = Math.round(m / 60);
  if (hours < 48) return tr("time.hours_ago", { n: hours });
  return tr("time.on_date", { date: formatDate(then) });
}

// The room id of /studio/<id> or /watch/<id>.
export function roomIdFromPath() {
  const parts = location.pathname.split("/").filter(Boolean);
  if (parts.length !== 2) return "";
  try {
    return decodeURIComponent(parts[1]);
  } catch {
    return parts[1];
  }
}

// Whether `id` can be a room id at all (the server's rule: "live_" + 12 to 64 letters or
// digits): a link cut short or mistyped is "not found" at once, without asking the server.
export function isWellFormedRoomId(id) {
  return /^live_[A-Za-z0-9]{12,64}$/.test(id);
}

// Host tokens of the rooms this browser created (localStorage, one key per room). They
// are the room's owner credential: kept on this device only, dropped when the room ends
// or after HOST_TOKEN_DAYS.
const HOST_KEY = "liveroom.host.";
const HOST_TOKEN_DAYS = 30;

export const hostTokens = {
  get(roomId) {
    try {
      const entry = JSON.parse(localStorage.getItem(HOST_KEY + roomId) || "null");
      return entry && typeof entry.token === "string" ? entry.token : null;
    } catch {
      return null;
    }
  },
  set(roomId, token) {
    try {
      localStorage.setItem(HOST_KEY + roomId, JSON.stringify({ token, saved_at: Date.now() }));
      return true;
    } catch {
      return false;  // storage disabled (private mode): the studio asks for the token instead
    }
  },
  remove(roomId) {
    try {
      localStorage.removeItem(HOST_KEY + roomId);
    } catch {
      // Nothing to remove when storage is unavailable.
    }
  },
  prune() {
    try {
      const cutoff = Date.now() - HOST_TOKEN_DAYS * 24 * 3600 * 1000;
      for (let i = localStorage.length - 1; i >= 0; i--) {
        const key = localStorage.key(i);
        if (!key || !key.startsWith(HOST_KEY)) continue;
        let entry = null;
        try {
          entry = JSON.parse(localStorage.getItem(key));
        } catch {
          // Unreadable: drop it below.
        }
        if (!entry || !(entry.saved_at > cutoff)) localStorage.removeItem(key);
      }
    } catch {
      // Storage unavailable: nothing kept, nothing to prune.
    }
  },
};

// "local" (this server's media) or "cloudflare". Rooms carry `provider`; before that
// field existed, a WHIP/WHEP URL on this page's origin meant a local room.
export function providerOf(room) {
  if (room.provider) return room.provider;
  const url =
    room.whip_url || room.whep_url || room.ingest?.whip_url || room.playback?.whep_url || room.playback?.hls_url;
  if (!url) return "local";
  try {
    return new URL(url, location.href).origin === location.origin ? "local" : "cloudflare";
  } catch {
    return "cloudflare";
  }
}

// Whether a link's host is this computer only (127.x, ::1, localhost): such a link opened on a
// phone or another computer leads nowhere.
export function isLoopbackUrl(url) {
  let host;
  try {
    host = new URL(url, location.href).hostname.toLowerCase();
  } catch {
    return false;
  }
  host = host.replace(/^\[|\]$/g, "");
  return (
    host === "localhost" ||
    host.endsWith(".localhost") ||
    /^127\.\d+\.\d+\.\d+$/.test(host) ||
    host === "::1" ||
    /^::ffff:127\./.test(host) ||
    host === "0.0.0.0"
  );
}

// Why a room ended (its `ended_reason`), as a catalogue key: the host ended it, or it ended by
// itself (nobody went live, the broadcaster left and did not come back, the time limit). Null
// for a reason this page does not know (an older or newer server): the page then says nothing.
const ENDED_REASONS = {
  host: "common.ended_host",
  idle: "common.ended_idle",
  empty: "common.ended_empty",
  max_duration: "common.ended_max_duration",
};

export function endedReasonKey(reason) {
  return Object.prototype.hasOwnProperty.call(ENDED_REASONS, reason) ? ENDED_REASONS[reason] : null;
}
