// Batched UDP I/O (see udp_batch.hpp).
#include "media/transport/udp_batch.hpp"

#include <netinet/in.h>
#include <netinet/udp.h>

#include <cerrno>
#include <cstring>

namespace liveroom::media {

int systemSendMmsg(int fd, mmsghdr* messages, unsigned count, int flags) {
  return ::sendmmsg(fd, messages, count, flags);
}

int systemRecvMmsg(int fd, mmsghdr* messages, unsigned count, int flags) {
  return ::recvmmsg(fd, messages, count, flags, nullptr);
}

// ---------------------------------------------------------------------------------------------
// SendBatch

bool udpGsoAvailable(int fd) {
  int value = 0;
  socklen_t len = sizeof(value);
  return ::getsockopt(fd, SOL_UDP, UDP_SEGMENT, &value, &len) == 0;
}

SendBatch::SendBatch(SendMmsg send) : send_(std::move(send)), slots_(kSlots) {}

bool SendBatch::add(const uint8_t* data, size_t size, const sockaddr* to, socklen_t to_len) {
  if (count_ == kSlots || size == 0 || size > kSlotBytes || to_len > sizeof(sockaddr_storage)) return false;
  std::memcpy(slots_[count_].data(), data, size);
  iov_[count_] = {slots_[count_].data(), size};
  ++count_;
  if (gso_ && messages_n_ > 0) {
    // The same address as the message before, no longer than its datagrams, room left: one more
    // segment of it.
    const size_t m = messages_n_ - 1;
    msghdr& h = messages_[m].msg_hdr;
    if (!closed_[m] && h.msg_namelen == to_len && std::memcmp(&addresses_[m], to, to_len) == 0 &&
        size <= segment_size_[m] && h.msg_iovlen < kMaxSegments && bytes_[m] + size <= kMaxGsoBytes) {
      ++h.msg_iovlen;
      bytes_[m] += static_cast<uint32_t>(size);
      closed_[m] = size < segment_size_[m];
      return true;
    }
  }
  const size_t m = messages_n_++;
  std::memcpy(&addresses_[m], to, to_len);
  mmsghdr& msg = messages_[m];
  msg = {};
  msg.msg_hdr.msg_name = &addresses_[m];
  msg.msg_hdr.msg_namelen = to_len;
  msg.msg_hdr.msg_iov = &iov_[count_ - 1];
  msg.msg_hdr.msg_iovlen = 1;
  segment_size_[m] = static_cast<uint16_t>(size);
  bytes_[m] = static_cast<uint32_t>(size);
  closed_[m] = false;
  return true;
}

namespace {

// The kernel refused a UDP_SEGMENT message for a reason of GSO itself rather than of its address.
bool gsoRefusal(int error) {
  return error == EIO || error == EINVAL || error == EMSGSIZE || error == ENOPROTOOPT || error == EOPNOTSUPP;
}

}  // namespace

void SendBatch::sendApart(int fd, size_t index) {
  const msghdr& h = messages_[index].msg_hdr;
  for (size_t i = 0; i < h.msg_iovlen; ++i) {
    mmsghdr one{};
    one.msg_hdr.msg_name = h.msg_name;
    one.msg_hdr.msg_namelen = h.msg_namelen;
    one.msg_hdr.msg_iov = &h.msg_iov[i];
    one.msg_hdr.msg_iovlen = 1;
    int n = 0;
    do {
      n = send_(fd, &one, 1, MSG_DONTWAIT);
      ++stats_.calls;
    } while (n < 0 && errno == EINTR);
    if (n == 1) {
      ++stats_.sent;
    } else if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == ENOBUFS)) {
      stats_.dropped_full += h.msg_iovlen - i;
      return;
    } else {
      ++stats_.errors;
      stats_.last_error = n < 0 ? errno : EIO;
    }
  }
}

void SendBatch::flush(int fd) {
  // Messages of several datagrams say their segment size.
  for (size_t m = 0; m < messages_n_; ++m) {
    msghdr& h = messages_[m].msg_hdr;
    if (h.msg_iovlen < 2) continue;
    h.msg_control = control_[m].data();
    h.msg_controllen = control_[m].size();
    cmsghdr* c = CMSG_FIRSTHDR(&h);
    c->cmsg_level = SOL_UDP;
    c->cmsg_type = UDP_SEGMENT;
    c->cmsg_len = CMSG_LEN(sizeof(uint16_t));
    std::memcpy(CMSG_DATA(c), &segment_size_[m], sizeof(uint16_t));
  }
  const auto datagrams = [this](size_t from, size_t to) {
    uint64_t n = 0;
    for (size_t m = from; m < to; ++m) n += messages_[m].msg_hdr.msg_iovlen;
    return n;
  };
  size_t next = 0;
  while (next < messages_n_) {
    const int n = send_(fd, &messages_[next], static_cast<unsigned>(messages_n_ - next), MSG_DONTWAIT);
    if (n > 0) {
      ++stats_.calls;
      const size_t sent_to = next + static_cast<size_t>(n);
      stats_.sent += datagrams(next, sent_to);
      for (size_t m = next; m < sent_to; ++m) stats_.gso_messages += messages_[m].msg_hdr.msg_iovlen > 1 ? 1 : 0;
      next = sent_to;
      continue;
    }
    const int error = n < 0 ? errno : EIO;  // 0 sent and no error: treat as a refusal of one
    if (n < 0) ++stats_.calls;
    if (error == EINTR) continue;
    if (error == EAGAIN || error == EWOULDBLOCK || error == ENOBUFS) {
      stats_.dropped_full += datagrams(next, messages_n_);
      break;
    }
    // The message at `next` was refused (sendmmsg reports an error only for the first message
    // it could not send).
    if (messages_[next].msg_hdr.msg_iovlen > 1 && gsoRefusal(error)) {
      // GSO itself (a device that cannot checksum it, a path MTU below the segment size): this
      // one a datagram at a time, and no more GSO from this batch.
      gso_ = false;
      stats_.gso_error = error;
      sendApart(fd, next);
    } else {
      stats_.errors += messages_[next].msg_hdr.msg_iovlen;
      stats_.last_error = error;
    }
    ++next;
  }
  count_ = 0;
  messages_n_ = 0;
}

