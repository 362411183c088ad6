// The lobby (/): lists open and recently ended rooms (refreshed every few seconds) and
// creates a room (public, or unlisted: only people with the link), keeping its host token in
// this browser before opening the studio through the server's studio link. A server started
// with --api-key (GET /info says so) gets its key asked for once, before the create form; the
// key is remembered in this browser and asked for again when the server refuses it.

import { checkApiKey, createRoom, getInfo, listRooms } from "./api.js";
import { setText, t } from "./i18n.js";
import { $, clearError, errorText, h, hostTokens, reportUncaughtErrors, setupLanguage, showError, timeAgo } from "./ui.js";

const REFRESH_MS = 5000;
const PAGE_SIZE = 20;
const HOST_NAME_KEY = "liveroom.hostName";
const API_KEY_KEY = "liveroom.apiKey";

let apiKey = null; // the API key in use (remembered in localStorage)

let liveCursor = null; // next page of open rooms, when "Show more" was used
let liveShown = PAGE_SIZE;
let lastOpen = null; // the last lists shown, rendered again on a language switch
let lastEnded = null;

function roomItem(room) {
  const live = room.status !== "ended" && room.live;
  const badge =
    room.status === "ended"
      ? h("span", { class: "badge" }, t("lobby.badge_ended"))
      : live
        ? h("span", { class: "badge live" }, t("lobby.badge_live"))
        : h("span", { class: "badge" }, t("lobby.badge_not_live"));
  const when =
    room.status === "ended"
      ? t("lobby.ended_when", { when: timeAgo(room.ended_at) })
      : t("lobby.opened_when", { when: timeAgo(room.created_at) });
  const viewers =
    room.status === "ended" ? null : h("span", { class: "viewers" }, t("lobby.viewers", { count: room.viewers ?? 0 }));
  const mine = room.status !== "ended" && hostTokens.get(room.room_id);
  return h(
    "li",
    { class: "room", "data-room-id": room.room_id, "data-live": String(Boolean(live)), "data-status": room.status },
    h(
      "div",
      { class: "room-main" },
      h("div", { class: "room-title" }, room.title),
      h("div", { class: "meta small muted" }, badge, h("span", {}, t("common.by_host", { host: room.host })), viewers, h("span", {}, when)),
    ),
    h(
      "div",
      { class: "room-links" },
      mine
        ? h(
            "a",
            {
              class: "button studio-link",
              href: `/studio/${encodeURIComponent(room.room_id)}`,
              "aria-label": t("lobby.studio_aria", { title: room.title }),
            },
            t("lobby.studio"),
          )
        : null,
      room.status !== "ended"
        ? h(
            "a",
            {
              class: "button primary watch-link",
              href: room.watch_url || `/watch/${encodeURIComponent(room.room_id)}`,
              "aria-label": t("lobby.watch_aria", { title: room.title }),
            },
            t("lobby.watch"),
          )
        : null,
    ),
  );
}

function render(listId, emptyId, rooms) {
  const list = $(listId);
  list.replaceChildren(...rooms.map(roomItem));
  list.dataset.loaded = "true";
  $(emptyId).hidden = rooms.length > 0;
}

function renderLists() {
  if (lastOpen) render("live-rooms", "live-empty", lastOpen);
  if (lastEnded) render("recent-rooms", "recent-empty", lastEnded);
}

async function refresh() {
  try {
    const [open, ended] = await Promise.all([
      listRooms({ status: "active", limit: Math.min(liveShown, 100) }),
      listRooms({ status: "ended", limit: 10 }),
    ]);
    // Live rooms first, then the open ones waiting for their broadcaster; newest first in each.
    lastOpen = [...open.rooms].sort((a, b) => Number(b.live) - Number(a.live));
    lastEnded = ended.rooms;
    renderLists();
    liveCursor = open.next_cursor;
    $("more-live").hidden = !liveCursor || liveShown >= 100;
    if ($("error").dataset.code === "network_error" || $("error").dataset.code === "lobby") clearError();
  } catch (err) {
    const code = err.code === "network_error" ? err.code : "lobby";
    showError({ key: "lobby.load_failed", params: { reason: () => errorText(err) }, code });
  }
}

// ---- the API key (servers started with --api-key) ----

function storedApiKey() {
  try {
    return localStorage.getItem(API_KEY_KEY) || null;
  } catch {
    return null;
  }
}

