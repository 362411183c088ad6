// The media server's UDP and ICE-TCP ports and packet routing (see packet_mux.hpp).
#include "media/transport/packet_mux.hpp"

#include <netinet/in.h>

#include <algorithm>
#include <cstring>
#include <deque>
#include <functional>
#include <stdexcept>

#include <boost/asio/ip/v6_only.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/write.hpp>
#include <spdlog/spdlog.h>

#include "media/transport/rfc4571.hpp"
#include "media/transport/udp_batch.hpp"

namespace liveroom::media {

namespace net = boost::asio;
using udp = net::ip::udp;
using tcp = net::ip::tcp;

namespace {

TransportAddress fromAddress(const net::ip::address& address, uint16_t port, bool is_tcp) {
  TransportAddress a;
  if (address.is_v4()) {
    a = TransportAddress::v4(address.to_v4().to_bytes(), port);
  } else if (address.to_v6().is_v4_mapped()) {
    a = TransportAddress::v4(net::ip::make_address_v4(net::ip::v4_mapped, address.to_v6()).to_bytes(), port);
  } else {
    a = TransportAddress::v6(address.to_v6().to_bytes(), port);
  }
  a.tcp = is_tcp;
  return a;
}

// The per-address limit's key: an IPv4 address, or an IPv6 /64 (one host's addresses).
std::string limitKey(const TransportAddress& a) {
  return std::string(reinterpret_cast<const char*>(a.ip.data()), a.ipv6 ? 8 : 4);
}

// Largest frame we take over TCP: a UDP datagram's worth (the UDP path reads 2048 bytes).
constexpr size_t kMaxTcpFrame = 2048;

}  // namespace

TransportAddress toTransportAddress(const UdpEndpoint& e) { return fromAddress(e.address(), e.port(), false); }
TransportAddress toTransportAddress(const TcpEndpoint& e) { return fromAddress(e.address(), e.port(), true); }

UdpEndpoint toUdpEndpoint(const TransportAddress& address) {
  if (!address.ipv6) {
    net::ip::address_v4::bytes_type bytes{};
    std::copy_n(address.ip.begin(), 4, bytes.begin());
    return {net::ip::address_v4(bytes), address.port};
  }
  net::ip::address_v6::bytes_type bytes{};
  std::copy_n(address.ip.begin(), 16, bytes.begin());
  return {net::ip::address_v6(bytes), address.port};
}

std::string toString(const TransportAddress& a) {
  const UdpEndpoint e = toUdpEndpoint(a);
  const std::string ip = e.address().to_string();
  return (a.ipv6 ? "[" + ip + "]" : ip) + ":" + std::to_string(a.port) + (a.tcp ? "/tcp" : "/udp");
}

size_t TransportAddressHash::operator()(const TransportAddress& a) const noexcept {
  size_t h = std::hash<uint32_t>{}((static_cast<uint32_t>(a.port) << 2) | (a.tcp ? 2u : 0u) | (a.ipv6 ? 1u : 0u));
  const size_t n = a.ipv6 ? 16 : 4;
  for (size_t i = 0; i < n; ++i) h = h * 131 + a.ip[i];
  return h;
}

// ---------------------------------------------------------------------------------------------
// UDP

struct PacketMux::UdpPort {
  explicit UdpPort(net::io_context& ioc) : socket(ioc) {}
  udp::socket socket;
  bool v6 = false;
  ReceiveBatch rx;
  SendBatch tx;
  bool flush_posted = false;
  bool gso_warned = false;
  SocketBuffers buffers;
};

namespace {

TransportAddress fromSockaddr(const sockaddr* sa, socklen_t len) {
  TransportAddress a;
  if (sa->sa_family == AF_INET && len >= static_cast<socklen_t>(sizeof(sockaddr_in))) {
    const auto* in = reinterpret_cast<const sockaddr_in*>(sa);
    std::array<uint8_t, 4> ip{};
    std::memcpy(ip.data(), &in->sin_addr, 4);
    return TransportAddress::v4(ip, ntohs(in->sin_port));
  }
  if (sa->sa_family == AF_INET6 && len >= static_cast<socklen_t>(sizeof(sockaddr_in6))) {
    const auto* in6 = reinterpret_cast<const sockaddr_in6*>(sa);
    net::ip::address_v6::bytes_type bytes{};
    std::memcpy(bytes.data(), &in6->sin6_addr, 16);
    return fromAddress(net::ip::address_v6(bytes), ntohs(in6->sin6_port), false);
  }
  return a;  // port 0: routes nowhere
}

// Datagrams read per wake-up before other work gets its turn (timers, sends, TCP): 8 x 32.
constexpr int kReadRounds = 8;

}  // namespace

void PacketMux::receive(UdpPort& port) {
  port.socket.async_wait(udp::socket::wait_read,
                         [this, &port, alive = std::weak_ptr<bool>(alive_)](boost::system::error_code ec) {
                           if (ec == net::error::operation_aborted || alive.expired()) return;
                           if (!ec) {
                             const int fd = port.socket.native_handle();
                             for (int round = 0; round < kReadRounds; ++round) {
                               int error = 0;
                               const auto& datagrams = port.rx.read(fd, &error);
                               if (error != 0) spdlog::debug("media: UDP receive failed: {}", std::strerror(error));
                               for (const ReceiveBatch::Datagram& d : datagrams) {
                                 const TransportAddress from = fromSockaddr(d.from, d.from_len);
                                 route(classifyPacket(d.data, d.size), d.data, d.size, from);
                               }
                               if (datagrams.size() < ReceiveBatch::kSlots) break;  // drained
                             }
                             flushAll();  // what the packets just read made us send, in as few calls as possible
                           }
                           receive(port);
                         });
}

void PacketMux::flushAll() {
  for (auto& port : udp_) {
    if (!port->tx.empty()) port->tx.flush(port->socket.native_handle());
  }
}

// ---------------------------------------------------------------------------------------------
// TCP: one connection per peer candidate pair, RFC 4571 frames both ways.

class PacketMux::TcpConnection : public std::enable_shared_from_this<PacketMux::TcpConnection> {
 public:
  TcpConnection(PacketMux& mux, tcp::socket socket, TransportAddress remote)
      : mux_(&mux), socket_(std::move(socket)), remote_(remote), reader_(kMaxTcpFrame) {}

