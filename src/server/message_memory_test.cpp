#include "server/message_memory.h"

#include <gtest/gtest.h>

namespace mailfort::server {
namespace {

constexpr uint64_t kTotal = 100;
const MessageMemory::ImapCaps kCaps{50, 30, 40};

TEST(MessageMemory, SmtpGrowsUpToTheTotalAndGivesBackOnRelease) {
  MessageMemory m;
  MessageMemory::Reservation a(m, kTotal), b(m, kTotal);
  EXPECT_TRUE(a.cover(60));
  EXPECT_TRUE(a.cover(40));  // never shrinks
  EXPECT_EQ(a.held(), 60u);
  EXPECT_FALSE(b.cover(41));
  EXPECT_EQ(b.held(), 0u);  // a refused cover changes nothing
  EXPECT_TRUE(b.cover(40));
  a.release();
  EXPECT_EQ(m.total(), 40u);
  EXPECT_TRUE(b.cover(100));
}

TEST(MessageMemory, DestructorReleases) {
  MessageMemory m;
  {
    MessageMemory::Reservation a(m, kTotal, kCaps, "u", "1.2.3.4");
    ASSERT_TRUE(a.cover(20));
    EXPECT_EQ(m.imap_total(), 20u);
  }
  EXPECT_EQ(m.total(), 0u);
  EXPECT_EQ(m.imap_total(), 0u);
}

TEST(MessageMemory, ImapCapsPerUserPerIpAndTotal) {
  MessageMemory m;
  MessageMemory::Reservation u1(m, kTotal, kCaps, "alice", "ip1");
  MessageMemory::Reservation u2(m, kTotal, kCaps, "alice", "ip2");
  ASSERT_TRUE(u1.cover(20));
  EXPECT_FALSE(u2.cover(11));  // alice: 20 + 11 > 30
  EXPECT_TRUE(u2.cover(10));
  MessageMemory::Reservation b(m, kTotal, kCaps, "bob", "ip1");
  EXPECT_FALSE(b.cover(21));  // ip1: 20 + 21 > 40
  EXPECT_TRUE(b.cover(20));   // imap total 50
  MessageMemory::Reservation c(m, kTotal, kCaps, "carol", "ip3");
  EXPECT_FALSE(c.cover(1));  // IMAP share used up
}

TEST(MessageMemory, ImapNeverTakesWhatSmtpKeeps) {
  MessageMemory m;
  MessageMemory::Reservation imap(m, kTotal, kCaps, "alice", "ip");
  EXPECT_TRUE(imap.cover(30));
  MessageMemory::Reservation smtp(m, kTotal);
  EXPECT_TRUE(smtp.cover(70));  // the rest of the total stays for SMTP
  EXPECT_FALSE(smtp.cover(71));
  MessageMemory::Reservation smtp2(m, kTotal);
  EXPECT_FALSE(smtp2.cover(1));
  // and IMAP cannot grow into SMTP's part either
  MessageMemory::Reservation other(m, kTotal, kCaps, "bob", "ip2");
  EXPECT_FALSE(other.cover(1));
}

}  // namespace
}  // namespace mailfort::server

namespace mailfort::server {
namespace {

TEST(MessageMemory, ShrinkToGivesBackTheRest) {
  MessageMemory m;
  MessageMemory::Reservation a(m, kTotal, kCaps, "u", "ip");
  ASSERT_TRUE(a.cover(30));
  a.shrink_to(10);
  EXPECT_EQ(a.held(), 10u);
  EXPECT_EQ(m.total(), 10u);
  EXPECT_EQ(m.imap_total(), 10u);
  a.shrink_to(20);  // never grows
  EXPECT_EQ(a.held(), 10u);
  EXPECT_TRUE(a.cover(30));
}

}  // namespace
}  // namespace mailfort::server
