// Batched UDP I/O against a scripted kernel: partial sends, EINTR, a full send buffer (EAGAIN),
// a datagram refused on its own, oversized datagrams, truncated reads and SO_RXQ_OVFL counts.
#include "media/transport/udp_batch.hpp"

#include <gtest/gtest.h>
#include <netinet/in.h>
#include <netinet/udp.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <deque>
#include <optional>
#include <vector>

namespace liveroom::media {
namespace {

sockaddr_in loopback(uint16_t port) {
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(port);
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  return a;
}

// One scripted sendmmsg answer: how many it takes (>0), or -1 with errno.
struct Step {
  int result;
  int error = 0;
};

// A kernel that answers sendmmsg from a script (then takes everything) and records the first
// byte and port of every datagram it took, and of every message its datagram count and its
// UDP_SEGMENT size (0: none).
class ScriptedKernel {
 public:
  explicit ScriptedKernel(std::deque<Step> script) : script_(std::move(script)) {}
  SendMmsg sender() {
    return [this](int, mmsghdr* m, unsigned count, int flags) {
      EXPECT_TRUE(flags & MSG_DONTWAIT);
      ++calls;
      Step step{static_cast<int>(count)};
      if (!script_.empty()) {
        step = script_.front();
        script_.pop_front();
      }
      if (step.result < 0) {
        errno = step.error;
        return -1;
      }
      const int taken = std::min(step.result, static_cast<int>(count));
      for (int i = 0; i < taken; ++i) {
        const msghdr& h = m[i].msg_hdr;
        const auto* to = static_cast<const sockaddr_in*>(h.msg_name);
        size_t bytes = 0;
        for (size_t k = 0; k < h.msg_iovlen; ++k) {
          taken_first_bytes.push_back(static_cast<const uint8_t*>(h.msg_iov[k].iov_base)[0]);
          taken_ports.push_back(ntohs(to->sin_port));
          bytes += h.msg_iov[k].iov_len;
        }
        uint16_t gso = 0;
        for (const cmsghdr* c = CMSG_FIRSTHDR(&h); c != nullptr;
             c = CMSG_NXTHDR(const_cast<msghdr*>(&h), const_cast<cmsghdr*>(c))) {
          if (c->cmsg_level == SOL_UDP && c->cmsg_type == UDP_SEGMENT) std::memcpy(&gso, CMSG_DATA(c), sizeof(gso));
        }
        message_datagrams.push_back(h.msg_iovlen);
        message_gso.push_back(gso);
        m[i].msg_len = static_cast<unsigned>(bytes);
      }
      return taken;
    };
  }
  int calls = 0;
  std::vector<uint8_t> taken_first_bytes;
  std::vector<uint16_t> taken_ports;
  std::vector<size_t> message_datagrams;
  std::vector<uint16_t> message_gso;

