// The event-stream wire format and how a change between two views is named.
#include "api/room_event_stream.hpp"

#include <gtest/gtest.h>

namespace liveroom::api {
namespace {

TEST(RoomEventStream, FormatsOneEventPerBlankLineAndKeepsFramingForAnyData) {
  EXPECT_EQ(RoomEventStream::format("live", 7, R"({"live":true})"), "event: live\nid: 7\ndata: {\"live\":true}\n\n");
  // A line break in the data cannot end the event or start a field of its own.
  EXPECT_EQ(RoomEventStream::format("room", 1, "a\nb\r\nc\rd"),
            "event: room\nid: 1\ndata: a\ndata: b\ndata: c\ndata: d\n\n");
  EXPECT_EQ(RoomEventStream::format("room", 2, ""), "event: room\nid: 2\ndata: \n\n");
}

TEST(RoomEventStream, NamesWhatChanged) {
  const std::string base = R"({"title":"a","live":false,"viewers":0,"status":"active"})";
  EXPECT_EQ(changeBetween(base, R"({"title":"b","live":false,"viewers":0,"status":"active"})"), "title");
  EXPECT_EQ(changeBetween(base, R"({"title":"a","live":true,"viewers":0,"status":"active"})"), "live");
  EXPECT_EQ(changeBetween(base, R"({"title":"a","live":false,"viewers":3,"status":"active"})"), "viewers");
  EXPECT_EQ(changeBetween(base, R"({"title":"b","live":false,"viewers":0,"status":"ended"})"), "ended");
  EXPECT_EQ(changeBetween(base, base), "room");
  EXPECT_EQ(changeBetween("not json", base), "room");
}

}  // namespace
}  // namespace liveroom::api
