// srtp_bench: SRTP/SRTCP cost per packet, Debian's libsrtp2 (built on NSS) against EvpSrtp (OpenSSL
// EVP), both profiles, in the same run (issue 12, "Cheaper SRTP").
//
//   cmake -S . -B build-srtp-release -G Ninja -DCMAKE_BUILD_TYPE=Release -DLIVEROOM_BUILD_TESTS=OFF
//   ninja -C build-srtp-release srtp_bench
//   build-srtp-release/srtp_bench --out bench/results     # also writes srtp-<UTC>.txt, srtp-latest.txt
//
// Cases, each on one thread, the best of --runs runs of --seconds each:
//   protect RTP 1200 B        one session, the same buffer re-protected with the next sequence number
//   protect RTP 1200 B x100   100 sessions in turn (a fan-out to 100 viewers: colder contexts)
//   unprotect RTP 1200 B      8,192 distinct packets (10 MB: cache-cold, as received packets are)
//                             per fresh inbound session, each copied out of its slot first (the
//                             copy is in the figure; "copy only" gives its cost)
//   protect RTCP 100 B        one session, same buffer
//   unprotect RTCP 100 B      as for RTP
// libsrtp2 is set up as SrtpSession set it up: any SSRC, a 1024-packet window, repeat_tx allowed.
// OpenSSL allocations per packet are counted for EvpSrtp (CRYPTO_set_mem_functions).
#include "media/srtp/evp_srtp.hpp"

#include <openssl/crypto.h>
#include <openssl/opensslv.h>
#include <srtp2/srtp.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <functional>
#include <memory>
#include <random>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

using liveroom::media::EvpSrtp;
using liveroom::media::SrtpProfile;

namespace {

std::atomic<long> opensslAllocations{0};
void* countingMalloc(size_t n, const char*, int) {
  opensslAllocations.fetch_add(1, std::memory_order_relaxed);
  return std::malloc(n);
}
void* countingRealloc(void* p, size_t n, const char*, int) {
  opensslAllocations.fetch_add(1, std::memory_order_relaxed);
  return std::realloc(p, n);
}
void countingFree(void* p, const char*, int) { std::free(p); }

enum class Backend { LibSrtp, Evp };
enum class Direction { Inbound, Outbound };

// The interface both backends are driven through (one virtual call per packet for both).
class Session {
 public:
  virtual ~Session() = default;
  virtual bool protectRtp(uint8_t* buf, size_t& len, size_t capacity) = 0;
  virtual bool unprotectRtp(uint8_t* buf, size_t& len) = 0;
  virtual bool protectRtcp(uint8_t* buf, size_t& len, size_t capacity) = 0;
  virtual bool unprotectRtcp(uint8_t* buf, size_t& len) = 0;
};

class LibSrtpSession final : public Session {
 public:
  LibSrtpSession(Direction direction, SrtpProfile profile, std::vector<uint8_t> key) {
    srtp_policy_t policy{};
    if (profile == SrtpProfile::AeadAes128Gcm) {
      srtp_crypto_policy_set_aes_gcm_128_16_auth(&policy.rtp);
      srtp_crypto_policy_set_aes_gcm_128_16_auth(&policy.rtcp);
    } else {
      srtp_crypto_policy_set_rtp_default(&policy.rtp);
      srtp_crypto_policy_set_rtcp_default(&policy.rtcp);
    }
    policy.ssrc.type = direction == Direction::Inbound ? ssrc_any_inbound : ssrc_any_outbound;
    policy.key = key.data();
    policy.window_size = 1024;
    policy.allow_repeat_tx = 1;
    if (srtp_create(&session_, &policy) != srtp_err_status_ok) throw std::runtime_error("srtp_create");
  }
  ~LibSrtpSession() override { srtp_dealloc(session_); }
  bool protectRtp(uint8_t* buf, size_t& len, size_t) override { return run(srtp_protect, buf, len); }
  bool unprotectRtp(uint8_t* buf, size_t& len) override { return run(srtp_unprotect, buf, len); }
  bool protectRtcp(uint8_t* buf, size_t& len, size_t) override { return run(srtp_protect_rtcp, buf, len); }
  bool unprotectRtcp(uint8_t* buf, size_t& len) override { return run(srtp_unprotect_rtcp, buf, len); }

