#include "outbound/delivery_schedule.h"

#include <gtest/gtest.h>

#include "outbound/delivery_route.h"

namespace mailfort::outbound {
namespace {

TEST(DueSchedule, TakesDueIdsEarliestFirst) {
  DueSchedule s;
  s.set("c", 30);
  s.set("a", 10);
  s.set("b", 20);
  EXPECT_EQ(s.next_due(), 10);
  EXPECT_EQ(s.take_due(25, 10), (std::vector<std::string>{"a", "b"}));
  EXPECT_EQ(s.size(), 1u);
  EXPECT_TRUE(s.take_due(25, 10).empty());
  EXPECT_EQ(s.take_due(30, 10), (std::vector<std::string>{"c"}));
  EXPECT_FALSE(s.next_due());
}

TEST(DueSchedule, SetMovesAnEntryAndTakeRespectsMax) {
  DueSchedule s;
  s.set("a", 10);
  s.set("b", 5);
  s.set("a", 1);  // moved, not duplicated
  EXPECT_EQ(s.size(), 2u);
  EXPECT_EQ(s.take_due(100, 1), (std::vector<std::string>{"a"}));
  EXPECT_TRUE(s.contains("b"));
  EXPECT_TRUE(s.erase("b"));
  EXPECT_FALSE(s.erase("b"));
  EXPECT_EQ(s.size(), 0u);
}

TEST(DueSchedule, FlushMakesEverythingDue) {
  DueSchedule s;
  s.set("a", 1000);
  s.set("b", 2000);
  s.set("c", 50);
  s.make_all_due(100);
  auto ids = s.take_due(100, 10);
  EXPECT_EQ(ids.size(), 3u);
  EXPECT_EQ(ids[0], "c");  // already due earlier stays first
}

TEST(ConnectionSlots, PerDestinationAndTotalCaps) {
  ConnectionSlots c;
  EXPECT_TRUE(c.can_open("a.test", 2, 3));
  c.open("a.test");
  c.open("a.test");
  EXPECT_FALSE(c.can_open("a.test", 2, 3));  // per-destination cap
  EXPECT_TRUE(c.can_open("b.test", 2, 3));
  c.open("b.test");
  EXPECT_FALSE(c.can_open("c.test", 2, 3));  // total cap
  c.close("a.test");
  EXPECT_TRUE(c.can_open("c.test", 2, 3));
  EXPECT_TRUE(c.can_open("a.test", 2, 3));
  EXPECT_EQ(c.count("a.test"), 1u);
  EXPECT_EQ(c.total(), 2u);
  c.close("nowhere");  // harmless
  EXPECT_EQ(c.total(), 2u);
}

TEST(Backoff, DoublesUpToTheMaximumAndStopsAtTheLifetime) {
  EXPECT_EQ(next_attempt_time(1000, 1000, 1, 300, 900, 3600), 1300);
  EXPECT_EQ(next_attempt_time(1000, 1000, 2, 300, 900, 3600), 1600);
  EXPECT_EQ(next_attempt_time(1000, 1000, 3, 300, 900, 3600), 1900);
  EXPECT_EQ(next_attempt_time(1000, 1000, 9, 300, 900, 3600), 1900);
  EXPECT_EQ(next_attempt_time(4500, 1000, 9, 300, 900, 3600), 4600);  // arrival + lifetime
}

TEST(RelayHost, PostfixSyntax) {
  RelayHost r;
  ASSERT_TRUE(parse_relay_host("[127.0.0.1]:2526", r));
  EXPECT_EQ(r.host, "127.0.0.1");
  EXPECT_EQ(r.port, 2526);
  EXPECT_FALSE(r.mx);
  ASSERT_TRUE(parse_relay_host("smarthost.example:587", r));
  EXPECT_EQ(r.host, "smarthost.example");
  EXPECT_EQ(r.port, 587);
  EXPECT_TRUE(r.mx);
  ASSERT_TRUE(parse_relay_host("[mail.example]", r));
  EXPECT_EQ(r.port, 0);
  EXPECT_FALSE(r.mx);
  ASSERT_TRUE(parse_relay_host("[::1]:25", r));
  EXPECT_EQ(r.host, "::1");
  EXPECT_FALSE(parse_relay_host("", r));
  EXPECT_FALSE(parse_relay_host("[]:25", r));
  EXPECT_FALSE(parse_relay_host("host:0", r));
  EXPECT_FALSE(parse_relay_host("host:99999", r));
  EXPECT_FALSE(parse_relay_host("host:x", r));
  EXPECT_FALSE(parse_relay_host("[host]x", r));
}

}  // namespace
}  // namespace mailfort::outbound
