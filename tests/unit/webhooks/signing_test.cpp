#include "webhooks/signing.hpp"

#include <gtest/gtest.h>

#include <stdexcept>

namespace liveroom::webhooks {
namespace {

// The Standard Webhooks reference library (PyPI standardwebhooks 1.3.0) signs this message with
// this secret as below: Webhook(secret).sign(id, datetime.fromtimestamp(1614265330), payload).
constexpr const char* kSecret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
constexpr const char* kId = "msg_p5jXN8AQM9LWM0D4loKWxJek";
constexpr int64_t kTimestamp = 1614265330;
constexpr const char* kPayload = R"({"test": 2432232314})";
constexpr const char* kSignature = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=";

TEST(WebhookSigning, MatchesTheReferenceLibrary) {
  EXPECT_EQ(SigningKey::parse(kSecret).sign(kId, kTimestamp, kPayload), kSignature);
  // The prefix may be left out.
  EXPECT_EQ(SigningKey::parse("MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw").sign(kId, kTimestamp, kPayload), kSignature);
}

TEST(WebhookSigning, AnyChangeChangesTheSignature) {
  const SigningKey key = SigningKey::parse(kSecret);
  EXPECT_NE(key.sign("msg_other", kTimestamp, kPayload), kSignature);
  EXPECT_NE(key.sign(kId, kTimestamp + 1, kPayload), kSignature);
  EXPECT_NE(key.sign(kId, kTimestamp, R"({"test": 2432232315})"), kSignature);
}

TEST(WebhookSigning, ARotationSignsWithEveryKey) {
  const std::vector<SigningKey> keys{SigningKey::parse(kSecret),
                                     SigningKey::parse("whsec_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=")};
  const std::string header = signatureHeader(keys, kId, kTimestamp, kPayload);
  EXPECT_EQ(header.substr(0, header.find(' ')), kSignature);
  EXPECT_EQ(header.substr(header.find(' ') + 1), keys[1].sign(kId, kTimestamp, kPayload));
}

TEST(WebhookSigning, BadSecretsAreRefusedWithoutRepeatingThem) {
  for (const char* bad : {"whsec_not base64!", "whsec_c2hvcnQ=", "", "whsec_"}) {
    try {
      SigningKey::parse(bad);
      ADD_FAILURE() << "accepted " << bad;
    } catch (const std::invalid_argument& e) {
      const std::string message = e.what();
      EXPECT_NE(message.find("webhook secret"), std::string::npos) << message;
      if (std::string(bad).size() > 6) EXPECT_EQ(message.find(std::string(bad).substr(6)), std::string::npos);
    }
  }
  // 65 bytes is too long.
  EXPECT_THROW(SigningKey::parse("whsec_" + std::string(88, 'A')), std::invalid_argument);
}

}  // namespace
}  // namespace liveroom::webhooks
