// Router: the one table of which handler owns which URL path. The composition root (app/)
// builds it from what each part contributes (the rooms API, the WHIP/WHEP resources of the
// embedded media server, the Cloudflare webhook, /metrics) and asks it for every request, for
// the metrics label of every reply, and before handing a path to the static site. Immutable
// once built: lookups are thread-safe and allocate only the matched parameters.
//
// A pattern is literal segments and `{name}` placeholders, each matching one non-empty segment:
// "/api/livestream/rooms/{id}/events", "/{key}/webRTC/publish". A family ("/api/*") owns every
// path under its prefix that no pattern matches, e.g. to answer 404 in its own format.
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "http/message.hpp"

namespace liveroom::http {

// The placeholders' values, in the pattern's order (for a family: the rest of the path).
using RouteParams = std::vector<std::string>;
using RouteHandler = std::function<void(Request&& req, Responder respond, RouteParams params)>;

class Router {
 public:
  // Throws std::invalid_argument for a malformed pattern (not starting with "/", an empty
  // segment, "{}" or a brace inside a segment) or one already in the table.
  void add(std::string_view pattern, RouteHandler handler);
  // Every path starting with `prefix` (which ends with "/") that no pattern matches; `label`
  // names them in metrics ("/api/other"). The longest prefix wins.
  void addFamily(std::string_view prefix, std::string_view label, RouteHandler handler);

  struct Match {
    std::string_view label;  // the pattern (or the family's label): stable, never an id
    const RouteHandler* handler = nullptr;
    RouteParams params;
  };
  // The route of `path`: the matching pattern with the most literal segments (the first added
  // on a tie), else the longest family; nullopt when none owns it.
  std::optional<Match> match(std::string_view path) const;
  // The label alone (no allocation): the route's, else `fallback`.
  std::string_view label(std::string_view path, std::string_view fallback) const noexcept;
  // Routes a request: true when a route took it (and `respond`), false when none owns its path
  // (`req` and `respond` untouched).
  bool dispatch(Request& req, Responder& respond) const;

 private:
  struct Segment {
    std::string text;
    bool placeholder = false;
  };
  struct Route {
    std::string label;
    std::vector<Segment> segments;  // a pattern's
    std::string prefix;             // a family's
    size_t literals = 0;
    RouteHandler handler;
  };
  // The route of `path`, its placeholders' values into `params` when not null.
  const Route* find(std::string_view path, RouteParams* params) const;

  std::vector<Route> patterns_;
  std::vector<Route> families_;
};

}  // namespace liveroom::http
