// The local stream provider (see local_stream.hpp).
#include "stream/local/local_stream.hpp"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <stdexcept>

#include "common/error.hpp"
#include "common/random.hpp"
#include "media/router/session.hpp"

namespace liveroom {

namespace {
constexpr size_t kUidHexDigits = 32;
constexpr size_t kSecretBytes = 32;

bool isLowerHex(std::string_view s) {
  return std::all_of(s.begin(), s.end(), [](char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'); });
}
}  // namespace

namespace {

std::string withoutTrailingSlashes(std::string url) {
  while (!url.empty() && url.back() == '/') url.pop_back();
  return url;
}

}  // namespace

LocalStream::LocalStream(std::string public_url, std::string secret, media::MediaSessions& media)
    : public_url_(withoutTrailingSlashes(std::move(public_url))), secret_(std::move(secret)), media_(media) {
  if (secret_.size() < kSecretBytes) throw std::invalid_argument("LocalStream: the secret is too short");
}

std::string LocalStream::loadOrCreateSecret(const std::filesystem::path& file) {
  auto read = [&file] {
    std::ifstream in(file);
    std::array<char, 2 * kSecretBytes> secret{};
    in.read(secret.data(), secret.size());
    if (in.gcount() != static_cast<std::streamsize>(secret.size()) ||
        !isLowerHex(std::string_view(secret.data(), secret.size()))) {
      throw std::runtime_error(file.string() +
                               " does not hold a media secret (64 hex digits); delete it to make a new one");
    }
    return std::string(secret.data(), secret.size());
  };
  std::error_code ec;
  if (std::filesystem::exists(file, ec)) return read();

  // Written whole under a name of our own, then linked into place: link() fails when another
  // process starting on the same data dir got there first, and then both use the winner's
  // secret. Nobody ever sees a half-written file.
  const std::string secret = randomHex(kSecretBytes);
  const std::string tmp = file.string() + ".tmp-" + randomHex(8);
  const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, S_IRUSR | S_IWUSR);
  if (fd < 0) throw std::runtime_error("cannot write " + tmp + ": " + std::strerror(errno));
  const std::string line = secret + "\n";
  const bool written = ::write(fd, line.data(), line.size()) == static_cast<ssize_t>(line.size()) && ::fsync(fd) == 0;
  ::close(fd);
  if (!written) {
    ::unlink(tmp.c_str());
    throw std::runtime_error("cannot write " + tmp);
  }
  const int linked = ::link(tmp.c_str(), file.c_str());
  const int error = errno;
  ::unlink(tmp.c_str());
  if (linked == 0) return secret;
  if (error == EEXIST) return read();
  throw std::runtime_error("cannot create " + file.string() + ": " + std::strerror(error));
}

bool LocalStream::isValidUid(std::string_view uid) { return uid.size() == kUidHexDigits && isLowerHex(uid); }

std::string LocalStream::publishKey(std::string_view uid) const {
  unsigned char mac[EVP_MAX_MD_SIZE];
  unsigned int mac_len = 0;
  HMAC(EVP_sha256(), secret_.data(), static_cast<int>(secret_.size()),
       reinterpret_cast<const unsigned char*>(uid.data()), uid.size(), mac, &mac_len);
  static constexpr char kHex[] = "0123456789abcdef";
  std::string key;
  for (unsigned int i = 0; i < 16 && i < mac_len; ++i) {
    key.push_back(kHex[mac[i] >> 4]);
    key.push_back(kHex[mac[i] & 0x0F]);
  }
  return key;
}

bool LocalStream::verifyPublishKey(std::string_view uid, std::string_view key) const {
  if (!isValidUid(uid) || key.size() != kUidHexDigits) return false;
  const std::string expected = publishKey(uid);
  return CRYPTO_memcmp(expected.data(), key.data(), expected.size()) == 0;
}

LiveInput LocalStream::inputFor(std::string uid, std::string name) const {
  LiveInput input;
  const std::string base = publicUrl();
  input.ingest.whip_url = base + "/" + publishKey(uid) + "k" + uid + "/webRTC/publish";
  input.playback.whep_url = base + "/" + uid + "/webRTC/play";
  input.uid = std::move(uid);
  input.name = std::move(name);
  return input;
}

LiveInput LocalStream::createInput(std::string_view title, RoomMode mode) {
  if (mode != RoomMode::webrtc) {
    throw Error(codes::kModeUnsupported,
                "broadcast rooms (RTMPS/SRT ingest, HLS playback) need Cloudflare Stream; the embedded media server "
                "runs webrtc rooms (WHIP in, WHEP out)");
  }
  return inputFor(randomHex(kUidHexDigits / 2), std::string(title));
}

std::optional<LiveInput> LocalStream::getInput(std::string_view uid, RoomMode mode) {
  if (!isValidUid(uid) || mode != RoomMode::webrtc) return std::nullopt;
  return inputFor(std::string(uid), {});
}

void LocalStream::deleteInput(std::string_view uid) { media_.closeInput(std::string(uid)); }

}  // namespace liveroom
