// Small helpers the three pages share: building elements without innerHTML, the error
// box, status badges, copy buttons, relative times, and the host tokens this browser
// keeps for the rooms it created.

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

// The page's error box (#error): shows a message in words, and its stable code in
// data-code for tests.
export function showError(err, box = $("error")) {
  if (!box) return;
  const message = typeof err === "string" ? err : (err && err.message) || "Something went wrong.";
  box.textContent = sentence(message);
  box.dataset.code = (err && err.code) || "error";
  box.hidden = false;
}

export function clearError(box = $("error")) {
  if (!box) return;
  box.textContent = "";
  delete box.dataset.code;
  box.hidden = true;
}

// Anything that escapes a handler still reaches the person, not only the console.
export function reportUncaughtErrors() {
  window.addEventListener("unhandledrejection", (event) => showError(event.reason));
  window.addEventListener("error", (event) => showError(event.error || event.message));
}

// #status: data-state drives the style and the tests; the text says it in words.
export function setStatus(state, text, el = $("status")) {
  if (!el) return;
  if (el.dataset.state !== state) el.dataset.state = state;
  if (el.textContent !== text) el.textContent = text;
}

export function setViewers(count, el = $("viewers")) {
  if (!el) return;
  const n = Number.isFinite(count) ? count : 0;
  el.dataset.count = String(n);
  el.textContent = String(n);
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
    const label = button.textContent;
    button.addEventListener("click", async () => {
      const input = $(button.dataset.copy);
      if (!input || !input.value) return;
      try {
        await copyText(input.value);
        button.textContent = "Copied";
      } catch {
        input.type = "text";
        input.select();
        button.textContent = "Press Ctrl+C";
      }
      setTimeout(() => (button.textContent = label), 1500);
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
      button.textContent = hidden ? "Hide" : "Show";
      button.setAttribute("aria-pressed", String(hidden));
    });
  }
}

export function timeAgo(iso) {
  const then = Date.parse(iso);
  if (!Number.isFinite(then)) return "";
  const s = Math.max(0, Math.round((Date.now() - then) / 1000));
  if (s < 60) return "just now";
  const m = Math.round(s / 60);
  if (m < 60) return `${m} min ago`;
  const hours = Math.round(m / 60);
  if (hours < 48) return `${hours} h ago`;
  return new Date(then).toLocaleDateString();
}

// The room id of /studio/<id> or /watch/<id>.
export function roomIdFromPath() {
  const parts = location.pathname.split("/").filter(Boolean);
  return parts.length === 2 ? decodeURIComponent(parts[1]) : "";
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
