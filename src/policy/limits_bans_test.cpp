#include <gtest/gtest.h>

#include <filesystem>
#include <thread>

#include "policy/ban_service.h"
#include "policy/client_key.h"
#include "policy/connection_limiter.h"

namespace fs = std::filesystem;
using namespace mailfort::policy;

namespace {

TEST(ClientKey, Ipv4IsTheAddressIpv6IsItsNetwork) {
  EXPECT_EQ(client_key("192.0.2.7", 64), "192.0.2.7");
  EXPECT_EQ(client_key("2001:db8:1:2:aaaa:bbbb:cccc:dddd", 64), "2001:db8:1:2::/64");
  EXPECT_EQ(client_key("2001:db8:1:2::1", 64), client_key("2001:db8:1:2:ffff::9", 64));
  EXPECT_NE(client_key("2001:db8:1:2::1", 64), client_key("2001:db8:1:3::1", 64));
  EXPECT_EQ(client_key("::1", 64), "::/64");
  EXPECT_EQ(client_key("2001:db8:1:2::1", 48), "2001:db8:1::/48");
  EXPECT_EQ(client_key("2001:db8:1:2::1", 56), "2001:db8:1::/56");
  EXPECT_EQ(client_key("2001:db8:1:2ff::1", 56), "2001:db8:1:200::/56");
  EXPECT_EQ(client_key("2001:db8::1", 128), "2001:db8::1");
  EXPECT_EQ(client_key("2001:DB8:0:0::1", 32), "2001:db8::/32");
  EXPECT_EQ(client_key("fe80::1%eth0", 64), "fe80::/64");
  // An IPv4 client seen through an IPv6 socket is still one IPv4 address.
  EXPECT_EQ(client_key("::ffff:192.0.2.7", 64), "192.0.2.7");
  EXPECT_EQ(client_key("not an address", 64), "not an address");
}

TEST(ConnectionLimiter, Ipv6CountsPerNetwork) {
  auto l = ConnectionLimiter::create({100, 2, 64});
  ConnectionLimiter::Refusal why;
  auto a = l->acquire("2001:db8:1:2::1", why);
  auto b = l->acquire("2001:db8:1:2::2", why);
  EXPECT_TRUE(a && b);
  auto c = l->acquire("2001:db8:1:2:ffff::3", why);  // a third address of the same /64
  EXPECT_FALSE(c);
  EXPECT_EQ(why, ConnectionLimiter::Refusal::PerIp);
  EXPECT_TRUE(l->acquire("2001:db8:1:3::1", why));  // the next /64 is another client
  EXPECT_EQ(l->count("2001:db8:1:2::77"), 2u);
  { auto drop = std::move(a); }
  EXPECT_EQ(l->count("2001:db8:1:2::1"), 1u);
  auto v4a = l->acquire("192.0.2.1", why);
  auto v4b = l->acquire("192.0.2.2", why);
  EXPECT_TRUE(v4a && v4b);  // IPv4 stays per address
}

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
  EXPECT_EQ(l->front().ip, "2001:db8::/64");  // IPv6 is banned per /64
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

TEST_F(BanFixture, Ipv6FailuresCountPerNetworkAndBanIt) {
  auto b = open({3, 600, 3600, 64});
  EXPECT_FALSE(b->record_failure("2001:db8:1:2::1", "imap auth"));
  EXPECT_FALSE(b->record_failure("2001:db8:1:2::2", "imap auth"));
  EXPECT_FALSE(b->record_failure("2001:db8:1:3::1", "imap auth"));  // another network
  EXPECT_TRUE(b->record_failure("2001:db8:1:2:ffff::3", "imap auth"));
  EXPECT_TRUE(b->is_banned("2001:db8:1:2::abcd"));
  EXPECT_FALSE(b->is_banned("2001:db8:1:3::1"));
  EXPECT_EQ(b->key("2001:db8:1:2::abcd"), "2001:db8:1:2::/64");
  auto l = b->list();
  ASSERT_TRUE(l.ok());
  ASSERT_EQ(l->size(), 1u);
  EXPECT_EQ(l->front().ip, "2001:db8:1:2::/64");
}

TEST_F(BanFixture, RemoveTakesTheKeyOrAnAddressInside) {
  auto b = open({1, 600, 3600, 64});
  EXPECT_TRUE(b->record_failure("2001:db8:1:2::1", "x"));
  EXPECT_TRUE(b->record_failure("2001:db8:9:9::1", "x"));
  EXPECT_TRUE(b->record_failure("192.0.2.1", "x"));
  // The CLI opens the table with default settings: removal must not depend
  // on the prefix length the server used.
  auto cli = open({1, 600, 3600, 48});
  EXPECT_TRUE(cli->remove("2001:db8:1:2::/64").ok());
  EXPECT_TRUE(cli->remove("2001:db8:9:9::77").ok());
  EXPECT_TRUE(cli->remove("192.0.2.1").ok());
  EXPECT_EQ(cli->remove("2001:db8:1:2::1").error().code, mailfort::Errc::NotFound);
  ASSERT_TRUE(b->refresh().ok());
  EXPECT_FALSE(b->is_banned("2001:db8:1:2::1"));
  EXPECT_FALSE(b->is_banned("2001:db8:9:9::1"));
  EXPECT_FALSE(b->is_banned("192.0.2.1"));
}

TEST_F(BanFixture, FailuresOnManyConnectionsCountTogether) {
  // Defect 3: several connections from one client each fail a few times;
  // the failures add up per client, not per connection.
  auto b = open({10, 600, 3600});
  int bans = 0;
  for (int conn = 0; conn < 8; ++conn)
    for (int i = 0; i < 3; ++i) bans += b->record_failure("192.0.2.50", "imap auth") ? 1 : 0;
  EXPECT_EQ(bans, 1);  // banned once, at the 10th failure; later ones do not extend it
  EXPECT_TRUE(b->is_banned("192.0.2.50"));
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
