// Helpers over Request/Response values: header lookup, percent-decoding, query params.
#include "http/message.hpp"

#include <spdlog/spdlog.h>

#include "common/hex.hpp"

namespace liveroom::http {

std::optional<std::string_view> Request::header(std::string_view lowercase_name) const {
  for (const auto& [name, value] : headers) {
    if (name == lowercase_name) return std::string_view(value);
  }
  return std::nullopt;
}

Response& Response::set(std::string name, std::string value) {
  headers.emplace_back(std::move(name), std::move(value));
  return *this;
}

uint64_t Response::bodySize() const {
  if (file) return file->size;
  if (shared_body) return shared_body->size();
  return body.size();
}

std::string_view Response::bodyView() const {
  if (file) return {};
  if (shared_body) return *shared_body;
  return body;
}

void Responder::operator()(Response res) const {
  if (!state_) return;
  if (state_->done.exchange(true)) {
    spdlog::warn("http: a second response to one request was dropped (status {})", res.status);
    return;
  }
  if (state_->send) state_->send(std::move(res));
}

bool Responder::answered() const noexcept { return state_ && state_->done.load(); }

Responder::State::~State() {
  if (done.load() || !send) return;
  spdlog::error("http: a request was left unanswered; sending 500");
  try {
    Response res;
    if (unanswered) {
      res = unanswered();
    } else {
      res.status = 500;
      res.body = "internal error: the request was not answered\n";
      res.set("Content-Type", "text/plain; charset=utf-8");
    }
    send(std::move(res));
  } catch (...) {  // a destructor must not throw; the connection then just closes
  }
}

std::optional<std::string> percentDecode(std::string_view in, bool plus_is_space) {
  std::string out;
  out.reserve(in.size());
  for (size_t i = 0; i < in.size(); ++i) {
    char c = in[i];
    if (c == '%') {
      if (i + 2 >= in.size()) return std::nullopt;  // needs two hex digits after '%'
      int hi = hexDigitValue(in[i + 1]), lo = hexDigitValue(in[i + 2]);
      if (hi < 0 || lo < 0) return std::nullopt;
      out.push_back(static_cast<char>(hi * 16 + lo));
      i += 2;
    } else if (c == '+' && plus_is_space) {
      out.push_back(' ');
    } else {
      out.push_back(c);
    }
  }
  return out;
}

std::optional<std::string> queryParam(std::string_view query, std::string_view name) {
  while (!query.empty()) {
    size_t amp = query.find('&');
    std::string_view pair = query.substr(0, amp);
    query = amp == std::string_view::npos ? std::string_view{} : query.substr(amp + 1);
    size_t eq = pair.find('=');
    std::string_view key = pair.substr(0, eq);
    if (key != name) continue;
    std::string_view value = eq == std::string_view::npos ? std::string_view{} : pair.substr(eq + 1);
    return percentDecode(value, true);
  }
  return std::nullopt;
}

}  // namespace liveroom::http
