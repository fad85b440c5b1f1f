#include "proto/mime/preview.h"

#include <gtest/gtest.h>

namespace mailfort::proto::mime {
namespace {

std::string pv(const std::string& m, std::size_t max = 200) {
  return preview(m, parse(m), max);
}

TEST(Preview, PlainTextCollapsedAndTrimmed) {
  EXPECT_EQ(pv("Subject: x\r\n\r\n  Hello,\r\n\r\n\tworld!  \r\n"), "Hello, world!");
  EXPECT_EQ(pv("Subject: x\r\n\r\n"), "");
  EXPECT_EQ(pv("Subject: x\r\n"), "");
}

TEST(Preview, CutAtCharactersNotBytes) {
  std::string body;
  for (int i = 0; i < 300; ++i) body += "\xc3\xa9";  // é
  auto p = pv("Content-Type: text/plain; charset=utf-8\r\n\r\n" + body);
  EXPECT_EQ(p.size(), 400u);  // 200 characters of two bytes
  EXPECT_EQ(pv("Subject: x\r\n\r\n" + std::string(500, 'a')).size(), 200u);
  EXPECT_EQ(pv("Subject: x\r\n\r\nabc def", 5), "abc d");
}

TEST(Preview, TransferEncodingAndCharset) {
  EXPECT_EQ(pv("MIME-Version: 1.0\r\nContent-Type: text/plain; charset=iso-8859-1\r\n"
               "Content-Transfer-Encoding: quoted-printable\r\n\r\nCaf=E9 =\r\nau lait\r\n"),
            "Caf\xc3\xa9 au lait");
  EXPECT_EQ(pv("MIME-Version: 1.0\r\nContent-Type: text/plain\r\nContent-Transfer-Encoding: base64\r\n\r\n"
               "SGVsbG8gdGhlcmU=\r\n"),
            "Hello there");
  // Invalid UTF-8 and control characters do not reach the client.
  EXPECT_EQ(pv("Subject: x\r\n\r\na\x01\x7f b\xff"), "a b\xef\xbf\xbd");
}

TEST(Preview, HtmlStripped) {
  std::string m =
      "MIME-Version: 1.0\r\nContent-Type: text/html; charset=utf-8\r\n\r\n"
      "<html><head><title>T</title><style>p { color: red }</style></head>"
      "<body><!-- hidden --><p>Fish &amp; chips&nbsp;<b>today</b></p><script>alert(1)</script>"
      "<p>at&#32;5&#x21; a &lt; b</p></body></html>";
  EXPECT_EQ(pv(m), "Fish & chips today at 5! a < b");
  EXPECT_EQ(html_to_text("<header>x</header>"), " x ");  // <header> is not <head>
  EXPECT_EQ(html_to_text("1 < 2 & 3"), "1 < 2 & 3");
  EXPECT_EQ(html_to_text("<a href=\"x>y\">link</a>"), " link ");
  EXPECT_EQ(html_to_text("<style>unterminated"), " ");
}

TEST(Preview, MultipartPicksFirstReadablePart) {
  std::string alt =
      "MIME-Version: 1.0\r\nContent-Type: multipart/alternative; boundary=b\r\n\r\n"
      "--b\r\nContent-Type: text/html\r\n\r\n<p>html version</p>\r\n"
      "--b\r\nContent-Type: text/plain\r\n\r\nplain version\r\n--b--\r\n";
  EXPECT_EQ(pv(alt), "plain version");
  std::string mixed =
      "MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=m\r\n\r\n"
      "--m\r\nContent-Type: image/png\r\nContent-Transfer-Encoding: base64\r\n\r\niVBORw0KGgo=\r\n"
      "--m\r\nContent-Type: text/plain\r\nContent-Disposition: attachment; filename=a.txt\r\n\r\nattached\r\n"
      "--m\r\nContent-Type: multipart/alternative; boundary=a\r\n\r\n"
      "--a\r\nContent-Type: text/html\r\n\r\n<div>only <i>html</i></div>\r\n--a--\r\n"
      "--m--\r\n";
  EXPECT_EQ(pv(mixed), "only html");
  std::string none =
      "MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=m\r\n\r\n"
      "--m\r\nContent-Type: application/pdf\r\n\r\n%PDF\r\n--m--\r\n";
  EXPECT_EQ(pv(none), "");
}

TEST(Preview, LargeBodyReadsBoundedPrefix) {
  std::string m = "Subject: x\r\n\r\n" + std::string(8 << 20, ' ') + "late text";
  EXPECT_EQ(pv(m), "");  // only the first 256 KiB are looked at
}

}  // namespace
}  // namespace mailfort::proto::mime
