// Batched UDP I/O (see udp_batch.hpp).
#include "media/transport/udp_batch.hpp"

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

SendBatch::SendBatch(SendMmsg send) : send_(std::move(send)), slots_(kSlots) {}

bool SendBatch::add(const uint8_t* data, size_t size, const sockaddr* to, socklen_t to_len) {
  if (count_ == kSlots || size > kSlotBytes || to_len > sizeof(sockaddr_storage)) return false;
  std::memcpy(slots_[count_].data(), data, size);
  std::memcpy(&addresses_[count_], to, to_len);
  iov_[count_] = {slots_[count_].data(), size};
  mmsghdr& m = messages_[count_];
  m = {};
  m.msg_hdr.msg_name = &addresses_[count_];
  m.msg_hdr.msg_namelen = to_len;
  m.msg_hdr.msg_iov = &iov_[count_];
  m.msg_hdr.msg_iovlen = 1;
  ++count_;
  return true;
}

void SendBatch::flush(int fd) {
  size_t next = 0;
  while (next < count_) {
    const int n = send_(fd, &messages_[next], static_cast<unsigned>(count_ - next), MSG_DONTWAIT);
    if (n > 0) {
      ++stats_.calls;
      stats_.sent += static_cast<uint64_t>(n);
      next += static_cast<size_t>(n);
      continue;
    }
    const int error = n < 0 ? errno : EIO;  // 0 sent and no error: treat as a refusal of one
    if (n < 0) ++stats_.calls;
    if (error == EINTR) continue;
    if (error == EAGAIN || error == EWOULDBLOCK || error == ENOBUFS) {
      stats_.dropped_full += count_ - next;
      break;
    }
    // The datagram at `next` was refused (sendmmsg reports an error only for the first message
    // it could not send): skip it and send the rest.
    ++stats_.errors;
    stats_.last_error = error;
    ++next;
  }
  count_ = 0;
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
