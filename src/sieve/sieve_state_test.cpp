#include "sieve/sieve_state.h"

#include <gtest/gtest.h>

#include <filesystem>

namespace mailfort::sieve {
namespace {

class SieveStateTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           ("mf-sieve-state-" + std::to_string(::getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::remove_all(dir_);
    std::filesystem::create_directories(dir_);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  std::string path() const { return (dir_ / "sieve-state.sqlite").string(); }
  std::filesystem::path dir_;
};

TEST_F(SieveStateTest, VacationRepliesOncePerPeriodPerSender) {
  auto st = SieveState::open(path());
  ASSERT_TRUE(st) << st.error().message;
  auto& s = *st.value();
  EXPECT_TRUE(s.vacation_claim("bob@example.org", "h", "alice@example.com", 86400, 1000).value());
  EXPECT_FALSE(s.vacation_claim("bob@example.org", "h", "alice@example.com", 86400, 2000).value());
  // Case-insensitive sender and user.
  EXPECT_FALSE(s.vacation_claim("BOB@example.org", "h", "Alice@EXAMPLE.com", 86400, 2000).value());
  // Another sender, another handle, another user: independent.
  EXPECT_TRUE(s.vacation_claim("bob@example.org", "h", "carol@example.com", 86400, 2000).value());
  EXPECT_TRUE(s.vacation_claim("bob@example.org", "other", "alice@example.com", 86400, 2000).value());
  EXPECT_TRUE(s.vacation_claim("dave@example.org", "h", "alice@example.com", 86400, 2000).value());
  // After the period: a new reply, recorded anew.
  EXPECT_TRUE(s.vacation_claim("bob@example.org", "h", "alice@example.com", 86400, 1000 + 86400).value());
  EXPECT_FALSE(s.vacation_claim("bob@example.org", "h", "alice@example.com", 86400, 1000 + 86401).value());
}

TEST_F(SieveStateTest, VacationSurvivesReopen) {
  {
    auto st = SieveState::open(path());
    ASSERT_TRUE(st);
    EXPECT_TRUE(st.value()->vacation_claim("u@d", "h", "s@x", 3600, 100).value());
  }
  auto st = SieveState::open(path());
  ASSERT_TRUE(st);
  EXPECT_FALSE(st.value()->vacation_claim("u@d", "h", "s@x", 3600, 200).value());
}

TEST_F(SieveStateTest, DuplicateSeenOnlyAfterMarkAndWithinPeriod) {
  auto st = SieveState::open(path());
  ASSERT_TRUE(st);
  auto& s = *st.value();
  EXPECT_FALSE(s.duplicate_seen("u@d", "id1", 600, 100).value());
  ASSERT_TRUE(s.duplicate_mark("u@d", "id1", 600, 100));
  EXPECT_TRUE(s.duplicate_seen("u@d", "id1", 600, 200).value());
  EXPECT_TRUE(s.duplicate_seen("U@D", "id1", 600, 200).value());
  EXPECT_FALSE(s.duplicate_seen("other@d", "id1", 600, 200).value());
  EXPECT_FALSE(s.duplicate_seen("u@d", "id2", 600, 200).value());
  // A shorter period asked now narrows the window.
  EXPECT_FALSE(s.duplicate_seen("u@d", "id1", 50, 200).value());
  // Past the recorded period.
  EXPECT_FALSE(s.duplicate_seen("u@d", "id1", 600, 700).value());
}

TEST_F(SieveStateTest, ExpireRemovesOnlyOldEntries) {
  auto st = SieveState::open(path());
  ASSERT_TRUE(st);
  auto& s = *st.value();
  ASSERT_TRUE(s.duplicate_mark("u@d", "old", 10, 100));
  ASSERT_TRUE(s.duplicate_mark("u@d", "new", 1000, 100));
  EXPECT_TRUE(s.vacation_claim("u@d", "h", "old@x", 10, 100).value());
  EXPECT_TRUE(s.vacation_claim("u@d", "h", "new@x", 1000, 100).value());
  s.expire(200);
  // Asked with a long period, an expired row no longer counts: it is gone.
  EXPECT_FALSE(s.duplicate_seen("u@d", "old", 100000, 105).value());
  EXPECT_TRUE(s.duplicate_seen("u@d", "new", 1000, 200).value());
  EXPECT_TRUE(s.vacation_claim("u@d", "h", "old@x", 10, 105).value());
  EXPECT_FALSE(s.vacation_claim("u@d", "h", "new@x", 1000, 200).value());
}

TEST_F(SieveStateTest, OpenFailsClearlyForUnwritablePath) {
  auto st = SieveState::open((dir_ / "no" / "such" / "dir" / "s.sqlite").string());
  ASSERT_FALSE(st);
  EXPECT_NE(st.error().message.find("cannot open"), std::string::npos);
}

}  // namespace
}  // namespace mailfort::sieve
