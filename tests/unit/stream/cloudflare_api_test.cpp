// Pure Cloudflare API parsing/building, fed with every fixture in
// shared/fixtures/cloudflare and with garbage.
#include "stream/cloudflare/cloudflare_api.hpp"

#include <gtest/gtest.h>

#include "support/fixtures.hpp"

#include <fstream>
#include <sstream>

namespace liveroom::cloudflare {
namespace {

using json = nlohmann::json;

std::string fixture(const std::string& name) { return test_support::readFixture("cloudflare/" + name); }

constexpr const char* kUid = "9de18434b0ef65a93cac83ac4e76febb";
constexpr const char* kWhip =
    "https://customer-51tzzrmdygiq19h7.cloudflarestream.com/"
    "4fdfce3b81d41eedc5e0fce9d08bab39k9de18434b0ef65a93cac83ac4e76febb/webRTC/publish";
constexpr const char* kHls =
    "https://customer-51tzzrmdygiq19h7.cloudflarestream.com/9de18434b0ef65a93cac83ac4e76febb/manifest/video.m3u8";
constexpr const char* kDash =
    "https://customer-51tzzrmdygiq19h7.cloudflarestream.com/9de18434b0ef65a93cac83ac4e76febb/manifest/video.mpd";
constexpr const char* kWhep =
    "https://customer-51tzzrmdygiq19h7.cloudflarestream.com/9de18434b0ef65a93cac83ac4e76febb/webRTC/play";

LiveInput parseFixture(const std::string& name, RoomMode mode) {
  Envelope env = parseEnvelope(fixture(name));
  EXPECT_TRUE(env.success);
  EXPECT_TRUE(env.errors.empty());
  return parseLiveInput(env.result, mode);
}

TEST(CloudflareApi, CreateReplyInWebrtcModeSetsOnlyWhipAndWhep) {
  LiveInput input = parseFixture("live_input.create.200.json", RoomMode::webrtc);
  EXPECT_EQ(input.uid, kUid);
  EXPECT_EQ(input.name, "Lớp học online");
  EXPECT_EQ(input.state, std::nullopt);  // status: null
  EXPECT_EQ(input.ingest.whip_url, kWhip);
  EXPECT_EQ(input.playback.whep_url, kWhep);
  EXPECT_EQ(input.ingest.rtmps_url, std::nullopt);
  EXPECT_EQ(input.ingest.rtmps_stream_key, std::nullopt);
  EXPECT_EQ(input.ingest.srt_url, std::nullopt);
  EXPECT_EQ(input.ingest.srt_stream_id, std::nullopt);
  EXPECT_EQ(input.ingest.srt_passphrase, std::nullopt);
  EXPECT_EQ(input.playback.hls_url, std::nullopt);
  EXPECT_EQ(input.playback.dash_url, std::nullopt);
}

TEST(CloudflareApi, CreateReplyInBroadcastModeSetsRtmpsSrtHlsDash) {
  LiveInput input = parseFixture("live_input.create.200.json", RoomMode::broadcast);
  EXPECT_EQ(input.uid, kUid);
  EXPECT_EQ(input.ingest.whip_url, std::nullopt);
  EXPECT_EQ(input.playback.whep_url, std::nullopt);
  EXPECT_EQ(input.ingest.rtmps_url, "rtmps://live.cloudflare.com:443/live/");
  EXPECT_EQ(input.ingest.rtmps_stream_key, "3e15b77e5b1c4f3ea0d9a1c2b3e4f5a6k9de18434b0ef65a93cac83ac4e76febb");
  EXPECT_EQ(input.ingest.srt_url, "srt://live.cloudflare.com:778");
  EXPECT_EQ(input.ingest.srt_stream_id, kUid);
  EXPECT_EQ(input.ingest.srt_passphrase, "37e0d5e5f6a7b8c9d0e1f2a3b4c5d6e7k9de18434b0ef65a93cac83ac4e76febb");
  EXPECT_EQ(input.playback.hls_url, kHls);
  EXPECT_EQ(input.playback.dash_url, kDash);
}

TEST(CloudflareApi, ParsesAllThreeStatusShapes) {
  EXPECT_EQ(parseFixture("live_input.create.200.json", RoomMode::webrtc).state, std::nullopt);
  EXPECT_EQ(parseFixture("live_input.get.connected-string-status.200.json", RoomMode::webrtc).state, "connected");
  EXPECT_EQ(parseFixture("live_input.get.connected-object-status.200.json", RoomMode::broadcast).state, "connected");

  EXPECT_EQ(parseInputState(json(nullptr)), std::nullopt);
  EXPECT_EQ(parseInputState(json("disconnected")), "disconnected");
  EXPECT_EQ(parseInputState(json("")), std::nullopt);
  EXPECT_EQ(parseInputState(json::parse(R"({"current":{"state":"reconnecting"}})")), "reconnecting");
  EXPECT_EQ(parseInputState(json::parse(R"({"current":null,"history":[]})")), std::nullopt);
  EXPECT_EQ(parseInputState(json::parse(R"({"current":{"state":7}})")), std::nullopt);
  EXPECT_EQ(parseInputState(json(42)), std::nullopt);
}

TEST(CloudflareApi, GetRepliesMapLikeCreate) {
  for (const char* name :
       {"live_input.get.connected-string-status.200.json", "live_input.get.connected-object-status.200.json"}) {
    LiveInput webrtc = parseFixture(name, RoomMode::webrtc);
    EXPECT_EQ(webrtc.ingest.whip_url, kWhip) << name;
    EXPECT_EQ(webrtc.playback.whep_url, kWhep) << name;
    LiveInput broadcast = parseFixture(name, RoomMode::broadcast);
    EXPECT_TRUE(broadcast.playback.hls_url.has_value()) << name;
    EXPECT_FALSE(broadcast.ingest.whip_url.has_value()) << name;
  }
}

TEST(CloudflareApi, HlsHostFallsBackToWebrtcPlaybackUrl) {
  json result = parseEnvelope(fixture("live_input.create.200.json")).result;
  result.erase("webRTC");
  LiveInput input = parseLiveInput(result, RoomMode::broadcast);
  EXPECT_EQ(input.playback.hls_url, kHls);

  result.erase("webRTCPlayback");
  input = parseLiveInput(result, RoomMode::broadcast);
  EXPECT_EQ(input.playback.hls_url, std::nullopt);
  EXPECT_EQ(input.playback.dash_url, std::nullopt);
  EXPECT_TRUE(input.ingest.rtmps_url.has_value());
}

TEST(CloudflareApi, LiveInputWithoutValidUidIsRejected) {
  EXPECT_THROW(parseLiveInput(json(nullptr), RoomMode::webrtc), ParseError);
  EXPECT_THROW(parseLiveInput(json::array(), RoomMode::webrtc), ParseError);
  EXPECT_THROW(parseLiveInput(json::parse(R"({"meta":{}})"), RoomMode::webrtc), ParseError);
  EXPECT_THROW(parseLiveInput(json::parse(R"({"uid":12})"), RoomMode::webrtc), ParseError);
  EXPECT_THROW(parseLiveInput(json::parse(R"({"uid":"../../x"})"), RoomMode::webrtc), ParseError);
  LiveInput bare = parseLiveInput(json::parse(R"({"uid":"abc123","webRTC":{"url":5},"meta":null})"), RoomMode::webrtc);
  EXPECT_EQ(bare.uid, "abc123");
  EXPECT_EQ(bare.name, "");
  EXPECT_EQ(bare.ingest.whip_url, std::nullopt);
}

TEST(CloudflareApi, ParsesListWithoutCredentials) {
  Envelope env = parseEnvelope(fixture("live_input.list.200.json"));
  ASSERT_TRUE(env.success);
  std::vector<LiveInput> inputs = parseLiveInputList(env.result);
  ASSERT_EQ(inputs.size(), 1u);
  EXPECT_EQ(inputs[0].uid, kUid);
  EXPECT_EQ(inputs[0].name, "Lớp học online");
  EXPECT_EQ(inputs[0].ingest, IngestEndpoints{});
  EXPECT_EQ(inputs[0].playback, PlaybackEndpoints{});

  EXPECT_EQ(inputs[0].deployment, "");                // made by hand (the fixture): no deployment
  EXPECT_EQ(inputs[0].created_at_ms, 1795169330722);  // 2026-11-20T10:08:50.72217Z
  const auto tagged = parseLiveInputList(json::parse(
      R"({"liveInputs":[{"uid":"9de18434b0ef65a93cac83ac4e76febb","meta":{"name":"x","liveroom_deployment":"lrd_01"}}]})"));
  ASSERT_EQ(tagged.size(), 1u);
  EXPECT_EQ(tagged[0].deployment, "lrd_01");
  EXPECT_EQ(tagged[0].created_at_ms, std::nullopt);

  EXPECT_TRUE(parseLiveInputList(json::parse(R"({"liveInputs":[]})")).empty());
  EXPECT_TRUE(parseLiveInputList(json::parse(R"({"range":0})")).empty());
  EXPECT_THROW(parseLiveInputList(json("nope")), ParseError);
  EXPECT_THROW(parseLiveInputList(json::parse(R"({"liveInputs":{}})")), ParseError);
  EXPECT_THROW(parseLiveInputList(json::parse(R"({"liveInputs":[{"name":"x"}]})")), ParseError);
}

TEST(CloudflareApi, ParsesErrorEnvelopes) {
  struct Case {
    const char* file;
    int code;
    const char* message;
    bool auth;
  };
  for (const Case& c : {
           Case{"error.invalid-token.403.json", 9109, "Invalid access token", true},
           Case{"error.missing-auth.400.json", 9106, "Missing X-Auth-Key, X-Auth-Email or Authorization headers", true},
           Case{"error.no-permission.403.json", 10000, "Authentication error", true},
           Case{"error.not-found.404.json", 10003, "Not Found: The requested resource or operation was not found.",
                false},  // has "messages": null
           Case{"error.rate-limited.429.json", 971, "Please wait and consider throttling your request speed", false},
       }) {
    Envelope env = parseEnvelope(fixture(c.file));
    EXPECT_FALSE(env.success) << c.file;
    EXPECT_TRUE(env.result.is_null()) << c.file;
    ASSERT_EQ(env.errors.size(), 1u) << c.file;
    EXPECT_EQ(env.errors[0], (ApiError{c.code, c.message})) << c.file;
    EXPECT_EQ(hasAuthError(env.errors), c.auth) << c.file;
    EXPECT_EQ(describeErrors(env.errors), "code " + std::to_string(c.code) + ": " + c.message) << c.file;
    EXPECT_EQ(errorCodes(env.errors), std::to_string(c.code)) << c.file;
  }
  EXPECT_TRUE(isAuthErrorCode(10001));
  EXPECT_FALSE(isAuthErrorCode(10003));
}

TEST(CloudflareApi, ToleratesMissingAndOddEnvelopeFields) {
  Envelope empty = parseEnvelope("{}");
  EXPECT_FALSE(empty.success);  // no result: not a success
  EXPECT_TRUE(empty.errors.empty());

  Envelope implicit = parseEnvelope(R"({"result":{"uid":"a"}})");
  EXPECT_TRUE(implicit.success);

  Envelope odd = parseEnvelope(R"({"success":false,"errors":[{"code":"1001","message":7},"x",{}],"messages":null})");
  ASSERT_EQ(odd.errors.size(), 3u);
  EXPECT_EQ(odd.errors[0], (ApiError{1001, ""}));
  EXPECT_EQ(odd.errors[1], (ApiError{0, ""}));
  EXPECT_EQ(describeErrors(odd.errors), "code 1001; code 0; code 0");

  Envelope not_array = parseEnvelope(R"({"success":true,"errors":"none","result":[]})");
  EXPECT_TRUE(not_array.success);
  EXPECT_TRUE(not_array.errors.empty());
}

TEST(CloudflareApi, GarbageBodiesGiveAClearParseError) {
  for (const char* body : {"", " ", "<html><body>502 Bad Gateway</body></html>", "{\"success\":", "null", "[1,2]",
                           "\"text\"", "42", "\xff\xfe{}"}) {
    try {
      parseEnvelope(body);
      ADD_FAILURE() << "accepted: " << body;
    } catch (const ParseError& e) {
      EXPECT_NE(std::string(e.what()).find("JSON"), std::string::npos) << e.what();
    }
  }
}

TEST(CloudflareApi, DescribeErrorsIsBounded) {
  std::vector<ApiError> many(5, ApiError{1, std::string(500, 'a')});
  const std::string text = describeErrors(many);
  EXPECT_LT(text.size(), 1000u);
  EXPECT_TRUE(text.ends_with("; ..."));
  EXPECT_EQ(describeErrors({}), "");
}

TEST(CloudflareApi, BuildsCreateBodies) {
  EXPECT_EQ(buildCreateBody("Lớp học online", RoomMode::webrtc),
            R"({"meta":{"name":"Lớp học online"},"recording":{"mode":"off"}})");
  EXPECT_EQ(json::parse(buildCreateBody("Lớp học online", RoomMode::broadcast)),
            json::parse(R"({"meta":{"name":"Lớp học online"},"recording":{"mode":"automatic"},
                            "deleteRecordingAfterDays":45})"));
  // The deployment that made it, when given, in meta.
  EXPECT_EQ(buildCreateBody("t", RoomMode::webrtc, "lrd_0123"),
            R"({"meta":{"liveroom_deployment":"lrd_0123","name":"t"},"recording":{"mode":"off"}})");
  // Quotes and control characters are escaped; invalid UTF-8 is replaced, not thrown.
  EXPECT_EQ(json::parse(buildCreateBody("a\"b\n", RoomMode::webrtc))["meta"]["name"], "a\"b\n");
  EXPECT_NO_THROW(json::parse(buildCreateBody("bad \xff utf8", RoomMode::webrtc)));
}

TEST(CloudflareApi, Timestamps) {
  EXPECT_EQ(parseTimestampMs("1970-01-01T00:00:00Z"), 0);
  EXPECT_EQ(parseTimestampMs("2026-11-20T10:08:50.72217Z"), 1795169330722);
  EXPECT_EQ(parseTimestampMs("2024-02-29T23:59:59.5Z"), 1709251199500);
  EXPECT_EQ(parseTimestampMs("2026-02-30T00:00:00Z"), std::nullopt);
  EXPECT_EQ(parseTimestampMs("2026-11-20T10:08:50+01:00"), std::nullopt);
  EXPECT_EQ(parseTimestampMs("2026-11-20 10:08:50Z"), std::nullopt);
  EXPECT_EQ(parseTimestampMs("2026-11-20T10:08:50.Z"), std::nullopt);
  EXPECT_EQ(parseTimestampMs(""), std::nullopt);
}

TEST(CloudflareApi, HostAndUidHelpers) {
  EXPECT_EQ(httpsHostOf("https://customer-x.cloudflarestream.com/a/b"), "customer-x.cloudflarestream.com");
  EXPECT_EQ(httpsHostOf("https://h:8443"), "h:8443");
  EXPECT_EQ(httpsHostOf("http://customer-x.cloudflarestream.com/a"), std::nullopt);
  EXPECT_EQ(httpsHostOf("https:///a"), std::nullopt);
  EXPECT_EQ(httpsHostOf("https://user@evil/a"), std::nullopt);
  EXPECT_TRUE(isPlausibleUid(kUid));
  EXPECT_FALSE(isPlausibleUid(""));
  EXPECT_FALSE(isPlausibleUid("abc/def"));
  EXPECT_FALSE(isPlausibleUid(std::string(65, 'a')));
}

TEST(CloudflareNotification, ParsesTheThreeFixtureEvents) {
  auto connected = parseLiveInputNotification(fixture("notification.live_input.connected.json"));
  EXPECT_EQ(connected.input_id, "9de18434b0ef65a93cac83ac4e76febb");
  EXPECT_EQ(connected.event_type, "live_input.connected");
  EXPECT_EQ(connected.live(), true);
  EXPECT_FALSE(connected.error_code);
  auto disconnected = parseLiveInputNotification(fixture("notification.live_input.disconnected.json"));
  EXPECT_EQ(disconnected.live(), false);
  auto errored = parseLiveInputNotification(fixture("notification.live_input.errored.json"));
  EXPECT_EQ(errored.live(), false);
  EXPECT_EQ(errored.error_code, "ERR_GOP_OUT_OF_RANGE");
}

TEST(CloudflareNotification, RejectsWhatIsNotALiveInputNotification) {
  EXPECT_THROW(parseLiveInputNotification("not json"), ParseError);
  EXPECT_THROW(parseLiveInputNotification("[]"), ParseError);
  EXPECT_THROW(parseLiveInputNotification(R"({"data": 5})"), ParseError);
  EXPECT_THROW(parseLiveInputNotification(R"({"data": {"event_type": "live_input.connected"}})"), ParseError);
  EXPECT_THROW(parseLiveInputNotification(R"({"data": {"input_id": "a/b", "event_type": "x"}})"), ParseError);
  EXPECT_THROW(parseLiveInputNotification(R"({"data": {"input_id": "abc"}})"), ParseError);
  auto other = parseLiveInputNotification(R"({"data": {"input_id": "abc", "event_type": "video.ready"}})");
  EXPECT_EQ(other.live(), std::nullopt);
}

TEST(CloudflareApi, DeeplyNestedRepliesAreRefusedNotCopied) {
  // 200,000 levels killed the process (stack overflow while copying `result`).
  const std::string deep = "{\"success\":true,\"result\":" + std::string(200000, '[') + std::string(200000, ']') + "}";
  EXPECT_THROW(parseEnvelope(deep), ParseError);
  const std::string deep_webhook = "{\"data\":" + std::string(200000, '{') + std::string(200000, '}') + "}";
  EXPECT_THROW(parseLiveInputNotification(deep_webhook), ParseError);
  // A normal depth still parses, and the result arrives intact.
  Envelope env = parseEnvelope(R"({"success":true,"result":{"uid":"abc","meta":{"name":"x"}}})");
  EXPECT_EQ(env.result.at("uid"), "abc");
}

}  // namespace
}  // namespace liveroom::cloudflare
