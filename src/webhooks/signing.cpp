// Standard Webhooks signatures (see signing.hpp).
#include "webhooks/signing.hpp"

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <stdexcept>

#include <fmt/format.h>

#include "common/base64.hpp"

namespace liveroom::webhooks {

SigningKey SigningKey::parse(std::string_view secret) {
  constexpr std::string_view kPrefix = "whsec_";
  if (secret.starts_with(kPrefix)) secret.remove_prefix(kPrefix.size());
  const std::optional<std::string> key = decodeBase64(secret);
  if (!key) {
    throw std::invalid_argument(
        "a webhook secret is \"whsec_\" followed by base64 (e.g. whsec_$(openssl rand -base64 32)); this one is not "
        "base64");
  }
  if (key->size() < 24 || key->size() > 64) {
    throw std::invalid_argument(fmt::format(
        "a webhook secret's key must be 24 to 64 bytes (e.g. whsec_$(openssl rand -base64 32)); this one has {}",
        key->size()));
  }
  return SigningKey(*key);
}

std::string SigningKey::sign(std::string_view message_id, int64_t timestamp_s, std::string_view body) const {
  const std::string signed_content = fmt::format("{}.{}.{}", message_id, timestamp_s, body);
  unsigned char mac[EVP_MAX_MD_SIZE];
  unsigned int mac_len = 0;
  if (HMAC(EVP_sha256(), key_.data(), static_cast<int>(key_.size()),
           reinterpret_cast<const unsigned char*>(signed_content.data()), signed_content.size(), mac,
           &mac_len) == nullptr) {
    throw std::runtime_error("HMAC-SHA256 failed");
  }
  return "v1," + encodeBase64(std::string_view(reinterpret_cast<const char*>(mac), mac_len));
}

std::string signatureHeader(const std::vector<SigningKey>& keys, std::string_view message_id, int64_t timestamp_s,
                            std::string_view body) {
  std::string header;
  for (const SigningKey& key : keys) {
    if (!header.empty()) header.push_back(' ');
    header += key.sign(message_id, timestamp_s, body);
  }
  return header;
}

}  // namespace liveroom::webhooks