  const TransportAddress& remote() const noexcept { return remote_; }
  std::chrono::steady_clock::time_point opened() const noexcept { return opened_; }
  bool validated() const noexcept { return validated_; }
  void setValidated() noexcept { validated_ = true; }
  bool sawFirstFrame() const noexcept { return saw_first_frame_; }
  void setSawFirstFrame() noexcept { saw_first_frame_ = true; }

  void start() { read(); }

  void send(const uint8_t* data, size_t size, size_t limit) {
    if (closed_ || size > Rfc4571Reader::kMaxFrameLength) return;
    if (queued_bytes_ + size + 2 > limit) {
      ++dropped_sends_;  // a reader this slow gets gaps, not an unbounded queue
      return;
    }
    std::vector<uint8_t> frame;
    frame.reserve(size + 2);
    appendRfc4571Frame(frame, data, size);
    queued_bytes_ += frame.size();
    queue_.push_back(std::move(frame));
    if (!writing_) write();
  }

  // Closes the socket; the mux has (or will have) forgotten us. Safe to call twice.
  void close() {
    if (closed_) return;
    closed_ = true;
    mux_ = nullptr;
    boost::system::error_code ec;
    socket_.shutdown(tcp::socket::shutdown_both, ec);
    socket_.close(ec);
  }

