#include "policy/send_limiter.h"

#include <gtest/gtest.h>

#include <atomic>
#include <thread>
#include <vector>

using namespace mailfort::policy;
using namespace std::chrono;

namespace {

struct FakeClock {
  steady_clock::time_point now{hours(1000)};
  SendLimiter::Clock fn() {
    return [this] { return now; };
  }
};

SendLimiter::Request user(const std::string& mailbox, std::optional<uint32_t> override_limit = {}) {
  return {mailbox, mailbox.substr(mailbox.find('@') + 1), override_limit, std::nullopt};
}

TEST(SendLimiter, MailboxLimitRefusesAndNamesTheLevel) {
  FakeClock clock;
  auto l = SendLimiter::create({0, 0, 3}, clock.fn());
  SendLimiter::Refusal why;
  for (int i = 0; i < 3; ++i) {
    auto r = l->acquire(user("a@x.test"), why);
    ASSERT_TRUE(r);
    r.keep();
  }
  EXPECT_FALSE(l->acquire(user("a@x.test"), why));
  EXPECT_EQ(why.level, SendLimiter::Level::Mailbox);
  EXPECT_EQ(why.limit, 3u);
  // Another mailbox of the same domain is not affected.
  EXPECT_TRUE(l->acquire(user("b@x.test"), why));
  EXPECT_EQ(why.level, SendLimiter::Level::None);
  EXPECT_EQ(l->mailbox_count("a@x.test"), 3u);
}

TEST(SendLimiter, ReleasedReservationsDoNotCount) {
  FakeClock clock;
  auto l = SendLimiter::create({0, 0, 2}, clock.fn());
  SendLimiter::Refusal why;
  for (int i = 0; i < 10; ++i) {
    auto r = l->acquire(user("a@x.test"), why);
    ASSERT_TRUE(r);  // destroyed without keep(): an aborted transaction
  }
  EXPECT_EQ(l->mailbox_count("a@x.test"), 0u);
  EXPECT_EQ(l->domain_count("x.test"), 0u);
  EXPECT_EQ(l->server_count(), 0u);
  // An open reservation counts: a second transaction cannot slip under.
  l->set_limits({0, 0, 1});
  auto held = l->acquire(user("a@x.test"), why);
  ASSERT_TRUE(held);
  EXPECT_FALSE(l->acquire(user("a@x.test"), why));
  held.release();
  EXPECT_TRUE(l->acquire(user("a@x.test"), why));
}

TEST(SendLimiter, SlidingWindowForgetsAfterAnHour) {
  FakeClock clock;
  auto l = SendLimiter::create({0, 0, 2}, clock.fn());
  SendLimiter::Refusal why;
  l->acquire(user("a@x.test"), why).keep();
  clock.now += minutes(30);
  l->acquire(user("a@x.test"), why).keep();
  EXPECT_FALSE(l->acquire(user("a@x.test"), why));
  clock.now += minutes(30);  // the first one is now 60 minutes old
  auto r = l->acquire(user("a@x.test"), why);
  ASSERT_TRUE(r);
  r.keep();
  EXPECT_FALSE(l->acquire(user("a@x.test"), why));
  clock.now += minutes(29);
  EXPECT_FALSE(l->acquire(user("a@x.test"), why));
  clock.now += minutes(1);
  EXPECT_TRUE(l->acquire(user("a@x.test"), why));
  EXPECT_EQ(l->mailbox_count("a@x.test"), 1u);
  clock.now += hours(5);
  EXPECT_EQ(l->mailbox_count("a@x.test"), 0u);
}

TEST(SendLimiter, ReleaseAfterTheWindowMovedIsHarmless) {
  FakeClock clock;
  auto l = SendLimiter::create({0, 0, 5}, clock.fn());
  SendLimiter::Refusal why;
  auto old = l->acquire(user("a@x.test"), why);
  clock.now += minutes(61);
  l->acquire(user("a@x.test"), why).keep();
  old.release();  // its minute left the window; the new count stays
  EXPECT_EQ(l->mailbox_count("a@x.test"), 1u);
  EXPECT_EQ(l->server_count(), 1u);
}

TEST(SendLimiter, DomainAndServerLimitsCapEveryoneTogether) {
  FakeClock clock;
  auto l = SendLimiter::create({5, 3, 0}, clock.fn());
  SendLimiter::Refusal why;
  l->acquire(user("a@x.test"), why).keep();
  l->acquire(user("b@x.test"), why).keep();
  l->acquire(user("a@x.test"), why).keep();
  EXPECT_FALSE(l->acquire(user("b@x.test"), why));
  EXPECT_EQ(why.level, SendLimiter::Level::Domain);
  EXPECT_EQ(why.limit, 3u);
  l->acquire(user("c@y.test"), why).keep();
  l->acquire({}, why).keep();  // trusted-network relay: server only
  EXPECT_EQ(l->domain_count("x.test"), 3u);
  EXPECT_FALSE(l->acquire(user("d@y.test"), why));
  EXPECT_EQ(why.level, SendLimiter::Level::Server);
  EXPECT_FALSE(l->acquire({}, why));
  EXPECT_EQ(why.level, SendLimiter::Level::Server);
  EXPECT_EQ(l->server_count(), 5u);
}

TEST(SendLimiter, OverridesReplaceTheDefaults) {
  FakeClock clock;
  auto l = SendLimiter::create({0, 2, 1}, clock.fn());
  SendLimiter::Refusal why;
  for (int i = 0; i < 4; ++i) {
    auto r = l->acquire({"a@x.test", "x.test", 4u, 10u}, why);
    ASSERT_TRUE(r) << i;
    r.keep();
  }
  EXPECT_FALSE(l->acquire({"a@x.test", "x.test", 4u, 10u}, why));
  EXPECT_EQ(why.limit, 4u);
  // An override of 0 means unlimited.
  for (int i = 0; i < 20; ++i) l->acquire({"b@y.test", "y.test", 0u, 0u}, why).keep();
  EXPECT_EQ(why.level, SendLimiter::Level::None);
}

TEST(SendLimiter, LiveLimitChangeApplies) {
  FakeClock clock;
  auto l = SendLimiter::create({0, 0, 1}, clock.fn());
  SendLimiter::Refusal why;
  l->acquire(user("a@x.test"), why).keep();
  EXPECT_FALSE(l->acquire(user("a@x.test"), why));
  l->set_limits({0, 0, 3});
  EXPECT_TRUE(l->acquire(user("a@x.test"), why));
}

TEST(SendLimiter, IdleKeysArePruned) {
  FakeClock clock;
  auto l = SendLimiter::create({0, 0, 0}, clock.fn());
  SendLimiter::Refusal why;
  for (int i = 0; i < 100; ++i) l->acquire(user("u" + std::to_string(i) + "@x.test"), why).keep();
  EXPECT_EQ(l->active_keys(), 101u);
  clock.now += minutes(30);
  l->acquire(user("late@y.test"), why).keep();
  EXPECT_EQ(l->active_keys(), 103u);
  clock.now += minutes(31);
  l->acquire(user("late@y.test"), why).keep();
  EXPECT_EQ(l->active_keys(), 2u);  // late@y.test and y.test
}

TEST(SendLimiter, RecipientsPerMailboxAreLimitedAndReleasedWithTheMessage) {
  FakeClock clock;
  SendLimiter::Limits limits;
  limits.mailbox = 0;
  limits.mailbox_recipients = 3;
  auto l = SendLimiter::create(limits, clock.fn());
  SendLimiter::Refusal why;
  {
    auto aborted = l->acquire(user("a@x.test"), why);
    for (int i = 0; i < 3; ++i) ASSERT_TRUE(l->add_recipient(aborted, why));
    EXPECT_FALSE(l->add_recipient(aborted, why));
    EXPECT_EQ(why.level, SendLimiter::Level::MailboxRecipients);
    EXPECT_EQ(why.limit, 3u);
  }
  EXPECT_EQ(l->recipient_count("a@x.test"), 0u);
  auto first = l->acquire(user("a@x.test"), why);
  ASSERT_TRUE(l->add_recipient(first, why));
  ASSERT_TRUE(l->add_recipient(first, why));
  auto moved = std::move(first);
  moved.keep();
  clock.now += minutes(10);
  auto second = l->acquire(user("a@x.test"), why);
  ASSERT_TRUE(l->add_recipient(second, why));
  EXPECT_FALSE(l->add_recipient(second, why));
  second.keep();
  EXPECT_EQ(l->recipient_count("a@x.test"), 3u);
  clock.now += minutes(50);  // the first message's two recipients expire
  EXPECT_EQ(l->recipient_count("a@x.test"), 1u);
  // Relaying for a trusted network has no mailbox: no recipient limit.
  auto relay = l->acquire({}, why);
  for (int i = 0; i < 10; ++i) EXPECT_TRUE(l->add_recipient(relay, why));
}

TEST(SendLimiter, ConcurrentSessionsCannotOvershoot) {
  auto l = SendLimiter::create({0, 0, 100});
  std::atomic<int> granted{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&] {
      SendLimiter::Refusal why;
      for (int i = 0; i < 50; ++i) {
        auto r = l->acquire(user("a@x.test"), why);
        if (r) {
          r.keep();
          ++granted;
        }
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(granted.load(), 100);
}

}  // namespace
