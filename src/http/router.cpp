// Router (see router.hpp).
#include "http/router.hpp"

#include <stdexcept>

namespace liveroom::http {

namespace {

// Calls f(segment) for each "/"-separated segment of a path that starts with "/"; false when
// f stops early.
template <typename F>
bool forEachSegment(std::string_view path, F&& f) {
  size_t at = 1;
  while (true) {
    const size_t slash = path.find('/', at);
    const std::string_view segment =
        path.substr(at, slash == std::string_view::npos ? std::string_view::npos : slash - at);
    if (!f(segment)) return false;
    if (slash == std::string_view::npos) return true;
    at = slash + 1;
  }
}

}  // namespace

void Router::add(std::string_view pattern, RouteHandler handler) {
  if (!pattern.starts_with('/'))
    throw std::invalid_argument("route pattern must start with /: " + std::string(pattern));
  Route route;
  route.label = std::string(pattern);
  forEachSegment(pattern, [&](std::string_view segment) {
    Segment s;
    if (segment.size() > 2 && segment.front() == '{' && segment.back() == '}') {
      s.placeholder = true;
      segment = segment.substr(1, segment.size() - 2);
    }
    if (segment.empty() || segment.find_first_of("{}") != std::string_view::npos) {
      throw std::invalid_argument("malformed route pattern: " + std::string(pattern));
    }
    s.text = std::string(segment);
    if (!s.placeholder) ++route.literals;
    route.segments.push_back(std::move(s));
    return true;
  });
  for (const Route& other : patterns_) {
    if (other.label == route.label) throw std::invalid_argument("route added twice: " + route.label);
  }
  route.handler = std::move(handler);
  patterns_.push_back(std::move(route));
}

void Router::addFamily(std::string_view prefix, std::string_view label, RouteHandler handler) {
  if (!prefix.starts_with('/') || !prefix.ends_with('/')) {
    throw std::invalid_argument("a route family's prefix starts and ends with /: " + std::string(prefix));
  }
  for (const Route& other : families_) {
    if (other.prefix == prefix) throw std::invalid_argument("route family added twice: " + std::string(prefix));
  }
  Route route;
  route.label = std::string(label);
  route.prefix = std::string(prefix);
  route.handler = std::move(handler);
  families_.push_back(std::move(route));
}

const Router::Route* Router::find(std::string_view path, RouteParams* params) const {
  if (!path.starts_with('/')) return nullptr;
  const Route* best = nullptr;
  for (const Route& route : patterns_) {
    if (best != nullptr && route.literals <= best->literals) continue;
    size_t i = 0;
    const bool matched = forEachSegment(path, [&](std::string_view segment) {
      if (i >= route.segments.size()) return false;
      const Segment& s = route.segments[i++];
      return s.placeholder ? !segment.empty() : segment == s.text;
    });
    if (matched && i == route.segments.size()) best = &route;
  }
  if (best != nullptr) {
    if (params != nullptr) {
      size_t i = 0;
      forEachSegment(path, [&](std::string_view segment) {
        if (best->segments[i++].placeholder) params->emplace_back(segment);
        return true;
      });
    }
    return best;
  }
  for (const Route& family : families_) {
    if (path.starts_with(family.prefix) && (best == nullptr || family.prefix.size() > best->prefix.size())) {
      best = &family;
    }
  }
  if (best != nullptr && params != nullptr) params->emplace_back(path.substr(best->prefix.size()));
  return best;
}

std::optional<Router::Match> Router::match(std::string_view path) const {
  Match m;
  const Route* route = find(path, &m.params);
  if (route == nullptr) return std::nullopt;
  m.label = route->label;
  m.handler = &route->handler;
  return m;
}

std::string_view Router::label(std::string_view path, std::string_view fallback) const noexcept {
  const Route* route = find(path, nullptr);
  return route != nullptr ? std::string_view(route->label) : fallback;
}

bool Router::dispatch(Request& req, Responder& respond) const {
  RouteParams params;
  const Route* route = find(req.path, &params);
  if (route == nullptr) return false;
  route->handler(std::move(req), std::move(respond), std::move(params));
  return true;
}

}  // namespace liveroom::http
