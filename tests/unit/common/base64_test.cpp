#include "common/base64.hpp"

#include <gtest/gtest.h>

#include <vector>

namespace liveroom {
namespace {

TEST(Base64, EncodesTheRfc4648Vectors) {
  EXPECT_EQ(encodeBase64(""), "");
  EXPECT_EQ(encodeBase64("f"), "Zg==");
  EXPECT_EQ(encodeBase64("fo"), "Zm8=");
  EXPECT_EQ(encodeBase64("foo"), "Zm9v");
  EXPECT_EQ(encodeBase64("foob"), "Zm9vYg==");
  EXPECT_EQ(encodeBase64("fooba"), "Zm9vYmE=");
  EXPECT_EQ(encodeBase64("foobar"), "Zm9vYmFy");
  EXPECT_EQ(encodeBase64Url("fo"), "Zm8");
  EXPECT_EQ(encodeBase64(std::string("\xfb\xff", 2)), "+/8=");
  EXPECT_EQ(encodeBase64Url(std::string("\xfb\xff", 2)), "-_8");
}

TEST(Base64, DecodesWhatItEncodesAndRefusesTheRest) {
  for (const std::string& s :
       std::vector<std::string>{"", "f", "fo", "foo", "foob", "fooba", "foobar", std::string("\0\xff\x80", 3)}) {
    EXPECT_EQ(decodeBase64(encodeBase64(s)), s);
    EXPECT_EQ(decodeBase64Url(encodeBase64Url(s)), s);
  }
  EXPECT_EQ(decodeBase64("Zm8"), "fo");  // padding optional
  EXPECT_EQ(decodeBase64("Zm9v!"), std::nullopt);
  EXPECT_EQ(decodeBase64("Z"), std::nullopt);
  EXPECT_EQ(decodeBase64("-_8="), std::nullopt);  // the url alphabet is not base64's
  EXPECT_EQ(decodeBase64Url("+/8"), std::nullopt);
  EXPECT_EQ(decodeBase64Url("Zm8="), std::nullopt);  // base64url here is unpadded
}

}  // namespace
}  // namespace liveroom
