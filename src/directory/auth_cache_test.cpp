#include "directory/auth_cache.h"

#include <gtest/gtest.h>

using namespace mailfort::directory;
using namespace std::chrono_literals;

TEST(AuthCache, MatchesOnlyTheRememberedPasswordForThatHash) {
  AuthCache c;
  c.configure(60s, 10);
  auto t = AuthCache::Clock::now();
  EXPECT_FALSE(c.matches("{ARGON2ID}$argon2id$salt1$h", "Correct-Horse-1", t));
  c.remember("{ARGON2ID}$argon2id$salt1$h", "Correct-Horse-1", t);
  EXPECT_TRUE(c.matches("{ARGON2ID}$argon2id$salt1$h", "Correct-Horse-1", t + 59s));
  EXPECT_FALSE(c.matches("{ARGON2ID}$argon2id$salt1$h", "Correct-Horse-2", t));
  // A new password means a new stored hash: the old entry cannot match it.
  EXPECT_FALSE(c.matches("{ARGON2ID}$argon2id$salt2$h", "Correct-Horse-1", t));
  // Expired.
  EXPECT_FALSE(c.matches("{ARGON2ID}$argon2id$salt1$h", "Correct-Horse-1", t + 61s));
  EXPECT_EQ(c.size(), 0u);
}

TEST(AuthCache, BoundedLeastRecentlyUsedFirstAndOffWithZeroTtl) {
  AuthCache c;
  c.configure(60s, 2);
  auto t = AuthCache::Clock::now();
  c.remember("a", "pa", t);
  c.remember("b", "pb", t);
  EXPECT_TRUE(c.matches("a", "pa", t));  // a is now the most recent
  c.remember("c", "pc", t);              // evicts b
  EXPECT_EQ(c.size(), 2u);
  EXPECT_TRUE(c.matches("a", "pa", t));
  EXPECT_FALSE(c.matches("b", "pb", t));
  EXPECT_TRUE(c.matches("c", "pc", t));
  c.configure(0s, 2);
  EXPECT_EQ(c.size(), 0u);
  c.remember("a", "pa", t);
  EXPECT_FALSE(c.matches("a", "pa", t));
}
