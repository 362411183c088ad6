// The one place where a stable error code becomes an HTTP status, and the error
// envelope {"error": {"code", "message"}} every failure is answered with.
#pragma once

#include <string_view>

#include "http/message.hpp"

namespace liveroom::api {

int httpStatusFor(std::string_view code);
http::Response errorResponse(int status, std::string_view code, std::string_view message);
// Status from the code table.
http::Response errorResponse(std::string_view code, std::string_view message);

}  // namespace liveroom::api
