// Batched UDP I/O against a scripted kernel: partial sends, EINTR, a full send buffer (EAGAIN),
// a datagram refused on its own, oversized datagrams, truncated reads and SO_RXQ_OVFL counts.
#include "media/transport/udp_batch.hpp"

#include <gtest/gtest.h>
#include <netinet/in.h>
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
// byte and port of every datagram it took.
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
        const auto* data = static_cast<const uint8_t*>(m[i].msg_hdr.msg_iov[0].iov_base);
        const auto* to = static_cast<const sockaddr_in*>(m[i].msg_hdr.msg_name);
        taken_first_bytes.push_back(data[0]);
        taken_ports.push_back(ntohs(to->sin_port));
        m[i].msg_len = static_cast<unsigned>(m[i].msg_hdr.msg_iov[0].iov_len);
      }
      return taken;
    };
  }
  int calls = 0;
  std::vector<uint8_t> taken_first_bytes;
  std::vector<uint16_t> taken_ports;

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
