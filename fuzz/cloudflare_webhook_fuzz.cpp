// Fuzz target: Cloudflare Notifications webhook bodies ("Stream Live Input" events, POST
// /api/livestream/webhooks/cloudflare), stream/cloudflare/cloudflare_api:
// parseLiveInputNotification.
// Checks, beyond "no crash":
//  - nothing but ParseError escapes, and a body nested deeper than kMaxJsonDepth is refused;
//  - an accepted notification names a plausible live input uid (1..64 letters or digits, so
//    it cannot change the shape of a store query or URL), equal to data.input_id, with the
//    event type as sent; live() is true only for live_input.connected and false only for
//    live_input.disconnected / live_input.errored; an error code only from
//    data.live_input_errored.error.code.
#include <string>

#include "common/json.hpp"
#include "fuzz_check.hpp"
#include "json_depth.hpp"
#include "stream/cloudflare/cloudflare_api.hpp"

using namespace liveroom::cloudflare;
using json = nlohmann::json;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view body = liveroom::fuzz::asText(data, size);
  LiveInputNotification n;
  try {
    n = parseLiveInputNotification(body);
  } catch (const ParseError&) {
    return 0;
  } catch (const std::exception& e) {
    FUZZ_UNEXPECTED_EXCEPTION(e);
  }
  FUZZ_CHECK(isPlausibleUid(n.input_id), "the input id is plausible");
  const json j = json::parse(body, nullptr, false);
  FUZZ_CHECK(j.is_object() && j.contains("data") && j["data"].is_object(), "a notification has a data object");
  FUZZ_CHECK(liveroom::fuzz::jsonDepth(j) <= liveroom::kMaxJsonDepth, "a body nested too deeply is refused");
  const json& d = j["data"];
  FUZZ_CHECK(d.contains("input_id") && d["input_id"] == n.input_id, "the input id as sent");
  FUZZ_CHECK(d.contains("event_type") && d["event_type"] == n.event_type, "the event type as sent");
  const std::optional<bool> live = n.live();
  if (live == true) FUZZ_CHECK(n.event_type == "live_input.connected", "live only when connected");
  if (live == false) {
    FUZZ_CHECK(n.event_type == "live_input.disconnected" || n.event_type == "live_input.errored",
               "offline only when disconnected or errored");
  }
  if (!live) {
    FUZZ_CHECK(n.event_type != "live_input.connected" && n.event_type != "live_input.disconnected" &&
                   n.event_type != "live_input.errored",
               "known events always say live or not");
  }
  if (n.error_code) {
    FUZZ_CHECK(d.contains("live_input_errored") && d["live_input_errored"].is_object(),
               "an error code from its object");
  }
  return 0;
}
