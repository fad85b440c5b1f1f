#include "smtp/smtp_forwarding.h"

#include <gtest/gtest.h>

#include "auth/srs.h"

namespace mailfort::smtp {
namespace {

constexpr int64_t kNow = 20790LL * 86400;

SmtpTransaction forwarding_txn() {
  SmtpTransaction txn;
  txn.sender = "carol@sender.test";
  txn.forwards = {"x@far.test", "y@far.test", "z@other.test", "relayed@far.test"};
  txn.forwarded_by = {{"x@far.test", "a.test"}, {"y@far.test", "a.test"}, {"z@other.test", "b.test"}};
  return txn;
}

TEST(ForwardCopies, OneQueueFilePerSrsSenderFromOutside) {
  auth::Srs srs({"secret"});
  auto copies = forward_copies(&srs, forwarding_txn(), true, "id1", kNow);
  ASSERT_EQ(copies.size(), 3u);
  EXPECT_EQ(copies[0].id, "id1");
  EXPECT_EQ(copies[0].sender, srs.forward("carol@sender.test", "a.test", kNow));
  EXPECT_EQ(copies[0].sender.rfind("SRS0=", 0), 0u);
  EXPECT_EQ(copies[0].recipients, (std::vector<std::string>{"x@far.test", "y@far.test"}));
  EXPECT_EQ(copies[0].forwarded_by, "a.test");
  EXPECT_EQ(copies[1].id, "id11");
  EXPECT_EQ(copies[1].sender, srs.forward("carol@sender.test", "b.test", kNow));
  EXPECT_EQ(copies[1].forwarded_by, "b.test");
  // Not forwarded by an alias of ours (relayed): the sender as it came.
  EXPECT_EQ(copies[2].id, "id12");
  EXPECT_EQ(copies[2].sender, "carol@sender.test");
  EXPECT_EQ(copies[2].recipients, (std::vector<std::string>{"relayed@far.test"}));
  EXPECT_EQ(copies[2].forwarded_by, "");
}

TEST(ForwardCopies, NoRewriteForOurOwnClientsOrWithoutSecret) {
  auth::Srs srs({"secret"});
  const auth::Srs* cases[] = {nullptr, &srs};
  for (const auth::Srs* s : cases) {
    auto copies = forward_copies(s, forwarding_txn(), s == nullptr, "id1", kNow);
    ASSERT_EQ(copies.size(), 1u);
    EXPECT_EQ(copies[0].sender, "carol@sender.test");
    EXPECT_EQ(copies[0].recipients.size(), 4u);
  }
}

TEST(ForwardCopies, NullSenderStaysNull) {
  auth::Srs srs({"secret"});
  auto txn = forwarding_txn();
  txn.sender.clear();
  auto copies = forward_copies(&srs, txn, true, "id1", kNow);
  for (const auto& c : copies) EXPECT_EQ(c.sender, "");
}

}  // namespace
}  // namespace mailfort::smtp
