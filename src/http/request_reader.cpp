// Reading one request (see request_reader.hpp).
#include "http/request_reader.hpp"

#include <algorithm>
#include <cctype>
#include <cstring>

#include <boost/asio/buffer.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/error.hpp>

#include "common/error.hpp"

namespace liveroom::http {

namespace bhttp = boost::beast::http;

namespace {

std::string lowercase(std::string_view s) {
  std::string out(s);
  std::transform(out.begin(), out.end(), out.begin(), [](unsigned char c) { return std::tolower(c); });
  return out;
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

bool equalsIgnoreCase(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) == std::tolower(static_cast<unsigned char>(y));
         });
}

void copyHeader(const RequestParser::value_type& msg, Request& req) {
  req.method = std::string(msg.method_string());
  req.target = std::string(msg.target());
  size_t q = req.target.find('?');
  req.path = req.target.substr(0, q);
  if (q != std::string::npos) req.query = req.target.substr(q + 1);
  req.headers.reserve(8);
  for (const auto& field : msg) {
    auto name = field.name_string();
    req.headers.emplace_back(lowercase(std::string_view(name.data(), name.size())), std::string(field.value()));
  }
}

}  // namespace

void configureParser(RequestParser& parser, const RequestLimits& limits) {
  parser.body_limit(limits.body_limit);
  parser.header_limit(static_cast<uint32_t>(std::min<size_t>(limits.header_limit, UINT32_MAX)));
}

std::optional<Rejection> checkHeader(const RequestParser& parser, const RequestLimits& limits) {
  const auto& msg = parser.get();
  // What the header took on the wire, at least: "METHOD TARGET HTTP/1.1\r\n", "name: value\r\n"
  // per field, the empty line.
  size_t header_bytes = msg.method_string().size() + 1 + msg.target().size() + 11 + 2;
  for (const auto& field : msg) header_bytes += field.name_string().size() + 2 + field.value().size() + 2;
  if (header_bytes > limits.header_limit)
    return Rejection{431, codes::kHeadersTooLarge, "request headers are too large"};
  size_t te_count = 0;
  for (const auto& field : msg) {
    if (field.name() != bhttp::field::transfer_encoding) continue;
    ++te_count;
    std::string_view value(field.value().data(), field.value().size());
    if (te_count > 1 || !equalsIgnoreCase(trim(value), "chunked")) {
      return Rejection{400, codes::kBadRequest, "Transfer-Encoding must be exactly \"chunked\""};
    }
  }
  if (te_count > 0 && msg.find(bhttp::field::content_length) != msg.end()) {
    return Rejection{400, codes::kBadRequest, "a request may not have both Transfer-Encoding and Content-Length"};
  }
  return std::nullopt;
}

bool expectsContinue(const RequestParser& parser) {
  const auto& msg = parser.get();
  auto it = msg.find(bhttp::field::expect);
  if (it == msg.end() || msg.version() < 11) return false;
  return equalsIgnoreCase(trim(std::string_view(it->value().data(), it->value().size())), "100-continue");
}

std::optional<Rejection> rejectionFor(const boost::system::error_code& ec, bool header_done,
                                      const RequestLimits& limits) {
  if (ec == bhttp::error::body_limit) {
    return Rejection{413, codes::kPayloadTooLarge,
                     "request body is larger than " + std::to_string(limits.body_limit / 1024) + " KiB"};
  }
  if (ec == bhttp::error::header_limit) return Rejection{431, codes::kHeadersTooLarge, "request headers are too large"};
  if (ec == bhttp::error::buffer_overflow) {
    if (!header_done) return Rejection{431, codes::kHeadersTooLarge, "request headers are too large"};
    return Rejection{413, codes::kPayloadTooLarge,
                     "the request's chunked framing (chunk lines or trailers) is too large"};
  }
  if (ec.category() == bhttp::make_error_code(bhttp::error::bad_target).category() &&
      ec != bhttp::error::end_of_stream && ec != bhttp::error::partial_message && ec != bhttp::error::need_more) {
    return Rejection{400, codes::kBadRequest, "malformed HTTP request"};
  }
  return std::nullopt;  // eof, reset, timeout: nobody to answer
}

Request toRequest(RequestParser::value_type& message, std::string remote_address) {
  Request req;
  copyHeader(message, req);
  req.body = std::move(message.body());
  req.remote_address = std::move(remote_address);
  return req;
}

Request partialRequest(const RequestParser& parser) {
  Request req;
  copyHeader(parser.get(), req);
  return req;
}

ParseOutcome parseRequest(std::string_view bytes, const RequestLimits& limits) {
  ParseOutcome out;
  RequestParser parser;
  configureParser(parser, limits);
  boost::beast::flat_buffer buffer(limits.bufferLimit());
  size_t fed = 0;
  bool header_checked = false;
  boost::system::error_code ec;
  while (!parser.is_done()) {
    // Like a socket read: append what is left (bounded by the buffer's limit), then parse.
    if (fed < bytes.size()) {
      const size_t room = buffer.max_size() - buffer.size();
      if (room == 0) {
        out.rejection = rejectionFor(bhttp::error::buffer_overflow, parser.is_header_done(), limits);
        return out;
      }
      const size_t n = std::min({room, bytes.size() - fed, size_t{4096}});
      auto space = buffer.prepare(n);
      std::memcpy(space.data(), bytes.data() + fed, n);
      buffer.commit(n);
      fed += n;
    } else if (buffer.size() == 0 || ec == bhttp::error::need_more) {
      return out;  // the bytes end inside a request
    }
    ec = {};
    const size_t used = parser.put(buffer.data(), ec);
    buffer.consume(used);
    if (ec == bhttp::error::need_more || (used == 0 && !ec && !parser.is_done())) {
      if (fed >= bytes.size()) return out;
      continue;
    }
    if (ec) {
      out.rejection = rejectionFor(ec, parser.is_header_done(), limits);
      if (!out.rejection) out.rejection = Rejection{400, codes::kBadRequest, "malformed HTTP request"};
      return out;
    }
    if (parser.is_header_done() && !header_checked) {
      header_checked = true;
      if (auto rejected = checkHeader(parser, limits)) {
        out.rejection = std::move(rejected);
        return out;
      }
    }
  }
  out.consumed = fed - buffer.size();
  out.request = toRequest(parser.get(), {});
  return out;
}

}  // namespace liveroom::http