 private:
  template <typename F>
  bool run(F f, uint8_t* buf, size_t& len) {
    int n = static_cast<int>(len);
    if (f(session_, buf, &n) != srtp_err_status_ok) return false;
    len = static_cast<size_t>(n);
    return true;
  }
  srtp_t session_ = nullptr;
};

class EvpSession final : public Session {
 public:
  EvpSession(Direction direction, SrtpProfile profile, const std::vector<uint8_t>& key)
      : s_(direction == Direction::Inbound ? EvpSrtp::Direction::Inbound : EvpSrtp::Direction::Outbound, profile,
           key.data(), key.size()) {}
  bool protectRtp(uint8_t* buf, size_t& len, size_t capacity) override { return s_.protectRtp(buf, len, capacity); }
  bool unprotectRtp(uint8_t* buf, size_t& len) override { return s_.unprotectRtp(buf, len); }
  bool protectRtcp(uint8_t* buf, size_t& len, size_t capacity) override { return s_.protectRtcp(buf, len, capacity); }
  bool unprotectRtcp(uint8_t* buf, size_t& len) override { return s_.unprotectRtcp(buf, len); }

 private:
  EvpSrtp s_;
};

std::unique_ptr<Session> makeSession(Backend backend, Direction direction, SrtpProfile profile,
                                     const std::vector<uint8_t>& key) {
  if (backend == Backend::LibSrtp) return std::make_unique<LibSrtpSession>(direction, profile, key);
  return std::make_unique<EvpSession>(direction, profile, key);
}

using Clock = std::chrono::steady_clock;
constexpr size_t kCapacity = 1500 + 200;
constexpr size_t kRtpSize = 1200;
constexpr size_t kRtcpSize = 100;
constexpr size_t kUnprotectBatch = 8192;
constexpr size_t kFanOut = 100;

void writeRtpHeader(uint8_t* buf, uint16_t sequence, uint32_t ssrc) {
  buf[0] = 0x80;
  buf[1] = 96;
  buf[2] = static_cast<uint8_t>(sequence >> 8);
  buf[3] = static_cast<uint8_t>(sequence);
  buf[4] = buf[5] = buf[6] = buf[7] = 0x11;
  for (int i = 0; i < 4; ++i) buf[8 + i] = static_cast<uint8_t>(ssrc >> (24 - 8 * i));
}

void writeRtcpHeader(uint8_t* buf, uint32_t ssrc, size_t size) {
  buf[0] = 0x81;
  buf[1] = 201;  // Receiver report.
  buf[2] = static_cast<uint8_t>((size / 4 - 1) >> 8);
  buf[3] = static_cast<uint8_t>(size / 4 - 1);
  for (int i = 0; i < 4; ++i) buf[4 + i] = static_cast<uint8_t>(ssrc >> (24 - 8 * i));
}

struct Result {
  double nsPerPacket = 0;
  double allocationsPerPacket = 0;
};

// Runs `body` (which processes `batch` packets and returns the nanoseconds it spent on them)
// until `seconds` have passed; repeats `runs` times and keeps the fastest run.
Result measure(double seconds, int runs, const std::function<double(size_t&)>& body) {
  Result best{1e30, 0};
  for (int run = 0; run < runs; ++run) {
    const long allocationsBefore = opensslAllocations.load();
    size_t packets = 0;
    double ns = 0;
    const auto end = Clock::now() + std::chrono::duration<double>(seconds);
    while (Clock::now() < end) ns += body(packets);
    const double perPacket = ns / static_cast<double>(packets);
    if (perPacket < best.nsPerPacket) {
      best.nsPerPacket = perPacket;
      best.allocationsPerPacket =
          static_cast<double>(opensslAllocations.load() - allocationsBefore) / static_cast<double>(packets);
    }
  }
  return best;
}

double elapsedNs(Clock::time_point start) {
  return std::chrono::duration<double, std::nano>(Clock::now() - start).count();
}

[[noreturn]] void fail(const char* what) {
  std::fprintf(stderr, "srtp_bench: %s failed\n", what);
  std::exit(1);
}

Result protectRtp(Backend backend, SrtpProfile profile, const std::vector<uint8_t>& key, size_t sessions,
                  double seconds, int runs) {
  std::vector<std::unique_ptr<Session>> out;
  for (size_t i = 0; i < sessions; ++i) out.push_back(makeSession(backend, Direction::Outbound, profile, key));
  std::vector<uint8_t> buf(kCapacity);
  std::mt19937 random(1);
  for (size_t i = 12; i < kRtpSize; ++i) buf[i] = static_cast<uint8_t>(random());
  uint16_t sequence = 0;
  return measure(seconds, runs, [&](size_t& packets) {
    const auto start = Clock::now();
    for (int i = 0; i < 1000; ++i) {
      ++sequence;
      for (auto& session : out) {
        writeRtpHeader(buf.data(), sequence, 0x1234);
        size_t len = kRtpSize;
        if (!session->protectRtp(buf.data(), len, buf.size())) fail("protect RTP");
      }
    }
    packets += 1000 * out.size();
    return elapsedNs(start);
  });
}

Result protectRtcp(Backend backend, SrtpProfile profile, const std::vector<uint8_t>& key, double seconds, int runs) {
  auto out = makeSession(backend, Direction::Outbound, profile, key);
  std::vector<uint8_t> buf(kCapacity);
  std::mt19937 random(2);
  for (size_t i = 8; i < kRtcpSize; ++i) buf[i] = static_cast<uint8_t>(random());
  return measure(seconds, runs, [&](size_t& packets) {
    const auto start = Clock::now();
    for (int i = 0; i < 1000; ++i) {
      writeRtcpHeader(buf.data(), 0x1234, kRtcpSize);
      size_t len = kRtcpSize;
      if (!out->protectRtcp(buf.data(), len, buf.size())) fail("protect RTCP");
    }
    packets += 1000;
    return elapsedNs(start);
  });
}

// rtcp: RTCP packets of kRtcpSize, else RTP of kRtpSize. backend nullopt-like: copy only.
Result unprotect(const Backend* backend, SrtpProfile profile, const std::vector<uint8_t>& key, bool rtcp,
                 double seconds, int runs) {
  // The packets come from EvpSrtp's sender: the cross-checks in tests/unit show both backends
  // produce the same bytes.
  EvpSrtp sender(EvpSrtp::Direction::Outbound, profile, key.data(), key.size());
  std::vector<std::vector<uint8_t>> packets(kUnprotectBatch);
  std::mt19937 random(3);
  for (size_t i = 0; i < kUnprotectBatch; ++i) {
    std::vector<uint8_t>& p = packets[i];
    p.resize(kCapacity);
    const size_t size = rtcp ? kRtcpSize : kRtpSize;
    for (size_t j = 0; j < size; ++j) p[j] = static_cast<uint8_t>(random());
    size_t len = size;
    if (rtcp) {
      writeRtcpHeader(p.data(), 0x1234, size);
      if (!sender.protectRtcp(p.data(), len, p.size())) fail("protect RTCP");
    } else {
      writeRtpHeader(p.data(), static_cast<uint16_t>(i), 0x1234);
      if (!sender.protectRtp(p.data(), len, p.size())) fail("protect RTP");
    }
    p.resize(len);
  }
  std::vector<uint8_t> work(kCapacity);
  return measure(seconds, runs, [&](size_t& packets_) {
    std::unique_ptr<Session> in =
        backend != nullptr ? makeSession(*backend, Direction::Inbound, profile, key) : nullptr;
    const auto start = Clock::now();
    for (const std::vector<uint8_t>& p : packets) {
      std::memcpy(work.data(), p.data(), p.size());
      size_t len = p.size();
      if (in != nullptr && !(rtcp ? in->unprotectRtcp(work.data(), len) : in->unprotectRtp(work.data(), len))) {
        fail("unprotect");
      }
    }
    const double ns = elapsedNs(start);
    packets_ += kUnprotectBatch;
    return ns;
  });
}

std::string readFirstLine(const char* path, const char* prefix) {
  std::ifstream in(path);
  std::string line;
  while (std::getline(in, line)) {
    if (prefix == nullptr || line.rfind(prefix, 0) == 0) return line;
  }
  return "";
}

int countProcesses(const char* name) {
  int count = 0;
  std::error_code error;
  for (const auto& entry : std::filesystem::directory_iterator("/proc", error)) {
    std::ifstream in(entry.path() / "comm");
    std::string comm;
    if (in && std::getline(in, comm) && comm == name) ++count;
  }
  return count;
}

std::string afterColon(const std::string& line) { return line.substr(std::min(line.size(), line.find(':') + 2)); }

std::string utcStamp(const char* format) {
  const std::time_t now = std::time(nullptr);
  std::tm tm{};
  gmtime_r(&now, &tm);
  char text[64];
  std::strftime(text, sizeof text, format, &tm);
  return text;
}

}  // namespace

