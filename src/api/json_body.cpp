// JSON body parsing with limits (see json_body.hpp).
#include "api/json_body.hpp"

#include <algorithm>
#include <cctype>

#include "common/error.hpp"
#include "common/json.hpp"

namespace liveroom::api {

namespace {

bool isJsonContentType(std::string_view value) {
  std::string_view media = value.substr(0, value.find(';'));
  while (!media.empty() && media.back() == ' ') media.remove_suffix(1);
  while (!media.empty() && media.front() == ' ') media.remove_prefix(1);
  constexpr std::string_view kJson = "application/json";
  return media.size() == kJson.size() && std::equal(media.begin(), media.end(), kJson.begin(), [](char a, char b) {
           return std::tolower(static_cast<unsigned char>(a)) == b;
         });
}

}  // namespace

nlohmann::json parseJsonObjectBody(const http::Request& req) {
  auto content_type = req.header("content-type");
  if (!content_type || !isJsonContentType(*content_type)) {
    throw Error(codes::kUnsupportedMediaType, "the body must be JSON (Content-Type: application/json)");
  }
  JsonParse parsed = parseJsonBounded(req.body, kMaxJsonDepth);
  if (parsed.too_deep) throw Error(codes::kInvalidJson, "the JSON body is nested too deeply");
  if (!parsed.value) throw Error(codes::kInvalidJson, "the body is not valid JSON (UTF-8)");
  if (!parsed.value->is_object()) throw Error(codes::kInvalidJson, "the body must be a JSON object");
  return std::move(*parsed.value);
}

std::string requireString(const nlohmann::json& obj, std::string_view field) {
  auto value = optionalString(obj, field);
  if (!value) throw Error(codes::kInvalidField, std::string(field) + " is required");
  return std::move(*value);
}

std::optional<std::string> optionalString(const nlohmann::json& obj, std::string_view field) {
  auto it = obj.find(field);
  if (it == obj.end() || it->is_null()) return std::nullopt;
  if (!it->is_string()) throw Error(codes::kInvalidField, std::string(field) + " must be a string");
  return it->get<std::string>();
}

}  // namespace liveroom::api
