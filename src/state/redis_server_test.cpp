// Against a real redis-server (skipped when it is not installed): the
// client, and the services sharing state through it.
#include <gtest/gtest.h>

#include <thread>

#include "state/redis.h"
#include "state/redis_test_server.h"

namespace mailfort::state {
namespace {

using testing::RedisServer;

class RedisTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!RedisServer::installed()) GTEST_SKIP() << "redis-server not installed";
    ASSERT_TRUE(server_.start());
    redis_ = Redis::create(server_.options());
  }
  RedisServer server_;
  std::shared_ptr<Redis> redis_;
};

TEST_F(RedisTest, CommandsAndTypes) {
  auto set = redis_->command({"SET", redis_->key("a"), "1"});
  ASSERT_TRUE(set) << set.error().message;
  EXPECT_EQ(set->type, RedisReply::Type::Status);
  EXPECT_EQ(set->str, "OK");
  auto incr = redis_->command({"INCRBY", redis_->key("a"), "41"});
  ASSERT_TRUE(incr);
  EXPECT_EQ(incr->type, RedisReply::Type::Integer);
  EXPECT_EQ(incr->integer, 42);
  auto missing = redis_->command({"GET", redis_->key("none")});
  ASSERT_TRUE(missing);
  EXPECT_EQ(missing->type, RedisReply::Type::Nil);
  auto err = redis_->command({"INCR", redis_->key("a"), "extra"});
  ASSERT_FALSE(err);
  EXPECT_EQ(err.error().code, Errc::Perm);
  EXPECT_TRUE(redis_->available());
}

TEST_F(RedisTest, BinarySafeValues) {
  std::string v("a\0b\r\n$3\r\nxyz\xff", 13);
  ASSERT_TRUE(redis_->command({"SET", redis_->key(std::string("k\0\n", 3)), v}));
  auto got = redis_->command({"GET", redis_->key(std::string("k\0\n", 3))});
  ASSERT_TRUE(got);
  EXPECT_EQ(got->str, v);
  std::string big(200000, 'x');
  ASSERT_TRUE(redis_->command({"SET", redis_->key("big"), big}));
  EXPECT_EQ(redis_->command({"GET", redis_->key("big")})->str.size(), big.size());
}

TEST_F(RedisTest, PipelineKeepsOrder) {
  std::vector<std::vector<std::string>> cmds;
  for (int i = 0; i < 100; ++i) cmds.push_back({"RPUSH", redis_->key("list"), std::to_string(i)});
  cmds.push_back({"LRANGE", redis_->key("list"), "0", "-1"});
  cmds.push_back({"HGET", redis_->key("list"), "x"});  // WRONGTYPE: an error reply in its place
  auto r = redis_->pipeline(cmds);
  ASSERT_TRUE(r) << r.error().message;
  ASSERT_EQ(r->size(), 102u);
  EXPECT_EQ((*r)[99].integer, 100);
  ASSERT_EQ((*r)[100].elements.size(), 100u);
  EXPECT_EQ((*r)[100].elements[7].str, "7");
  EXPECT_EQ((*r)[101].type, RedisReply::Type::Error);
}

TEST_F(RedisTest, AuthAndSelect) {
  auto opts = server_.options();
  opts.password = "wrong";
  auto bad = Redis::create(opts)->command({"PING"});
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().code, Errc::Temp);
  opts = server_.options();
  opts.db = 3;
  auto db3 = Redis::create(opts);
  ASSERT_TRUE(db3->command({"SET", "k", "three"}));
  EXPECT_EQ(redis_->command({"GET", "k"})->type, RedisReply::Type::Nil);
  EXPECT_EQ(db3->command({"GET", "k"})->str, "three");
  opts.user = "default";  // ACL form: AUTH user password
  EXPECT_TRUE(Redis::create(opts)->command({"PING"}));
}

TEST_F(RedisTest, ConcurrentCallsShareTheBoundedPool) {
  std::vector<std::thread> threads;
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 50; ++i) ASSERT_TRUE(redis_->command({"INCR", redis_->key("n")}));
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(redis_->command({"GET", redis_->key("n")})->str, "400");
}

TEST_F(RedisTest, OutageFailsFastThenRecovers) {
  ASSERT_TRUE(redis_->command({"SET", redis_->key("x"), "1"}));
  server_.stop();
  auto first = redis_->command({"GET", redis_->key("x")});
  ASSERT_FALSE(first);
  EXPECT_EQ(first.error().code, Errc::Temp);
  EXPECT_FALSE(redis_->available());
  EXPECT_FALSE(redis_->last_error().empty());
  // Inside the backoff: no attempt, an immediate Temp.
  auto t0 = std::chrono::steady_clock::now();
  for (int i = 0; i < 100; ++i) EXPECT_FALSE(redis_->command({"PING"}));
  EXPECT_LT(std::chrono::steady_clock::now() - t0, std::chrono::milliseconds(50));

  ASSERT_TRUE(server_.start());
  // The backoff (at most 5 s, here well under 1 s) ends and calls reach
  // the new server on fresh connections.
  bool back = false;
  for (int i = 0; i < 60 && !back; ++i) {
    back = static_cast<bool>(redis_->command({"SET", redis_->key("x"), "2"}));
    if (!back) std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  ASSERT_TRUE(back);
  EXPECT_TRUE(redis_->available());
  EXPECT_EQ(redis_->command({"GET", redis_->key("x")})->str, "2");
}

TEST(RedisUnreachable, ConnectRefusedIsTemp) {
  RedisOptions o;
  o.host = "127.0.0.1";
  o.port = 1;  // nothing listens
  o.timeout = std::chrono::milliseconds(200);
  auto r = Redis::create(o)->command({"PING"});
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, Errc::Temp);
}

}  // namespace
}  // namespace mailfort::state
