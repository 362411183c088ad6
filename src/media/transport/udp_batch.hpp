// Batched UDP I/O for the media ports (issue 12): many datagrams per system call.
//
// SendBatch gathers the datagrams one loop turn sends (a frame fanned out to every viewer) and
// hands them to the kernel with sendmmsg(2): one call per batch instead of one per datagram. With
// UDP GSO on (enableGso: the kernel has UDP_SEGMENT), consecutive datagrams to one address that
// have one size (the last may be shorter) travel as one message with a UDP_SEGMENT control
// message: the kernel walks its UDP/IP send path once for all of them and cuts them apart at the
// end (in the NIC, or in software just before it). A viewer's packets of one video frame are
// such a run, since the fan-out sends a whole frame to one viewer before the next
// (InputRouter). A partial send continues where the kernel stopped; EINTR retries; a full
// socket buffer (EAGAIN/EWOULDBLOCK) drops the rest of the batch (real-time media: late is as
// good as lost), and an error that belongs to one message (EPERM from a firewall, ENETUNREACH,
// EMSGSIZE) skips that message only. A message the kernel refuses because of GSO itself (EIO: the
// device cannot checksum it; EINVAL: larger than the path's MTU) is sent again a datagram at a
// time, and GSO stays off for this batch from then on. Everything is counted.
//
// ReceiveBatch reads up to 32 datagrams per recvmmsg(2) call with their source addresses and,
// when SO_RXQ_OVFL is on, the kernel's count of datagrams it dropped on the socket because the
// receive buffer was full (the loss a busy loop inflicts on itself).
//
// Both take the system call as a function (`SendMmsg`, `RecvMmsg`) so tests can play a kernel
// that sends half, fails, or is full. Not thread-safe: one per socket, on its loop.
#pragma once

#include <sys/socket.h>

#include <array>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <vector>

namespace liveroom::media {

using SendMmsg = std::function<int(int fd, mmsghdr* messages, unsigned count, int flags)>;
using RecvMmsg = std::function<int(int fd, mmsghdr* messages, unsigned count, int flags)>;

// The real ones (MSG_DONTWAIT is the caller's flag).
int systemSendMmsg(int fd, mmsghdr* messages, unsigned count, int flags);
int systemRecvMmsg(int fd, mmsghdr* messages, unsigned count, int flags);

// Whether this kernel takes UDP_SEGMENT on `fd` (Linux 4.18 and later).
bool udpGsoAvailable(int fd);

class SendBatch {
 public:
  static constexpr size_t kSlots = 128;       // datagrams per batch
  static constexpr size_t kSlotBytes = 2048;  // the media path's datagrams are at most 1,500 + SRTP
  // One GSO message: at most 64 datagrams (the kernel's UDP_MAX_SEGMENTS is 64 or more) and
  // 60,000 bytes (a UDP datagram's 65,507 less room for the headers).
  static constexpr size_t kMaxSegments = 64;
  static constexpr size_t kMaxGsoBytes = 60'000;

  struct Stats {
    uint64_t sent = 0;          // datagrams the kernel took
    uint64_t calls = 0;         // sendmmsg calls
    uint64_t gso_messages = 0;  // messages that carried several datagrams (UDP_SEGMENT)
    uint64_t dropped_full = 0;  // datagrams dropped because the socket's send buffer was full
    uint64_t errors = 0;        // datagrams the kernel refused (their errno is in last_error)
    int last_error = 0;
    int gso_error = 0;  // why GSO was turned off (0: it was not)
  };

  explicit SendBatch(SendMmsg send = systemSendMmsg);

  // Off by default; turn it on when udpGsoAvailable() says the kernel has it.
  void enableGso(bool on) noexcept { gso_ = on; }
  bool gso() const noexcept { return gso_; }

  // Copies the datagram in; false (and nothing queued) when it is larger than a slot or the
  // address does not fit. Call flush() when full().
  bool add(const uint8_t* data, size_t size, const sockaddr* to, socklen_t to_len);
  bool empty() const noexcept { return count_ == 0; }
  bool full() const noexcept { return count_ == kSlots; }
  size_t size() const noexcept { return count_; }           // datagrams
  size_t messages() const noexcept { return messages_n_; }  // what sendmmsg will be given

  // Hands everything queued to the kernel on `fd` (non-blocking) and empties the batch.
  void flush(int fd);

  const Stats& stats() const noexcept { return stats_; }

 private:
  // The message at `index` (several datagrams) refused as GSO: a datagram at a time.
  void sendApart(int fd, size_t index);

  SendMmsg send_;
  bool gso_ = false;
  std::vector<std::array<uint8_t, kSlotBytes>> slots_;
  std::array<iovec, kSlots> iov_{};  // a message's datagrams are consecutive here
  // Per message (at most one per datagram).
  std::array<sockaddr_storage, kSlots> addresses_{};
  std::array<mmsghdr, kSlots> messages_{};
  std::array<std::array<uint8_t, CMSG_SPACE(sizeof(uint16_t))>, kSlots> control_{};
  std::array<uint16_t, kSlots> segment_size_{};  // the size of its first datagram
  std::array<uint32_t, kSlots> bytes_{};
  std::array<bool, kSlots> closed_{};  // a shorter datagram ended it
  size_t count_ = 0;
  size_t messages_n_ = 0;
  Stats stats_;
};

class ReceiveBatch {
 public:
  static constexpr size_t kSlots = 32;
  static constexpr size_t kSlotBytes = 2048;

  struct Datagram {
    uint8_t* data;
    size_t size;
    const sockaddr* from;
    socklen_t from_len;
  };

  struct Stats {
    uint64_t received = 0;
    uint64_t calls = 0;         // recvmmsg calls that returned datagrams
    uint64_t truncated = 0;     // larger than a slot: dropped
    uint64_t kernel_drops = 0;  // SO_RXQ_OVFL: dropped by the kernel since the socket opened
  };

  explicit ReceiveBatch(RecvMmsg receive = systemRecvMmsg);

  // One recvmmsg call on `fd` (non-blocking). Returns the datagrams read (valid until the next
  // call), empty when nothing was waiting (EAGAIN) or on an error (`error` set unless EAGAIN).
  const std::vector<Datagram>& read(int fd, int* error = nullptr);

  const Stats& stats() const noexcept { return stats_; }

 private:
  RecvMmsg receive_;
  std::vector<std::array<uint8_t, kSlotBytes>> slots_;
  std::array<sockaddr_storage, kSlots> addresses_{};
  std::array<iovec, kSlots> iov_{};
  std::array<mmsghdr, kSlots> messages_{};
  // Room for one SO_RXQ_OVFL control message per datagram.
  std::array<std::array<uint8_t, CMSG_SPACE(sizeof(uint32_t))>, kSlots> control_{};
  std::vector<Datagram> out_;
  Stats stats_;
};

// Asks for `bytes` of receive and send buffer on `fd` (SO_RCVBUF/SO_SNDBUF, then the *FORCE
// variants, which need CAP_NET_ADMIN, when the system maximum is lower) and turns on
// SO_RXQ_OVFL. Returns what the kernel granted (the usable size: half of what getsockopt says).
struct SocketBuffers {
  size_t receive = 0;
  size_t send = 0;
};
SocketBuffers sizeSocketBuffers(int fd, size_t bytes);

}  // namespace liveroom::media
