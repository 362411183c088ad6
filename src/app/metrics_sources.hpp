// What /metrics reads at scrape time from each part of the running server, under the names
// docs/metrics.md lists. The composition root adds the parts it built.
#pragma once

#include "http/server.hpp"
#include "media/server/media_server.hpp"
#include "metrics/metrics.hpp"
#include "rooms/room_service.hpp"
#include "store/room_store.hpp"
#include "webhooks/dispatcher.hpp"

namespace liveroom::app {

// liveroom_build_info and the process_* figures.
void addProcessSource(metrics::Metrics& metrics);
// liveroom_rooms{status}, liveroom_rooms_live (counted in the store, so every instance on one
// store reports the same), liveroom_viewers and liveroom_rooms_watched (this process's providers).
void addRoomsSource(metrics::Metrics& metrics, RoomStore& store, const rooms::RoomService& service);
// liveroom_http_connections, liveroom_http_connections_refused_total, ...
void addHttpServerSource(metrics::Metrics& metrics, const http::Server& server);
// The embedded media server: sessions by role, packets and bytes both ways, NACKs, PLIs,
// retransmissions, loss, UDP figures.
void addMediaSource(metrics::Metrics& metrics, media::MediaServer& media);
// The webhook outbox (deliveries by state) and the dispatcher's attempts.
void addWebhookSource(metrics::Metrics& metrics, WebhookOutbox& outbox, const webhooks::Dispatcher& dispatcher);

}  // namespace liveroom::app
