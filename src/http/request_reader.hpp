// The server's rules for reading one HTTP/1.1 request, apart from sockets: the parser's limits,
// the checks a request header must pass before its body is read, which read errors get which
// reply, and the conversion to http::Request. The server (server.cpp) and the fuzz target share
// them; parseRequest runs the same steps over a byte string.
#pragma once

#include <utility>  // before Asio (Boost 1.74 + C++20)

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/string_body.hpp>

#include "http/message.hpp"

namespace liveroom::http {

struct RequestLimits {
  size_t body_limit = 64 * 1024;
  size_t header_limit = 16 * 1024;
  // Bytes held unparsed at once: a chunk-size line, chunk extensions or a trailer section that
  // never ends hits this instead of growing the read buffer (the parser limits only the header
  // block and the body).
  size_t bufferLimit() const { return header_limit + 8 * 1024; }
};

using RequestParser = boost::beast::http::request_parser<boost::beast::http::string_body>;

// Why a request is refused before it reaches a handler; the connection is closed after the reply.
struct Rejection {
  int status = 400;
  std::string code;
  std::string message;
};

void configureParser(RequestParser& parser, const RequestLimits& limits);

// Checks on a complete header, before any body byte is read: Transfer-Encoding must be absent or
// exactly "chunked" (anything else is a request-smuggling primitive behind some proxies), and
// not together with Content-Length.
// The whole header (start line and fields) must also fit limits.header_limit: Beast 1.74 checks
// its limit only against bytes it has not parsed yet, so fields parsed by an earlier read stop
// counting and a header arriving in pieces could exceed it (found by fuzz/http_request_fuzz).
std::optional<Rejection> checkHeader(const RequestParser& parser, const RequestLimits& limits);

// True when the request asks for "100 Continue" before sending its body (curl does for bodies
// over 1 KiB, and OBS uses curl).
bool expectsContinue(const RequestParser& parser);

// The reply for a read or parse error; nullopt when the connection should just close (peer gone,
// timeout, reset). `header_done`: the header had been parsed (a buffer overflow is then the body's
// framing, 413, else the header's, 431).
std::optional<Rejection> rejectionFor(const boost::system::error_code& ec, bool header_done,
                                      const RequestLimits& limits);

// The parsed message as a handler sees it (header names lowercased).
Request toRequest(RequestParser::value_type& message, std::string remote_address);

// The header of a partly parsed request (for decorating a refusal: CORS needs Origin).
Request partialRequest(const RequestParser& parser);

// The whole read, as the server does it, over bytes that arrive all at once: what a client
// sending `bytes` gets. Exactly one of request/rejection is set unless the bytes end before a
// request does (then neither). `consumed` is how many bytes the first request took.
struct ParseOutcome {
  std::optional<Request> request;
  std::optional<Rejection> rejection;
  size_t consumed = 0;
};
ParseOutcome parseRequest(std::string_view bytes, const RequestLimits& limits);

}  // namespace liveroom::http