 private:
  void read() {
    socket_.async_read_some(net::buffer(buffer_), [self = shared_from_this()](boost::system::error_code ec, size_t n) {
      if (self->closed_) return;
      if (ec) return self->fail();
      bool keep_open = true;
      self->reader_.feed(self->buffer_.data(), n, [&](uint8_t* data, size_t size) {
        if (self->closed_) return false;
        self->mux_->routeFromTcp(*self, classifyPacket(data, size), data, size, keep_open);
        return keep_open && !self->closed_;
      });
      // An opening frame too large to be a STUN check (an HTTP request reads as a length of
      // 18245) is not ICE either: close rather than swallow what follows.
      if (!self->saw_first_frame_ && self->reader_.droppedFrames() > 0) {
        if (self->mux_ != nullptr) ++self->mux_->tcp_refused_;
        keep_open = false;
      }
      if (!keep_open) return self->fail();
      if (!self->closed_) self->read();
    });
  }

  void write() {
    writing_ = true;
    net::async_write(socket_, net::buffer(queue_.front()),
                     [self = shared_from_this()](boost::system::error_code ec, size_t) {
                       if (self->closed_) return;
                       if (ec) return self->fail();
                       self->queued_bytes_ -= self->queue_.front().size();
                       self->queue_.pop_front();
                       if (self->queue_.empty()) {
                         self->writing_ = false;
                       } else {
                         self->write();
                       }
                     });
  }

  // The peer went, or broke the rules: forget the connection (the mux drops its reference).
  void fail() {
    if (closed_) return;
    PacketMux* mux = mux_;
    auto keep = shared_from_this();  // forget() drops the mux's reference
    close();
    mux->forget(*this);
  }