int main(int argc, char** argv) {
  // Before OpenSSL allocates anything.
  CRYPTO_set_mem_functions(countingMalloc, countingRealloc, countingFree);

  double seconds = 1.0;
  int runs = 5;
  std::string outDir;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if (arg == "--seconds" && i + 1 < argc) {
      seconds = std::atof(argv[++i]);
    } else if (arg == "--runs" && i + 1 < argc) {
      runs = std::atoi(argv[++i]);
    } else if (arg == "--out" && i + 1 < argc) {
      outDir = argv[++i];
    } else {
      std::fprintf(stderr, "usage: srtp_bench [--seconds S] [--runs N] [--out DIR]\n");
      return 2;
    }
  }
  if (srtp_init() != srtp_err_status_ok) fail("srtp_init");

  const std::string started = utcStamp("%Y%m%dT%H%M%SZ");  // Names the saved file.
  std::ostringstream report;
  auto line = [&](const std::string& text) {
    std::fputs((text + "\n").c_str(), stdout);
    std::fflush(stdout);
    report << text << "\n";
  };
  char text[512];
  line("srtp_bench " + utcStamp("%Y-%m-%dT%H:%M:%SZ") +
       ": SRTP cost per packet, libsrtp2 (Debian package, NSS crypto) vs EvpSrtp (OpenSSL EVP)");
  std::snprintf(text, sizeof text, "libsrtp: %s; OpenSSL: %s", srtp_get_version_string(),
                OpenSSL_version(OPENSSL_VERSION));
  line(text);
  const std::string cpu = afterColon(readFirstLine("/proc/cpuinfo", "model name"));
  const std::string mhz = afterColon(readFirstLine("/proc/cpuinfo", "cpu MHz"));
  std::snprintf(text, sizeof text, "cpu: %s, %s MHz; load average: %s; compilers running: %d", cpu.c_str(), mhz.c_str(),
                readFirstLine("/proc/loadavg", nullptr).substr(0, 14).c_str(), countProcesses("cc1plus"));
  line(text);
