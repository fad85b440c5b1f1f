#include "smtp/sieve_delivery.h"

#include <gtest/gtest.h>

#include "store/mailbox.h"

namespace mailfort::smtp {
namespace {

TEST(SieveFlags, SystemFlagsAsBitsKeywordsAsAtoms) {
  uint32_t bits = 0;
  std::vector<std::string> kw;
  sieve_flags({"\\Seen", "\\FLAGGED", "$Label1", "\\Recent", "\\Unknown", "bad word", "ok", "ok", "", "a(b"},
              bits, kw);
  EXPECT_EQ(bits, uint32_t(store::kSeen | store::kFlagged));
  EXPECT_EQ(kw, (std::vector<std::string>{"$Label1", "ok"}));
}

TEST(RejectMdn, DispositionNotificationToTheSender) {
  std::string original =
      "From: carol@sender.test\r\nTo: alice@example.test\r\nSubject: hi there\r\nMessage-ID: "
      "<x1@sender.test>\r\n"
      "\r\nbody text\r\n";
  std::string mdn = make_reject_mdn("alice@example.test", "carol@sender.test", "Go away\nplease", original,
                                    "mail.example.test", "u1", 0);
  EXPECT_NE(mdn.find("From: <alice@example.test>\r\n"), std::string::npos) << mdn;
  EXPECT_NE(mdn.find("To: <carol@sender.test>\r\n"), std::string::npos);
  EXPECT_NE(mdn.find("Subject: Automatically rejected mail: hi there\r\n"), std::string::npos);
  EXPECT_NE(mdn.find("report-type=disposition-notification"), std::string::npos);
  EXPECT_NE(mdn.find("Content-Type: message/disposition-notification\r\n"), std::string::npos);
  EXPECT_NE(mdn.find("Final-Recipient: rfc822; alice@example.test\r\n"), std::string::npos);
  EXPECT_NE(mdn.find("Original-Message-ID: <x1@sender.test>\r\n"), std::string::npos);
  EXPECT_NE(mdn.find("Disposition: automatic-action/MDN-sent-automatically; deleted\r\n"), std::string::npos);
  EXPECT_NE(mdn.find("Go away\r\nplease"), std::string::npos);
  // The original's header comes back, its body does not.
  EXPECT_NE(mdn.find("Content-Type: text/rfc822-headers\r\n\r\nFrom: carol@sender.test\r\n"),
            std::string::npos);
  EXPECT_EQ(mdn.find("body text"), std::string::npos);
  EXPECT_NE(mdn.find("--mailfort-mdn-u1--\r\n"), std::string::npos);
}

}  // namespace
}  // namespace mailfort::smtp
