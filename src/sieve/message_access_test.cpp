#include "sieve/message_access.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace mailfort::sieve {
namespace {

using V = std::vector<std::string>;

const std::string kMessage =
    "From: \"Joe Q. Public\" <john.q.public@example.com>\r\n"
    "To: Mary Smith <mary@x.test>, jdoe@example.org, Who? <one@y.test>\r\n"
    "Cc: A Group:Ed Jones <c@a.test>,joe@where.test,John <jdoe@one.test>;\r\n"
    "Subject: =?ISO-8859-1?Q?Caf=E9?= and\r\n"
    " =?UTF-8?B?w6k=?=\r\n"
    "  =?UTF-8?Q?=C3=A9?=\r\n"
    "X-Empty:\r\n"
    "X-Odd: =?x-unknown?Q?raw?=\r\n"
    "Reply-To: not an address list ((\r\n"
    "Sender: \"a@b\"@quoted.test\r\n"
    "Date: Fri, 04 Dec 2026 05:32:00 +0100\r\n"
    "\r\n"
    "Hello body\r\n";

TEST(SieveMessageAccess, HeaderUnfoldedAndDecoded) {
  MessageAccess m(kMessage);
  // Whitespace between adjacent encoded words goes (RFC 2047 6.2), even
  // when they are split across folded lines.
  EXPECT_EQ(m.header("subject"), (V{"Caf\xC3\xA9 and \xC3\xA9\xC3\xA9"}));
  EXPECT_EQ(m.header("SUBJECT", false),
            (V{"=?ISO-8859-1?Q?Caf=E9?= and =?UTF-8?B?w6k=?=  =?UTF-8?Q?=C3=A9?="}));
  EXPECT_EQ(m.header("x-empty"), (V{""}));
  EXPECT_TRUE(m.has_header("X-Empty"));
  EXPECT_FALSE(m.has_header("X-Missing"));
  EXPECT_TRUE(m.header("x-missing").empty());
  EXPECT_EQ(m.header("x-odd"), (V{"=?x-unknown?Q?raw?="}));  // unknown charset: kept
  EXPECT_FALSE(m.has_header("Hello body"));
}

TEST(SieveMessageAccess, MultipleFieldsInOrder) {
  MessageAccess m("From: a@x.test\r\nSubject: s\r\nFrom: b@y.test\r\n\r\nbody\r\n");
  EXPECT_EQ(m.header("from"), (V{"a@x.test", "b@y.test"}));
  EXPECT_EQ(m.addresses("from"), (V{"a@x.test", "b@y.test"}));
}

TEST(SieveMessageAccess, EmptyGroupCountsAsItsValue) {
  MessageAccess m("To: undisclosed-recipients:;\r\nCc: Team: a@x.test;, b@y.test\r\n\r\nbody\r\n");
  EXPECT_EQ(m.addresses("to"), (V{"undisclosed-recipients:;"}));
  EXPECT_EQ(m.addresses("cc"), (V{"a@x.test", "b@y.test"}));
}

TEST(SieveMessageAccess, Addresses) {
  MessageAccess m(kMessage);
  EXPECT_EQ(m.addresses("from"), (V{"john.q.public@example.com"}));
  EXPECT_EQ(m.addresses("to"), (V{"mary@x.test", "jdoe@example.org", "one@y.test"}));
  // Group names are skipped, their members kept.
  EXPECT_EQ(m.addresses("cc"), (V{"c@a.test", "joe@where.test", "jdoe@one.test"}));
  // A quoted local part holding "@": the domain is after the last "@".
  auto sender = m.addresses("sender");
  ASSERT_EQ(sender.size(), 1u);
  EXPECT_EQ(sender[0], "a@b@quoted.test");
  EXPECT_EQ(address_part(sender[0], AddressPart::Domain), "quoted.test");
  EXPECT_EQ(address_part(sender[0], AddressPart::LocalPart), "a@b");
  // Not an address list: the whole value as one string.
  EXPECT_EQ(m.addresses("reply-to"), (V{"not an address list (("}));
  EXPECT_TRUE(m.addresses("bcc").empty());
}

// RFC 5228 2.7.4 and RFC 5233's examples.
TEST(SieveMessageAccess, AddressParts) {
  EXPECT_EQ(address_part("ken+sieve@example.org", AddressPart::All), "ken+sieve@example.org");
  EXPECT_EQ(address_part("ken+sieve@example.org", AddressPart::LocalPart), "ken+sieve");
  EXPECT_EQ(address_part("ken+sieve@example.org", AddressPart::Domain), "example.org");
  EXPECT_EQ(address_part("ken+sieve@example.org", AddressPart::User), "ken");
  EXPECT_EQ(address_part("ken+sieve@example.org", AddressPart::Detail), "sieve");
  EXPECT_EQ(address_part("ken@example.org", AddressPart::User), "ken");
  EXPECT_EQ(address_part("ken@example.org", AddressPart::Detail), std::nullopt);
  EXPECT_EQ(address_part("ken+@example.org", AddressPart::Detail), "");
  EXPECT_EQ(address_part("ken+a+b@example.org", AddressPart::User), "ken");
  EXPECT_EQ(address_part("ken+a+b@example.org", AddressPart::Detail), "a+b");
  EXPECT_EQ(address_part("ken-x@example.org", AddressPart::Detail, "-"), "x");
  EXPECT_EQ(address_part("postmaster", AddressPart::LocalPart), "postmaster");
  EXPECT_EQ(address_part("postmaster", AddressPart::Domain), std::nullopt);
}

TEST(SieveMessageAccess, BodyRawAndEmptyHeader) {
  MessageAccess m(kMessage);
  EXPECT_EQ(m.body_raw(), "Hello body\r\n");
  EXPECT_EQ(m.body_text(), (V{"Hello body\r\n"}));
  MessageAccess bare("\r\nonly body\r\n");
  EXPECT_EQ(bare.body_raw(), "only body\r\n");
  EXPECT_TRUE(bare.header("from").empty());
  MessageAccess empty("");
  EXPECT_EQ(empty.body_raw(), "");
  EXPECT_TRUE(empty.addresses("to").empty());
}

const std::string kMultipart =
    "From: a@x.test\r\n"
    "MIME-Version: 1.0\r\n"
    "Content-Type: multipart/mixed; boundary=\"b1\"\r\n"
    "\r\n"
    "This is the preamble.\r\n"
    "--b1\r\n"
    "Content-Type: text/plain; charset=iso-8859-1\r\n"
    "Content-Transfer-Encoding: quoted-printable\r\n"
    "\r\n"
    "Caf=E9 au lait\r\n"
    "--b1\r\n"
    "Content-Type: text/html\r\n"
    "Content-Transfer-Encoding: base64\r\n"
    "\r\n"
    "PGI+aGk8L2I+\r\n"
    "--b1\r\n"
    "Content-Type: message/rfc822\r\n"
    "\r\n"
    "Subject: inner\r\n"
    "Content-Type: text/plain\r\n"
    "\r\n"
    "inner text\r\n"
    "--b1\r\n"
    "Content-Type: application/octet-stream\r\n"
    "Content-Transfer-Encoding: base64\r\n"
    "\r\n"
    "AAEC\r\n"
    "--b1--\r\n"
    "The epilogue.\r\n";

TEST(SieveMessageAccess, BodyContentRfc5173) {
  MessageAccess m(kMultipart);
  EXPECT_EQ(m.body_content({"text/plain"}), (V{"Caf\xC3\xA9 au lait", "inner text"}));
  EXPECT_EQ(m.body_content({"text/html"}), (V{"<b>hi</b>"}));
  EXPECT_EQ(m.body_content({"TEXT"}), (V{"Caf\xC3\xA9 au lait", "<b>hi</b>", "inner text"}));
  EXPECT_EQ(m.body_text(), m.body_content({"text"}));
  EXPECT_EQ(m.body_content({"application"}), (V{std::string("\x00\x01\x02", 3)}));
  EXPECT_EQ(m.body_content({"multipart"}), (V{"This is the preamble.\nThe epilogue."}));
  auto rfc822 = m.body_content({"message/rfc822"});
  ASSERT_EQ(rfc822.size(), 1u);
  EXPECT_NE(rfc822[0].find("Subject: inner"), std::string::npos);
  EXPECT_EQ(m.body_content({""}).size(), 6u);  // multipart, 2 text, rfc822 header, inner text, octets
  EXPECT_TRUE(m.body_content({"image"}).empty());
  EXPECT_EQ(m.body_raw().substr(0, 21), "This is the preamble.");
}

TEST(SieveMessageAccess, DeepNestingIsBounded) {
  std::string msg;
  for (int i = 0; i < 200; ++i)
    msg += "Content-Type: multipart/mixed; boundary=\"b" + std::to_string(i) + "\"\r\n\r\n--b" +
           std::to_string(i) + "\r\n";
  msg += "Content-Type: text/plain\r\n\r\ndeep\r\n";
  MessageAccess m(msg);
  std::size_t total = 0;
  for (const std::string& s : m.body_content({""})) total += s.size();
  EXPECT_LE(total, msg.size());
  EXPECT_FALSE(m.body_text().empty());  // containers past the depth bound are text leaves
}

TEST(SieveDate, ParseRfc5322) {
  auto d = parse_date("Fri, 04 Dec 2026 05:32:00 +0100");
  ASSERT_TRUE(d);
  EXPECT_EQ(d->utc, 1796358720);  // 2026-12-04T04:32:00Z
  EXPECT_EQ(d->zone_minutes, 60);
  auto no_dow = parse_date("4 Dec 2026 05:32 -0530 (IST)");
  ASSERT_TRUE(no_dow);
  EXPECT_EQ(no_dow->zone_minutes, -330);
  EXPECT_EQ(date_part(*no_dow, "second", no_dow->zone_minutes), "00");
  // Obsolete: two-digit years, named zones, comments, folding.
  auto old = parse_date("Thu, 13 Feb 69 23:32:54 EST");
  ASSERT_TRUE(old);
  EXPECT_EQ(date_part(*old, "year", old->zone_minutes), "1969");
  EXPECT_EQ(old->zone_minutes, -300);
  auto gmt = parse_date("Mon, 1 Jan 24\r\n 00:00:00 GMT");
  ASSERT_TRUE(gmt);
  EXPECT_EQ(date_part(*gmt, "date", 0), "2024-01-01");
  auto military = parse_date("1 Jan 2024 10:00:00 Q");
  ASSERT_TRUE(military);
  EXPECT_EQ(military->zone_minutes, 0);
  EXPECT_TRUE(parse_date("29 Feb 2024 00:00:00 +0000"));
  EXPECT_FALSE(parse_date("29 Feb 2023 00:00:00 +0000"));
  EXPECT_FALSE(parse_date("32 Jan 2024 00:00:00 +0000"));
  EXPECT_FALSE(parse_date("1 Foo 2024 00:00:00 +0000"));
  EXPECT_FALSE(parse_date("1 Jan 2024 24:00:00 +0000"));
  EXPECT_FALSE(parse_date("1 Jan 2024 10:00:00"));
  EXPECT_FALSE(parse_date("Xyz, 1 Jan 2024 10:00:00 +0000"));
  EXPECT_FALSE(parse_date(""));
  EXPECT_FALSE(parse_date("garbage"));
}

TEST(SieveDate, Zones) {
  EXPECT_EQ(parse_zone("+0100"), 60);
  EXPECT_EQ(parse_zone("-0530"), -330);
  EXPECT_EQ(parse_zone("+0000"), 0);
  EXPECT_EQ(parse_zone("0100"), std::nullopt);
  EXPECT_EQ(parse_zone("+01:00"), std::nullopt);
  EXPECT_EQ(parse_zone("+0160"), std::nullopt);
  EXPECT_EQ(parse_zone("+01a0"), std::nullopt);
}

TEST(SieveDate, Parts) {
  auto d = parse_date("Fri, 04 Dec 2026 05:32:07 +0100");
  ASSERT_TRUE(d);
  auto p = [&](std::string_view part, int zone = 60) { return date_part(*d, part, zone).value_or("<none>"); };
  EXPECT_EQ(p("year"), "2026");
  EXPECT_EQ(p("month"), "12");
  EXPECT_EQ(p("day"), "04");
  EXPECT_EQ(p("date"), "2026-12-04");
  EXPECT_EQ(p("julian"), "61378");  // Modified Julian Day of 2026-12-04
  EXPECT_EQ(p("hour"), "05");
  EXPECT_EQ(p("minute"), "32");
  EXPECT_EQ(p("second"), "07");
  EXPECT_EQ(p("time"), "05:32:07");
  EXPECT_EQ(p("iso8601"), "2026-12-04T05:32:07+01:00");
  EXPECT_EQ(p("std11"), "Fri, 04 Dec 2026 05:32:07 +0100");
  EXPECT_EQ(p("zone"), "+0100");
  EXPECT_EQ(p("weekday"), "5");
  EXPECT_EQ(p("bogus"), "<none>");
  // The same instant in another zone crosses midnight back.
  EXPECT_EQ(p("date", -300), "2026-12-03");
  EXPECT_EQ(p("weekday", -300), "4");
  EXPECT_EQ(p("std11", -300), "Thu, 03 Dec 2026 23:32:07 -0500");
  EXPECT_EQ(p("iso8601", 0), "2026-12-04T04:32:07+00:00");
  EXPECT_TRUE(is_date_part("julian"));
  EXPECT_TRUE(is_date_part("weekday"));
  EXPECT_FALSE(is_date_part("week"));
  // RFC 5260 examples: MJD of 1858-11-17 is 0.
  DateTime epoch{-40587LL * 86400, 0};
  EXPECT_EQ(date_part(epoch, "julian", 0), "0");
  EXPECT_EQ(date_part(epoch, "weekday", 0), "3");  // a Wednesday
}

}  // namespace
}  // namespace mailfort::sieve
