// The media server's ports, shared by every WebRTC peer: one UDP port (--webrtc-port, IPv4 and
// IPv6) and, for networks that block UDP, ICE-TCP (RFC 6544 passive candidates, RFC 4571 framing)
// on --webrtc-tcp-port. Packets are classified by first byte (RFC 7983) and handed to their
// session. STUN binding requests are routed by the ICE username (our ufrag before the ':'), since
// a peer's first check comes from an address nobody knows yet; everything else is routed by the
// transport address (IP, port, UDP or TCP) the session's ICE has validated. On TCP the same holds
// frame by frame, after a first frame that must be a STUN check naming a session: a connection
// that opens with anything else is closed, and one no session has validated within the ICE
// timeout is closed too. Packets no session claims are dropped and counted. Runs on the media
// io_context; no locks.
#pragma once

#include <utility>  // before Asio (Boost 1.74 + C++20)

#include <array>
#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ip/udp.hpp>

#include "media/demux.hpp"
#include "media/stun/stun_message.hpp"

namespace liveroom::media {

using UdpEndpoint = boost::asio::ip::udp::endpoint;
using TcpEndpoint = boost::asio::ip::tcp::endpoint;
using stun::TransportAddress;

TransportAddress toTransportAddress(const UdpEndpoint& endpoint);
TransportAddress toTransportAddress(const TcpEndpoint& endpoint);  // tcp = true
UdpEndpoint toUdpEndpoint(const TransportAddress& address);
// "192.0.2.1:5000/udp", "[2001:db8::1]:443/tcp": for logs.
std::string toString(const TransportAddress& address);

struct TransportAddressHash {
  size_t operator()(const TransportAddress& a) const noexcept;
};

struct PacketMuxOptions {
  // "0.0.0.0" (the default): every IPv4 address and, when the host has IPv6, every IPv6 address
  // too (a second socket on "::"). Any other address: that one only.
  std::string bind_address = "0.0.0.0";
  uint16_t udp_port = 0;              // 0: any free port
  std::optional<uint16_t> tcp_port;   // ICE-TCP; nullopt: off; 0: the UDP port's number if free, else any
  size_t max_tcp_connections = 4000;  // open at once; over it new ones are closed at once
  size_t max_tcp_per_address = 64;    // from one IP (IPv6: one /64)
  // A TCP connection that no session has validated by then is closed (slow drips, half-opens).
  std::chrono::milliseconds tcp_validation_timeout{10'000};
  size_t tcp_send_buffer_bytes = 1 << 20;  // queued for a slow reader; more is dropped (real time)
  // SO_RCVBUF / SO_SNDBUF of the UDP sockets (0: the system's default). The default 208 KiB
  // overflows while one loop turn sends a key frame to hundreds of viewers.
  size_t socket_buffer_bytes = 8 << 20;
  // UDP GSO (UDP_SEGMENT) for runs of datagrams to one address, when the kernel has it.
  bool udp_gso = true;
};

class PacketMux {
 public:
  class Session {
   public:
    virtual ~Session() = default;
    // `data` is valid only during the call (the receive buffer is reused).
    virtual void onPacket(PacketKind kind, uint8_t* data, size_t size, const TransportAddress& from) = 0;
  };

  // Binds the ports. Throws std::runtime_error naming the address and protocol.
  PacketMux(boost::asio::io_context& ioc, PacketMuxOptions options);
  ~PacketMux();
  PacketMux(const PacketMux&) = delete;
  PacketMux& operator=(const PacketMux&) = delete;

  uint16_t udpPort() const noexcept { return udp_port_; }
  std::optional<uint16_t> tcpPort() const noexcept { return tcp_port_; }
  bool ipv6() const noexcept { return ipv6_; }  // an IPv6 socket is bound as well

  // Every call below runs on the media thread (no locks inside).
  void addSession(const std::string& local_ufrag, Session* session);
  // Stops routing to `session` and closes its TCP connections.
  void removeSession(Session* session);
  // STUN with this ufrag is no longer routed (an ICE restart replaced it).
  void removeUfrag(const std::string& local_ufrag);
  // After ICE validated `from` for `session`: its DTLS/RTP/RTCP are routed there.
  void bindTuple(const TransportAddress& from, Session* session);
  // To a UDP address, or framed onto the TCP connection with that address (dropped if none, or
  // if that connection's send buffer is full).
  void send(const uint8_t* data, size_t size, const TransportAddress& to);
  // Closes TCP connections that waited too long for validation. Call every few hundred ms.
  void tick(std::chrono::steady_clock::time_point now);

  struct Stats {
    uint64_t dropped_packets = 0;  // no session claimed them
    size_t tcp_connections = 0;
    uint64_t tcp_refused = 0;  // over a connection limit, or not opening with a STUN check
    // UDP, every port: datagrams and system calls both ways, what the kernel dropped because
    // our receive buffer was full (SO_RXQ_OVFL) or refused to send, and the buffers granted.
    uint64_t udp_received = 0;
    uint64_t udp_receive_calls = 0;
    uint64_t udp_kernel_drops = 0;
    uint64_t udp_truncated = 0;
    uint64_t udp_sent = 0;
    uint64_t udp_send_calls = 0;
    uint64_t udp_send_dropped = 0;  // send buffer full (EAGAIN): dropped, real time
    uint64_t udp_send_errors = 0;   // refused one by one (EPERM, ENETUNREACH, ...)
    uint64_t udp_gso_messages = 0;  // messages that carried several datagrams (UDP GSO)
    size_t udp_ports = 0;
    size_t udp_gso_ports = 0;  // UDP ports with GSO on
    int udp_gso_error = 0;     // why the kernel made us turn it off (0: it did not)
    size_t udp_receive_buffer = 0;
    size_t udp_send_buffer = 0;
  };
  Stats stats() const;

  class TcpConnection;  // packet_mux.cpp

 private:
  struct UdpPort;
  void receive(UdpPort& port);
  void flushAll();
  void accept(boost::asio::ip::tcp::acceptor& acceptor);
  void adopt(boost::asio::ip::tcp::socket socket);
  void routeFromTcp(TcpConnection& connection, PacketKind kind, uint8_t* data, size_t size, bool& keep_open);
  Session* route(PacketKind kind, uint8_t* data, size_t size, const TransportAddress& from);
  void forget(TcpConnection& connection);
  void closeTcp(const TransportAddress& address);

  struct StringHash {
    using is_transparent = void;
    size_t operator()(std::string_view s) const noexcept { return std::hash<std::string_view>{}(s); }
  };

  boost::asio::io_context& ioc_;
  PacketMuxOptions options_;
  std::vector<std::unique_ptr<UdpPort>> udp_;
  std::vector<std::unique_ptr<boost::asio::ip::tcp::acceptor>> acceptors_;
  uint16_t udp_port_ = 0;
  std::optional<uint16_t> tcp_port_;
  bool ipv6_ = false;
  std::unordered_map<std::string, Session*, StringHash, std::equal_to<>> by_ufrag_;
  std::unordered_map<TransportAddress, Session*, TransportAddressHash> by_tuple_;
  std::unordered_map<TransportAddress, std::shared_ptr<TcpConnection>, TransportAddressHash> tcp_;
  std::unordered_map<std::string, size_t> tcp_per_address_;
  uint64_t dropped_ = 0;
  uint64_t tcp_refused_ = 0;
  uint64_t drops_reported_ = 0;
  std::chrono::steady_clock::time_point drops_reported_at_{};
  // Handlers queued on the io_context check it: they do nothing once the mux is gone.
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
};

}  // namespace liveroom::media
