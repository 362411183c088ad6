// metrics/: the registry's text output, scrape-time sources, the store/provider decorators, the
// route labels and the /proc parsers.
#include "metrics/metrics.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <stdexcept>

#include "common/error.hpp"
#include "metrics/instrumented.hpp"
#include "metrics/process.hpp"
#include "store/sqlite/sqlite_room_store.hpp"

namespace liveroom::metrics {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

TEST(Metrics, RequestsAreCountedByRouteMethodAndStatusWithAHistogramPerRoute) {
  Metrics m;
  m.observeRequest("/api/livestream/join", "GET", 200, std::chrono::microseconds(300));
  m.observeRequest("/api/livestream/join", "GET", 200, std::chrono::milliseconds(3));
  m.observeRequest("/api/livestream/join", "GET", 404, std::chrono::microseconds(100));
  m.observeRequest("static", "BREW", 405, std::chrono::microseconds(100));
  const std::string text = m.render();
  EXPECT_THAT(text, HasSubstr("# TYPE liveroom_http_requests_total counter"));
  EXPECT_THAT(text,
              HasSubstr("liveroom_http_requests_total{code=\"200\",method=\"GET\",route=\"/api/livestream/join\"} 2"));
  EXPECT_THAT(text,
              HasSubstr("liveroom_http_requests_total{code=\"404\",method=\"GET\",route=\"/api/livestream/join\"} 1"));
  EXPECT_THAT(text, HasSubstr("liveroom_http_requests_total{code=\"405\",method=\"other\",route=\"static\"} 1"));
  EXPECT_THAT(text, HasSubstr("# TYPE liveroom_http_request_duration_seconds histogram"));
  EXPECT_THAT(text, HasSubstr("liveroom_http_request_duration_seconds_count{route=\"/api/livestream/join\"} 3"));
  EXPECT_THAT(
      text, HasSubstr("liveroom_http_request_duration_seconds_bucket{route=\"/api/livestream/join\",le=\"0.0005\"} 2"));
  EXPECT_THAT(text,
              HasSubstr("liveroom_http_request_duration_seconds_bucket{route=\"/api/livestream/join\",le=\"+Inf\"} 3"));
}

TEST(Metrics, SourcesAreReadAtEachScrapeAndOneThatFailsIsLeftOut) {
  Metrics m;
  int rooms = 3;
  m.addSource([&rooms](Scrape& s) { s.gauge("liveroom_rooms", "Rooms", rooms, {{"status", "active"}}); });
  m.addSource([](Scrape&) { throw std::runtime_error("store down"); });
  // A second source adding to the same family: one family, both samples.
  m.addSource([](Scrape& s) { s.gauge("liveroom_rooms", "Rooms", 1, {{"status", "ended"}}); });
  m.addSource([](Scrape& s) { s.counter("liveroom_things_total", "Things", 7); });
  std::string text = m.render();
  EXPECT_THAT(text, HasSubstr("liveroom_rooms{status=\"active\"} 3\nliveroom_rooms{status=\"ended\"} 1\n"));
  EXPECT_THAT(text, HasSubstr("# TYPE liveroom_things_total counter\nliveroom_things_total 7\n"));
  size_t families = 0;
  for (size_t at = 0; (at = text.find("# TYPE liveroom_rooms ", at)) != std::string::npos; ++at) ++families;
  EXPECT_EQ(families, 1u);
  rooms = 4;
  EXPECT_THAT(m.render(), HasSubstr("liveroom_rooms{status=\"active\"} 4"));
}

TEST(Metrics, MethodLabelsComeFromAFixedSet) {
  EXPECT_EQ(methodLabel("GET"), "GET");
  EXPECT_EQ(methodLabel("OPTIONS"), "OPTIONS");
  EXPECT_EQ(methodLabel("get"), "other");
  EXPECT_EQ(methodLabel(std::string(300, 'X')), "other");
}

TEST(ProcStat, FieldsAreCountedAfterTheLastParenthesisOfTheName) {
  // pid (comm) state ppid pgrp session tty tpgid flags minflt cminflt majflt cmajflt utime stime
  // cutime cstime priority nice threads itrealvalue starttime vsize rss ...
  const std::string line =
      "4242 (live) room (x)) S 1 4242 4242 0 -1 4194560 900 0 0 0 250 50 0 0 20 0 9 0 123456 987654321 4321 "
      "18446744073709551615 1 1 0 0 0 0 0 0 0 0 0 0 17 1 0 0 0 0 0\n";
  const auto s = parseProcStat(line);
  ASSERT_TRUE(s);
  EXPECT_EQ(s->utime_ticks, 250u);
  EXPECT_EQ(s->stime_ticks, 50u);
  EXPECT_EQ(s->start_ticks, 123456u);
  EXPECT_EQ(s->vsize_bytes, 987654321u);
  EXPECT_EQ(s->rss_pages, 4321u);
  EXPECT_FALSE(parseProcStat("4242 (cut) S 1 2 3"));
  EXPECT_FALSE(parseProcStat("no parenthesis at all"));
  EXPECT_FALSE(parseProcStat(""));
}

TEST(ProcStat, BootTimeIsTheBtimeLine) {
  EXPECT_EQ(parseBootTime("cpu  1 2 3\nctxt 99\nbtime 1796400000\nprocesses 5\n"), 1796400000u);
  EXPECT_FALSE(parseBootTime("cpu 1 2 3\n"));
  EXPECT_FALSE(parseBootTime("btime x\n"));
}

TEST(ProcessMetrics, ThisProcessHasCpuMemoryAndDescriptors) {
  Scrape s;
  addProcessMetrics(s);
  auto value = [&](std::string_view name) -> double {
    for (const auto& f : s.families()) {
      if (f.name == name && !f.metric.empty()) {
        return f.type == prometheus::MetricType::Counter ? f.metric[0].counter.value : f.metric[0].gauge.value;
      }
    }
    ADD_FAILURE() << name << " missing";
    return -1;
  };
  EXPECT_GT(value("process_resident_memory_bytes"), 1e6);
  EXPECT_GT(value("process_virtual_memory_bytes"), value("process_resident_memory_bytes"));
  EXPECT_GE(value("process_cpu_seconds_total"), 0);
  EXPECT_GE(value("process_open_fds"), 3);  // stdin, stdout, stderr at least
  EXPECT_GT(value("process_max_fds"), value("process_open_fds"));
  EXPECT_GT(value("process_start_time_seconds"), 1.6e9);
}

class InstrumentedStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           ("liveroom-metrics-" + std::to_string(::testing::UnitTest::GetInstance()->random_seed()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::remove_all(dir_);
    std::filesystem::create_directories(dir_);
    real_ = std::make_unique<SqliteRoomStore>((dir_ / "rooms.db").string());
  }
  void TearDown() override {
    real_.reset();
    std::filesystem::remove_all(dir_);
  }
  std::filesystem::path dir_;
  std::unique_ptr<SqliteRoomStore> real_;
};

RoomRecord room(const std::string& id) {
  RoomRecord r;
  r.room_id = id;
  r.title = "Lớp học";
  r.host = "cô Hà";
  r.mode = RoomMode::webrtc;
  r.status = RoomStatus::active;
  r.session_id = "input-" + id;
  r.provider = "local";
  r.host_token_hash = "hash";
  r.created_at_ms = r.updated_at_ms = 1'700'000'000'000;
  return r;
}

TEST_F(InstrumentedStoreTest, EachCallIsCountedWithItsOutcomeAndPassedThroughUnchanged) {
  Metrics m;
  InstrumentedRoomStore store(*real_, m);
  EXPECT_EQ(store.name(), "sqlite");
  store.insert(room("live_m1"));
  EXPECT_THROW(store.insert(room("live_m1")), Error);  // room_exists
  EXPECT_EQ(store.get("live_m1")->title, "Lớp học");
  EXPECT_FALSE(store.get("live_nope"));
  EXPECT_EQ(store.countRooms(), (RoomCounts{1, 0, 0}));
  const std::string text = m.render();
  EXPECT_THAT(text, HasSubstr("liveroom_store_calls_total{operation=\"insert\",outcome=\"ok\",store=\"sqlite\"} 1"));
  EXPECT_THAT(text,
              HasSubstr("liveroom_store_calls_total{operation=\"insert\",outcome=\"room_exists\",store=\"sqlite\"} 1"));
  EXPECT_THAT(text, HasSubstr("liveroom_store_calls_total{operation=\"get\",outcome=\"ok\",store=\"sqlite\"} 2"));
  EXPECT_THAT(text,
              HasSubstr("liveroom_store_calls_total{operation=\"count_rooms\",outcome=\"ok\",store=\"sqlite\"} 1"));
  EXPECT_THAT(text, HasSubstr("liveroom_store_call_duration_seconds_count{operation=\"insert\",store=\"sqlite\"} 2"));
  EXPECT_THAT(text, Not(HasSubstr("live_m1")));  // never a room id in a label
}

class FailingProvider : public StreamProvider {
 public:
  std::string_view name() const override { return "cloudflare"; }
  LiveInput createInput(std::string_view, RoomMode) override {
    throw Error("provider_unavailable", "Cloudflare did not answer");
  }
  std::optional<LiveInput> getInput(std::string_view, RoomMode) override { throw std::runtime_error("bug"); }
  void deleteInput(std::string_view) override { ++deleted; }
  std::vector<LiveInput> listInputs() override { return {LiveInput{}, LiveInput{}}; }
  int deleted = 0;
};

TEST(InstrumentedProvider, ErrorsAreCountedByCodeAndOtherExceptionsAsInternal) {
  Metrics m;
  FailingProvider real;
  InstrumentedProvider provider(real, m);
  EXPECT_EQ(provider.name(), "cloudflare");
  EXPECT_THROW(provider.createInput("t", RoomMode::webrtc), Error);
  EXPECT_THROW(provider.getInput("u", RoomMode::webrtc), std::runtime_error);
  provider.deleteInput("u");
  EXPECT_EQ(real.deleted, 1);
  EXPECT_EQ(provider.listInputs().size(), 2u);
  const std::string text = m.render();
  EXPECT_THAT(text, HasSubstr("liveroom_provider_calls_total{operation=\"create_input\",outcome=\"provider_"
                              "unavailable\",provider=\"cloudflare\"} 1"));
  EXPECT_THAT(
      text,
      HasSubstr(
          "liveroom_provider_calls_total{operation=\"get_input\",outcome=\"internal\",provider=\"cloudflare\"} 1"));
  EXPECT_THAT(
      text,
      HasSubstr("liveroom_provider_calls_total{operation=\"delete_input\",outcome=\"ok\",provider=\"cloudflare\"} 1"));
  EXPECT_THAT(
      text,
      HasSubstr("liveroom_provider_calls_total{operation=\"list_inputs\",outcome=\"ok\",provider=\"cloudflare\"} 1"));
}

}  // namespace
}  // namespace liveroom::metrics
