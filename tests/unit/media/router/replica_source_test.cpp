// ReplicaSource: the publisher as another worker sees it.
#include "media/router/replica_source.hpp"

#include <gtest/gtest.h>

#include <vector>

namespace liveroom::media {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

std::shared_ptr<const SourceDescription> simulcastVp8() {
  auto d = std::make_shared<SourceDescription>();
  SourceDescription::Track& video = d->video.emplace();
  video.kind = sdp::MediaKind::kVideo;
  video.codec.name = "VP8";
  video.codec.payload_type = 96;
  video.codec.clock_rate = 90000;
  video.layers = {{"l", false}, {"h", false}};
  SourceDescription::Track& audio = d->audio.emplace();
  audio.kind = sdp::MediaKind::kAudio;
  audio.codec.name = "opus";
  audio.codec.payload_type = 111;
  audio.codec.clock_rate = 48000;
  audio.layers = {{}};
  return d;
}

std::vector<uint8_t> rtp(uint16_t seq, uint32_t ssrc, size_t payload) {
  std::vector<uint8_t> b(12 + payload, 0xAB);
  b[0] = 0x80;
  b[1] = 96;
  b[2] = static_cast<uint8_t>(seq >> 8);
  b[3] = static_cast<uint8_t>(seq);
  for (int i = 0; i < 4; ++i) b[8 + i] = static_cast<uint8_t>(ssrc >> (24 - 8 * i));
  return b;
}

TEST(ReplicaSource, KeepsLayerStateAndAnswersFromItsOwnBuffer) {
  ReplicaSource replica(simulcastVp8(), 7, nullptr);
  EXPECT_EQ(replica.generation(), 7u);
  const PublisherTrack* video = replica.track(sdp::MediaKind::kVideo);
  ASSERT_NE(video, nullptr);
  ASSERT_TRUE(video->simulcast());
  ASSERT_EQ(video->layers.size(), 2u);
  EXPECT_EQ(video->layers[1].rid, "h");
  ASSERT_NE(replica.track(sdp::MediaKind::kAudio), nullptr);
  EXPECT_FALSE(replica.track(sdp::MediaKind::kAudio)->layers[0].buffer);  // audio is not kept

  const auto t0 = Clock::now();
  replica.updateBitrates(t0);
  for (uint16_t seq = 100; seq < 110; ++seq) {
    auto bytes = rtp(seq, 0x1234, 988);  // 1,000 bytes each
    auto packet = rtp::RtpPacket::parse(bytes.data(), bytes.size());
    ASSERT_TRUE(packet);
    replica.onPacket(sdp::MediaKind::kVideo, 1, *packet, t0 + 10ms);
  }
  EXPECT_EQ(video->layers[1].ssrc, 0x1234u);
  EXPECT_EQ(video->layers[1].first_packet, t0 + 10ms);
  EXPECT_EQ(video->layers[0].ssrc, 0u);
  replica.updateBitrates(t0 + 1s);
  EXPECT_EQ(video->layers[1].bitrate_bps, 80'000u);  // 10 kB in a second
  EXPECT_EQ(video->layers[0].bitrate_bps, 0u);

  const auto stored = replica.storedPacket(sdp::MediaKind::kVideo, 1, 105, t0 + 20ms);
  ASSERT_TRUE(stored);
  EXPECT_EQ(stored->size(), 1000u);
  EXPECT_FALSE(replica.storedPacket(sdp::MediaKind::kVideo, 0, 105, t0 + 20ms));
  EXPECT_FALSE(replica.storedPacket(sdp::MediaKind::kVideo, 1, 99, t0 + 20ms));
  EXPECT_FALSE(replica.storedPacket(sdp::MediaKind::kVideo, 5, 105, t0 + 20ms));  // no such layer
  // A layer index past the description is ignored.
  auto bytes = rtp(1, 1, 10);
  replica.onPacket(sdp::MediaKind::kVideo, 9, *rtp::RtpPacket::parse(bytes.data(), bytes.size()), t0);
}

TEST(ReplicaSource, KeyFrameRequestsCloseTogetherBecomeOneSentWhenTheSpacingEnds) {
  std::vector<int> asked;
  ReplicaSource replica(simulcastVp8(), 1, [&](int layer) { asked.push_back(layer); });
  const auto t0 = Clock::now();
  replica.requestKeyFrame(t0, 1);
  replica.requestKeyFrame(t0 + 5ms, 1);
  replica.requestKeyFrame(t0 + 10ms, 1);
  replica.requestKeyFrame(t0 + 10ms, -1);  // another slot: its own spacing
  EXPECT_EQ(asked, (std::vector<int>{1, -1}));
  replica.flushKeyFrameRequests(t0 + 20ms);  // too early
  EXPECT_EQ(asked.size(), 2u);
  replica.flushKeyFrameRequests(t0 + ReplicaSource::kKeyFrameRequestSpacing);
  EXPECT_EQ(asked, (std::vector<int>{1, -1, 1}));
  replica.flushKeyFrameRequests(t0 + 10 * ReplicaSource::kKeyFrameRequestSpacing);  // nothing pending
  EXPECT_EQ(asked.size(), 3u);
}

}  // namespace
}  // namespace liveroom::media
