// What every fuzz target shares: FUZZ_CHECK, which turns a violated property into a crash that
// libFuzzer reports (and saves the input for), and small helpers to read fuzz input.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

// Aborts with the property and where it is when `cond` is false. Always on (not assert()).
#define FUZZ_CHECK(cond, what)                                                                                        \
  do {                                                                                                                \
    if (!(cond)) {                                                                                                    \
      std::fprintf(stderr, "\n*** fuzz property violated at %s:%d: %s\n    (%s)\n", __FILE__, __LINE__, what, #cond); \
      std::abort();                                                                                                   \
    }                                                                                                                 \
  } while (0)

// An exception escaped that the code under test documents it never throws.
#define FUZZ_UNEXPECTED_EXCEPTION(e) FUZZ_CHECK(false, (std::string("unexpected exception: ") + (e).what()).c_str())

namespace liveroom::fuzz {

inline std::string_view asText(const uint8_t* data, size_t size) { return {reinterpret_cast<const char*>(data), size}; }

// Reads fuzz bytes front to back; past the end it yields zeros (never fails).
class ByteReader {
 public:
  ByteReader(const uint8_t* data, size_t size) : data_(data), size_(size) {}
  bool empty() const { return pos_ >= size_; }
  size_t remaining() const { return pos_ < size_ ? size_ - pos_ : 0; }
  uint8_t u8() { return pos_ < size_ ? data_[pos_++] : 0; }
  uint16_t u16() { return static_cast<uint16_t>((u8() << 8) | u8()); }
  uint32_t u32() { return (uint32_t{u16()} << 16) | u16(); }
  uint64_t u64() { return (uint64_t{u32()} << 32) | u32(); }
  // The rest of the input.
  std::string_view rest() {
    std::string_view out = pos_ < size_ ? asText(data_ + pos_, size_ - pos_) : std::string_view{};
    pos_ = size_;
    return out;
  }

 private:
  const uint8_t* data_;
  size_t size_;
  size_t pos_ = 0;
};

// No coverage instrumentation (so no comparison tracing) in a function, and never inlined into
// one that has it.
#if defined(__clang__)
#define FUZZ_NOT_TRACED __attribute__((no_sanitize("coverage"), noinline))
#else
#define FUZZ_NOT_TRACED
#endif

// True when `needle` occurs in `haystack`. Compared through a rolling hash in an uninstrumented
// function, never memcmp / strstr / std::string::find: libFuzzer learns the operands of those
// comparisons and would start sending the secret an oracle looks for (which the code under test
// then echoes, as an error message quoting a path does).
FUZZ_NOT_TRACED inline bool containsSecret(std::string_view haystack, std::string_view needle) {
  if (needle.empty() || needle.size() > haystack.size()) return needle.empty();
  constexpr uint64_t kBase = 1099511628211ULL;
  uint64_t target = 0, window = 0, high = 1;
  for (size_t i = 0; i < needle.size(); ++i) {
    target = target * kBase + static_cast<uint8_t>(needle[i]);
    window = window * kBase + static_cast<uint8_t>(haystack[i]);
    if (i > 0) high *= kBase;
  }
  for (size_t start = 0;; ++start) {
    if (window == target) {
      bool same = true;
      for (size_t i = 0; i < needle.size(); ++i) same &= haystack[start + i] == needle[i];
      if (same) return true;
    }
    if (start + needle.size() >= haystack.size()) return false;
    window = (window - static_cast<uint8_t>(haystack[start]) * high) * kBase +
             static_cast<uint8_t>(haystack[start + needle.size()]);
  }
}

}  // namespace liveroom::fuzz
