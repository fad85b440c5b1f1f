// Against a real redis-server (skipped when it is not installed): the
// client, and the services sharing state through it.
#include <gtest/gtest.h>

#include <algorithm>
#include <ctime>
#include <filesystem>
#include <thread>

#include "filter/bayes.h"
#include "policy/ban_service.h"
#include "policy/send_limiter.h"
#include "postscreen/dnsbl.h"
#include "postscreen/greylist.h"
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

TEST(RedisTls, VerifiedAgainstTheCaFile) {
  if (!RedisServer::installed()) GTEST_SKIP() << "redis-server not installed";
  RedisServer server;
  ASSERT_TRUE(server.make_tls_cert());
  ASSERT_TRUE(server.start());
  for (const char* host : {"127.0.0.1", "localhost"}) {  // IP SAN, then SNI + DNS SAN
    auto opts = server.options();
    opts.host = host;
    opts.tls = true;
    opts.tls_ca_file = server.cert_file();
    auto redis = Redis::create(opts);
    auto set = redis->command({"SET", redis->key("tls"), std::string(100000, 'y')});
    ASSERT_TRUE(set) << host << ": " << set.error().message;
    // Reused from the pool (session tickets read on an idle connection do not make it stale).
    EXPECT_EQ(redis->command({"STRLEN", redis->key("tls")})->integer, 100000);
    for (int i = 0; i < 10; ++i) ASSERT_TRUE(redis->command({"PING"}));
    auto clients = redis->command({"CLIENT", "LIST"});
    ASSERT_TRUE(clients);
    EXPECT_EQ(std::count(clients->str.begin(), clients->str.end(), '\n'), 1)
        << "one pooled connection, reused";
  }
  // Not signed by a CA we trust (the system store): refused.
  auto opts = server.options();
  opts.tls = true;
  auto untrusted = Redis::create(opts)->command({"PING"});
  ASSERT_FALSE(untrusted);
  EXPECT_EQ(untrusted.error().code, Errc::Temp);
  EXPECT_NE(untrusted.error().message.find("tls"), std::string::npos) << untrusted.error().message;
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

// Two nodes: each its own state database, one Redis.
class SharedBans : public RedisTest {
 protected:
  std::shared_ptr<policy::BanService> node(const std::string& name, std::shared_ptr<Redis> redis) {
    auto b =
        policy::BanService::open(dir_ + "/" + name + ".sqlite", {10, 600, 3600, 64}, {}, std::move(redis));
    EXPECT_TRUE(b) << b.error().message;
    return b.value();
  }
  void SetUp() override {
    RedisTest::SetUp();
    char tmpl[] = "/tmp/mf-bans-XXXXXX";
    dir_ = ::mkdtemp(tmpl);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  std::string dir_;
};

TEST_F(SharedBans, FailuresOnTwoNodesBanOnBoth) {
  auto a = node("a", redis_);
  auto b = node("b", Redis::create(server_.options()));
  for (int i = 0; i < 9; ++i) EXPECT_FALSE((i % 2 ? a : b)->record_failure("192.0.2.7", "imap auth"));
  EXPECT_FALSE(a->is_banned("192.0.2.7"));
  EXPECT_TRUE(a->record_failure("192.0.2.7", "imap auth"));  // the 10th, over both nodes
  EXPECT_TRUE(a->is_banned("192.0.2.7"));
  EXPECT_FALSE(b->is_banned("192.0.2.7"));  // until b pulls the bans
  ASSERT_TRUE(b->refresh());
  EXPECT_TRUE(b->is_banned("192.0.2.7"));
  EXPECT_FALSE(b->record_failure("192.0.2.7", "imap auth"));  // banned: no new ban

  auto listed = b->list();
  ASSERT_TRUE(listed) << listed.error().message;
  ASSERT_EQ(listed->size(), 1u);
  EXPECT_EQ((*listed)[0].ip, "192.0.2.7");
  EXPECT_EQ((*listed)[0].reason, "imap auth");
  EXPECT_GT((*listed)[0].until, (*listed)[0].since);

  // `mailfort ban remove` on any node lifts it everywhere.
  ASSERT_TRUE(b->remove("192.0.2.7"));
  ASSERT_TRUE(a->refresh());
  EXPECT_FALSE(a->is_banned("192.0.2.7"));
  EXPECT_EQ(b->remove("192.0.2.7").error().code, Errc::NotFound);
}

TEST_F(SharedBans, Ipv6NetworkLiftedByAnAddressInside) {
  auto a = node("a", redis_);
  for (int i = 0; i < 10; ++i) a->record_failure("2001:db8:1:2::" + std::to_string(i + 1), "smtp auth");
  auto cli = node("cli", Redis::create(server_.options()));
  ASSERT_TRUE(cli->refresh());
  EXPECT_TRUE(cli->is_banned("2001:db8:1:2::99"));
  ASSERT_TRUE(cli->remove("2001:db8:1:2::5"));
  ASSERT_TRUE(a->refresh());
  EXPECT_FALSE(a->is_banned("2001:db8:1:2::1"));
}

TEST_F(SharedBans, OutageFallsBackToLocalCounting) {
  auto a = node("a", redis_);
  server_.stop();
  for (int i = 0; i < 9; ++i) EXPECT_FALSE(a->record_failure("198.51.100.1", "pop3 auth"));
  EXPECT_TRUE(a->record_failure("198.51.100.1", "pop3 auth"));
  EXPECT_TRUE(a->is_banned("198.51.100.1"));
  EXPECT_GE(redis_->fallbacks(), 10u);
  EXPECT_TRUE(a->refresh());  // the local table still answers
  EXPECT_TRUE(a->is_banned("198.51.100.1"));
}

TEST_F(SharedBans, RedisBanSurvivesAnOutageInMemory) {
  auto a = node("a", redis_);
  for (int i = 0; i < 10; ++i) a->record_failure("203.0.113.9", "imap auth");
  server_.stop();
  ASSERT_TRUE(a->refresh());
  EXPECT_TRUE(a->is_banned("203.0.113.9"));
}

using policy::SendLimiter;

std::shared_ptr<SendLimiter> shared_limiter(std::shared_ptr<Redis> redis) {
  auto l = SendLimiter::create({.server = 0, .domain = 0, .mailbox = 3, .mailbox_recipients = 4});
  l->set_redis(std::move(redis), {});
  return l;
}

TEST_F(RedisTest, SendLimitCountedAcrossNodes) {
  auto a = shared_limiter(redis_);
  auto b = shared_limiter(Redis::create(server_.options()));
  SendLimiter::Request req{"u@example.test", "example.test", {}, {}};
  SendLimiter::Refusal why;
  auto r1 = a->acquire(req, why);
  auto r2 = b->acquire(req, why);
  ASSERT_TRUE(r1 && r2);
  r1.keep();
  r2.keep();
  {
    auto r3 = a->acquire(req, why);
    ASSERT_TRUE(r3);
    EXPECT_EQ(b->mailbox_count("u@example.test"), 3u);
    EXPECT_FALSE(b->acquire(req, why));  // the 4th, on the other node
    EXPECT_EQ(why.level, SendLimiter::Level::Mailbox);
    EXPECT_EQ(why.limit, 3u);
  }  // r3 not kept: released (DECRBY)
  EXPECT_EQ(a->mailbox_count("u@example.test"), 2u);
  auto r4 = b->acquire(req, why);
  ASSERT_TRUE(r4);
  // Recipients: 4 per hour over both nodes.
  auto r5 = a->acquire({"v@example.test", "example.test", 10, {}}, why);
  ASSERT_TRUE(r5);
  for (int i = 0; i < 2; ++i) EXPECT_TRUE(a->add_recipient(r5, why));
  for (int i = 0; i < 2; ++i) EXPECT_TRUE(b->add_recipient(r4, why));
  EXPECT_TRUE(b->add_recipient(r4, why));  // u has its own count
  auto r6 = b->acquire({"v@example.test", "example.test", 10, {}}, why);
  ASSERT_TRUE(r6);
  EXPECT_TRUE(b->add_recipient(r6, why));
  EXPECT_TRUE(b->add_recipient(r6, why));
  EXPECT_FALSE(b->add_recipient(r6, why));  // v: 2 on a + 2 on b
  EXPECT_EQ(why.level, SendLimiter::Level::MailboxRecipients);
  r5 = {};  // released with its 2 recipients
  EXPECT_TRUE(b->add_recipient(r6, why));
}

TEST_F(RedisTest, SendLimitFallsBackToLocalAndReturns) {
  auto a = shared_limiter(redis_);
  SendLimiter::Request req{"w@example.test", "example.test", {}, {}};
  SendLimiter::Refusal why;
  server_.stop();
  for (int i = 0; i < 3; ++i) {
    auto r = a->acquire(req, why);
    ASSERT_TRUE(r);
    r.keep();
  }
  EXPECT_FALSE(a->acquire(req, why));  // the local window holds the limit
  EXPECT_GE(redis_->fallbacks(), 4u);
  ASSERT_TRUE(server_.start());
  std::this_thread::sleep_for(std::chrono::milliseconds(300));  // past the first backoff
  bool back = false;
  for (int i = 0; i < 40 && !back; ++i) {
    auto r = a->acquire(req, why);  // Redis (fresh) counts again
    back = static_cast<bool>(r) && redis_->available();
    if (r) r.keep();
    if (!back) std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  ASSERT_TRUE(back);
  EXPECT_EQ(a->mailbox_count("w@example.test"), 1u);
}

TEST_F(SharedBans, GreylistTripletPassedOnOneNodePassesOnTheOther) {
  using postscreen::Greylist;
  using postscreen::GreylistVerdict;
  auto a = Greylist::open(dir_ + "/a.sqlite", redis_);
  auto b = Greylist::open(dir_ + "/b.sqlite", Redis::create(server_.options()));
  ASSERT_TRUE(a && b);
  postscreen::GreylistSettings gs{300, 3, 36};
  const int64_t t0 = std::time(nullptr);
  auto first = a.value()->check("192.0.2.0/24", "s@x.test", "r@y.test", gs, t0);
  ASSERT_TRUE(first);
  EXPECT_EQ(first->kind, GreylistVerdict::Kind::Defer);
  EXPECT_STREQ(first->reason, "new");
  auto early = b.value()->check("192.0.2.0/24", "s@x.test", "r@y.test", gs, t0 + 100);
  EXPECT_STREQ(early->reason, "waiting");  // B knows the triplet A saw
  EXPECT_EQ(early->retry_in, 200);
  auto retry = b.value()->check("192.0.2.0/24", "s@x.test", "r@y.test", gs, t0 + 301);
  EXPECT_EQ(retry->kind, GreylistVerdict::Kind::Pass);
  EXPECT_STREQ(retry->reason, "passed");
  auto again = a.value()->check("192.0.2.0/24", "s@x.test", "r@y.test", gs, t0 + 400);
  EXPECT_STREQ(again->reason, "known-triplet");
  // Verified domains are shared too.
  ASSERT_TRUE(a.value()->remember_verified_domain("signed.test", t0));
  EXPECT_TRUE(b.value()->is_verified_domain("signed.test", gs, t0 + 10).value());
  EXPECT_FALSE(b.value()->is_verified_domain("other.test", gs, t0 + 10).value());

  // Redis down: the node's SQLite answers (this triplet is new there).
  server_.stop();
  auto local = a.value()->check("192.0.2.0/24", "s@x.test", "r@y.test", gs, t0 + 500);
  ASSERT_TRUE(local);
  EXPECT_STREQ(local->reason, "new");
  EXPECT_GE(redis_->fallbacks(), 1u);
}

TEST_F(RedisTest, DnsblAnswerFromAnotherNodeServesWithoutDns) {
  // Another node's answers, as DnsblLookup writes them (TTL = the DNS TTL).
  ASSERT_TRUE(
      redis_->command({"SET", redis_->key("dnsbl:zen.test 192.0.2.9"), "L 127.0.0.2 127.0.0.4", "EX", "60"}));
  ASSERT_TRUE(redis_->command({"SET", redis_->key("dnsbl:zen.test 192.0.2.10"), "N", "EX", "60"}));
  postscreen::DnsblLookup lookup(nullptr);  // no resolver: an answer must come from Redis
  lookup.set_redis(redis_);
  auto listed = lookup.lookup("zen.test", "192.0.2.9");
  EXPECT_EQ(listed.status, postscreen::DnsblAnswer::Status::Listed);
  EXPECT_EQ(listed.addresses, (std::vector<std::string>{"127.0.0.2", "127.0.0.4"}));
  EXPECT_EQ(lookup.lookup("zen.test", "192.0.2.10").status, postscreen::DnsblAnswer::Status::NotListed);
  // Now in memory: answered with Redis gone.
  server_.stop();
  EXPECT_EQ(lookup.lookup("zen.test", "192.0.2.9").status, postscreen::DnsblAnswer::Status::Listed);
}

TEST(GreylistDecide, SameRuleForEveryStore) {
  using postscreen::GreylistVerdict;
  postscreen::GreylistSettings gs{300, 2, 36};
  auto d = postscreen::greylist_decide(std::nullopt, std::nullopt, gs, 1000);
  EXPECT_STREQ(d.verdict.reason, "new");
  EXPECT_EQ(d.store.first_seen, 1000);
  EXPECT_FALSE(d.store.passed);
  // A triplet older than the retry window starts over.
  d = postscreen::greylist_decide(postscreen::GreylistTriplet{1000, 1000, false}, std::nullopt, gs,
                                  1000 + postscreen::Greylist::kRetryWindowSeconds);
  EXPECT_STREQ(d.verdict.reason, "new");
  d = postscreen::greylist_decide(postscreen::GreylistTriplet{1000, 1000, false}, std::nullopt, gs, 1300);
  EXPECT_STREQ(d.verdict.reason, "passed");
  EXPECT_TRUE(d.newly_passed);
  EXPECT_TRUE(d.store.passed);
  // A client with pass_count passes within allow_days passes at once.
  d = postscreen::greylist_decide(std::nullopt, postscreen::GreylistClient{2, 1000}, gs, 2000);
  EXPECT_STREQ(d.verdict.reason, "known-client");
  EXPECT_TRUE(d.known_client);
  d = postscreen::greylist_decide(std::nullopt, postscreen::GreylistClient{1, 1000}, gs, 2000);
  EXPECT_STREQ(d.verdict.reason, "new");
}

TEST_F(SharedBans, BayesStatisticsShared) {
  auto local_a = filter::open_sqlite_bayes(dir_ + "/bayes-a.sqlite", 1);
  ASSERT_TRUE(local_a);
  auto a = filter::open_redis_bayes(redis_, std::move(local_a.value()), 1);
  auto b = filter::open_redis_bayes(Redis::create(server_.options()), nullptr, 1);
  std::vector<filter::Token> spam1{1, 2, 3, 100}, spam2{1, 2, 4, 101}, ham1{7, 8, 9, 102},
      ham2{7, 8, 10, 103};
  EXPECT_EQ(a->learn(spam1, true, "U@x.test").value(), filter::LearnOutcome::Learned);
  EXPECT_EQ(b->learn(spam1, true, "u@x.test").value(), filter::LearnOutcome::AlreadyLearned);
  EXPECT_EQ(b->learn(spam2, true, "").value(), filter::LearnOutcome::Learned);
  EXPECT_EQ(a->learn(ham1, false, "u@x.test").value(), filter::LearnOutcome::Learned);
  EXPECT_EQ(b->learn(ham2, false, "").value(), filter::LearnOutcome::Learned);
  EXPECT_EQ(b->learn({7, 8, 11, 104}, false, "u@x.test").value(), filter::LearnOutcome::Learned);
  auto global = b->counts("");
  ASSERT_TRUE(global);
  EXPECT_EQ(global->spam_learns, 2u);
  EXPECT_EQ(global->ham_learns, 3u);
  auto user = b->counts("u@x.test");
  EXPECT_EQ(user->spam_learns, 1u);
  EXPECT_EQ(user->ham_learns, 2u);
  // Relearned as the other class: moved, on the other node.
  EXPECT_EQ(b->learn(ham2, true, "").value(), filter::LearnOutcome::Relearned);
  EXPECT_EQ(a->counts("")->spam_learns, 3u);
  EXPECT_EQ(a->counts("")->ham_learns, 2u);
  auto p = a->classify({1, 2, 55}, "");
  ASSERT_TRUE(p && p->has_value());
  EXPECT_GT(**p, 0.5);
  auto q = b->classify({7, 8, 9}, "u@x.test");
  ASSERT_TRUE(q && q->has_value());
  EXPECT_LT(**q, 0.5);

  server_.stop();
  // A: its SQLite answers; B has no local store: Temp.
  EXPECT_EQ(a->learn(spam1, true, "").value(), filter::LearnOutcome::Learned);
  EXPECT_EQ(b->counts("").error().code, Errc::Temp);
  EXPECT_GE(redis_->fallbacks(), 1u);
}

}  // namespace
}  // namespace mailfort::state