#if defined(__OPTIMIZE__) && defined(NDEBUG)
  const char* build = "optimised, NDEBUG";
#elif defined(__OPTIMIZE__)
  const char* build = "optimised, assertions on";
#else
  const char* build = "NOT OPTIMISED: use -DCMAKE_BUILD_TYPE=Release for figures";
#endif
  std::snprintf(text, sizeof text, "build: %s; best of %d runs of %.1f s per case, one thread", build, runs, seconds);
  line(text);
  line("ratio = EVP ns/packet / libsrtp2 ns/packet (below 1: EVP is cheaper); speed-up = its inverse");
  line("");
  std::snprintf(text, sizeof text, "%-24s %-24s %-9s %12s %11s %7s %9s %10s", "profile", "case", "backend", "packets/s",
                "ns/packet", "ratio", "speed-up", "allocs/pkt");
  line(text);

  std::mt19937 random(12);
  for (SrtpProfile profile : {SrtpProfile::AesCm128HmacSha1_80, SrtpProfile::AeadAes128Gcm}) {
    std::vector<uint8_t> key(liveroom::media::srtpMasterKeyLength(profile) +
                             liveroom::media::srtpMasterSaltLength(profile));
    for (uint8_t& b : key) b = static_cast<uint8_t>(random());
    struct Case {
      const char* name;
      std::function<Result(Backend)> run;
    };
    const Case cases[] = {
        {"protect RTP 1200 B", [&](Backend b) { return protectRtp(b, profile, key, 1, seconds, runs); }},
        {"protect RTP 1200 B x100", [&](Backend b) { return protectRtp(b, profile, key, kFanOut, seconds, runs); }},
        {"unprotect RTP 1200 B", [&](Backend b) { return unprotect(&b, profile, key, false, seconds, runs); }},
        {"protect RTCP 100 B", [&](Backend b) { return protectRtcp(b, profile, key, seconds, runs); }},
        {"unprotect RTCP 100 B", [&](Backend b) { return unprotect(&b, profile, key, true, seconds, runs); }},
    };
    for (const Case& c : cases) {
      const Result lib = c.run(Backend::LibSrtp);
      const Result evp = c.run(Backend::Evp);
      std::snprintf(text, sizeof text, "%-24s %-24s %-9s %12.0f %11.1f", liveroom::media::toString(profile), c.name,
                    "libsrtp2", 1e9 / lib.nsPerPacket, lib.nsPerPacket);
      line(text);
      std::snprintf(text, sizeof text, "%-24s %-24s %-9s %12.0f %11.1f %7.2f %8.2fx %10.2f", "", "", "EVP",
                    1e9 / evp.nsPerPacket, evp.nsPerPacket, evp.nsPerPacket / lib.nsPerPacket,
                    lib.nsPerPacket / evp.nsPerPacket, evp.allocationsPerPacket);
      line(text);
    }
  }
  const Result copyRtp = unprotect(nullptr, SrtpProfile::AeadAes128Gcm, std::vector<uint8_t>(28, 1), false, seconds, 1);
  const Result copyRtcp = unprotect(nullptr, SrtpProfile::AeadAes128Gcm, std::vector<uint8_t>(28, 1), true, seconds, 1);
  std::snprintf(text, sizeof text, "(copy only, included in the unprotect figures: %.1f ns RTP, %.1f ns RTCP)",
                copyRtp.nsPerPacket, copyRtcp.nsPerPacket);
  line(text);
  std::snprintf(text, sizeof text, "after the run: load average %s; compilers running: %d",
                readFirstLine("/proc/loadavg", nullptr).substr(0, 14).c_str(), countProcesses("cc1plus"));
  line(text);

  if (!outDir.empty()) {
    const std::string stamped = outDir + "/srtp-" + started + ".txt";
    for (const std::string& path : {stamped, outDir + "/srtp-latest.txt"}) {
      std::ofstream out(path);
      out << report.str();
      if (!out) {
        std::fprintf(stderr, "srtp_bench: cannot write %s\n", path.c_str());
        return 1;
      }
    }
    std::printf("saved %s and srtp-latest.txt\n", stamped.c_str());
  }
  return 0;
}
