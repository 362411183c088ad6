// Response and request helpers shared by the api's route families (rooms, WHIP/WHEP):
// JSON replies, the error envelope from liveroom::Error, 405s, bearer tokens, CORS.
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/error.hpp"
#include "http/message.hpp"

namespace liveroom::api {

http::Response jsonText(int status, std::string body);
http::Response json(int status, const nlohmann::json& body);
// The error envelope for `e` (status from errors.cpp), with Retry-After when it has one.
http::Response fromError(const Error& e);
http::Response methodNotAllowed(std::string_view allow);
// The bearer token of the request; throws unauthorized when there is none.
std::string bearerToken(const http::Request& req);
// True when `api_key` is set and the request's bearer token is it (compared in constant time).
bool holdsApiKey(const http::Request& req, const std::optional<std::string>& api_key);
// With an API key set: unauthorized without a bearer token, forbidden with another one.
void requireApiKey(const http::Request& req, const std::optional<std::string>& api_key);

// Where clients reach this server, for links in replies: `configured` (--public-url) when set,
// else "<scheme>://<the request's Host>" (so a phone on the LAN that reached us by address gets
// links it can open), else `fallback` when the Host header is missing or not a plain
// host[:port]. Never ends with '/'.
std::string linkBase(const http::Request& req, std::string_view configured, std::string_view scheme,
                     std::string_view fallback);
// Runs blocking domain work (store, provider) on a pool.
using BlockingRunner = std::function<void(std::function<void()>)>;
// Runs `work` through `runner` and answers `respond` with its reply: a liveroom::Error becomes
// the error envelope (store_unavailable's backend text goes to the log, not to the client),
// anything else a 500; the reply gets the CORS headers `cors_origins` give `req` (worked out
// here, so neither the request nor the list need outlive this call).
void runBlocking(const BlockingRunner& runner, const std::vector<std::string>& cors_origins, const http::Request& req,
                 http::Responder respond, std::function<http::Response()> work);
// Access-Control-Allow-Origin for `origins` ("*" or an allow-list echoing a listed Origin).
void applyCors(const std::vector<std::string>& origins, const http::Request& req, http::Response& res);

}  // namespace liveroom::api
