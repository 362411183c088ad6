// Key-frame starts in VP8 and H.264 payloads, and what is not one.
#include "media/rtp/keyframe.hpp"

#include <gtest/gtest.h>

#include <vector>

namespace liveroom::media::rtp {
namespace {

bool vp8(std::vector<uint8_t> p) { return isKeyFrameStart("VP8", p); }
bool h264(std::vector<uint8_t> p) { return isKeyFrameStart("H264", p); }

TEST(KeyFrame, Vp8) {
  EXPECT_TRUE(vp8({0x10, 0x00}));                          // S=1, PID 0, P=0
  EXPECT_FALSE(vp8({0x10, 0x01}));                         // P=1: inter frame
  EXPECT_FALSE(vp8({0x00, 0x00}));                         // not the start of a partition
  EXPECT_FALSE(vp8({0x11, 0x00}));                         // partition 1
  EXPECT_TRUE(vp8({0x90, 0x80, 0x81, 0x23, 0x00}));        // X, I with a 15-bit PictureID
  EXPECT_TRUE(vp8({0x90, 0xE0, 0x05, 0x07, 0x40, 0x00}));  // X, I (7-bit), L, T
  EXPECT_FALSE(vp8({0x90, 0xE0, 0x05, 0x07, 0x40, 0x01}));
  EXPECT_FALSE(vp8({0x90, 0x80}));  // truncated
  EXPECT_FALSE(vp8({}));
  EXPECT_TRUE(isKeyFrameStart("vp8", std::vector<uint8_t>{0x10, 0x00}));
}

TEST(KeyFrame, H264) {
  EXPECT_TRUE(h264({0x65, 0x88}));   // IDR slice
  EXPECT_TRUE(h264({0x67, 0x42}));   // SPS
  EXPECT_FALSE(h264({0x41, 0x9a}));  // non-IDR slice
  EXPECT_FALSE(h264({0x68, 0xce}));  // PPS alone
  // STAP-A with SPS + PPS, and one with only a non-IDR slice; a size that overruns.
  EXPECT_TRUE(h264({0x78, 0x00, 0x02, 0x67, 0x42, 0x00, 0x02, 0x68, 0xce}));
  EXPECT_FALSE(h264({0x78, 0x00, 0x02, 0x41, 0x9a}));
  EXPECT_FALSE(h264({0x78, 0x00, 0x09, 0x67}));
  // FU-A: the start of an IDR, a middle fragment, the start of a non-IDR.
  EXPECT_TRUE(h264({0x7c, 0x85, 0x88}));
  EXPECT_FALSE(h264({0x7c, 0x05, 0x88}));
  EXPECT_FALSE(h264({0x7c, 0x81, 0x88}));
  EXPECT_FALSE(h264({0x7c}));
  EXPECT_FALSE(isKeyFrameStart("opus", std::vector<uint8_t>{0x65}));
}

}  // namespace
}  // namespace liveroom::media::rtp
