// Standard Webhooks signatures (https://www.standardwebhooks.com): the secret is "whsec_" + the
// base64 of the key, and a message is signed as
//   webhook-signature: v1,<base64 HMAC-SHA256(key, "<webhook-id>.<webhook-timestamp>.<body>")>
// Several keys (a rotation) give several space-separated signatures; receivers accept any one.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace liveroom::webhooks {

class SigningKey {
 public:
  // "whsec_<base64>" (the prefix may be left out) of a key of 24 to 64 bytes. Throws
  // std::invalid_argument saying what is wrong, never repeating the secret.
  static SigningKey parse(std::string_view secret);

  // "v1,<base64 signature>"
  std::string sign(std::string_view message_id, int64_t timestamp_s, std::string_view body) const;

 private:
  explicit SigningKey(std::string key) : key_(std::move(key)) {}
  std::string key_;
};

// The webhook-signature header's value: one "v1,..." per key, space-separated.
std::string signatureHeader(const std::vector<SigningKey>& keys, std::string_view message_id, int64_t timestamp_s,
                            std::string_view body);

}  // namespace liveroom::webhooks
