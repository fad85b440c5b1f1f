#include "sieve/vacation.h"

#include <gtest/gtest.h>

#include "base/base64.h"

namespace mailfort::sieve {
namespace {

const char* kPlain =
    "From: Alice <alice@example.com>\r\n"
    "To: Bob <bob@example.org>\r\n"
    "Subject: hello\r\n"
    "Message-ID: <m1@example.com>\r\n"
    "\r\n"
    "Hi\r\n";

VacationContext bob_ctx(std::string from = "alice@example.com") {
  return VacationContext{std::move(from), {"bob@example.org"}};
}

std::string with_header(std::string_view field) {
  return std::string(field) + "\r\n" + kPlain;
}

TEST(VacationShouldReply, RepliesToPersonalMail) {
  auto d = should_reply(kPlain, bob_ctx(), {});
  EXPECT_TRUE(d.reply) << d.skipped;
  EXPECT_EQ(d.skipped, "");
}

TEST(VacationShouldReply, NeverToTheNullSender) {
  auto d = should_reply(kPlain, bob_ctx(""), {});
  EXPECT_FALSE(d.reply);
  EXPECT_NE(d.skipped.find("null"), std::string::npos);
}

TEST(VacationShouldReply, NeverToRobotSenders) {
  for (const char* s : {"MAILER-DAEMON@example.com", "owner-list@example.com", "list-request@example.com",
                        "LISTSERV@example.com", "majordomo@example.com"}) {
    EXPECT_FALSE(should_reply(kPlain, bob_ctx(s), {}).reply) << s;
  }
  EXPECT_TRUE(should_reply(kPlain, bob_ctx("requester@example.com"), {}).reply);
}

TEST(VacationShouldReply, NeverToListOrBulkOrAutoSubmittedMail) {
  for (const char* f :
       {"List-Id: <x.example.com>", "List-Unsubscribe: <mailto:u@example.com>",
        "List-Post: <mailto:l@example.com>", "Precedence: bulk", "Precedence: LIST", "Precedence: junk",
        "Auto-Submitted: auto-replied", "Auto-Submitted: auto-generated; x=y"}) {
    auto d = should_reply(with_header(f), bob_ctx(), {});
    EXPECT_FALSE(d.reply) << f;
    EXPECT_FALSE(d.skipped.empty()) << f;
  }
  EXPECT_TRUE(should_reply(with_header("Auto-Submitted: no"), bob_ctx(), {}).reply);
  EXPECT_TRUE(should_reply(with_header("Precedence: first-class"), bob_ctx(), {}).reply);
}

TEST(VacationShouldReply, OnlyWhenAddressedToTheUser) {
  const char* to_other = "From: alice@example.com\r\nTo: carol@example.org\r\nSubject: x\r\n\r\nbody\r\n";
  auto d = should_reply(to_other, bob_ctx(), {});
  EXPECT_FALSE(d.reply);
  EXPECT_NE(d.skipped.find("To"), std::string::npos);
  // :addresses names another address of the user.
  VacationReply v;
  v.addresses = {"Carol@Example.org"};
  EXPECT_TRUE(should_reply(to_other, bob_ctx(), v).reply);
  // Cc and Resent-To count; case does not matter.
  EXPECT_TRUE(should_reply("From: a@x\r\nTo: z@y\r\nCc: BOB@example.org\r\n\r\n", bob_ctx(), {}).reply);
  EXPECT_TRUE(should_reply("From: a@x\r\nResent-To: bob@example.org\r\n\r\n", bob_ctx(), {}).reply);
}

TEST(VacationShouldReply, NotToTheUsersOwnAddress) {
  EXPECT_FALSE(should_reply(kPlain, bob_ctx("bob@example.org"), {}).reply);
  VacationReply v;
  v.from = "Bob <bob-alias@example.org>";
  EXPECT_FALSE(should_reply(kPlain, bob_ctx("BOB-alias@example.org"), v).reply);
}

TEST(VacationCompose, HeadersAndPlainBody) {
  VacationReply v;
  v.reason = "I am away.\nBack Monday.";
  v.subject = "Auto: hello";
  std::string r =
      compose_reply(kPlain, v, {"bob@example.org", "alice@example.com", "mx.example.org", "abc", 0});
  EXPECT_NE(r.find("From: <bob@example.org>\r\n"), std::string::npos) << r;
  EXPECT_NE(r.find("To: <alice@example.com>\r\n"), std::string::npos);
  EXPECT_NE(r.find("Subject: Auto: hello\r\n"), std::string::npos);
  EXPECT_NE(r.find("Date: Thu, 01 Jan 1970 00:00:00 +0000\r\n"), std::string::npos);
  EXPECT_NE(r.find("Message-ID: <abc@mx.example.org>\r\n"), std::string::npos);
  EXPECT_NE(r.find("In-Reply-To: <m1@example.com>\r\n"), std::string::npos);
  EXPECT_NE(r.find("References: <m1@example.com>\r\n"), std::string::npos);
  EXPECT_NE(r.find("Auto-Submitted: auto-replied\r\n"), std::string::npos);
  EXPECT_NE(r.find("MIME-Version: 1.0\r\n"), std::string::npos);
  EXPECT_NE(r.find("Content-Type: text/plain; charset=utf-8\r\n"), std::string::npos);
  EXPECT_NE(r.find("\r\n\r\nI am away.\r\nBack Monday.\r\n"), std::string::npos) << r;
}

TEST(VacationCompose, ReferencesAppendTheOriginalId) {
  std::string orig = "References: <a@x> <b@x>\r\n" + std::string(kPlain);
  std::string r = compose_reply(orig, {}, {"bob@example.org", "alice@example.com", "h", "u", 0});
  EXPECT_NE(r.find("References: <a@x> <b@x> <m1@example.com>\r\n"), std::string::npos) << r;
}

TEST(VacationCompose, NonAsciiSubjectAndBodyAreEncoded) {
  VacationReply v;
  v.subject = "Abwesenheit: Grüße";
  v.reason = "Schöne Grüße";
  std::string r = compose_reply(kPlain, v, {"bob@example.org", "alice@example.com", "h", "u", 0});
  EXPECT_NE(r.find("Subject: =?UTF-8?B?" + base64::encode("Abwesenheit: Grüße") + "?=\r\n"),
            std::string::npos)
      << r;
  EXPECT_NE(r.find("Content-Transfer-Encoding: quoted-printable\r\n"), std::string::npos);
  EXPECT_NE(r.find("Sch=C3=B6ne Gr=C3=BC=C3=9Fe"), std::string::npos) << r;
}

TEST(VacationCompose, ScriptValuesCannotInjectHeaders) {
  VacationReply v;
  v.subject = "hi\r\nBcc: victim@example.net";
  v.from = "me@example.org\nX-Evil: 1";
  std::string r = compose_reply(kPlain, v, {"bob@example.org", "alice@example.com", "h", "u", 0});
  EXPECT_EQ(r.find("\r\nBcc:"), std::string::npos) << r;
  EXPECT_EQ(r.find("\r\nX-Evil:"), std::string::npos) << r;
}

TEST(VacationCompose, MimeEntityIsUsedAsGiven) {
  VacationReply v;
  v.mime = true;
  v.reason = "Content-Type: text/html; charset=utf-8\n\n<p>away</p>\n";
  std::string r = compose_reply(kPlain, v, {"bob@example.org", "alice@example.com", "h", "u", 0});
  EXPECT_NE(r.find("MIME-Version: 1.0\r\nContent-Type: text/html; charset=utf-8\r\n\r\n<p>away</p>\r\n"),
            std::string::npos)
      << r;
  EXPECT_EQ(r.find("text/plain"), std::string::npos);
}

TEST(VacationCompose, LongEncodedSubjectIsFolded) {
  std::string subj;
  for (int i = 0; i < 40; ++i) subj += "é";
  std::string enc = encode_header_words(subj);
  EXPECT_NE(enc.find("\r\n "), std::string::npos);
  for (std::size_t start = 0, nl; start < enc.size(); start = nl + 3) {
    nl = enc.find("\r\n ", start);
    if (nl == std::string::npos) nl = enc.size();
    EXPECT_LE(nl - start, 76u);
  }
  EXPECT_EQ(encode_header_words("plain"), "plain");
}

}  // namespace
}  // namespace mailfort::sieve
