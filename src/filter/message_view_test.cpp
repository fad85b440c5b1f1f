#include "filter/message_view.h"

#include <gtest/gtest.h>

#include <string>

namespace mailfort::filter {
namespace {

TEST(MessageView, DecodesHeaderFieldsAndCountsThem) {
  std::string m =
      "From: =?UTF-8?B?SsO8cmdlbg==?= <j@example.org>\r\n"
      "Subject: one\r\n"
      "Subject: two,\r\n folded\r\n"
      "\r\n"
      "body\r\n";
  MessageView v(m);
  ASSERT_EQ(v.headers().size(), 3u);
  EXPECT_EQ(v.first("from").value(), "J\xc3\xbcrgen <j@example.org>");
  EXPECT_EQ(v.count("SUBJECT"), 2u);
  EXPECT_EQ(v.values("subject").back(), "two, folded");
  EXPECT_FALSE(v.first("Date").has_value());
  EXPECT_EQ(v.body(), "body\r\n");
}

TEST(MessageView, TextAndHtmlAlternativesAreDecoded) {
  std::string m =
      "MIME-Version: 1.0\r\n"
      "Content-Type: multipart/alternative; boundary=b\r\n"
      "\r\n"
      "--b\r\n"
      "Content-Type: text/plain; charset=iso-8859-1\r\n"
      "Content-Transfer-Encoding: quoted-printable\r\n"
      "\r\n"
      "Gr=FC=DFe\r\n"
      "--b\r\n"
      "Content-Type: text/html; charset=utf-8\r\n"
      "Content-Transfer-Encoding: base64\r\n"
      "\r\n"
      "PHA+SGVsbG8gPGI+d29ybGQ8L2I+ICZhbXA7IG1vcmU8L3A+PHNjcmlwdD5ldmlsKCk8L3NjcmlwdD4=\r\n"
      "--b--\r\n";
  MessageView v(m);
  ASSERT_EQ(v.text_parts().size(), 2u);
  EXPECT_EQ(v.text_parts()[0].text,
            "Gr\xc3\xbc\xc3\x9f"
            "e");  // the CRLF before a boundary is the boundary's
  EXPECT_TRUE(v.text_parts()[0].in_alternative);
  EXPECT_EQ(v.text_parts()[1].subtype, "html");
  EXPECT_NE(v.text_parts()[1].html.find("<b>world</b>"), std::string::npos);
  EXPECT_NE(v.text_parts()[1].text.find("Hello  world  & more"), std::string::npos);
  EXPECT_EQ(v.text_parts()[1].text.find("evil"), std::string::npos);
  EXPECT_NE(v.all_text().find("Gr\xc3\xbc\xc3\x9f"
                              "e"),
            std::string::npos);
  EXPECT_TRUE(v.attachments().empty());
}

TEST(MessageView, AttachmentsKeepNameTypeAndLongestLine) {
  std::string m =
      "MIME-Version: 1.0\r\n"
      "Content-Type: multipart/mixed; boundary=x\r\n"
      "\r\n"
      "--x\r\n"
      "Content-Type: text/plain\r\n"
      "\r\n"
      "see attached\r\n"
      "--x\r\n"
      "Content-Type: application/octet-stream; name=\"invoice.pdf.exe\"\r\n"
      "Content-Disposition: attachment\r\n"
      "Content-Transfer-Encoding: base64\r\n"
      "\r\n" +
      std::string(1200, 'A') +
      "\r\n"
      "--x--\r\n";
  MessageView v(m);
  ASSERT_EQ(v.attachments().size(), 1u);
  EXPECT_EQ(v.attachments()[0].filename, "invoice.pdf.exe");
  EXPECT_EQ(v.attachments()[0].content_type, "application/octet-stream");
  EXPECT_EQ(v.attachments()[0].longest_line, 1200u);
  EXPECT_EQ(v.text_parts().size(), 1u);
}

TEST(MessageView, LimitsCutAndSaySo) {
  std::string m = "Subject: big\r\n\r\n" + std::string(5000, 'x');
  ViewLimits limits;
  limits.max_bytes = 1000;
  MessageView v(m, limits);
  EXPECT_TRUE(v.truncated());
  EXPECT_EQ(v.raw().size(), 1000u);

  std::string parts = "MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=p\r\n\r\n";
  for (int i = 0; i < 100; ++i) parts += "--p\r\nContent-Type: text/plain\r\n\r\npart\r\n";
  parts += "--p--\r\n";
  ViewLimits few;
  few.max_parts = 10;
  MessageView many(parts, few);
  EXPECT_TRUE(many.truncated());
  EXPECT_LE(many.text_parts().size(), 10u);
}

TEST(MessageView, UnknownCharsetIsKeptAsUtf8AndFlagged) {
  std::string m = "Content-Type: text/plain; charset=x-no-such-charset\r\n\r\nplain words\r\n";
  MessageView v(m);
  ASSERT_EQ(v.text_parts().size(), 1u);
  EXPECT_FALSE(v.text_parts()[0].charset_known);
  EXPECT_EQ(v.text_parts()[0].text, "plain words\r\n");
}

TEST(HtmlToText, DropsTagsCommentsAndStylesDecodesEntities) {
  EXPECT_EQ(html_to_text("a<!-- hidden -->b"), "ab");
  EXPECT_EQ(html_to_text("<style>p{}</style>x&#65;&#x42;&lt;"), "xAB<");
  EXPECT_EQ(html_to_text("one<br>two"), "one\ntwo");
  EXPECT_EQ(html_to_text("&#0;&#xD800;"), "\xef\xbf\xbd\xef\xbf\xbd");
  EXPECT_EQ(html_to_text("unterminated <a href="), "unterminated ");
}

}  // namespace
}  // namespace mailfort::filter
