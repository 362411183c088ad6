// Fuzz target: raw HTTP/1.1 request bytes as a client sends them on a connection, read the way
// the server reads them (http/request_reader: the Beast parser with the server's limits, the
// header checks, the refusals).
// Checks, beyond "no crash":
//  - parseRequest() gives a request or a refusal (or neither, when the bytes end inside a
//    request), never both; refusals are 400, 413 or 431;
//  - the limits hold: a request's body is at most 64 KiB, its start line and header fields at
//    most 16 KiB; a Content-Length body has exactly that length;
//  - Transfer-Encoding, when present, is one header saying exactly "chunked" and comes without
//    Content-Length (no request-smuggling ambiguity reaches a handler);
//  - the outcome does not depend on how the bytes arrive: read in small pieces (sizes taken from
//    the input, like TCP segments) it is the same request, or a refusal too (Beast refuses a bad
//    start line at once when it has the bytes, but waits for the header's end once it had to
//    wait: the refusal may then come later, or be a 431 instead of a 400);
//  - path + "?" + query is the target; header names are lowercase;
//  - pipelined requests: each one consumes bytes, and the next is read from where it ended.
#include <algorithm>
#include <charconv>
#include <cstring>
#include <string>

#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/error.hpp>

#include "fuzz_check.hpp"
#include "http/request_reader.hpp"

namespace {

using namespace liveroom;
namespace bhttp = boost::beast::http;

const http::RequestLimits kLimits{};  // the server's: 64 KiB body, 16 KiB header

bool iequals(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) == std::tolower(static_cast<unsigned char>(y));
         });
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

// The same read as parseRequest, but with the bytes arriving in pieces of the given sizes.
http::ParseOutcome readInPieces(std::string_view bytes, const uint8_t* sizes, size_t sizes_count) {
  http::ParseOutcome out;
  http::RequestParser parser;
  http::configureParser(parser, kLimits);
  boost::beast::flat_buffer buffer(kLimits.bufferLimit());
  size_t fed = 0, piece = 0;
  bool header_checked = false;
  while (!parser.is_done()) {
    if (fed >= bytes.size()) return out;  // the bytes end inside a request
    const size_t room = buffer.max_size() - buffer.size();
    if (room == 0) {
      out.rejection = http::rejectionFor(bhttp::error::buffer_overflow, parser.is_header_done(), kLimits);
      return out;
    }
    const size_t want = sizes_count == 0 ? 4096 : size_t{sizes[piece++ % sizes_count]} * 16 + 1;
    const size_t n = std::min({room, bytes.size() - fed, want});
    auto space = buffer.prepare(n);
    std::memcpy(space.data(), bytes.data() + fed, n);
    buffer.commit(n);
    fed += n;
    // Parse what is buffered until the parser needs more.
    while (buffer.size() > 0 && !parser.is_done()) {
      boost::system::error_code ec;
      const size_t used = parser.put(buffer.data(), ec);
      buffer.consume(used);
      if (ec == bhttp::error::need_more) break;
      if (ec) {
        out.rejection = http::rejectionFor(ec, parser.is_header_done(), kLimits);
        if (!out.rejection) out.rejection = http::Rejection{400, "bad_request", "malformed HTTP request"};
        return out;
      }
      if (parser.is_header_done() && !header_checked) {
        header_checked = true;
        if (auto rejected = http::checkHeader(parser, kLimits)) {
          out.rejection = std::move(rejected);
          return out;
        }
      }
      if (used == 0) break;
    }
  }
  out.consumed = fed - buffer.size();
  out.request = http::toRequest(parser.get(), {});
  return out;
}

