// HttpClient over libcurl: connect + total timeouts from the request, no redirects followed,
// response header names lowercased. Easy handles are kept between calls (at most
// max_idle_handles), so a call to a host reuses the connection (and TLS session) a previous
// call left open instead of a new TCP and TLS handshake each time.
// Thread-safe: a handle is used by one call at a time.
#pragma once

#include <cstddef>
#include <mutex>
#include <vector>

#include "http/http_client.hpp"

namespace liveroom::http {

class CurlHttpClient final : public HttpClient {
 public:
  struct Options {
    // A reply body larger than this aborts the call (TransportError): a misbehaving
    // server must not make us buffer without bound.
    std::size_t max_response_bytes = 8 * 1024 * 1024;
    // Idle easy handles (each with its open connections) kept for the next calls.
    std::size_t max_idle_handles = 16;
  };

  CurlHttpClient();
  explicit CurlHttpClient(Options options);
  ~CurlHttpClient() override;
  CurlHttpClient(const CurlHttpClient&) = delete;
  CurlHttpClient& operator=(const CurlHttpClient&) = delete;

  // Throws TransportError when no complete HTTP answer arrived; timedOut() is true when
  // the connect or total timeout expired.
  ClientResponse send(const ClientRequest& request) override;

 private:
  void* takeHandle();           // an idle CURL*, or a new one
  void giveBack(void* handle);  // kept for the next call, or cleaned up

  Options options_;
  std::mutex idle_mutex_;
  std::vector<void*> idle_;  // CURL*
};

}  // namespace liveroom::http
