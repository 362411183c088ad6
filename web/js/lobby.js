// The lobby (/): lists open and recently ended rooms (refreshed every few seconds) and
// creates a room, keeping its host token in this browser before opening the studio.

import { createRoom, listRooms } from "./api.js";
import { $, clearError, h, hostTokens, reportUncaughtErrors, showError, timeAgo } from "./ui.js";

const REFRESH_MS = 5000;
const PAGE_SIZE = 20;
const HOST_NAME_KEY = "liveroom.hostName";

let liveCursor = null; // next page of open rooms, when "Show more" was used
let liveShown = PAGE_SIZE;

function roomItem(room) {
  const live = room.status !== "ended" && room.live;
  const badge =
    room.status === "ended"
      ? h("span", { class: "badge" }, "ENDED")
      : live
        ? h("span", { class: "badge live" }, "LIVE")
        : h("span", { class: "badge" }, "NOT LIVE YET");
  const when = room.status === "ended" ? `ended ${timeAgo(room.ended_at)}` : `opened ${timeAgo(room.created_at)}`;
  const viewers = room.status === "ended" ? null : h("span", { class: "viewers" }, `${room.viewers ?? 0} watching`);
  const mine = room.status !== "ended" && hostTokens.get(room.room_id);
  return h(
    "li",
    { class: "room", "data-room-id": room.room_id, "data-live": String(Boolean(live)), "data-status": room.status },
    h(
      "div",
      { class: "room-main" },
      h("div", { class: "room-title" }, room.title),
      h("div", { class: "meta small muted" }, badge, h("span", {}, `by ${room.host}`), viewers, h("span", {}, when)),
    ),
    h(
      "div",
      { class: "room-links" },
      mine ? h("a", { class: "button studio-link", href: `/studio/${encodeURIComponent(room.room_id)}` }, "Studio") : null,
      room.status !== "ended"
        ? h("a", { class: "button primary watch-link", href: `/watch/${encodeURIComponent(room.room_id)}` }, "Watch")
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

async function refresh() {
  try {
    const [open, ended] = await Promise.all([
      listRooms({ status: "active", limit: Math.min(liveShown, 100) }),
      listRooms({ status: "ended", limit: 10 }),
    ]);
    // Live rooms first, then the open ones waiting for their broadcaster; newest first in each.
    const rooms = [...open.rooms].sort((a, b) => Number(b.live) - Number(a.live));
    render("live-rooms", "live-empty", rooms);
    render("recent-rooms", "recent-empty", ended.rooms);
    liveCursor = open.next_cursor;
    $("more-live").hidden = !liveCursor || liveShown >= 100;
    if ($("error").dataset.code === "network_error" || $("error").dataset.code === "lobby") clearError();
  } catch (err) {
    const code = err.code === "network_error" ? err.code : "lobby";
    showError({ message: `Could not load the rooms: ${err.message}`, code });
  }
}

async function onCreate(event) {
  event.preventDefault();
  const form = $("create-form");
  const box = $("create-error");
  clearError(box);
  const title = $("title").value.trim();
  const host = $("host").value.trim();
  if (!title) {
    showError("Give the room a title.", box);
    $("title").focus();
    return;
  }
  if (!host) {
    showError("Say who is hosting (your name or user id).", box);
    $("host").focus();
    return;
  }
  const button = $("create");
  button.disabled = true;
  button.textContent = "Creating…";
  form.setAttribute("aria-busy", "true");
  try {
    const created = await createRoom({ title, host, mode: $("mode").value, apiKey: $("api-key").value.trim() });
    try {
      localStorage.setItem(HOST_NAME_KEY, host);
    } catch {
      // Remembering the name is a convenience only.
    }
    if (!hostTokens.set(created.room_id, created.host_token)) {
      // No storage (private mode): hand the token over through the URL fragment, which
      // never reaches the server; the studio moves it out of the address bar at once.
      location.assign(`/studio/${encodeURIComponent(created.room_id)}#token=${encodeURIComponent(created.host_token)}`);
      return;
    }
    location.assign(`/studio/${encodeURIComponent(created.room_id)}`);
  } catch (err) {
    showError(err, box);
    button.disabled = false;
    button.textContent = "Create room";
    form.removeAttribute("aria-busy");
  }
}

async function onMore() {
  liveShown = Math.min(liveShown + PAGE_SIZE, 100);
  await refresh();
}

function start() {
  reportUncaughtErrors();
  hostTokens.prune();
  try {
    const name = localStorage.getItem(HOST_NAME_KEY);
    if (name) $("host").value = name;
  } catch {
    // No storage: the field starts empty.
  }
  $("create-form").addEventListener("submit", onCreate);
  $("more-live").addEventListener("click", onMore);
  refresh();
  setInterval(() => {
    if (!document.hidden) refresh();
  }, REFRESH_MS);
}

start();
