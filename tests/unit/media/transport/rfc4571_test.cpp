// RFC 4571 framing: frames split across reads, coalesced in one, oversized and empty ones.
#include "media/transport/rfc4571.hpp"

#include <gtest/gtest.h>

#include <random>
#include <string>
#include <vector>

namespace liveroom::media {
namespace {

using Bytes = std::vector<uint8_t>;

Bytes frame(const std::string& s) {
  Bytes out;
  appendRfc4571Frame(out, reinterpret_cast<const uint8_t*>(s.data()), s.size());
  return out;
}

struct Collector {
  std::vector<std::string> frames;
  bool operator()(uint8_t* d, size_t n) {
    frames.emplace_back(reinterpret_cast<char*>(d), n);
    return true;
  }
};

TEST(Rfc4571, OneFrameInOneRead) {
  Rfc4571Reader r(1500);
  Collector c;
  const Bytes f = frame("hello");
  EXPECT_EQ(f.size(), 7u);
  EXPECT_EQ(f[0], 0);
  EXPECT_EQ(f[1], 5);
  EXPECT_TRUE(r.feed(f.data(), f.size(), std::ref(c)));
  EXPECT_EQ(c.frames, std::vector<std::string>{"hello"});
  EXPECT_TRUE(r.atBoundary());
}

TEST(Rfc4571, FramesSplitAnywhereAndCoalesced) {
  Bytes stream;
  std::vector<std::string> sent;
  for (int i = 0; i < 50; ++i) {
    sent.push_back(std::string(static_cast<size_t>(1 + i * 29), static_cast<char>('a' + i % 26)));
    const Bytes f = frame(sent.back());
    stream.insert(stream.end(), f.begin(), f.end());
  }
  std::mt19937 rng(7);
  for (int round = 0; round < 20; ++round) {
    Rfc4571Reader r(1500);
    Collector c;
    size_t at = 0;
    while (at < stream.size()) {
      // Pieces of 1 byte up to several frames at once.
      const size_t n = std::min(stream.size() - at, static_cast<size_t>(rng() % 3000 + 1));
      ASSERT_TRUE(r.feed(stream.data() + at, n, std::ref(c)));
      at += n;
    }
    EXPECT_EQ(c.frames, sent);
    EXPECT_TRUE(r.atBoundary());
  }
}

TEST(Rfc4571, OversizedAndEmptyFramesAreSkippedWhole) {
  Rfc4571Reader r(100);
  Collector c;
  Bytes stream = frame(std::string(5000, 'x'));  // over the limit: skipped, its bytes too
  const Bytes empty = {0, 0};
  stream.insert(stream.end(), empty.begin(), empty.end());
  const Bytes ok = frame("after");
  stream.insert(stream.end(), ok.begin(), ok.end());
  for (size_t i = 0; i < stream.size(); i += 333) {
    r.feed(stream.data() + i, std::min<size_t>(333, stream.size() - i), std::ref(c));
  }
  EXPECT_EQ(c.frames, std::vector<std::string>{"after"});
  EXPECT_EQ(r.droppedFrames(), 2u);
}

TEST(Rfc4571, TheLargestLengthPrefixCostsOnlyItsBytes) {
  Rfc4571Reader r(1500);
  Collector c;
  const Bytes prefix = {0xFF, 0xFF};
  r.feed(prefix.data(), prefix.size(), std::ref(c));
  const Bytes junk(65535, 0xAB);
  r.feed(junk.data(), junk.size(), std::ref(c));
  const Bytes ok = frame("next");
  r.feed(ok.data(), ok.size(), std::ref(c));
  EXPECT_EQ(c.frames, std::vector<std::string>{"next"});
}

TEST(Rfc4571, TheCalleeCanStopTheReader) {
  Rfc4571Reader r(1500);
  Bytes stream = frame("one");
  const Bytes two = frame("two");
  stream.insert(stream.end(), two.begin(), two.end());
  int calls = 0;
  EXPECT_FALSE(r.feed(stream.data(), stream.size(), [&](uint8_t*, size_t) { return ++calls < 1; }));
  EXPECT_EQ(calls, 1);
}

TEST(Rfc4571, WriterRefusesWhatCannotBeFramed) {
  Bytes out;
  const Bytes big(65536, 0);
  EXPECT_THROW(appendRfc4571Frame(out, big.data(), big.size()), std::length_error);
  EXPECT_TRUE(out.empty());
}

}  // namespace
}  // namespace liveroom::media
