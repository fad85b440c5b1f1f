// The pure parts of the shared state: Redis URLs.
#include <gtest/gtest.h>

#include "state/redis.h"

namespace mailfort::state {
namespace {

TEST(RedisUrl, TcpWithDbAndUser) {
  auto o = parse_redis_url("redis://app@10.0.0.5:6380/3");
  ASSERT_TRUE(o) << o.error().message;
  EXPECT_EQ(o->host, "10.0.0.5");
  EXPECT_EQ(o->port, 6380);
  EXPECT_EQ(o->user, "app");
  EXPECT_EQ(o->db, 3);
  EXPECT_FALSE(o->tls);
  EXPECT_EQ(o->display(), "redis://10.0.0.5:6380/3");
}

TEST(RedisUrl, Defaults) {
  auto o = parse_redis_url("redis://localhost");
  ASSERT_TRUE(o);
  EXPECT_EQ(o->port, 6379);
  EXPECT_EQ(o->db, 0);
  EXPECT_EQ(o->display(), "redis://localhost:6379/0");
  auto slash = parse_redis_url("redis://localhost/");
  ASSERT_TRUE(slash);
  EXPECT_EQ(slash->db, 0);
}

TEST(RedisUrl, TlsAndIpv6) {
  auto o = parse_redis_url("rediss://[::1]:6380/1");
  ASSERT_TRUE(o) << o.error().message;
  EXPECT_TRUE(o->tls);
  EXPECT_EQ(o->host, "::1");
  EXPECT_EQ(o->port, 6380);
  EXPECT_EQ(o->display(), "rediss://[::1]:6380/1");
}

TEST(RedisUrl, UnixSocket) {
  auto o = parse_redis_url("unix:///run/redis/redis.sock?db=2");
  ASSERT_TRUE(o) << o.error().message;
  EXPECT_EQ(o->socket, "/run/redis/redis.sock");
  EXPECT_EQ(o->db, 2);
  EXPECT_EQ(o->display(), "unix:///run/redis/redis.sock?db=2");
  EXPECT_TRUE(parse_redis_url("unix:///tmp/r.sock"));
}

TEST(RedisUrl, PasswordInUrlRefused) {
  auto o = parse_redis_url("redis://user:secret@host:6379/0");
  ASSERT_FALSE(o);
  EXPECT_EQ(o.error().code, Errc::Invalid);
  EXPECT_EQ(o.error().message.find("secret"), std::string::npos) << "the error never echoes the password";
  EXPECT_FALSE(parse_redis_url("redis://:secret@host"));
}

TEST(RedisUrl, Malformed) {
  for (const char* bad :
       {"", "http://host", "redis://", "redis://host:", "redis://host:0", "redis://host:70000",
        "redis://host/x", "redis://host/-1", "redis://[::1", "redis://[::1]x", "unix://relative.sock",
        "unix:///a.sock?database=1", "unix:///a.sock?db=x"}) {
    EXPECT_FALSE(parse_redis_url(bad)) << bad;
  }
}

TEST(Redis, KeyPrefix) {
  RedisOptions o;
  o.key_prefix = "mf:test:";
  auto r = Redis::create(o);
  EXPECT_EQ(r->key("bans"), "mf:test:bans");
  EXPECT_FALSE(r->available());
  EXPECT_EQ(r->fallbacks(), 0u);
  r->count_fallback();
  EXPECT_EQ(r->fallbacks(), 1u);
}

}  // namespace
}  // namespace mailfort::state