// ---------------------------------------------------------------------------------------------
// ReceiveBatch

ReceiveBatch::ReceiveBatch(RecvMmsg receive) : receive_(std::move(receive)), slots_(kSlots) {
  for (size_t i = 0; i < kSlots; ++i) iov_[i] = {slots_[i].data(), kSlotBytes};
  out_.reserve(kSlots);
}

const std::vector<ReceiveBatch::Datagram>& ReceiveBatch::read(int fd, int* error) {
  out_.clear();
  if (error != nullptr) *error = 0;
  for (size_t i = 0; i < kSlots; ++i) {
    mmsghdr& m = messages_[i];
    m = {};
    m.msg_hdr.msg_name = &addresses_[i];
    m.msg_hdr.msg_namelen = sizeof(sockaddr_storage);
    m.msg_hdr.msg_iov = &iov_[i];
    m.msg_hdr.msg_iovlen = 1;
    m.msg_hdr.msg_control = control_[i].data();
    m.msg_hdr.msg_controllen = control_[i].size();
  }
  int n = 0;
  do {
    n = receive_(fd, messages_.data(), kSlots, MSG_DONTWAIT);
  } while (n < 0 && errno == EINTR);
  if (n < 0) {
    if (error != nullptr && errno != EAGAIN && errno != EWOULDBLOCK) *error = errno;
    return out_;
  }
  ++stats_.calls;
  for (int i = 0; i < n && static_cast<size_t>(i) < kSlots; ++i) {
    mmsghdr& m = messages_[static_cast<size_t>(i)];
    for (cmsghdr* c = CMSG_FIRSTHDR(&m.msg_hdr); c != nullptr; c = CMSG_NXTHDR(&m.msg_hdr, c)) {
      if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SO_RXQ_OVFL && c->cmsg_len >= CMSG_LEN(sizeof(uint32_t))) {
        uint32_t drops = 0;
        std::memcpy(&drops, CMSG_DATA(c), sizeof(drops));
        // A running count since the socket opened (32 bits, so it may wrap): keep the newest.
        stats_.kernel_drops = drops;
      }
    }
    if ((m.msg_hdr.msg_flags & MSG_TRUNC) != 0 || m.msg_len > kSlotBytes) {
      ++stats_.truncated;
      continue;
    }
    ++stats_.received;
    out_.push_back({slots_[static_cast<size_t>(i)].data(), m.msg_len,
                    reinterpret_cast<const sockaddr*>(&addresses_[static_cast<size_t>(i)]), m.msg_hdr.msg_namelen});
  }
  return out_;
}

// ---------------------------------------------------------------------------------------------
// Socket buffers

namespace {

size_t granted(int fd, int option) {
  int value = 0;
  socklen_t len = sizeof(value);
  if (::getsockopt(fd, SOL_SOCKET, option, &value, &len) != 0 || value < 0) return 0;
  return static_cast<size_t>(value) / 2;  // Linux reports twice the size (bookkeeping overhead)
}

size_t ask(int fd, int option, int forced, size_t bytes) {
  const int value = bytes > static_cast<size_t>(INT32_MAX / 2) ? INT32_MAX / 2 : static_cast<int>(bytes);
  ::setsockopt(fd, SOL_SOCKET, option, &value, sizeof(value));
  if (granted(fd, option) < bytes) ::setsockopt(fd, SOL_SOCKET, forced, &value, sizeof(value));
  return granted(fd, option);
}

}  // namespace

SocketBuffers sizeSocketBuffers(int fd, size_t bytes) {
  const int on = 1;
  ::setsockopt(fd, SOL_SOCKET, SO_RXQ_OVFL, &on, sizeof(on));
  SocketBuffers b;
  b.receive = bytes > 0 ? ask(fd, SO_RCVBUF, SO_RCVBUFFORCE, bytes) : granted(fd, SO_RCVBUF);
  b.send = bytes > 0 ? ask(fd, SO_SNDBUF, SO_SNDBUFFORCE, bytes) : granted(fd, SO_SNDBUF);
  return b;
}

}  // namespace liveroom::media
