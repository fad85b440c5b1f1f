#include <gtest/gtest.h>

#include <filesystem>
#include <thread>

#include "policy/ban_service.h"
#include "policy/connection_limiter.h"

namespace fs = std::filesystem;
using namespace mailfort::policy;

namespace {

TEST(ConnectionLimiter, CapsPerIpAndTotal) {
  auto l = ConnectionLimiter::create({3, 2});
  ConnectionLimiter::Refusal why;
  auto a = l->acquire("192.0.2.1", why);
  auto b = l->acquire("192.0.2.1", why);
  EXPECT_TRUE(a && b);
  auto c = l->acquire("192.0.2.1", why);
  EXPECT_FALSE(c);
  EXPECT_EQ(why, ConnectionLimiter::Refusal::PerIp);
  auto d = l->acquire("192.0.2.2", why);
  EXPECT_TRUE(d);
  auto e = l->acquire("192.0.2.3", why);
  EXPECT_FALSE(e);
  EXPECT_EQ(why, ConnectionLimiter::Refusal::Total);
  { auto drop = std::move(a); }
  EXPECT_EQ(l->count("192.0.2.1"), 1u);
  EXPECT_TRUE(l->acquire("192.0.2.3", why));  // released at once (temporary)
  EXPECT_EQ(l->total(), 2u);
}

TEST(ConnectionLimiter, MoveAssignReleasesOldSlot) {
  auto l = ConnectionLimiter::create({10, 10});
  ConnectionLimiter::Refusal why;
  auto a = l->acquire("x", why);
  auto b = l->acquire("y", why);
  a = std::move(b);
  EXPECT_EQ(l->count("x"), 0u);
  EXPECT_EQ(l->count("y"), 1u);
  EXPECT_EQ(l->total(), 1u);
}

TEST(ConnectionLimiter, ConcurrentUseEndsAtZero) {
  auto l = ConnectionLimiter::create({1000, 1000});
  std::vector<std::thread> ts;
  for (int t = 0; t < 8; ++t)
    ts.emplace_back([&, t] {
      ConnectionLimiter::Refusal why;
      for (int i = 0; i < 2000; ++i) {
        auto g = l->acquire("10.0.0." + std::to_string(t % 3), why);
      }
    });
  for (auto& t : ts) t.join();
  EXPECT_EQ(l->total(), 0u);
}

struct BanFixture : ::testing::Test {
  fs::path dir;
  int64_t t = 1'700'000'000;
  void SetUp() override {
    char tmpl[] = "/tmp/mf-bans-XXXXXX";
    dir = ::mkdtemp(tmpl);
  }
  void TearDown() override { fs::remove_all(dir); }
  std::shared_ptr<BanService> open(BanService::Settings s = {3, 600, 3600}) {
    auto b = BanService::open((dir / "state.sqlite").string(), s,
                              [this] { return BanService::Clock::time_point(std::chrono::seconds(t)); });
    EXPECT_TRUE(b.ok());
    return b.value();
  }
};

TEST_F(BanFixture, BansAfterNFailuresInWindow) {
  auto b = open();
  EXPECT_FALSE(b->record_failure("192.0.2.9", "smtp auth"));
  t += 10;
  EXPECT_FALSE(b->record_failure("192.0.2.9", "smtp auth"));
  EXPECT_FALSE(b->is_banned("192.0.2.9"));
  EXPECT_TRUE(b->record_failure("192.0.2.9", "smtp auth"));
  EXPECT_TRUE(b->is_banned("192.0.2.9"));
  EXPECT_FALSE(b->is_banned("192.0.2.10"));
  t += 3601;
  EXPECT_FALSE(b->is_banned("192.0.2.9"));
}

TEST_F(BanFixture, FailuresSpreadBeyondWindowDoNotBan) {
  auto b = open();
  for (int i = 0; i < 10; ++i) {
    EXPECT_FALSE(b->record_failure("192.0.2.9", "x"));
    t += 301;
  }
}

TEST_F(BanFixture, PersistsAcrossRestartAndListRemove) {
  {
    auto b = open();
    for (int i = 0; i < 3; ++i) b->record_failure("2001:db8::1", "imap auth");
  }
  auto b = open();
  EXPECT_TRUE(b->is_banned("2001:db8::1"));
  auto l = b->list();
  ASSERT_TRUE(l.ok());
  ASSERT_EQ(l->size(), 1u);
  EXPECT_EQ(l->front().ip, "2001:db8::1");
  EXPECT_EQ(l->front().until, t + 3600);
  EXPECT_EQ(l->front().reason, "imap auth");
  EXPECT_TRUE(b->remove("2001:db8::1").ok());
  EXPECT_FALSE(b->is_banned("2001:db8::1"));
  EXPECT_EQ(b->remove("2001:db8::1").error().code, mailfort::Errc::NotFound);
}

TEST_F(BanFixture, RefreshSeesRemovalByAnotherProcess) {
  auto server = open();
  for (int i = 0; i < 3; ++i) server->record_failure("198.51.100.7", "smtp auth");
  auto cli = open();
  ASSERT_TRUE(cli->remove("198.51.100.7").ok());
  EXPECT_TRUE(server->is_banned("198.51.100.7"));  // until the next refresh
  ASSERT_TRUE(server->refresh().ok());
  EXPECT_FALSE(server->is_banned("198.51.100.7"));
}

TEST_F(BanFixture, ZeroFailuresNeverBans) {
  auto b = open({0, 600, 3600});
  for (int i = 0; i < 50; ++i) EXPECT_FALSE(b->record_failure("192.0.2.1", "x"));
  EXPECT_FALSE(b->is_banned("192.0.2.1"));
}

TEST_F(BanFixture, ExpiredBansAreNotListed) {
  auto b = open({1, 600, 10});
  EXPECT_TRUE(b->record_failure("192.0.2.1", "x"));
  t += 11;
  EXPECT_TRUE(b->list()->empty());
}

}  // namespace
