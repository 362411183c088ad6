// Shared UDP port and datagram routing (see udp_mux.hpp).
#include "media/transport/udp_mux.hpp"

#include <functional>
#include <stdexcept>

#include <spdlog/spdlog.h>

namespace liveroom::media {

namespace net = boost::asio;
using udp = net::ip::udp;

stun::TransportAddress toTransportAddress(const UdpEndpoint& endpoint) {
  auto address = endpoint.address();
  if (address.is_v4()) return stun::TransportAddress::v4(address.to_v4().to_bytes(), endpoint.port());
  return stun::TransportAddress::v6(address.to_v6().to_bytes(), endpoint.port());
}

UdpEndpoint toUdpEndpoint(const stun::TransportAddress& address) {
  if (!address.ipv6) {
    net::ip::address_v4::bytes_type bytes{};
    std::copy_n(address.ip.begin(), 4, bytes.begin());
    return {net::ip::address_v4(bytes), address.port};
  }
  net::ip::address_v6::bytes_type bytes{};
  std::copy_n(address.ip.begin(), 16, bytes.begin());
  return {net::ip::address_v6(bytes), address.port};
}

size_t UdpMux::EndpointHash::operator()(const UdpEndpoint& e) const noexcept {
  size_t h = std::hash<unsigned short>{}(e.port());
  auto address = e.address();
  if (address.is_v4()) return h ^ (std::hash<uint32_t>{}(address.to_v4().to_uint()) << 1);
  for (uint8_t b : address.to_v6().to_bytes()) h = h * 131 + b;
  return h;
}

UdpMux::UdpMux(net::io_context& ioc, const std::string& address, uint16_t port) : socket_(ioc) {
  boost::system::error_code ec;
  auto ip = net::ip::make_address(address, ec);
  if (!ec) socket_.open(ip.is_v4() ? udp::v4() : udp::v6(), ec);
  if (!ec) socket_.bind({ip, port}, ec);
  if (ec) {
    throw std::runtime_error("cannot bind UDP " + address + ":" + std::to_string(port) + ": " + ec.message());
  }
  receive();
}

UdpMux::~UdpMux() {
  boost::system::error_code ec;
  socket_.close(ec);
}

uint16_t UdpMux::port() const { return socket_.local_endpoint().port(); }

void UdpMux::addSession(const std::string& local_ufrag, Session* session) { by_ufrag_[local_ufrag] = session; }

void UdpMux::removeSession(Session* session) {
  std::erase_if(by_ufrag_, [session](const auto& kv) { return kv.second == session; });
  std::erase_if(by_tuple_, [session](const auto& kv) { return kv.second == session; });
}

void UdpMux::removeUfrag(const std::string& local_ufrag) { by_ufrag_.erase(local_ufrag); }

void UdpMux::bindTuple(const UdpEndpoint& from, Session* session) { by_tuple_[from] = session; }

void UdpMux::send(const uint8_t* data, size_t size, const UdpEndpoint& to) {
  // Synchronous and non-blocking in effect: UDP sends complete at once unless the
  // kernel buffer is full, and then dropping is what real-time media wants anyway.
  boost::system::error_code ec;
  socket_.send_to(net::buffer(data, size), to, 0, ec);
  if (ec && ec != net::error::would_block)
    spdlog::debug("media: send to {} failed: {}", to.address().to_string(), ec.message());
}

void UdpMux::receive() {
  socket_.async_receive_from(net::buffer(buffer_), from_, [this](boost::system::error_code ec, size_t size) {
    if (ec == net::error::operation_aborted) return;
    if (!ec) route(size);
    receive();
  });
}

void UdpMux::route(size_t size) {
  PacketKind kind = classifyPacket(buffer_.data(), size);
  Session* session = nullptr;
  if (kind == PacketKind::Stun) {
    if (auto it = by_tuple_.find(from_); it != by_tuple_.end()) session = it->second;
    if (auto msg = stun::StunMessage::parse(buffer_.data(), size); msg && msg->username()) {
      std::string_view username = *msg->username();
      if (auto it = by_ufrag_.find(username.substr(0, username.find(':'))); it != by_ufrag_.end()) {
        session = it->second;
      }
    }
  } else if (kind != PacketKind::Unknown) {
    if (auto it = by_tuple_.find(from_); it != by_tuple_.end()) session = it->second;
  }
  if (!session) {
    ++dropped_;
    return;
  }
  session->onDatagram(kind, buffer_.data(), size, from_);
}

}  // namespace liveroom::media
