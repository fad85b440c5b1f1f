#include "proto/smtp/envelope.h"

#include <gtest/gtest.h>

namespace mailfort::proto::smtp {
namespace {

// A MAIL FROM or RCPT TO line that must be refused with this reply.
template <typename Accepted>
void expect_refused(const std::variant<Accepted, Reply>& r, int code, const std::string& enhanced,
                    const std::string& text) {
  const auto* reply = std::get_if<Reply>(&r);
  ASSERT_NE(reply, nullptr);
  EXPECT_EQ(reply->code, code);
  EXPECT_EQ(reply->enhanced, enhanced);
  EXPECT_EQ(reply->text, text);
}

TEST(MailFrom, Parameters) {
  auto r = read_mail_from("FROM:<a@example.org> SIZE=100 BODY=8BITMIME SMTPUTF8 AUTH=<>", 1000);
  ASSERT_TRUE(std::holds_alternative<MailFrom>(r));
  const auto& m = std::get<MailFrom>(r);
  EXPECT_EQ(m.path.mailbox.str(), "a@example.org");
  EXPECT_TRUE(m.smtputf8);
  EXPECT_TRUE(m.eight_bit);
  auto seven = std::get<MailFrom>(read_mail_from("FROM:<a@example.org> BODY=7bit", 1000));
  EXPECT_FALSE(seven.eight_bit);
  EXPECT_FALSE(seven.smtputf8);
  EXPECT_TRUE(std::get<MailFrom>(read_mail_from("FROM:<>", 1000)).path.null_path);
  EXPECT_TRUE(std::holds_alternative<MailFrom>(read_mail_from("FROM:<a@example.org> SIZE=1000", 1000)));
}

TEST(MailFrom, Refusals) {
  expect_refused(read_mail_from("FROM:<a@example.org> SIZE=1001", 1000), 552, "5.3.4",
                 "Message size exceeds fixed maximum message size");
  expect_refused(read_mail_from("FROM:<a@example.org> SIZE=1x", 1000), 501, "5.5.4", "Error: bad SIZE value");
  expect_refused(read_mail_from("FROM:<a@example.org> SIZE=", 1000), 501, "5.5.4",
                 "Error: bad parameter syntax");
  expect_refused(read_mail_from("FROM:<a@example.org> SIZE=99999999999999999999999", 1000), 501, "5.5.4",
                 "Error: bad SIZE value");
  // A parameter without its value, or with one it must not have, is not implemented.
  expect_refused(read_mail_from("FROM:<a@example.org> SIZE", 1000), 555, "5.5.4",
                 "Error: unsupported MAIL parameter SIZE");
  expect_refused(read_mail_from("FROM:<a@example.org> SMTPUTF8=yes", 1000), 555, "5.5.4",
                 "Error: unsupported MAIL parameter SMTPUTF8");
  expect_refused(read_mail_from("FROM:<a@example.org> BODY=BINARYMIME", 1000), 555, "5.5.4",
                 "Error: unsupported MAIL parameter BODY");
  expect_refused(read_mail_from("FROM:<a@example.org> BODY=8bitMIME", 1000), 555, "5.5.4",
                 "Error: unsupported MAIL parameter BODY");
  for (const char* dsn : {"RET=HDRS", "ENVID=x", "REQUIRETLS"}) {
    auto r = read_mail_from(std::string("FROM:<a@example.org> ") + dsn, 1000);
    ASSERT_TRUE(std::holds_alternative<Reply>(r)) << dsn;
    EXPECT_EQ(std::get<Reply>(r).code, 555) << dsn;
  }
  expect_refused(read_mail_from("FROM:<\xc3\xa9@example.org>", 1000), 553, "5.6.7",
                 "Error: non-ASCII address requires SMTPUTF8");
  expect_refused(read_mail_from("FROM:<Postmaster>", 1000), 501, "5.1.7", "Error: bad sender address syntax");
  expect_refused(read_mail_from("FROM:a@example.org", 1000), 501, "5.5.4", "Syntax: MAIL FROM:<address>");
  expect_refused(read_mail_from("FROM:<a@@example.org>", 1000), 501, "5.1.7",
                 "Error: bad sender address syntax");
  expect_refused(read_mail_from("FROM:<" + std::string(65, 'a') + "@example.org>", 1000), 501, "5.1.7",
                 "Error: sender address too long");
  expect_refused(read_mail_from("FROM:<a@example.org> =x", 1000), 501, "5.5.4",
                 "Error: bad parameter syntax");
}

TEST(RcptTo, PathsAndRefusals) {
  auto r = read_rcpt_to("TO:<user@example.test>", false);
  ASSERT_TRUE(std::holds_alternative<PathArgs>(r));
  EXPECT_EQ(std::get<PathArgs>(r).mailbox.str(), "user@example.test");
  EXPECT_TRUE(std::get<PathArgs>(read_rcpt_to("TO:<Postmaster>", false)).postmaster_only);
  EXPECT_TRUE(std::holds_alternative<PathArgs>(read_rcpt_to("TO:<\xc3\xa9@example.test>", true)));
  expect_refused(read_rcpt_to("TO:<\xc3\xa9@example.test>", false), 553, "5.6.7",
                 "Error: non-ASCII address requires SMTPUTF8");
  expect_refused(read_rcpt_to("TO:<>", false), 501, "5.1.3", "Error: bad recipient address syntax");
  expect_refused(read_rcpt_to("TO:<user@example.test> NOTIFY=NEVER ORCPT=rfc822;x@y", false), 555, "5.5.4",
                 "Error: unsupported RCPT parameter NOTIFY");
  expect_refused(read_rcpt_to("TO user@example.test", false), 501, "5.5.4", "Syntax: RCPT TO:<address>");
  std::string long_domain;
  for (int i = 0; i < 5; ++i) long_domain += std::string(60, 'b') + ".";
  long_domain += "example";
  expect_refused(read_rcpt_to("TO:<a b@example.test>", false), 501, "5.1.3",
                 "Error: bad recipient address syntax");
  expect_refused(read_rcpt_to("TO:<a@" + long_domain + ">", false), 501, "5.1.3",
                 "Error: recipient address too long");
}

}  // namespace
}  // namespace mailfort::proto::smtp
