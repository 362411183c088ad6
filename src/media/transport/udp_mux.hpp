// The one UDP port every WebRTC peer shares (--webrtc-port): receives datagrams on the
// media io_context, classifies them by first byte (RFC 7983) and hands each to its
// session. STUN binding requests are routed by the ICE username (our ufrag before the
// ':'), since a peer's first check comes from an address nobody knows yet; everything
// else is routed by the remote address the session's ICE has validated. Datagrams no
// session claims are dropped and counted.
#pragma once

#include <utility>  // before Asio (Boost 1.74 + C++20)

#include <array>
#include <cstdint>
#include <string>
#include <string_view>
#include <unordered_map>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/udp.hpp>

#include "media/demux.hpp"
#include "media/stun/stun_message.hpp"

namespace liveroom::media {

using UdpEndpoint = boost::asio::ip::udp::endpoint;

stun::TransportAddress toTransportAddress(const UdpEndpoint& endpoint);
UdpEndpoint toUdpEndpoint(const stun::TransportAddress& address);

class UdpMux {
 public:
  class Session {
   public:
    virtual ~Session() = default;
    // `data` is valid only during the call (the receive buffer is reused).
    virtual void onDatagram(PacketKind kind, uint8_t* data, size_t size, const UdpEndpoint& from) = 0;
  };

  // Binds `address`:`port` (port 0: any). Throws std::runtime_error naming the address.
  UdpMux(boost::asio::io_context& ioc, const std::string& address, uint16_t port);
  ~UdpMux();

  uint16_t port() const;
  // Every call below runs on the media thread (no locks inside).
  void addSession(const std::string& local_ufrag, Session* session);
  void removeSession(Session* session);
  // STUN with this ufrag is no longer routed (an ICE restart replaced it).
  void removeUfrag(const std::string& local_ufrag);
  // After ICE validated `from` for `session`: its DTLS/RTP/RTCP are routed there.
  void bindTuple(const UdpEndpoint& from, Session* session);
  void send(const uint8_t* data, size_t size, const UdpEndpoint& to);

  uint64_t droppedDatagrams() const { return dropped_; }

 private:
  void receive();
  void route(size_t size);

  struct EndpointHash {
    size_t operator()(const UdpEndpoint& e) const noexcept;
  };
  struct StringHash {
    using is_transparent = void;
    size_t operator()(std::string_view s) const noexcept { return std::hash<std::string_view>{}(s); }
  };

  boost::asio::ip::udp::socket socket_;
  std::array<uint8_t, 2048> buffer_{};
  UdpEndpoint from_;
  std::unordered_map<std::string, Session*, StringHash, std::equal_to<>> by_ufrag_;
  std::unordered_map<UdpEndpoint, Session*, EndpointHash> by_tuple_;
  uint64_t dropped_ = 0;
};

}  // namespace liveroom::media
