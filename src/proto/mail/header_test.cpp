#include "proto/mail/header.h"

#include <gtest/gtest.h>

namespace mailfort::proto::mail {
namespace {

TEST(Header, ParsesFieldsAndFolding) {
  std::string m = "Received: from a\r\n\tby b\r\nSubject: hi\r\nX-Mailer: Foo 1.0\r\n\r\nbody\r\n";
  auto h = parse_header_block(m);
  ASSERT_EQ(h.fields.size(), 3u);
  EXPECT_EQ(h.fields[0].name, "Received");
  EXPECT_EQ(m.substr(h.fields[0].begin, h.fields[0].end - h.fields[0].begin),
            "Received: from a\r\n\tby b\r\n");
  EXPECT_EQ(m.substr(h.body_offset), "body\r\n");
  EXPECT_FALSE(h.malformed);
  EXPECT_TRUE(has_field(h, "subject"));
  EXPECT_FALSE(has_field(h, "Message-ID"));
}

TEST(Header, RewriteDropsPrivacyFieldsCaseInsensitive) {
  std::string m =
      "Received: from laptop\r\nx-originating-ip: [10.0.0.1]\r\nSubject: s\r\nUser-Agent: "
      "Thunder\r\n\r\nbody\r\n";
  auto h = parse_header_block(m);
  auto out = rewrite_header(m, h, {"Received", "X-Originating-IP", "X-Mailer", "User-Agent"},
                            "Received: ours\r\n", "Message-ID: <x@y>\r\n");
  EXPECT_EQ(out, "Received: ours\r\nSubject: s\r\nMessage-ID: <x@y>\r\n\r\nbody\r\n");
}

TEST(Header, NoBlankLineMeansAllHeader) {
  std::string m = "Subject: only\r\n";
  auto h = parse_header_block(m);
  EXPECT_EQ(h.fields.size(), 1u);
  EXPECT_EQ(h.body_offset, m.size());
}

TEST(Header, NonFieldLineEndsHeader) {
  std::string m = "Subject: a\r\nthis is not a header\r\nmore\r\n";
  auto h = parse_header_block(m);
  EXPECT_TRUE(h.malformed);
  ASSERT_EQ(h.fields.size(), 1u);
  EXPECT_EQ(m.substr(h.body_offset), "this is not a header\r\nmore\r\n");
  auto out = rewrite_header(m, h, {}, "", "Date: x\r\n");
  EXPECT_EQ(out, "Subject: a\r\nDate: x\r\nthis is not a header\r\nmore\r\n");
}

TEST(Header, FieldCountIsBounded) {
  std::string m;
  for (int i = 0; i < 100; ++i) m += "To: a@b\r\n";
  m += "\r\nbody";
  auto h = parse_header_block(m, 10);
  EXPECT_EQ(h.fields.size(), 10u);
  EXPECT_TRUE(h.malformed);
}

TEST(Header, Date) {
  EXPECT_EQ(rfc5322_date(0), "Thu, 01 Jan 1970 00:00:00 +0000");
}

}  // namespace
}  // namespace mailfort::proto::mail

namespace mailfort::proto::mail {
namespace {

TEST(HiddenFieldAfter, FindsFieldsPastAMalformedLine) {
  std::string msg = "Subject: x\r\nthis is no field\r\nFrom : mallory@evil.test\r\n\r\nbody\r\n";
  auto h = parse_header_block(msg);
  ASSERT_TRUE(h.malformed);
  std::string_view rest = std::string_view(msg).substr(h.body_offset);
  EXPECT_TRUE(hidden_field_after(rest, {"From", "Sender"}));
  EXPECT_TRUE(hidden_field_after("x\r\nsender:\ta@b\r\n", {"From", "Sender"}));
  EXPECT_FALSE(hidden_field_after(rest, {"Reply-To"}));
  // The blank line ends the header: a From in the body is not hidden.
  EXPECT_FALSE(hidden_field_after("junk\r\n\r\nFrom: a@b\r\n", {"From"}));
  EXPECT_FALSE(hidden_field_after("", {"From"}));
  EXPECT_FALSE(hidden_field_after("From x: a@b", {"From"}));  // no colon after the name and blanks
}

}  // namespace
}  // namespace mailfort::proto::mail
