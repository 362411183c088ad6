// The lobby (/): lists open and recently ended rooms (refreshed every few seconds) and
// creates a room, keeping its host token in this browser before opening the studio.

import { createRoom, listRooms } from "./api.js";
import { setText, t } from "./i18n.js";
import { $, clearError, errorText, h, hostTokens, reportUncaughtErrors, setupLanguage, showError, timeAgo } from "./ui.js";

const REFRESH_MS = 5000;
const PAGE_SIZE = 20;
const HOST_NAME_KEY = "liveroom.hostName";

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
  $("more-live").addEventListener("click", onMore);
  refresh();
  setInterval(() => {
    if (!document.hidden) refresh();
  }, REFRESH_MS);
}

start();
