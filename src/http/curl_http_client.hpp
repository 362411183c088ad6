// HttpClient over libcurl: one easy handle per call, connect + total timeouts from the
// request, no redirects followed, response header names lowercased.
// Thread-safe: concurrent send() calls share no state.
#pragma once

#include <cstddef>

#include "http/http_client.hpp"

namespace liveroom::http {

class CurlHttpClient final : public HttpClient {
 public:
  struct Options {
    // A reply body larger than this aborts the call (TransportError): a misbehaving
    // server must not make us buffer without bound.
    std::size_t max_response_bytes = 8 * 1024 * 1024;
  };

  CurlHttpClient();
  explicit CurlHttpClient(Options options);

  // Throws TransportError when no complete HTTP answer arrived; timedOut() is true when
  // the connect or total timeout expired.
  ClientResponse send(const ClientRequest& request) override;

 private:
  Options options_;
};

}  // namespace liveroom::http
