// Regression tests for what fuzz/http_request_fuzz found in the server's request reading
// (docs/fuzzing.md); the inputs are kept in fuzz/corpus/http_request/ as well.
#include "http/request_reader.hpp"

#include <gtest/gtest.h>

#include <string>

namespace liveroom::http {
namespace {

// Found by http_request_fuzz: Beast 1.74's parser checks header_limit only against the bytes it
// has not parsed yet, and fields it parsed in an earlier put() stop counting. A header of many
// short fields that arrives in pieces (4 KiB at a time, as socket reads give it) got past the
// 16 KiB limit: 16,645 bytes in the fuzzer's input, and up to the read buffer's size more.
// checkHeader now counts the whole header against the limit; the fuzzer's input is
// fuzz/corpus/http_request/http_request-header-limit-in-pieces.
TEST(RequestReaderFuzzRegression, HeaderLimitCountsFieldsParsedInEarlierReads) {
  const RequestLimits limits;  // the server's: 16 KiB of header
  std::string bytes = "GET / HTTP/1.1\r\nHost: a\r\n";
  while (bytes.size() < limits.header_limit + 2048) bytes += "X-F" + std::to_string(bytes.size()) + ": 0123456789\r\n";
  bytes += "\r\n";
  const ParseOutcome out = parseRequest(bytes, limits);
  ASSERT_TRUE(out.rejection.has_value()) << "a " << bytes.size() << "-byte header was accepted";
  EXPECT_EQ(out.rejection->status, 431);
}

// Just under the limit, many fields are fine however they arrive.
TEST(RequestReaderFuzzRegression, ManyFieldsUnderTheHeaderLimitPass) {
  const RequestLimits limits;
  std::string bytes = "GET / HTTP/1.1\r\nHost: a\r\n";
  while (bytes.size() < limits.header_limit - 200) bytes += "X-F" + std::to_string(bytes.size()) + ": 0123456789\r\n";
  bytes += "\r\n";
  const ParseOutcome out = parseRequest(bytes, limits);
  ASSERT_TRUE(out.request.has_value());
  EXPECT_GT(out.request->headers.size(), 500u);
}

}  // namespace
}  // namespace liveroom::http
