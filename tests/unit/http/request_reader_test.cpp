// The server's request rules without sockets: limits on every part of a request (the chunked
// framing included), Transfer-Encoding refusals, Expect: 100-continue.
#include "http/request_reader.hpp"

#include <gtest/gtest.h>

#include <string>

namespace liveroom::http {
namespace {

RequestLimits limits() {
  RequestLimits l;
  l.body_limit = 1024;
  l.header_limit = 512;
  return l;
}

TEST(RequestReader, ParsesAPlainRequestWithItsBody) {
  const std::string bytes =
      "POST /api/x?y=1 HTTP/1.1\r\nHost: a\r\nContent-Type: text/plain\r\nContent-Length: 5\r\n\r\nhelloGET";
  ParseOutcome out = parseRequest(bytes, limits());
  ASSERT_TRUE(out.request);
  EXPECT_FALSE(out.rejection);
  EXPECT_EQ(out.request->method, "POST");
  EXPECT_EQ(out.request->path, "/api/x");
  EXPECT_EQ(out.request->query, "y=1");
  EXPECT_EQ(out.request->body, "hello");
  EXPECT_EQ(out.request->header("content-type"), "text/plain");
  EXPECT_EQ(out.consumed, bytes.size() - 3);  // the next request's bytes stay unread
}

TEST(RequestReader, AcceptsExactlyChunked) {
  for (const char* te : {"chunked", "Chunked", " chunked "}) {
    const std::string bytes =
        std::string("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: ") + te + "\r\n\r\n5\r\nhello\r\n0\r\n\r\n";
    ParseOutcome out = parseRequest(bytes, limits());
    ASSERT_TRUE(out.request) << te;
    EXPECT_EQ(out.request->body, "hello");
  }
}

TEST(RequestReader, RefusesOtherTransferEncodings) {
  for (const char* te :
       {"gzip", "gzip, chunked", "chunked, gzip", "identity", "chunked\r\nTransfer-Encoding: chunked", "xchunked"}) {
    const std::string bytes =
        std::string("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: ") + te + "\r\n\r\n5\r\nhello\r\n0\r\n\r\n";
    ParseOutcome out = parseRequest(bytes, limits());
    ASSERT_TRUE(out.rejection) << te;
    EXPECT_EQ(out.rejection->status, 400) << te;
    EXPECT_FALSE(out.request);
  }
  const std::string both = "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n";
  ParseOutcome out = parseRequest(both + "5\r\nhello\r\n0\r\n\r\n", limits());
  ASSERT_TRUE(out.rejection);
  EXPECT_EQ(out.rejection->status, 400);
}

TEST(RequestReader, ATrailerThatNeverEndsHitsTheBufferLimit) {
  std::string bytes = "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n1\r\nx\r\n0\r\n";
  for (int i = 0; i < 100000; ++i) bytes += "X-Trailer-" + std::to_string(i) + ": yyyyyyyy\r\n";  // ~2.3 MB, no end
  ParseOutcome out = parseRequest(bytes, limits());
  ASSERT_TRUE(out.rejection);
  EXPECT_TRUE(out.rejection->status == 413 || out.rejection->status == 431) << out.rejection->status;
  EXPECT_FALSE(out.request);
}

TEST(RequestReader, AChunkLineThatNeverEndsHitsTheBufferLimit) {
  std::string size_line = "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n1";
  size_line += std::string(1 << 20, '0');  // a chunk size of a million digits
  ParseOutcome out = parseRequest(size_line, limits());
  ASSERT_TRUE(out.rejection);
  EXPECT_GE(out.rejection->status, 400);

  std::string extension = "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n1;ext=";
  extension += std::string(1 << 20, 'e');
  out = parseRequest(extension, limits());
  ASSERT_TRUE(out.rejection);
  EXPECT_EQ(out.rejection->status, 413);
}

TEST(RequestReader, BodyAndHeaderLimits) {
  ParseOutcome body =
      parseRequest("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 2000\r\n\r\n" + std::string(2000, 'b'), limits());
  ASSERT_TRUE(body.rejection);
  EXPECT_EQ(body.rejection->status, 413);

  ParseOutcome chunked_body =
      parseRequest("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n" + std::string("3e8\r\n") +
                       std::string(1000, 'b') + "\r\n3e8\r\n" + std::string(1000, 'b') + "\r\n0\r\n\r\n",
                   limits());
  ASSERT_TRUE(chunked_body.rejection);
  EXPECT_EQ(chunked_body.rejection->status, 413);

  ParseOutcome header =
      parseRequest("GET / HTTP/1.1\r\nHost: a\r\nX-Big: " + std::string(4000, 'h') + "\r\n\r\n", limits());
  ASSERT_TRUE(header.rejection);
  EXPECT_EQ(header.rejection->status, 431);
}

TEST(RequestReader, IncompleteAndMalformed) {
  ParseOutcome partial = parseRequest("GET / HTTP/1.1\r\nHost:", limits());
  EXPECT_FALSE(partial.request);
  EXPECT_FALSE(partial.rejection);

  ParseOutcome bad = parseRequest("GET / HTTP/1.1\r\nBad Header\r\n\r\n", limits());
  ASSERT_TRUE(bad.rejection);
  EXPECT_EQ(bad.rejection->status, 400);
}

TEST(RequestReader, ExpectContinue) {
  RequestParser parser;
  configureParser(parser, limits());
  boost::system::error_code ec;
  const std::string head = "POST / HTTP/1.1\r\nHost: a\r\nExpect: 100-continue\r\nContent-Length: 3\r\n\r\n";
  parser.put(boost::asio::buffer(head), ec);
  ASSERT_FALSE(ec);
  ASSERT_TRUE(parser.is_header_done());
  EXPECT_TRUE(expectsContinue(parser));

  RequestParser plain;
  const std::string other = "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\n\r\n";
  plain.put(boost::asio::buffer(other), ec);
  EXPECT_FALSE(expectsContinue(plain));
}

}  // namespace
}  // namespace liveroom::http
