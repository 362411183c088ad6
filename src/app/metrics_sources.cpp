#include "app/metrics_sources.hpp"

#include "metrics/process.hpp"

namespace liveroom::app {

namespace {

double d(uint64_t v) { return static_cast<double>(v); }

}  // namespace

void addProcessSource(metrics::Metrics& metrics) {
  metrics.addSource([](metrics::Scrape& s) {
    s.gauge("liveroom_build_info", "liveroom's version (the value is always 1)", 1, {{"version", LIVEROOM_VERSION}});
    metrics::addProcessMetrics(s);
  });
}

void addRoomsSource(metrics::Metrics& metrics, RoomStore& store, const rooms::RoomService& service) {
  metrics.addSource([&store, &service](metrics::Scrape& s) {
    const rooms::RoomService::ViewerTotals v = service.viewerTotals();
    s.gauge("liveroom_viewers", "Viewers watching now, all rooms this process's stream provider reports", d(v.viewers));
    s.gauge("liveroom_rooms_watched", "Rooms with at least one viewer, as this process's stream provider reports",
            d(v.rooms));
    if (const std::optional<RoomCounts> c = store.countRooms()) {
      const char* help = "Rooms in the store, by status";
      s.gauge("liveroom_rooms", help, d(c->active), {{"status", "active"}});
      s.gauge("liveroom_rooms", help, d(c->ended), {{"status", "ended"}});
      s.gauge("liveroom_rooms_live", "Rooms on air now (a broadcaster is publishing)", d(c->live));
    }
  });
}

void addHttpServerSource(metrics::Metrics& metrics, const http::Server& server) {
  metrics.addSource([&server](metrics::Scrape& s) {
    const http::Server::Stats st = server.stats();
    s.gauge("liveroom_http_connections", "HTTP connections open now", d(st.connections));
    s.counter("liveroom_http_connections_refused_total", "HTTP connections refused over a connection limit",
              d(st.refused));
    s.counter("liveroom_http_accept_pauses_total",
              "Times accepting paused because the process ran out of file descriptors or memory", d(st.accept_pauses));
  });
}

void addMediaSource(metrics::Metrics& metrics, media::MediaServer& media) {
  metrics.addSource([&media](metrics::Scrape& s) {
    const media::MediaServer::Stats st = media.stats();
    size_t publishers = 0;
    size_t viewers = 0;
    for (const auto& w : st.workers) {
      publishers += w.publishers;
      viewers += w.viewers;
    }
    const char* sessions_help = "WebRTC sessions open now on the embedded media server (WHIP publishers, WHEP viewers)";
    s.gauge("liveroom_webrtc_sessions", sessions_help, d(publishers), {{"role", "publisher"}});
    s.gauge("liveroom_webrtc_sessions", sessions_help, d(viewers), {{"role", "viewer"}});
    s.gauge("liveroom_webrtc_inputs", "Live inputs (rooms) with a session on the embedded media server", d(st.inputs));
    s.counter("liveroom_webrtc_sessions_refused_total", "WHIP/WHEP sessions refused over a session limit",
              d(st.sessions_refused));
    s.counter("liveroom_webrtc_sessions_failed_total", "WebRTC sessions ended by an internal error",
              d(st.sessions_failed));
    const media::MediaCounters& c = st.counters;
    const char* packets_help = "RTP and RTCP packets received from peers (in) and sent to them (out)";
    s.counter("liveroom_media_packets_total", packets_help, d(c.transport.rtp_packets_in),
              {{"direction", "in"}, {"type", "rtp"}});
    s.counter("liveroom_media_packets_total", packets_help, d(c.transport.rtp_packets_out),
              {{"direction", "out"}, {"type", "rtp"}});
    s.counter("liveroom_media_packets_total", packets_help, d(c.transport.rtcp_packets_in),
              {{"direction", "in"}, {"type", "rtcp"}});
    s.counter("liveroom_media_packets_total", packets_help, d(c.transport.rtcp_packets_out),
              {{"direction", "out"}, {"type", "rtcp"}});
    const char* bytes_help = "RTP bytes received from peers (in) and sent to them (out), SRTP as on the wire";
    s.counter("liveroom_media_bytes_total", bytes_help, d(c.transport.rtp_bytes_in), {{"direction", "in"}});
    s.counter("liveroom_media_bytes_total", bytes_help, d(c.transport.rtp_bytes_out), {{"direction", "out"}});
    s.counter("liveroom_media_nacks_received_total", "Sequence numbers viewers asked to have resent (NACK)",
              d(c.nacks_received));
    s.counter("liveroom_media_retransmissions_total", "Packets resent to viewers on their NACKs", d(c.retransmissions));
    s.counter("liveroom_media_retransmissions_refused_total",
              "Viewer NACKs not answered (asked again within a round trip, or over the retransmission budget)",
              d(c.retransmissions_refused));
    s.counter("liveroom_media_key_frame_requests_received_total", "Key-frame requests (PLI, FIR) from viewers",
              d(c.key_frame_requests_received));
    s.counter("liveroom_media_plis_sent_total", "Key-frame requests (PLI) sent to publishers", d(c.plis_sent));
    s.counter("liveroom_media_nacks_sent_total",
              "Sequence numbers asked of publishers again (packets missing on the way in, retries included)",
              d(c.nacks_sent));
    s.counter("liveroom_media_packets_recovered_total", "Publisher packets that came back after a NACK",
              d(c.recovered));
    s.counter("liveroom_media_packets_lost_total", "Publisher packets missing and given up on (never recovered)",
              d(c.lost));
    const media::PacketMux::Stats& t = st.transport;
    const char* udp_help = "UDP datagrams received and sent on the media ports";
    s.counter("liveroom_udp_datagrams_total", udp_help, d(t.udp_received), {{"direction", "in"}});
    s.counter("liveroom_udp_datagrams_total", udp_help, d(t.udp_sent), {{"direction", "out"}});
    s.counter("liveroom_udp_receive_drops_total", "Datagrams the kernel dropped because the receive buffer was full",
              d(t.udp_kernel_drops));
    s.counter("liveroom_udp_send_drops_total", "Datagrams dropped because the send buffer was full",
              d(t.udp_send_dropped));
    s.counter("liveroom_udp_unrouted_total", "Datagrams no session claimed", d(t.dropped_packets));
    s.gauge("liveroom_ice_tcp_connections", "ICE-TCP connections open now", d(t.tcp_connections));
  });
}

void addWebhookSource(metrics::Metrics& metrics, WebhookOutbox& outbox, const webhooks::Dispatcher& dispatcher) {
  metrics.addSource([&outbox, &dispatcher](metrics::Scrape& s) {
    const webhooks::DispatcherStats st = dispatcher.stats();
    s.counter("liveroom_webhook_attempts_total", "Webhook delivery attempts by this process, by result",
              d(st.delivered), {{"result", "delivered"}});
    s.counter("liveroom_webhook_attempts_total", "Webhook delivery attempts by this process, by result",
              d(st.failed_attempts), {{"result", "failed"}});
    s.counter("liveroom_webhook_deliveries_given_up_total",
              "Webhook deliveries this process gave up on (no 2xx within the retry window)", d(st.given_up));
    const OutboxCounts c = outbox.counts();
    const char* help = "Webhook deliveries in the store's outbox, by state (pending is the queue)";
    s.gauge("liveroom_webhook_deliveries", help, d(c.pending), {{"state", "pending"}});
    s.gauge("liveroom_webhook_deliveries", help, d(c.delivered), {{"state", "delivered"}});
    s.gauge("liveroom_webhook_deliveries", help, d(c.failed), {{"state", "failed"}});
  });
}

}  // namespace liveroom::app
