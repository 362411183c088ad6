// Following a room as the server pushes it: GET /api/livestream/rooms/{id}/events (Server-Sent
// Events). The first event (`room`) is the room's whole public view, then `live`, `viewers`,
// `title` and `ended` each carry the new view; the server closes the stream after `ended`.
// EventSource reconnects by itself (the server asks for 3 s), and a reconnect starts again with
// `room`, so a dropped stream loses nothing.
//
// When the stream cannot be opened at all (a browser without EventSource, a proxy that refuses
// streaming, an unknown room: the request fails rather than drops) the page falls back to asking
// now and then (`refresh`, every FALLBACK_POLL_MS), and tries the stream again once in a while.
//
//   const feed = followRoom(roomId, {
//     onView: (view, event) => ...,        // every view, the first one included
//     onConnection: (state) => ...,        // "open" | "reconnecting" | "polling"
//     refresh: async () => ...,            // one request for the room (the fallback); may throw
//   });
//   feed.close();

const FALLBACK_POLL_MS = 5000;
const RETRY_STREAM_MS = 30000;
const EVENTS = ["room", "live", "viewers", "title", "ended"];

export function eventsUrl(roomId) {
  return `/api/livestream/rooms/${encodeURIComponent(roomId)}/events`;
}

export function followRoom(roomId, { onView, onConnection = () => {}, refresh }) {
  let source = null;
  let pollTimer = null;
  let retryTimer = null;
  let closed = false;
  let mode = "none"; // "stream" | "polling"

  const stopPolling = () => {
    clearTimeout(pollTimer);
    clearTimeout(retryTimer);
    pollTimer = null;
    retryTimer = null;
  };

  const poll = async () => {
    pollTimer = null;
    if (closed) return;
    try {
      await refresh();
    } catch {
      // refresh() says what went wrong itself; keep asking.
    }
    if (!closed && mode === "polling") pollTimer = setTimeout(poll, document.hidden ? FALLBACK_POLL_MS * 3 : FALLBACK_POLL_MS);
  };

  const startPolling = () => {
    if (closed || mode === "polling") return;
    mode = "polling";
    onConnection("polling");
    poll();
    // The stream may work again later (the server was busy, a proxy was restarted).
    if (window.EventSource) retryTimer = setTimeout(() => openStream(), RETRY_STREAM_MS);
  };

  const onMessage = (event) => {
    if (closed || event.target !== source) return;
    let view;
    try {
      view = JSON.parse(event.data);
    } catch {
      return; // not a view: nothing to show
    }
    if (mode !== "stream") {
      mode = "stream";
      stopPolling();
      onConnection("open");
    }
    if (event.type === "ended" || (view && view.status === "ended")) {
      // The server closes the stream now; do not let EventSource reconnect.
      source.close();
      source = null;
    }
    onView(view, event.type);
  };

  function openStream() {
    retryTimer = null;
    if (closed) return;
    if (!window.EventSource) {
      startPolling();
      return;
    }
    const es = new EventSource(eventsUrl(roomId));
    source = es;
    for (const name of EVENTS) es.addEventListener(name, onMessage);
    es.addEventListener("open", () => {
      if (es === source && !closed) onConnection("open");
    });
    es.addEventListener("error", () => {
      if (es !== source || closed) return;
      if (es.readyState === EventSource.CLOSED) {
        // Refused (not 200, not an event stream): EventSource gives up; ask instead.
        source = null;
        if (mode === "polling") retryTimer = setTimeout(() => openStream(), RETRY_STREAM_MS);
        else startPolling();
      } else {
        // Dropped (network, server restart): EventSource is already reconnecting.
        onConnection("reconnecting");
      }
    });
  }

  openStream();

  return {
    get mode() {
      return mode;
    },
    close() {
      closed = true;
      stopPolling();
      if (source) source.close();
      source = null;
    },
  };
}