 private:
  std::deque<Step> script_;
};

void fill(SendBatch& batch, int n) {
  for (int i = 0; i < n; ++i) {
    const uint8_t data[3] = {static_cast<uint8_t>(i), 2, 3};
    const sockaddr_in to = loopback(static_cast<uint16_t>(5000 + i));
    ASSERT_TRUE(batch.add(data, sizeof(data), reinterpret_cast<const sockaddr*>(&to), sizeof(to)));
  }
}

TEST(SendBatch, OneCallForAWholeBatchInOrderWithItsAddresses) {
  ScriptedKernel kernel({});
  SendBatch batch(kernel.sender());
  fill(batch, 10);
  EXPECT_EQ(batch.size(), 10u);
  batch.flush(3);
  EXPECT_TRUE(batch.empty());
  EXPECT_EQ(kernel.calls, 1);
  ASSERT_EQ(kernel.taken_first_bytes.size(), 10u);
  for (uint8_t i = 0; i < 10; ++i) {
    EXPECT_EQ(kernel.taken_first_bytes[i], i);
    EXPECT_EQ(kernel.taken_ports[i], 5000 + i);
  }
  EXPECT_EQ(batch.stats().sent, 10u);
  EXPECT_EQ(batch.stats().calls, 1u);
}

TEST(SendBatch, APartialSendContinuesWhereTheKernelStoppedAndEintrRetries) {
  ScriptedKernel kernel({{3}, {-1, EINTR}, {4}});
  SendBatch batch(kernel.sender());
  fill(batch, 10);
  batch.flush(3);
  ASSERT_EQ(kernel.taken_first_bytes.size(), 10u);
  for (uint8_t i = 0; i < 10; ++i) EXPECT_EQ(kernel.taken_first_bytes[i], i) << "each once, in order";
  EXPECT_EQ(kernel.calls, 4);  // 3, EINTR, 4, the last 3
  EXPECT_EQ(batch.stats().sent, 10u);
  EXPECT_EQ(batch.stats().dropped_full, 0u);
}

TEST(SendBatch, AFullSendBufferDropsTheRestAndTheNextBatchStartsClean) {
  ScriptedKernel kernel({{2}, {-1, EAGAIN}});
  SendBatch batch(kernel.sender());
  fill(batch, 10);
  batch.flush(3);
  EXPECT_TRUE(batch.empty());
  EXPECT_EQ(kernel.taken_first_bytes.size(), 2u);
  EXPECT_EQ(batch.stats().dropped_full, 8u);
  EXPECT_EQ(kernel.calls, 2) << "no retry loop on a full buffer";
  fill(batch, 1);
  batch.flush(3);
  EXPECT_EQ(kernel.taken_first_bytes.size(), 3u);
  EXPECT_EQ(kernel.taken_first_bytes.back(), 0);
  EXPECT_EQ(batch.stats().sent, 3u);
}

TEST(SendBatch, ADatagramTheKernelRefusesIsSkippedAlone) {
  // The 4th datagram's address is unreachable (or a firewall says EPERM): sendmmsg sends 3,
  // then fails on it; the other 6 still go.
  ScriptedKernel kernel({{3}, {-1, EPERM}});
  SendBatch batch(kernel.sender());
  fill(batch, 10);
  batch.flush(3);
  ASSERT_EQ(kernel.taken_first_bytes.size(), 9u);
  EXPECT_EQ(kernel.taken_first_bytes[2], 2);
  EXPECT_EQ(kernel.taken_first_bytes[3], 4) << "number 3 was skipped";
  EXPECT_EQ(batch.stats().errors, 1u);
  EXPECT_EQ(batch.stats().last_error, EPERM);
  EXPECT_EQ(batch.stats().sent, 9u);
}

TEST(SendBatch, EveryDatagramRefusedStillEnds) {
  std::deque<Step> script;
  for (int i = 0; i < 100; ++i) script.push_back({-1, ENETUNREACH});
  ScriptedKernel kernel(script);
  SendBatch batch(kernel.sender());
  fill(batch, 5);
  batch.flush(3);
  EXPECT_EQ(kernel.calls, 5);
  EXPECT_EQ(batch.stats().errors, 5u);
  EXPECT_TRUE(batch.empty());
}

TEST(SendBatch, TooLargeOrFullIsRefusedWithoutCopying) {
  ScriptedKernel kernel({});
  SendBatch batch(kernel.sender());
  std::vector<uint8_t> big(SendBatch::kSlotBytes + 1, 7);
  const sockaddr_in to = loopback(1);
  EXPECT_FALSE(batch.add(big.data(), big.size(), reinterpret_cast<const sockaddr*>(&to), sizeof(to)));
  EXPECT_TRUE(batch.empty());
  fill(batch, static_cast<int>(SendBatch::kSlots));
  EXPECT_TRUE(batch.full());
  const uint8_t one = 1;
  EXPECT_FALSE(batch.add(&one, 1, reinterpret_cast<const sockaddr*>(&to), sizeof(to)));
  batch.flush(3);
  EXPECT_EQ(kernel.taken_first_bytes.size(), SendBatch::kSlots);
}

// Adds a datagram of `size` bytes starting with `tag` for 127.0.0.1:`port`.
void addOne(SendBatch& batch, uint16_t port, size_t size, uint8_t tag) {
  std::vector<uint8_t> data(size, 0);
  data[0] = tag;
  const sockaddr_in to = loopback(port);
  ASSERT_TRUE(batch.add(data.data(), data.size(), reinterpret_cast<const sockaddr*>(&to), sizeof(to)));
}

// A viewer's packets of one frame (one address, one size, the last shorter) become one message
// with UDP_SEGMENT; another address, a larger datagram or one after the shorter last starts the
// next message; order is kept.
TEST(SendBatch, WithGsoARunToOneAddressIsOneMessage) {
  ScriptedKernel kernel({});
  SendBatch batch(kernel.sender());
  batch.enableGso(true);
  addOne(batch, 5000, 1200, 1);
  addOne(batch, 5000, 1200, 2);
  addOne(batch, 5000, 700, 3);   // the frame's last, shorter: ends the message
  addOne(batch, 5000, 700, 4);   // so this starts the next
  addOne(batch, 5001, 1200, 5);  // another viewer
  addOne(batch, 5001, 1200, 6);
  addOne(batch, 5001, 1300, 7);  // larger than the run's segments
  addOne(batch, 5000, 100, 8);   // back to the first address: a message of its own
  EXPECT_EQ(batch.size(), 8u);
  EXPECT_EQ(batch.messages(), 5u);
  batch.flush(3);
  EXPECT_EQ(kernel.calls, 1);
  EXPECT_EQ(kernel.message_datagrams, (std::vector<size_t>{3, 1, 2, 1, 1}));
  EXPECT_EQ(kernel.message_gso, (std::vector<uint16_t>{1200, 0, 1200, 0, 0}));
  EXPECT_EQ(kernel.taken_first_bytes, (std::vector<uint8_t>{1, 2, 3, 4, 5, 6, 7, 8}));
  EXPECT_EQ(kernel.taken_ports, (std::vector<uint16_t>{5000, 5000, 5000, 5000, 5001, 5001, 5001, 5000}));
  EXPECT_EQ(batch.stats().sent, 8u);
  EXPECT_EQ(batch.stats().gso_messages, 2u);
  // The next batch starts clean: no message carries over the control data.
  addOne(batch, 5000, 1200, 9);
  batch.flush(3);
  EXPECT_EQ(kernel.message_gso.back(), 0);
}

TEST(SendBatch, WithoutGsoEveryDatagramIsItsOwnMessage) {
  ScriptedKernel kernel({});
  SendBatch batch(kernel.sender());
  for (uint8_t i = 0; i < 5; ++i) addOne(batch, 5000, 1200, i);
  EXPECT_EQ(batch.messages(), 5u);
  batch.flush(3);
  EXPECT_EQ(kernel.message_datagrams, (std::vector<size_t>(5, 1)));
  EXPECT_EQ(batch.stats().gso_messages, 0u);
}

TEST(SendBatch, AGsoMessageStopsAtTheKernelsLimits) {
  ScriptedKernel kernel({});
  SendBatch batch(kernel.sender());
  batch.enableGso(true);
  // 64 datagrams at most in one message...
  for (int i = 0; i < 70; ++i) addOne(batch, 5000, 100, static_cast<uint8_t>(i));
  // ...and 60,000 bytes: 1,400-byte datagrams, 42 fit.
  for (int i = 0; i < 50; ++i) addOne(batch, 5001, 1400, static_cast<uint8_t>(i));
  batch.flush(3);
  EXPECT_EQ(kernel.message_datagrams, (std::vector<size_t>{64, 6, 42, 8}));
  EXPECT_EQ(batch.stats().sent, 120u);
}

TEST(SendBatch, PartialSendsAndAFullBufferCountDatagramsNotMessages) {
  ScriptedKernel kernel({{1}, {-1, EAGAIN}});
  SendBatch batch(kernel.sender());
  batch.enableGso(true);
  for (int i = 0; i < 4; ++i) addOne(batch, 5000, 1000, static_cast<uint8_t>(i));
  for (int i = 0; i < 3; ++i) addOne(batch, 5001, 1000, static_cast<uint8_t>(10 + i));
  batch.flush(3);
  EXPECT_EQ(batch.stats().sent, 4u) << "the first message, four datagrams";
  EXPECT_EQ(batch.stats().dropped_full, 3u);
}

// A device that cannot do GSO (EIO) or a path MTU below the segment size (EINVAL): the refused
// message goes a datagram at a time, every later one too, and nothing is lost or reordered.
TEST(SendBatch, AKernelThatRefusesGsoGetsTheDatagramsOneByOneFromThenOn) {
  ScriptedKernel kernel({{-1, EIO}});
  SendBatch batch(kernel.sender());
  batch.enableGso(true);
  for (int i = 0; i < 3; ++i) addOne(batch, 5000, 1000, static_cast<uint8_t>(i));
  for (int i = 0; i < 2; ++i) addOne(batch, 5001, 1000, static_cast<uint8_t>(10 + i));
  batch.flush(3);
  EXPECT_FALSE(batch.gso());
  EXPECT_EQ(batch.stats().gso_error, EIO);
  EXPECT_EQ(batch.stats().errors, 0u);
  EXPECT_EQ(kernel.taken_first_bytes, (std::vector<uint8_t>{0, 1, 2, 10, 11}));
  EXPECT_EQ(kernel.message_datagrams, (std::vector<size_t>{1, 1, 1, 2}))
      << "the batch's later message was already made";
  for (int i = 0; i < 3; ++i) addOne(batch, 5000, 1000, static_cast<uint8_t>(20 + i));
  EXPECT_EQ(batch.messages(), 3u) << "GSO stays off";
  batch.flush(3);
  EXPECT_EQ(batch.stats().sent, 8u);
}

// Against this machine's kernel: a GSO message over loopback arrives as separate datagrams, in
// order, each whole.
TEST(SendBatch, TheRealKernelCutsAGsoMessageIntoItsDatagrams) {
  const int rx = ::socket(AF_INET, SOCK_DGRAM, 0);
  const int tx = ::socket(AF_INET, SOCK_DGRAM, 0);
  ASSERT_GE(rx, 0);
  ASSERT_GE(tx, 0);
  sockaddr_in at = loopback(0);
  ASSERT_EQ(::bind(rx, reinterpret_cast<const sockaddr*>(&at), sizeof(at)), 0);
  socklen_t len = sizeof(at);
  ASSERT_EQ(::getsockname(rx, reinterpret_cast<sockaddr*>(&at), &len), 0);
  ASSERT_TRUE(udpGsoAvailable(tx)) << "this kernel has UDP_SEGMENT (Linux 4.18+)";
  SendBatch batch;
  batch.enableGso(true);
  for (int i = 0; i < 5; ++i) {
    std::vector<uint8_t> data(i < 4 ? 1200 : 300, static_cast<uint8_t>(0xA0 + i));
    ASSERT_TRUE(batch.add(data.data(), data.size(), reinterpret_cast<const sockaddr*>(&at), sizeof(at)));
  }
  EXPECT_EQ(batch.messages(), 1u);
  batch.flush(tx);
  EXPECT_EQ(batch.stats().gso_messages, 1u);
  EXPECT_EQ(batch.stats().sent, 5u);
  for (int i = 0; i < 5; ++i) {
    std::array<uint8_t, 2048> in{};
    const ssize_t n = ::recv(rx, in.data(), in.size(), 0);
    ASSERT_EQ(n, i < 4 ? 1200 : 300);
    EXPECT_EQ(in[0], 0xA0 + i);
    EXPECT_EQ(in[static_cast<size_t>(n) - 1], 0xA0 + i);
  }
  ::close(rx);
  ::close(tx);
}

// recvmmsg played by a script: each call hands over the datagrams queued for it.
struct Incoming {
  std::vector<uint8_t> bytes;
  uint16_t port;
  bool truncated = false;
  std::optional<uint32_t> drops;  // an SO_RXQ_OVFL control message
};

RecvMmsg scriptedReceive(std::deque<std::vector<Incoming>>& calls) {
  return [&calls](int, mmsghdr* m, unsigned count, int flags) {
    EXPECT_TRUE(flags & MSG_DONTWAIT);
    if (calls.empty()) {
      errno = EAGAIN;
      return -1;
    }
    const std::vector<Incoming> batch = calls.front();
    calls.pop_front();
    unsigned n = 0;
    for (const Incoming& in : batch) {
      if (n == count) break;
      msghdr& h = m[n].msg_hdr;
      const size_t len = std::min(in.bytes.size(), h.msg_iov[0].iov_len);
      std::memcpy(h.msg_iov[0].iov_base, in.bytes.data(), len);
      const sockaddr_in from = loopback(in.port);
      std::memcpy(h.msg_name, &from, sizeof(from));
      h.msg_namelen = sizeof(from);
      h.msg_flags = in.truncated ? MSG_TRUNC : 0;
      if (in.drops) {
        cmsghdr* c = CMSG_FIRSTHDR(&h);
        c->cmsg_level = SOL_SOCKET;
        c->cmsg_type = SO_RXQ_OVFL;
        c->cmsg_len = CMSG_LEN(sizeof(uint32_t));
        std::memcpy(CMSG_DATA(c), &*in.drops, sizeof(uint32_t));
        h.msg_controllen = CMSG_SPACE(sizeof(uint32_t));
      } else {
        h.msg_controllen = 0;
      }
      m[n].msg_len = static_cast<unsigned>(in.truncated ? in.bytes.size() : len);
      ++n;
    }
    return static_cast<int>(n);
  };
}

TEST(ReceiveBatch, ReadsSeveralDatagramsWithTheirSourcesAndTheKernelsDropCount) {
  std::deque<std::vector<Incoming>> calls = {
      {{{1, 2, 3}, 4000}, {{4, 5}, 4001, false, 17u}, {std::vector<uint8_t>(3000, 9), 4002, true}}};
  ReceiveBatch rx(scriptedReceive(calls));
  const auto& got = rx.read(3);
  ASSERT_EQ(got.size(), 2u) << "the truncated one is dropped";
  EXPECT_EQ(got[0].size, 3u);
  EXPECT_EQ(got[0].data[2], 3);
  EXPECT_EQ(ntohs(reinterpret_cast<const sockaddr_in*>(got[0].from)->sin_port), 4000);
  EXPECT_EQ(got[1].size, 2u);
  EXPECT_EQ(ntohs(reinterpret_cast<const sockaddr_in*>(got[1].from)->sin_port), 4001);
  EXPECT_EQ(rx.stats().received, 2u);
  EXPECT_EQ(rx.stats().truncated, 1u);
  EXPECT_EQ(rx.stats().kernel_drops, 17u);
  int error = -1;
  EXPECT_TRUE(rx.read(3, &error).empty()) << "nothing waiting";
  EXPECT_EQ(error, 0) << "EAGAIN is no error";
  EXPECT_EQ(rx.stats().calls, 1u);
}

TEST(ReceiveBatch, ARealErrorIsReportedAndEintrRetried) {
  int call = 0;
  ReceiveBatch rx([&call](int, mmsghdr*, unsigned, int) {
    errno = ++call == 1 ? EINTR : ECONNREFUSED;
    return -1;
  });
  int error = 0;
  EXPECT_TRUE(rx.read(3, &error).empty());
  EXPECT_EQ(error, ECONNREFUSED);
  EXPECT_EQ(call, 2);
}

TEST(ReceiveBatch, AgainstARealSocketPair) {
  const int a = ::socket(AF_INET, SOCK_DGRAM, 0);
  const int b = ::socket(AF_INET, SOCK_DGRAM, 0);
  ASSERT_GE(a, 0);
  ASSERT_GE(b, 0);
  sockaddr_in any = loopback(0);
  ASSERT_EQ(::bind(a, reinterpret_cast<sockaddr*>(&any), sizeof(any)), 0);
  socklen_t len = sizeof(any);
  ASSERT_EQ(::getsockname(a, reinterpret_cast<sockaddr*>(&any), &len), 0);
  const SocketBuffers granted = sizeSocketBuffers(a, 1 << 20);
  EXPECT_GT(granted.receive, 0u);
  SendBatch tx;
  for (uint8_t i = 0; i < 5; ++i) {
    const uint8_t data[2] = {i, 0xEE};
    ASSERT_TRUE(tx.add(data, 2, reinterpret_cast<const sockaddr*>(&any), sizeof(any)));
  }
  tx.flush(b);
  EXPECT_EQ(tx.stats().sent, 5u);
  ReceiveBatch rx;
  std::vector<uint8_t> firsts;
  for (int tries = 0; tries < 100 && firsts.size() < 5; ++tries) {
    for (const auto& d : rx.read(a)) firsts.push_back(d.data[0]);
  }
  EXPECT_EQ(firsts, (std::vector<uint8_t>{0, 1, 2, 3, 4}));
  ::close(a);
  ::close(b);
}

}  // namespace
}  // namespace liveroom::media