void checkRequest(const http::Request& req, std::string_view bytes, size_t consumed) {
  FUZZ_CHECK(consumed > 0 && consumed <= bytes.size(), "a request consumes bytes");
  FUZZ_CHECK(req.body.size() <= kLimits.body_limit, "body within 64 KiB");
  size_t header_bytes = req.method.size() + req.target.size();
  for (const auto& [name, value] : req.headers) header_bytes += name.size() + value.size();
  FUZZ_CHECK(header_bytes <= kLimits.header_limit, "start line and fields within 16 KiB");
  FUZZ_CHECK(
      req.path + (req.query.empty() && req.target.find('?') == std::string::npos ? "" : "?" + req.query) == req.target,
      "path + ? + query is the target");
  size_t te = 0;
  std::optional<std::string> content_length;
  for (const auto& [name, value] : req.headers) {
    FUZZ_CHECK(std::none_of(name.begin(), name.end(), [](char c) { return c >= 'A' && c <= 'Z'; }),
               "header names are lowercase");
    if (name == "transfer-encoding") {
      ++te;
      FUZZ_CHECK(iequals(trim(value), "chunked"), "Transfer-Encoding is exactly chunked");
    }
    if (name == "content-length") content_length = value;
  }
  FUZZ_CHECK(te <= 1, "at most one Transfer-Encoding");
  FUZZ_CHECK(!(te == 1 && content_length), "never Transfer-Encoding with Content-Length");
  if (content_length) {
    const std::string_view digits = trim(*content_length);
    uint64_t length = 0;
    const auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), length);
    FUZZ_CHECK(ec == std::errc() && end == digits.data() + digits.size() && length == req.body.size(),
               "a Content-Length body has that length");
  }
}

bool sameRequest(const http::Request& a, const http::Request& b) {
  return a.method == b.method && a.target == b.target && a.headers == b.headers && a.body == b.body;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  // The first byte says how many of the following bytes are piece sizes; the rest is the stream.
  if (size == 0) return 0;
  const size_t sizes_count = std::min<size_t>(data[0] & 0x0F, size - 1);
  const uint8_t* sizes = data + 1;
  std::string_view stream = fuzz::asText(data + 1 + sizes_count, size - 1 - sizes_count);

  for (int n = 0; n < 4 && !stream.empty(); ++n) {  // pipelined requests on one connection
    const http::ParseOutcome whole = http::parseRequest(stream, kLimits);
    FUZZ_CHECK(!(whole.request && whole.rejection), "a request or a refusal, never both");
    const http::ParseOutcome pieces = readInPieces(stream, sizes, sizes_count);
    // Beast refuses a bad start line as soon as it sees it when the bytes come at once, but once
    // it had to wait for more it waits for the whole header: a refusal may show up as "wait for
    // more" then (and the server refuses when the header ends). A request never differs.
    if (whole.request.has_value() != pieces.request.has_value()) {
      auto describe = [](const http::ParseOutcome& o) {
        return o.request ? std::string("a request") : o.rejection ? "refusal: " + o.rejection->message : "incomplete";
      };
      std::fprintf(stderr, "all at once: %s; in pieces: %s\n", describe(whole).c_str(), describe(pieces).c_str());
    }
    FUZZ_CHECK(whole.request.has_value() == pieces.request.has_value(),
               "the same request whatever pieces the bytes arrive in");
    // Both refusals, then: which one may differ for the same reason (a long bad start line is a
    // 400 when Beast sees it at once, a 431 when it waited for a header end that never came).
    if (whole.rejection) {
      const int status = whole.rejection->status;
      FUZZ_CHECK(status == 400 || status == 413 || status == 431, "refusals are 400, 413 or 431");
      return 0;  // the server closes the connection after a refusal
    }
    if (!whole.request) return 0;  // the bytes end inside a request: the server waits for more
    checkRequest(*whole.request, stream, whole.consumed);
    FUZZ_CHECK(sameRequest(*whole.request, *pieces.request) && whole.consumed == pieces.consumed,
               "the same request whatever pieces the bytes arrive in");
    stream.remove_prefix(whole.consumed);
  }
  return 0;
}