function storeApiKey(key) {
  try {
    if (key) localStorage.setItem(API_KEY_KEY, key);
    else localStorage.removeItem(API_KEY_KEY);
  } catch {
    // Not remembered: asked for again on the next visit.
  }
}

// The key form instead of the create form; `problem` (a catalogue entry) says why it is asked again.
function showApiKeyForm(problem) {
  $("create-form").hidden = true;
  $("api-key-form").hidden = false;
  const box = $("api-key-error");
  if (problem) showError(problem, box);
  else clearError(box);
  $("api-key").value = "";
  $("api-key").focus();
}

function showCreateForm() {
  $("api-key-form").hidden = true;
  $("create-form").hidden = false;
  $("api-key-change").hidden = !apiKey;
}

async function onApiKey(event) {
  event.preventDefault();
  const box = $("api-key-error");
  clearError(box);
  const key = $("api-key").value.trim();
  if (!key) {
    showError({ key: "lobby.api_key_empty" }, box);
    $("api-key").focus();
    return;
  }
  const button = $("api-key-save");
  button.disabled = true;
  try {
    await checkApiKey(key); // lists unlisted rooms: allowed with the right key only
  } catch (err) {
    if (err.status === 401 || err.status === 403) showError({ key: "lobby.api_key_rejected", code: err.code }, box);
    else showError(err, box);
    $("api-key").focus();
    return;
  } finally {
    button.disabled = false;
  }
  apiKey = key;
  storeApiKey(key);
  showCreateForm();
  $("title").focus();
}

// Whether this server wants an API key for create (GET /info), asked before the create form.
async function loadInfo() {
  apiKey = storedApiKey();
  let needsKey = false;
  try {
    needsKey = Boolean((await getInfo()).create_requires_api_key);
  } catch {
    // Unknown (an older server, or not reachable yet): create answers 401 if a key is needed.
  }
  if (needsKey && !apiKey) showApiKeyForm();
  else showCreateForm();
}

// ---- create ----

async function onCreate(event) {
  event.preventDefault();
  const form = $("create-form");
  const box = $("create-error");
  clearError(box);
  const title = $("title").value.trim();
  const host = $("host").value.trim();
  if (!title) {
    showError({ key: "lobby.need_title" }, box);
    $("title").focus();
    return;
  }
  if (!host) {
    showError({ key: "lobby.need_host" }, box);
    $("host").focus();
    return;
  }
  const button = $("create");
  button.disabled = true;
  setText(button, "lobby.creating");
  form.setAttribute("aria-busy", "true");
  try {
    const created = await createRoom({
      title,
      host,
      mode: $("mode").value,
      visibility: $("visibility").value,
      apiKey: apiKey || undefined,
    });
    try {
      localStorage.setItem(HOST_NAME_KEY, host);
    } catch {
      // Remembering the name is a convenience only.
    }
    // Kept here too, so this lobby lists a Studio link for the room.
    hostTokens.set(created.room_id, created.host_token);
    // The server's studio link: its public address, the host token in the fragment (which never
    // reaches a server; the studio takes it out of the address bar at once and offers to save the
    // link, the way back into the room from any device).
    location.assign(
      created.studio_url ||
        `/studio/${encodeURIComponent(created.room_id)}#token=${encodeURIComponent(created.host_token)}`,
    );
  } catch (err) {
    if (err.status === 401 || err.status === 403) {
      // No key, or not (any more) the right one: ask for it; the title and name stay filled in.
      const hadKey = Boolean(apiKey);
      apiKey = null;
      storeApiKey(null);
      showApiKeyForm(hadKey ? { key: "lobby.api_key_rejected", code: err.code } : null);
    } else {
      showError(err, box);
    }
    button.disabled = false;
    setText(button, "lobby.create");
    form.removeAttribute("aria-busy");
  }
}

async function onMore() {
  liveShown = Math.min(liveShown + PAGE_SIZE, 100);
  await refresh();
}

function start() {
  setupLanguage(renderLists);
  reportUncaughtErrors();
  hostTokens.prune();
  try {
    const name = localStorage.getItem(HOST_NAME_KEY);
    if (name) $("host").value = name;
  } catch {
    // No storage: the field starts empty.
  }
  $("create-form").addEventListener("submit", onCreate);
  $("api-key-form").addEventListener("submit", onApiKey);
  $("api-key-change").addEventListener("click", () => showApiKeyForm());
  loadInfo();
  $("more-live").addEventListener("click", onMore);
  refresh();
  setInterval(() => {
    if (!document.hidden) refresh();
  }, REFRESH_MS);
}

start();