  PacketMux* mux_;
  tcp::socket socket_;
  TransportAddress remote_;
  Rfc4571Reader reader_;
  std::array<uint8_t, 4096> buffer_{};
  std::deque<std::vector<uint8_t>> queue_;
  size_t queued_bytes_ = 0;
  uint64_t dropped_sends_ = 0;
  bool writing_ = false;
  bool closed_ = false;
  bool validated_ = false;
  bool saw_first_frame_ = false;
  std::chrono::steady_clock::time_point opened_ = std::chrono::steady_clock::now();
};

void PacketMux::accept(tcp::acceptor& acceptor) {
  acceptor.async_accept([this, &acceptor](boost::system::error_code ec, tcp::socket socket) {
    if (ec == net::error::operation_aborted) return;
    if (!ec) {
      adopt(std::move(socket));
    } else if (ec == net::error::no_descriptors || ec == net::error::no_buffer_space || ec == net::error::no_memory) {
      // Out of descriptors: let the ICE timeouts free some instead of spinning on accept.
      spdlog::warn("media: ICE-TCP accept failed: {}", ec.message());
      auto timer = std::make_shared<net::steady_timer>(ioc_, std::chrono::milliseconds(250));
      timer->async_wait([this, &acceptor, timer](boost::system::error_code wait_ec) {
        if (!wait_ec) accept(acceptor);
      });
      return;
    }
    accept(acceptor);
  });
}

void PacketMux::adopt(tcp::socket socket) {
  boost::system::error_code ec;
  const TcpEndpoint remote = socket.remote_endpoint(ec);
  if (ec) return;
  const TransportAddress address = toTransportAddress(remote);
  const std::string key = limitKey(address);
  if ((options_.max_tcp_connections > 0 && tcp_.size() >= options_.max_tcp_connections) ||
      (options_.max_tcp_per_address > 0 && tcp_per_address_[key] >= options_.max_tcp_per_address) ||
      tcp_.count(address) > 0) {
    ++tcp_refused_;
    socket.close(ec);
    return;
  }
  socket.set_option(tcp::no_delay(true), ec);
  auto connection = std::make_shared<TcpConnection>(*this, std::move(socket), address);
  tcp_.emplace(address, connection);
  ++tcp_per_address_[key];
  connection->start();
}

void PacketMux::routeFromTcp(TcpConnection& connection, PacketKind kind, uint8_t* data, size_t size, bool& keep_open) {
  if (!connection.sawFirstFrame()) {
    connection.setSawFirstFrame();
    // RFC 6544: the first thing on a passive candidate's connection is the peer's STUN check.
    // Anything else (an HTTP request, a port scan's probe) is not ICE: close at once.
    if (kind != PacketKind::Stun) {
      ++tcp_refused_;
      keep_open = false;
      return;
    }
  }
  // A check that passes makes the session bind this address (bindTuple marks it validated).
  route(kind, data, size, connection.remote());
}

void PacketMux::forget(TcpConnection& connection) {
  const TransportAddress address = connection.remote();
  auto it = tcp_.find(address);
  if (it == tcp_.end() || it->second.get() != &connection) return;
  tcp_.erase(it);
  by_tuple_.erase(address);
  auto count = tcp_per_address_.find(limitKey(address));
  if (count != tcp_per_address_.end() && --count->second == 0) tcp_per_address_.erase(count);
}

void PacketMux::closeTcp(const TransportAddress& address) {
  auto it = tcp_.find(address);
  if (it == tcp_.end()) return;
  std::shared_ptr<TcpConnection> connection = it->second;
  connection->close();
  forget(*connection);
}

void PacketMux::tick(std::chrono::steady_clock::time_point now) {
  std::vector<TransportAddress> expired;
  for (const auto& [address, connection] : tcp_) {
    if (!connection->validated() && now - connection->opened() >= options_.tcp_validation_timeout) {
      expired.push_back(address);
    }
  }
  for (const TransportAddress& address : expired) closeTcp(address);
  // Say it when the kernel drops what we could not read in time (at most every 10 s): without
  // this line viewers just freeze and nothing tells the operator why.
  uint64_t drops = 0;
  size_t buffer = 0;
  for (const auto& port : udp_) {
    drops += port->rx.stats().kernel_drops;
    buffer = std::max(buffer, port->buffers.receive);
  }
  for (const auto& port : udp_) {
    if (port->tx.stats().gso_error != 0 && !port->gso_warned) {
      port->gso_warned = true;
      spdlog::warn(
          "media: the kernel refused UDP GSO on a media port ({}): sending each datagram on its own from now "
          "on (--no-webrtc-udp-gso says so from the start)",
          std::strerror(port->tx.stats().gso_error));
    }
  }
  if (drops > drops_reported_ && now - drops_reported_at_ >= std::chrono::seconds(10)) {
    spdlog::warn(
        "media: the kernel dropped {} incoming datagrams on the media UDP port since the last report ({} in all): "
        "its {} KiB receive buffer overflowed while the media thread was busy. Raise --webrtc-socket-buffer-kib, "
        "or the server is short of CPU",
        drops - drops_reported_, drops, buffer / 1024);
    drops_reported_ = drops;
    drops_reported_at_ = now;
  }
}

// ---------------------------------------------------------------------------------------------
// Ports and routing

namespace {

template <typename Socket, typename Protocol, typename Endpoint>
void openAndBind(Socket& socket, Protocol protocol, const Endpoint& endpoint, bool v6_only, const char* what) {
  boost::system::error_code ec;
  socket.open(protocol, ec);
  if (!ec && v6_only) socket.set_option(net::ip::v6_only(true), ec);
  if (!ec) {
    if constexpr (std::is_same_v<Socket, tcp::acceptor>) socket.set_option(tcp::acceptor::reuse_address(true), ec);
  }
  if (!ec) socket.bind(endpoint, ec);
  if (ec) {
    throw std::runtime_error(std::string("cannot bind ") + what + " " + endpoint.address().to_string() + ":" +
                             std::to_string(endpoint.port()) + ": " + ec.message());
  }
}

}  // namespace

PacketMux::PacketMux(net::io_context& ioc, PacketMuxOptions options) : ioc_(ioc), options_(std::move(options)) {
  boost::system::error_code ec;
  const net::ip::address ip = net::ip::make_address(options_.bind_address, ec);
  if (ec) throw std::runtime_error("cannot bind UDP " + options_.bind_address + ": not an IP address");
  const bool dual = ip.is_v4() && ip.to_v4().is_unspecified();

  // UDP: the given address; with 0.0.0.0 also "::" (IPv6 only, same port) when the host has IPv6.
  auto first = std::make_unique<UdpPort>(ioc_);
  openAndBind(first->socket, ip.is_v4() ? udp::v4() : udp::v6(), udp::endpoint(ip, options_.udp_port), ip.is_v6(),
              "UDP");
  udp_port_ = first->socket.local_endpoint().port();
  ipv6_ = ip.is_v6();
  first->v6 = ip.is_v6();
  udp_.push_back(std::move(first));
  if (dual) {
    auto v6 = std::make_unique<UdpPort>(ioc_);
    try {
      openAndBind(v6->socket, udp::v6(), udp::endpoint(net::ip::address_v6::any(), udp_port_), true, "UDP");
      v6->v6 = true;
      udp_.push_back(std::move(v6));
      ipv6_ = true;
    } catch (const std::exception& e) {
      spdlog::warn("media: no IPv6 ({}); IPv4 only", e.what());
    }
  }

  if (options_.tcp_port) {
    auto listen = [&](const net::ip::address& address, uint16_t port) {
      auto acceptor = std::make_unique<tcp::acceptor>(ioc_);
      openAndBind(*acceptor, address.is_v4() ? tcp::v4() : tcp::v6(), tcp::endpoint(address, port), address.is_v6(),
                  "TCP");
      acceptor->listen(net::socket_base::max_listen_connections);
      const uint16_t bound = acceptor->local_endpoint().port();
      acceptors_.push_back(std::move(acceptor));
      return bound;
    };
    if (*options_.tcp_port == 0) {
      // The same number as the UDP port when it is free (one number to open in a firewall).
      // With a fixed UDP port that number must be free for TCP too; with any UDP port (tests), any.
      try {
        tcp_port_ = listen(ip, udp_port_);
      } catch (const std::runtime_error&) {
        if (options_.udp_port != 0) throw;
        tcp_port_ = listen(ip, 0);
      }
    } else {
      tcp_port_ = listen(ip, *options_.tcp_port);
    }
    if (dual && ipv6_) {
      try {
        listen(net::ip::address_v6::any(), *tcp_port_);
      } catch (const std::exception& e) {
        spdlog::warn("media: ICE-TCP on IPv4 only ({})", e.what());
      }
    }
  }

  for (auto& port : udp_) {
    port->socket.non_blocking(true);
    port->buffers = sizeSocketBuffers(port->socket.native_handle(), options_.socket_buffer_bytes);
    port->tx.enableGso(options_.udp_gso && udpGsoAvailable(port->socket.native_handle()));
    if (options_.socket_buffer_bytes > 0 &&
        (port->buffers.receive < options_.socket_buffer_bytes || port->buffers.send < options_.socket_buffer_bytes)) {
      spdlog::warn(
          "media: the kernel gave the UDP port {} KiB of receive and {} KiB of send buffer, not the {} KiB asked for "
          "(--webrtc-socket-buffer): under load it will drop datagrams. Raise net.core.rmem_max and "
          "net.core.wmem_max (sysctl), or run with CAP_NET_ADMIN",
          port->buffers.receive / 1024, port->buffers.send / 1024, options_.socket_buffer_bytes / 1024);
    }
    receive(*port);
  }
  for (auto& acceptor : acceptors_) accept(*acceptor);
}

PacketMux::~PacketMux() {
  flushAll();
  alive_.reset();
  boost::system::error_code ec;
  for (auto& port : udp_) port->socket.close(ec);
  for (auto& acceptor : acceptors_) acceptor->close(ec);
  for (auto& [address, connection] : tcp_) connection->close();
  tcp_.clear();
}

void PacketMux::addSession(const std::string& local_ufrag, Session* session) { by_ufrag_[local_ufrag] = session; }

void PacketMux::removeSession(Session* session) {
  std::erase_if(by_ufrag_, [session](const auto& kv) { return kv.second == session; });
  std::vector<TransportAddress> tcp_tuples;
  for (const auto& [address, owner] : by_tuple_) {
    if (owner == session && address.tcp) tcp_tuples.push_back(address);
  }
  std::erase_if(by_tuple_, [session](const auto& kv) { return kv.second == session; });
  for (const TransportAddress& address : tcp_tuples) closeTcp(address);
}

void PacketMux::removeUfrag(const std::string& local_ufrag) { by_ufrag_.erase(local_ufrag); }

void PacketMux::bindTuple(const TransportAddress& from, Session* session) {
  if (from.tcp) {
    auto it = tcp_.find(from);
    if (it == tcp_.end()) return;  // the connection is gone already
    it->second->setValidated();
  }
  by_tuple_[from] = session;
}

void PacketMux::send(const uint8_t* data, size_t size, const TransportAddress& to) {
  if (to.tcp) {
    auto it = tcp_.find(to);
    if (it != tcp_.end()) it->second->send(data, size, options_.tcp_send_buffer_bytes);
    return;
  }
  // Gathered and handed to the kernel in batches (sendmmsg): at the end of the receive that
  // caused them, when 64 are waiting, or at the end of this loop turn (timers, DTLS).
  const UdpEndpoint endpoint = toUdpEndpoint(to);
  for (auto& port : udp_) {
    if (port->v6 != to.ipv6) continue;
    if (port->tx.full()) port->tx.flush(port->socket.native_handle());
    if (!port->tx.add(data, size, endpoint.data(), static_cast<socklen_t>(endpoint.size()))) {
      boost::system::error_code ec;  // larger than a batch slot: on its own
      port->socket.send_to(net::buffer(data, size), endpoint, 0, ec);
      return;
    }
    if (!port->flush_posted) {
      port->flush_posted = true;
      net::post(ioc_, [this, p = port.get(), alive = std::weak_ptr<bool>(alive_)] {
        if (alive.expired()) return;
        p->flush_posted = false;
        if (!p->tx.empty()) p->tx.flush(p->socket.native_handle());
      });
    }
    return;
  }
}

PacketMux::Session* PacketMux::route(PacketKind kind, uint8_t* data, size_t size, const TransportAddress& from) {
  Session* session = nullptr;
  if (kind == PacketKind::Stun) {
    if (auto it = by_tuple_.find(from); it != by_tuple_.end()) session = it->second;
    if (auto msg = stun::StunMessage::parse(data, size); msg && msg->username()) {
      std::string_view username = *msg->username();
      if (auto it = by_ufrag_.find(username.substr(0, username.find(':'))); it != by_ufrag_.end()) {
        session = it->second;
      }
    }
  } else if (kind != PacketKind::Unknown) {
    if (auto it = by_tuple_.find(from); it != by_tuple_.end()) session = it->second;
  }
  if (!session) {
    ++dropped_;
    return nullptr;
  }
  session->onPacket(kind, data, size, from);
  return session;
}

PacketMux::Stats PacketMux::stats() const {
  Stats s;
  s.dropped_packets = dropped_;
  s.tcp_connections = tcp_.size();
  s.tcp_refused = tcp_refused_;
  s.udp_ports = udp_.size();
  for (const auto& port : udp_) {
    const ReceiveBatch::Stats& r = port->rx.stats();
    const SendBatch::Stats& t = port->tx.stats();
    s.udp_gso_ports += port->tx.gso() ? 1 : 0;
    s.udp_received += r.received;
    s.udp_receive_calls += r.calls;
    s.udp_kernel_drops += r.kernel_drops;
    s.udp_truncated += r.truncated;
    s.udp_sent += t.sent;
    s.udp_send_calls += t.calls;
    s.udp_send_dropped += t.dropped_full;
    s.udp_send_errors += t.errors;
    s.udp_gso_messages += t.gso_messages;
    if (t.gso_error != 0) s.udp_gso_error = t.gso_error;
    s.udp_receive_buffer = std::max(s.udp_receive_buffer, port->buffers.receive);
    s.udp_send_buffer = std::max(s.udp_send_buffer, port->buffers.send);
  }
  return s;
}

}  // namespace liveroom::media
