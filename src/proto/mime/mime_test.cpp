#include "proto/mime/mime.h"

#include <gtest/gtest.h>

#include <chrono>
#include <functional>
#include <string>

namespace mailfort::proto::mime {
namespace {

using namespace std::string_literals;

// Test messages are written with "\n" and stored the way SMTP delivers
// them, with CRLF.
std::string crlf(std::string_view s) {
  std::string out;
  for (char c : s) {
    if (c == '\n') out += '\r';
    out += c;
  }
  return out;
}

std::string body(const std::string& m, const Part& p) {
  return m.substr(p.body_begin, p.body_end - p.body_begin);
}

Section sec(std::vector<std::uint32_t> part, SectionKind kind = SectionKind::Full,
            std::vector<std::string> fields = {}) {
  return Section{std::move(part), kind, std::move(fields)};
}

std::size_t count_parts(const Part& p) {
  std::size_t n = 1;
  for (const Part& c : p.children) n += count_parts(c);
  return n;
}

std::size_t depth_of(const Part& p) {
  std::size_t d = 0;
  for (const Part& c : p.children) d = std::max(d, depth_of(c) + 1);
  return d;
}

const std::string kTextPlain = "\"text\" \"plain\" (\"charset\" \"us-ascii\") NIL NIL \"7bit\"";

// --- normal messages: exact output -------------------------------------------

TEST(MimeSimple, TextMessage) {
  std::string m = crlf(
      "Date: Mon, 7 Feb 1994 21:52:25 -0800\n"
      "From: Fred Foobar <foobar@Blurdybloop.example>\n"
      "Subject: afternoon meeting\n"
      "To: mooch@owatagu.siam.edu.example\n"
      "Message-Id: <B27397-0100000@Blurdybloop.example>\n"
      "MIME-Version: 1.0\n"
      "Content-Type: TEXT/PLAIN; CHARSET=US-ASCII\n"
      "\n"
      "Hello Joe, do you think we can meet at 3:30 tomorrow?\n");
  Part p = parse(m);
  EXPECT_EQ(p.type, "text");
  EXPECT_EQ(p.subtype, "plain");
  ASSERT_EQ(p.params.size(), 1u);
  EXPECT_EQ(p.params[0].name, "CHARSET");
  EXPECT_EQ(p.params[0].value, "US-ASCII");
  EXPECT_EQ(p.lines, 1u);
  EXPECT_EQ(body(m, p), "Hello Joe, do you think we can meet at 3:30 tomorrow?\r\n");
  EXPECT_TRUE(p.children.empty());

  // Type and parameters as written; the charset is present so no default.
  EXPECT_EQ(imap_bodystructure(m, p, false),
            "(\"TEXT\" \"PLAIN\" (\"CHARSET\" \"US-ASCII\") NIL NIL \"7bit\" 55 1)");
  EXPECT_EQ(imap_bodystructure(m, p, true),
            "(\"TEXT\" \"PLAIN\" (\"CHARSET\" \"US-ASCII\") NIL NIL \"7bit\" 55 1 NIL NIL NIL NIL)");
  EXPECT_EQ(imap_envelope(m, p),
            "(\"Mon, 7 Feb 1994 21:52:25 -0800\" \"afternoon meeting\" "
            "((\"Fred Foobar\" NIL \"foobar\" \"Blurdybloop.example\")) "
            "((\"Fred Foobar\" NIL \"foobar\" \"Blurdybloop.example\")) "
            "((\"Fred Foobar\" NIL \"foobar\" \"Blurdybloop.example\")) "
            "((NIL NIL \"mooch\" \"owatagu.siam.edu.example\")) NIL NIL NIL "
            "\"<B27397-0100000@Blurdybloop.example>\")");

  EXPECT_EQ(section(m, p, sec({})), m);
  EXPECT_EQ(section(m, p, sec({1})), body(m, p));
  EXPECT_EQ(section(m, p, sec({}, SectionKind::Text)), body(m, p));
  EXPECT_EQ(section(m, p, sec({}, SectionKind::Header)), m.substr(0, p.body_begin));
  EXPECT_EQ(section(m, p, sec({}, SectionKind::HeaderFields, {"subject", "FROM", "x-none"})),
            "From: Fred Foobar <foobar@Blurdybloop.example>\r\nSubject: afternoon meeting\r\n\r\n");
  EXPECT_EQ(
      section(m, p,
              sec({}, SectionKind::HeaderFieldsNot, {"date", "from", "to", "message-id", "mime-version"})),
      "Subject: afternoon meeting\r\nContent-Type: TEXT/PLAIN; CHARSET=US-ASCII\r\n\r\n");
  EXPECT_EQ(section(m, p, sec({2})), std::nullopt);
  EXPECT_EQ(section(m, p, sec({1, 1})), std::nullopt);
  EXPECT_EQ(section(m, p, sec({1}, SectionKind::Header)), std::nullopt);  // not message/rfc822
  EXPECT_EQ(section(m, p, sec({}, SectionKind::Mime)), std::nullopt);
  EXPECT_EQ(section(m, p, sec({1}, SectionKind::Mime)), m.substr(0, p.body_begin));
  EXPECT_EQ(searchable_body(m, p), body(m, p));
}

TEST(MimeSimple, NoContentTypeGetsDefaults) {
  std::string m = crlf("Subject: x\n\nab\ncd\n");
  Part p = parse(m);
  EXPECT_EQ(imap_bodystructure(m, p, true), "(" + kTextPlain + " 8 2 NIL NIL NIL NIL)");
  EXPECT_EQ(imap_bodystructure(m, p, false), "(" + kTextPlain + " 8 2)");
}

TEST(MimeSimple, DefaultCharsetIsAppendedAfterOtherParams) {
  std::string m = crlf("Content-Type: text/plain; format=flowed\n\nx\n");
  Part p = parse(m);
  EXPECT_EQ(imap_bodystructure(m, p, false),
            "(\"text\" \"plain\" (\"format\" \"flowed\" \"charset\" \"us-ascii\") NIL NIL \"7bit\" 3 1)");
}

TEST(MimeSimple, ContentFieldsNeedMime) {
  // No MIME-Version and no Content-Type: Content-* fields mean nothing.
  std::string m = crlf("Content-Transfer-Encoding: base64\nContent-ID: <x@y>\n\naGk=\n");
  Part p = parse(m);
  EXPECT_EQ(p.encoding, "");
  EXPECT_EQ(p.id, "");
  EXPECT_EQ(imap_bodystructure(m, p, false), "(" + kTextPlain + " 6 1)");
  // With MIME-Version they count.
  std::string m2 = crlf("MIME-Version: 1.0\nContent-Transfer-Encoding: base64\nContent-ID: <x@y>\n\naGk=\n");
  Part p2 = parse(m2);
  EXPECT_EQ(p2.encoding, "base64");
  EXPECT_EQ(imap_bodystructure(m2, p2, false),
            "(\"text\" \"plain\" (\"charset\" \"us-ascii\") \"<x@y>\" NIL \"base64\" 6 1)");
  EXPECT_EQ(decode_transfer(body(m2, p2), p2.encoding), "hi");
}

TEST(MimeMultipart, Alternative) {
  std::string m = crlf(
      "From: a@example.com\n"
      "MIME-Version: 1.0\n"
      "Content-Type: multipart/alternative; boundary=\"=_alt\"\n"
      "\n"
      "This is a multi-part message in MIME format.\n"
      "--=_alt\n"
      "Content-Type: text/plain; charset=utf-8\n"
      "Content-Transfer-Encoding: quoted-printable\n"
      "\n"
      "caf=C3=A9 =\n"
      "au lait\n"
      "--=_alt\n"
      "Content-Type: text/html; charset=utf-8\n"
      "\n"
      "<p>caf\xC3\xA9</p>\n"
      "--=_alt--\n"
      "epilogue\n");
  Part p = parse(m);
  ASSERT_TRUE(p.is_multipart());
  EXPECT_EQ(p.subtype, "alternative");
  ASSERT_EQ(p.children.size(), 2u);
  const Part& plain = p.children[0];
  const Part& html = p.children[1];
  EXPECT_EQ(body(m, plain), "caf=C3=A9 =\r\nau lait");  // the CRLF before the boundary is the boundary's
  EXPECT_EQ(plain.lines, 1u);
  EXPECT_EQ(plain.encoding, "quoted-printable");
  EXPECT_EQ(body(m, html), "<p>caf\xC3\xA9</p>");
  EXPECT_EQ(html.lines, 0u);
  EXPECT_EQ(p.body_end, m.size());  // the epilogue belongs to the multipart

  EXPECT_EQ(imap_bodystructure(m, p, true),
            "((\"text\" \"plain\" (\"charset\" \"utf-8\") NIL NIL \"quoted-printable\" 20 1 NIL NIL NIL NIL)"
            "(\"text\" \"html\" (\"charset\" \"utf-8\") NIL NIL \"7bit\" 12 0 NIL NIL NIL NIL)"
            " \"alternative\" (\"boundary\" \"=_alt\") NIL NIL NIL)");
  EXPECT_EQ(imap_bodystructure(m, p, false),
            "((\"text\" \"plain\" (\"charset\" \"utf-8\") NIL NIL \"quoted-printable\" 20 1)"
            "(\"text\" \"html\" (\"charset\" \"utf-8\") NIL NIL \"7bit\" 12 0) \"alternative\")");

  EXPECT_EQ(section(m, p, sec({1})), "caf=C3=A9 =\r\nau lait");
  EXPECT_EQ(section(m, p, sec({2})), "<p>caf\xC3\xA9</p>");
  EXPECT_EQ(section(m, p, sec({1}, SectionKind::Mime)),
            "Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n");
  EXPECT_EQ(section(m, p, sec({3})), std::nullopt);
  EXPECT_EQ(section(m, p, sec({0})), std::nullopt);
  // "1" of a non-multipart part is the part itself (as Dovecot answers).
  EXPECT_EQ(section(m, p, sec({1, 1})), section(m, p, sec({1})));
  EXPECT_EQ(section(m, p, sec({1, 2})), std::nullopt);
  EXPECT_EQ(decode_transfer(body(m, plain), plain.encoding), "caf\xC3\xA9 au lait");
  EXPECT_EQ(searchable_body(m, p), "caf\xC3\xA9 au lait\n<p>caf\xC3\xA9</p>");
}

const char* kNestedMixed =
    "From: Nathaniel Borenstein <nsb@nsb.fv.com>\n"
    "To: Ned Freed <ned@innosoft.com>\n"
    "Subject: Sample message\n"
    "MIME-Version: 1.0\n"
    "Content-Type: multipart/mixed; boundary=\"outer\"\n"
    "\n"
    "--outer\n"
    "Content-Type: multipart/alternative; boundary=\"inner\"\n"
    "\n"
    "--inner\n"
    "\n"
    "plain text\n"
    "--inner\n"
    "Content-Type: text/enriched\n"
    "\n"
    "<bold>rich</bold>\n"
    "--inner--\n"
    "\n"
    "--outer\n"
    "Content-Type: application/pdf; name=\"report.pdf\"\n"
    "Content-Transfer-Encoding: base64\n"
    "Content-Disposition: attachment;\n"
    "\tfilename=\"report.pdf\"; size=6\n"
    "Content-Description: The report\n"
    "Content-Language: en, de\n"
    "Content-Location: report.pdf\n"
    "Content-MD5: 7gPq3Dp7dXgrjeQBVYBz9A==\n"
    "\n"
    "JVBE\n"
    "Ri0x\n"
    "--outer--\n";

TEST(MimeMultipart, NestedMixedWithAttachment) {
  std::string m = crlf(kNestedMixed);
  Part p = parse(m);
  ASSERT_EQ(p.children.size(), 2u);
  const Part& alt = p.children[0];
  ASSERT_EQ(alt.children.size(), 2u);
  EXPECT_EQ(alt.subtype, "alternative");
  EXPECT_EQ(body(m, alt.children[0]), "plain text");
  EXPECT_EQ(body(m, alt.children[1]), "<bold>rich</bold>");
  // After its closing boundary the inner multipart runs on to the outer one.
  EXPECT_EQ(body(m, alt).substr(body(m, alt).size() - 11), "--inner--\r\n");

  const Part& pdf = p.children[1];
  EXPECT_EQ(pdf.type, "application");
  EXPECT_EQ(pdf.subtype, "pdf");
  EXPECT_EQ(pdf.disposition, "attachment");
  ASSERT_EQ(pdf.disposition_params.size(), 2u);
  EXPECT_EQ(pdf.disposition_params[0].name, "filename");
  EXPECT_EQ(pdf.disposition_params[0].value, "report.pdf");
  EXPECT_EQ(pdf.description, "The report");
  EXPECT_EQ(pdf.language, "en, de");
  EXPECT_EQ(decode_transfer(body(m, pdf), pdf.encoding), "%PDF-1");

  EXPECT_EQ(imap_bodystructure(m, p, true),
            "(((" + kTextPlain +
                " 10 0 NIL NIL NIL NIL)"
                "(\"text\" \"enriched\" (\"charset\" \"us-ascii\") NIL NIL \"7bit\" 17 0 NIL NIL NIL NIL)"
                " \"alternative\" (\"boundary\" \"inner\") NIL NIL NIL)"
                "(\"application\" \"pdf\" (\"name\" \"report.pdf\") NIL \"The report\" \"base64\" 10"
                " \"7gPq3Dp7dXgrjeQBVYBz9A==\" (\"attachment\" (\"filename\" \"report.pdf\" \"size\" \"6\"))"
                " (\"en\" \"de\") \"report.pdf\")"
                " \"mixed\" (\"boundary\" \"outer\") NIL NIL NIL)");
  EXPECT_EQ(imap_bodystructure(m, p, false),
            "(((" + kTextPlain +
                " 10 0)(\"text\" \"enriched\" (\"charset\" \"us-ascii\") NIL NIL \"7bit\" 17 0)"
                " \"alternative\")(\"application\" \"pdf\" (\"name\" \"report.pdf\") NIL \"The report\" "
                "\"base64\" 10)"
                " \"mixed\")");

  EXPECT_EQ(section(m, p, sec({1, 1})), "plain text");
  EXPECT_EQ(section(m, p, sec({1, 2})), "<bold>rich</bold>");
  EXPECT_EQ(section(m, p, sec({1, 1}, SectionKind::Mime)), "\r\n");
  EXPECT_EQ(section(m, p, sec({2})), "JVBE\r\nRi0x");
  EXPECT_EQ(section(m, p, sec({1, 3})), std::nullopt);
  EXPECT_EQ(section(m, p, sec({2, 2})), std::nullopt);
  // Only text parts are searched.
  EXPECT_EQ(searchable_body(m, p), "plain text\n<bold>rich</bold>");
}

TEST(MimeMultipart, HeaderFieldsMatchCaseInsensitivelyInOrder) {
  std::string m = crlf("X-A: 1\nx-b: 2\nX-A: 3\n folded\nSubject: s\n\nbody\n");
  Part p = parse(m);
  EXPECT_EQ(section(m, p, sec({}, SectionKind::HeaderFields, {"X-B", "x-a"})),
            "X-A: 1\r\nx-b: 2\r\nX-A: 3\r\n folded\r\n\r\n");
  EXPECT_EQ(section(m, p, sec({}, SectionKind::HeaderFields, {"none"})), "\r\n");
  EXPECT_EQ(header_values(m, "x-a"), (std::vector<std::string>{"1", "3 folded"}));
  EXPECT_EQ(header_values(m, "Subject"), (std::vector<std::string>{"s"}));
  EXPECT_TRUE(header_values(m, "body").empty());
  // RFC 5322 unfolding removes line breaks only.
  EXPECT_EQ(header_values(crlf("Message-ID:\n <id@x>\n\n"), "message-id"),
            (std::vector<std::string>{" <id@x>"}));
}

TEST(MimeSearch, HeadersOfAllPartsAreSearchableDecoded) {
  std::string m = crlf(
      "Subject: =?UTF-8?Q?Gr=C3=BC=C3=9Fe?=\n"
      "Content-Type: multipart/mixed; boundary=b\n"
      "\n"
      "--b\n"
      "Content-Type: message/rfc822\n"
      "\n"
      "From: inner@example.org\n"
      "\n"
      "inner body\n"
      "--b--\n");
  Part p = parse(m);
  EXPECT_EQ(searchable_headers(m, p),
            "Subject: Gr\xC3\xBC\xC3\x9F"
            "e\nContent-Type: multipart/mixed; boundary=b\n"
            "Content-Type: message/rfc822\nFrom: inner@example.org");
  EXPECT_EQ(searchable_headers(m, p, 7), "Subject");
}

// --- message/rfc822 ----------------------------------------------------------

const char* kForward =
    "From: outer@example.com\n"
    "Subject: Fwd: twice\n"
    "MIME-Version: 1.0\n"
    "Content-Type: multipart/mixed; boundary=b1\n"
    "\n"
    "--b1\n"
    "Content-Type: text/plain\n"
    "\n"
    "see below\n"
    "--b1\n"
    "Content-Type: message/rfc822\n"
    "Content-Description: forwarded\n"
    "\n"
    "From: middle@example.com\n"
    "Subject: Fwd: once\n"
    "MIME-Version: 1.0\n"
    "Content-Type: multipart/mixed; boundary=b2\n"
    "\n"
    "--b2\n"
    "Content-Type: text/plain\n"
    "\n"
    "middle text\n"
    "--b2\n"
    "Content-Type: message/rfc822\n"
    "\n"
    "From: Inner Person <inner@example.com>\n"
    "Subject: original\n"
    "Message-ID: <orig@example.com>\n"
    "\n"
    "the original\n"
    "--b2--\n"
    "--b1--\n";

TEST(MimeRfc822, InsideMultipartAndNestedTwice) {
  std::string m = crlf(kForward);
  Part p = parse(m);
  ASSERT_EQ(p.children.size(), 2u);
  const Part& fwd = p.children[1];
  ASSERT_TRUE(fwd.is_message_rfc822());
  const Part& middle = fwd.children[0];
  EXPECT_EQ(middle.header_begin, fwd.body_begin);
  EXPECT_EQ(middle.body_end, fwd.body_end);
  ASSERT_TRUE(middle.is_multipart());
  ASSERT_EQ(middle.children.size(), 2u);
  const Part& fwd2 = middle.children[1];
  ASSERT_TRUE(fwd2.is_message_rfc822());
  const Part& inner = fwd2.children[0];
  EXPECT_EQ(body(m, inner), "the original");
  EXPECT_EQ(fwd2.lines, 4u);

  std::string inner_env =
      "(NIL \"original\" ((\"Inner Person\" NIL \"inner\" \"example.com\")) "
      "((\"Inner Person\" NIL \"inner\" \"example.com\")) ((\"Inner Person\" NIL \"inner\" \"example.com\")) "
      "NIL NIL NIL NIL \"<orig@example.com>\")";
  EXPECT_EQ(imap_envelope(m, inner), inner_env);
  std::string inner_bs = "(\"message\" \"rfc822\" NIL NIL NIL \"7bit\" " +
                         std::to_string(fwd2.body_end - fwd2.body_begin) + " " + inner_env + " (" +
                         kTextPlain + " 12 0) 4)";
  std::string middle_env =
      "(NIL \"Fwd: once\" ((NIL NIL \"middle\" \"example.com\")) ((NIL NIL \"middle\" \"example.com\")) "
      "((NIL NIL \"middle\" \"example.com\")) NIL NIL NIL NIL NIL)";
  EXPECT_EQ(imap_bodystructure(m, p, false),
            "((" + kTextPlain + " 9 0)(\"message\" \"rfc822\" NIL NIL \"forwarded\" \"7bit\" " +
                std::to_string(fwd.body_end - fwd.body_begin) + " " + middle_env + " ((" + kTextPlain +
                " 11 0)" + inner_bs + " \"mixed\") " + std::to_string(fwd.lines) + ") \"mixed\")");

  // Part numbers go through message/rfc822 parts into the embedded message.
  EXPECT_EQ(section(m, p, sec({1})), "see below");
  EXPECT_EQ(section(m, p, sec({2})), body(m, fwd));
  EXPECT_EQ(section(m, p, sec({2}, SectionKind::Mime)),
            "Content-Type: message/rfc822\r\nContent-Description: forwarded\r\n\r\n");
  EXPECT_EQ(section(m, p, sec({2}, SectionKind::Header)),
            m.substr(middle.header_begin, middle.body_begin - middle.header_begin));
  EXPECT_EQ(section(m, p, sec({2}, SectionKind::Text)), body(m, middle));
  EXPECT_EQ(section(m, p, sec({2}, SectionKind::HeaderFields, {"subject"})), "Subject: Fwd: once\r\n\r\n");
  EXPECT_EQ(section(m, p, sec({2, 1})), "middle text");
  EXPECT_EQ(section(m, p, sec({2, 2}, SectionKind::Header)),
            "From: Inner Person <inner@example.com>\r\nSubject: original\r\nMessage-ID: "
            "<orig@example.com>\r\n\r\n");
  EXPECT_EQ(section(m, p, sec({2, 2, 1})), "the original");  // single-part embedded message: "1" is its body
  EXPECT_EQ(section(m, p, sec({2, 2, 2})), std::nullopt);
  EXPECT_EQ(section(m, p, sec({2, 3})), std::nullopt);
  EXPECT_EQ(section(m, p, sec({1}, SectionKind::Text)), std::nullopt);
  EXPECT_EQ(searchable_body(m, p), "see below\nmiddle text\nthe original");
}

TEST(MimeRfc822, RootMessageRfc822) {
  std::string m = crlf("Content-Type: message/rfc822\n\nSubject: in\n\nbody\n");
  Part p = parse(m);
  ASSERT_TRUE(p.is_message_rfc822());
  EXPECT_EQ(section(m, p, sec({1})), "Subject: in\r\n\r\nbody\r\n");
  EXPECT_EQ(section(m, p, sec({1, 1})), "body\r\n");
  EXPECT_EQ(imap_bodystructure(m, p, false),
            "(\"message\" \"rfc822\" NIL NIL NIL \"7bit\" 21 (NIL \"in\" NIL NIL NIL NIL NIL NIL NIL NIL) (" +
                kTextPlain + " 6 1) 3)");
}

TEST(MimeRfc822, ContainingItselfTextually) {
  // The body of a message/rfc822 part is the message itself, again and
  // again: nesting stops at the depth limit, everything stays bounded.
  std::string m = crlf("Subject: self\nContent-Type: message/rfc822\n\nx\n");
  for (int i = 0; i < 60; ++i) m = crlf("Subject: self\nContent-Type: message/rfc822\n\n") + m;
  Part p = parse(m);
  EXPECT_EQ(depth_of(p), 32u);
  std::string bs = imap_bodystructure(m, p, true);
  EXPECT_LT(bs.size(), 20000u);
  EXPECT_NE(bs.find("\"self\""), std::string::npos);
  std::vector<std::uint32_t> path(31, 1);
  EXPECT_TRUE(section(m, p, sec(path, SectionKind::Header)).has_value());

  Limits small;
  small.max_depth = 3;
  Part q = parse(m, small);
  EXPECT_EQ(depth_of(q), 3u);
}

TEST(MimeRfc822, DigestChildrenDefaultToMessage) {
  std::string m = crlf(
      "Content-Type: multipart/digest; boundary=d\n"
      "\n"
      "--d\n"
      "\n"
      "Subject: one\n"
      "\n"
      "first\n"
      "--d\n"
      "Content-Type: text/plain\n"
      "\n"
      "not a message\n"
      "--d--\n");
  Part p = parse(m);
  ASSERT_EQ(p.children.size(), 2u);
  EXPECT_TRUE(p.children[0].is_message_rfc822());
  EXPECT_EQ(imap_envelope(m, p.children[0].children[0]), "(NIL \"one\" NIL NIL NIL NIL NIL NIL NIL NIL)");
  EXPECT_EQ(p.children[1].type, "text");
}

// --- encoded words, 8-bit, quoting ----------------------------------------------

TEST(MimeHeaders, EncodedWords) {
  EXPECT_EQ(decode_header_value("=?UTF-8?B?w6lsw6h2ZQ==?="), "\xC3\xA9l\xC3\xA8ve");
  EXPECT_EQ(decode_header_value("=?iso-8859-1?q?caf=E9_cr=E8me?="), "caf\xC3\xA9 cr\xC3\xA8me");
  // Blanks between adjacent encoded words disappear, others stay.
  EXPECT_EQ(decode_header_value("=?utf-8?q?a?= \r\n =?utf-8?q?b?= c =?utf-8?q?d?="), "ab c d");
  EXPECT_EQ(decode_header_value("Re: =?windows-1252?Q?=93quoted=94?="), "Re: \xE2\x80\x9Cquoted\xE2\x80\x9D");
  EXPECT_EQ(decode_header_value("=?iso-8859-15?b?pA==?="), "\xE2\x82\xAC");
  EXPECT_EQ(decode_header_value("=?utf-8*en?q?x?="), "x");  // RFC 2231 language suffix
  EXPECT_EQ(decode_header_value("=?us-ascii?q?plain?="), "plain");
  // Unknown charsets, broken words and lone markers stay as written.
  EXPECT_EQ(decode_header_value("=?x-no-such-charset?q?abc?="), "=?x-no-such-charset?q?abc?=");
  EXPECT_EQ(decode_header_value("=?utf-8?x?abc?= =? ?= =?"), "=?utf-8?x?abc?= =? ?= =?");
  // Raw 8-bit that is not UTF-8 becomes U+FFFD.
  EXPECT_EQ(decode_header_value("caf\xE9"), "caf\xEF\xBF\xBD");
  // glibc iconv for the rest.
  EXPECT_EQ(decode_header_value("=?koi8-r?b?8NLJ18XU?="), "\xD0\x9F\xD1\x80\xD0\xB8\xD0\xB2\xD0\xB5\xD1\x82");
}

TEST(MimeHeaders, EnvelopeKeepsEncodedWordsAndUsesLiteralsWhenNeeded) {
  std::string m = crlf(
      "Subject: =?UTF-8?B?w6lsw6h2ZQ==?=\n"
      "From: =?ISO-8859-1?Q?Andr=E9?= Pirard <PIRARD@vm1.ulg.ac.be>\n"
      "To: J\xC3\xBCrgen <j@example.de>\n"
      "Cc: \"a\\\"b\" <q@example.com>\n"
      "In-Reply-To: <a@b>\n"
      "\n");
  Part p = parse(m);
  EXPECT_EQ(imap_envelope(m, p),
            "(NIL \"=?UTF-8?B?w6lsw6h2ZQ==?=\" "
            "((\"=?ISO-8859-1?Q?Andr=E9?= Pirard\" NIL \"PIRARD\" \"vm1.ulg.ac.be\")) "
            "((\"=?ISO-8859-1?Q?Andr=E9?= Pirard\" NIL \"PIRARD\" \"vm1.ulg.ac.be\")) "
            "((\"=?ISO-8859-1?Q?Andr=E9?= Pirard\" NIL \"PIRARD\" \"vm1.ulg.ac.be\")) "
            "(({7}\r\nJ\xC3\xBCrgen NIL \"j\" \"example.de\")) "
            "(({3}\r\na\"b NIL \"q\" \"example.com\")) NIL \"<a@b>\" NIL)");
  EXPECT_EQ(decode_header_value(header_values(m, "From")[0]), "Andr\xC3\xA9 Pirard <PIRARD@vm1.ulg.ac.be>");
}

TEST(MimeHeaders, SubjectWhitespaceAndFolding) {
  // Folded or oddly spaced subjects are cleaned up and sent as literals.
  std::string m = crlf("Subject: a\n  folded\tsubject \nDate: Mon,\n 1 Jan 2024\nMessage-ID:\n  <id@x>\n\n");
  Part p = parse(m);
  EXPECT_EQ(imap_envelope(m, p),
            "(\"Mon, 1 Jan 2024\" {16}\r\na folded subject NIL NIL NIL NIL NIL NIL NIL \"  <id@x>\")");
  std::string empty = crlf("Subject:\nMessage-ID: \n\n");
  Part q = parse(empty);
  EXPECT_EQ(imap_envelope(empty, q), "(NIL \"\" NIL NIL NIL NIL NIL NIL NIL \"\")");
}

TEST(MimeHeaders, QuotingChoosesLiteralAfterFourEscapes) {
  std::string m = crlf(
      "Content-Type: text/plain; a=\"x\\\\y\"; b=\"\\\"\\\"\\\"\\\"\\\"\"\n"
      "Content-Description: caf\xC3\xA9\n"
      "\n");
  Part p = parse(m);
  EXPECT_EQ(imap_bodystructure(m, p, false),
            "(\"text\" \"plain\" (\"a\" \"x\\\\y\" \"b\" {5}\r\n\"\"\"\"\" \"charset\" \"us-ascii\") NIL "
            "{5}\r\ncaf\xC3\xA9 \"7bit\" 0 0)");
}

TEST(MimeHeaders, EightBitHeadersAndNul) {
  std::string m = "Subject: \xFF\xFE\0x\r\nFrom: \xC3\xA9@\xC3\xA9.example\r\n\r\n"s;
  Part p = parse(m);
  std::string env = imap_envelope(m, p);
  EXPECT_EQ(env,
            "(NIL {4}\r\n\xFF\xFE\x80x ((NIL NIL {2}\r\n\xC3\xA9 {10}\r\n\xC3\xA9.example)) "
            "((NIL NIL {2}\r\n\xC3\xA9 {10}\r\n\xC3\xA9.example)) ((NIL NIL {2}\r\n\xC3\xA9 "
            "{10}\r\n\xC3\xA9.example)) "
            "NIL NIL NIL NIL NIL)");
}

// --- broken structure -----------------------------------------------------------

TEST(MimeBroken, MissingClosingBoundary) {
  std::string m = crlf(
      "Content-Type: multipart/mixed; boundary=x\n"
      "\n"
      "--x\n"
      "Content-Type: multipart/alternative; boundary=y\n"
      "\n"
      "--y\n"
      "\n"
      "one\n"
      "--y\n"
      "\n"
      "two, never closed\n"
      "--x\n"
      "\n"
      "three, never closed\n");
  Part p = parse(m);
  ASSERT_EQ(p.children.size(), 2u);
  ASSERT_EQ(p.children[0].children.size(), 2u);
  // The outer boundary ends the inner parts.
  EXPECT_EQ(body(m, p.children[0].children[1]), "two, never closed");
  EXPECT_EQ(p.children[0].body_end, p.children[0].children[1].body_end);
  // The last part runs to the end of its parent.
  EXPECT_EQ(body(m, p.children[1]), "three, never closed\r\n");
  EXPECT_EQ(p.children[1].body_end, m.size());
  EXPECT_EQ(p.body_end, m.size());
}

TEST(MimeBroken, MultipartWithoutBoundaryHasNoParts) {
  // Dovecot 2.3 keeps the multipart and gives it no parts (checked by
  // tests/integration/test_imap_dovecot_diff.py).
  std::string m = crlf("Content-Type: multipart/mixed; charset=x\n\n--a\nhello\n--a--\n");
  Part p = parse(m);
  EXPECT_TRUE(p.is_multipart());
  EXPECT_EQ(p.subtype, "mixed");
  EXPECT_TRUE(p.children.empty());
  EXPECT_EQ(p.body_end, m.size());
  EXPECT_EQ(imap_bodystructure(m, p, false), "((" + kTextPlain + " 0 0) \"mixed\")");
  EXPECT_EQ(imap_bodystructure(m, p, true),
            "((" + kTextPlain + " 0 0 NIL NIL NIL NIL) \"mixed\" (\"charset\" \"x\") NIL NIL NIL)");
  EXPECT_EQ(section(m, p, sec({1})), std::nullopt);
  EXPECT_EQ(section(m, p, sec({}, SectionKind::Text)), body(m, p));
}

TEST(MimeBroken, MultipartWithoutBoundaryInsideMultipart) {
  std::string m = crlf(
      "Content-Type: multipart/mixed; boundary=o\n\n--o\nContent-Type: multipart/alternative\n\n"
      "--x\ninner\n--o\nContent-Type: text/plain\n\nsecond\n--o--\n");
  Part p = parse(m);
  ASSERT_EQ(p.children.size(), 2u);
  EXPECT_TRUE(p.children[0].is_multipart());
  EXPECT_TRUE(p.children[0].children.empty());
  EXPECT_EQ(body(m, p.children[0]), "--x\r\ninner");
  EXPECT_EQ(body(m, p.children[1]), "second");
}

TEST(MimeBroken, MultipartWithoutParts) {
  std::string m = crlf("Content-Type: multipart/mixed; boundary=\"foo\"\n\nno parts here\n");
  Part p = parse(m);
  EXPECT_TRUE(p.is_multipart());
  EXPECT_TRUE(p.children.empty());
  EXPECT_EQ(imap_bodystructure(m, p, true),
            "((" + kTextPlain + " 0 0 NIL NIL NIL NIL) \"mixed\" (\"boundary\" \"foo\") NIL NIL NIL)");
  EXPECT_EQ(section(m, p, sec({1})), std::nullopt);
}

TEST(MimeBroken, BoundaryPrefixOfAnother) {
  // "--ab" is a prefix of "--abc": the longest active boundary wins, and
  // boundaries match by prefix ("--abc-not-really" is a boundary line).
  std::string m = crlf(
      "Content-Type: multipart/mixed; boundary=ab\n"
      "\n"
      "--ab\n"
      "Content-Type: multipart/mixed; boundary=abc\n"
      "\n"
      "--abc\n"
      "\n"
      "inner one\n"
      "--abc-not-really\n"
      "\n"
      "inner two\n"
      "--abc--\n"
      "--ab\n"
      "\n"
      "outer two\n"
      "--ab--\n");
  Part p = parse(m);
  ASSERT_EQ(p.children.size(), 2u);
  ASSERT_EQ(p.children[0].children.size(), 2u);
  EXPECT_EQ(body(m, p.children[0].children[0]), "inner one");
  EXPECT_EQ(body(m, p.children[0].children[1]), "inner two");
  EXPECT_EQ(body(m, p.children[1]), "outer two");
  EXPECT_EQ(section(m, p, sec({1, 2})), "inner two");
}

TEST(MimeBroken, BoundaryInsideHeaderEndsIt) {
  std::string m = crlf(
      "Content-Type: multipart/mixed; boundary=b\n\n--b\nContent-Type: text/html\n--b\n\nsecond\n--b--\n");
  Part p = parse(m);
  ASSERT_EQ(p.children.size(), 2u);
  const Part& first = p.children[0];
  EXPECT_EQ(first.subtype, "html");
  EXPECT_EQ(m.substr(first.header_begin, first.body_begin - first.header_begin), "Content-Type: text/html");
  EXPECT_EQ(first.body_begin, first.body_end);
  EXPECT_EQ(section(m, p, sec({1}, SectionKind::Mime)), "Content-Type: text/html");
  EXPECT_EQ(body(m, p.children[1]), "second");
}

TEST(MimeBroken, PartLimitLeavesTheRestToTheLastPart) {
  std::string m = crlf(
      "Content-Type: multipart/mixed; boundary=\"1\"\n"
      "\n"
      "--1\n"
      "Content-Type: multipart/mixed; boundary=\"2\"\n"
      "\n"
      "--2\n"
      "\n"
      "1\n"
      "--2\n"
      "\n"
      "22\n"
      "--1\n"
      "\n"
      "333\n");
  Limits lim;
  lim.max_parts = 4;
  Part p = parse(m, lim);
  EXPECT_EQ(count_parts(p), 4u);
  ASSERT_EQ(p.children.size(), 1u);
  ASSERT_EQ(p.children[0].children.size(), 2u);
  EXPECT_EQ(body(m, p.children[0].children[1]), "22\r\n--1\r\n\r\n333\r\n");
  EXPECT_EQ(count_parts(parse(m)), 5u);
}

TEST(MimeBroken, HeaderFieldLimit) {
  std::string m;
  for (int i = 0; i < 20; ++i) m += "X-Junk: " + std::to_string(i) + "\r\n";
  m += "Content-Type: text/html\r\n\r\nx";
  Limits lim;
  lim.max_header_fields = 10;
  EXPECT_EQ(parse(m, lim).subtype, "plain");  // the Content-Type came too late
  EXPECT_EQ(parse(m).subtype, "html");
}

TEST(MimeBroken, UnusualLineEnds) {
  // Bare LF everywhere: offsets are raw, IMAP output is CRLF.
  std::string m =
      "Subject: lf\n"
      "Content-Type: multipart/mixed; boundary=z\n"
      "\n"
      "--z\n"
      "\n"
      "a\n"
      "b\n"
      "--z--\n";
  Part p = parse(m);
  ASSERT_EQ(p.children.size(), 1u);
  EXPECT_EQ(body(m, p.children[0]), "a\nb");
  EXPECT_EQ(section(m, p, sec({1})), "a\r\nb");
  EXPECT_EQ(section(m, p, sec({}, SectionKind::Header)),
            "Subject: lf\r\nContent-Type: multipart/mixed; boundary=z\r\n\r\n");
  EXPECT_EQ(imap_bodystructure(m, p, false), "((" + kTextPlain + " 4 1) \"mixed\")");
  EXPECT_EQ(imap_envelope(m, p), "(NIL \"lf\" NIL NIL NIL NIL NIL NIL NIL NIL)");
}

TEST(MimeBroken, EmptyAndHeaderOnlyMessages) {
  Part e = parse("");
  EXPECT_EQ(e.body_begin, 0u);
  EXPECT_EQ(e.body_end, 0u);
  EXPECT_EQ(imap_bodystructure("", e, true), "(" + kTextPlain + " 0 0 NIL NIL NIL NIL)");
  EXPECT_EQ(imap_envelope("", e), "(NIL NIL NIL NIL NIL NIL NIL NIL NIL NIL)");
  EXPECT_EQ(section("", e, sec({})), "");
  EXPECT_EQ(section("", e, sec({}, SectionKind::HeaderFields, {"a"})), "\r\n");

  std::string empty_body = crlf("Subject: nothing\n\n");
  Part b = parse(empty_body);
  EXPECT_EQ(b.body_begin, empty_body.size());
  EXPECT_EQ(section(empty_body, b, sec({}, SectionKind::Text)), "");
  EXPECT_EQ(imap_bodystructure(empty_body, b, false), "(" + kTextPlain + " 0 0)");

  // No blank line at all: the whole message is header.
  std::string only = "Subject: only\r\nContent-Type: text/html";
  Part h = parse(only);
  EXPECT_EQ(h.body_begin, only.size());
  EXPECT_EQ(h.subtype, "html");
  EXPECT_EQ(section(only, h, sec({}, SectionKind::Header)), only);
  EXPECT_EQ(section(only, h, sec({}, SectionKind::HeaderFields, {"content-type"})),
            "Content-Type: text/html\r\n\r\n");
  EXPECT_EQ(imap_envelope(only, h), "(NIL \"only\" NIL NIL NIL NIL NIL NIL NIL NIL)");
}

// --- addresses --------------------------------------------------------------------

TEST(MimeAddresses, GroupsAndBrokenForms) {
  std::string m = crlf(
      "From: user@domain (Real Name)\n"
      "To: group: g1@d1.org, \"G Two\" <g2@d2.org>;, group2: ;\n"
      "Cc: undisclosed-recipients:;\n"
      "Bcc: John Smith, <@route,@r2:u@d>, user, <>\n"
      "Reply-To: <a@b\n"
      "\n");
  Part p = parse(m);
  EXPECT_EQ(
      imap_envelope(m, p),
      "(NIL NIL ((\"Real Name\" NIL \"user\" \"domain\")) ((\"Real Name\" NIL \"user\" \"domain\")) "
      "((NIL NIL \"a\" \"SYNTAX_ERROR\")) "
      "((NIL NIL \"group\" NIL)(NIL NIL \"g1\" \"d1.org\")(\"G Two\" NIL \"g2\" \"d2.org\")(NIL NIL NIL NIL)"
      "(NIL NIL \"group2\" NIL)(NIL NIL NIL NIL)) "
      "((NIL NIL \"undisclosed-recipients\" NIL)(NIL NIL NIL NIL)) "
      "((\"John Smith\" NIL \"MISSING_MAILBOX\" \"MISSING_DOMAIN\")(NIL \"@route,@r2\" \"u\" \"d\")"
      "(NIL NIL \"user\" \"MISSING_DOMAIN\")(NIL NIL \"MISSING_MAILBOX\" \"MISSING_DOMAIN\")) NIL NIL)");
}

TEST(MimeAddresses, RepeatedFieldsMergeAndEmptyOnesFallBack) {
  std::string m = crlf("From: a@x\nFrom: b@y\nSender:\nReply-To: \nTo: c@z\nTo: d@w\n\n");
  Part p = parse(m);
  EXPECT_EQ(
      imap_envelope(m, p),
      "(NIL NIL ((NIL NIL \"a\" \"x\")(NIL NIL \"b\" \"y\")) ((NIL NIL \"a\" \"x\")(NIL NIL \"b\" \"y\")) "
      "((NIL NIL \"a\" \"x\")(NIL NIL \"b\" \"y\")) ((NIL NIL \"c\" \"z\")(NIL NIL \"d\" \"w\")) NIL NIL NIL "
      "NIL)");
}

TEST(MimeAddresses, HundredThousandToLinesAreBoundedAndFast) {
  std::string m = "From: f@example.com\r\n";
  for (int i = 0; i < 100000; ++i) m += "To: user" + std::to_string(i) + "@example.com\r\n";
  m += "\r\nbody\r\n";
  auto start = std::chrono::steady_clock::now();
  Part p = parse(m);
  std::string env = imap_envelope(m, p);
  auto elapsed = std::chrono::steady_clock::now() - start;
  EXPECT_LT(elapsed, std::chrono::seconds(5));
  // 10000 addresses in all: From (shown three times) is one of them.
  std::size_t count = 0;
  for (std::size_t at = env.find("\"example.com\")"); at != std::string::npos;
       at = env.find("\"example.com\")", at + 1))
    ++count;
  EXPECT_EQ(count, 3 + 9999u);
  EXPECT_LT(env.size(), 600000u);
  EXPECT_EQ(header_values(m, "to").size(), 100000u);
  EXPECT_EQ(body(m, p), "body\r\n");
}

// --- hostile structure --------------------------------------------------------------

TEST(MimeHostile, ThousandDeepMultipartsAreBounded) {
  // Boundaries of equal length: none is a prefix of another.
  auto b = [](int i) {
    std::string n = std::to_string(i);
    return "b" + std::string(4 - n.size(), '0') + n;
  };
  std::string m;
  for (int i = 0; i < 1000; ++i)
    m += "Content-Type: multipart/mixed; boundary=\"" + b(i) + "\"\r\n\r\n--" + b(i) + "\r\n";
  m += "\r\ndeepest\r\n";
  for (int i = 999; i >= 0; --i) m += "--" + b(i) + "--\r\n";
  auto start = std::chrono::steady_clock::now();
  Part p = parse(m);
  EXPECT_EQ(depth_of(p), 32u);
  EXPECT_EQ(count_parts(p), 33u);
  std::string bs = imap_bodystructure(m, p, true);
  EXPECT_LT(bs.size(), 10000u);
  std::vector<std::uint32_t> path(32, 1);
  auto deepest = section(m, p, sec(path));
  ASSERT_TRUE(deepest.has_value());
  // A text leaf from here on, holding everything nested below it.
  EXPECT_EQ(deepest->substr(0, 9), "--b0032\r\n");
  EXPECT_NE(deepest->find("deepest"), std::string::npos);
  EXPECT_EQ(section(m, p, sec(path, SectionKind::Mime)),
            "Content-Type: multipart/mixed; boundary=\"b0032\"\r\n\r\n");
  path.push_back(2);
  EXPECT_FALSE(section(m, p, sec(path)).has_value());
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(5));
}

TEST(MimeHostile, ManyPartsAreBounded) {
  std::string m = "Content-Type: multipart/mixed; boundary=p\r\n\r\n";
  for (int i = 0; i < 20000; ++i) m += "--p\r\n\r\nx\r\n";
  Part p = parse(m);
  EXPECT_EQ(count_parts(p), 5000u);
  EXPECT_EQ(p.children.size(), 4999u);
  EXPECT_EQ(p.children.back().body_end, m.size());
}

TEST(MimeHostile, GarbageNeverCrashes) {
  // Every prefix of a tricky message parses and renders; results stay
  // inside the message.
  std::string m = crlf(kForward) + crlf(kNestedMixed);
  for (std::size_t n = 0; n <= m.size(); n += 7) {
    std::string cut = m.substr(0, n);
    Part p = parse(cut);
    std::function<void(const Part&)> check = [&](const Part& q) {
      EXPECT_LE(q.header_begin, q.body_begin);
      EXPECT_LE(q.body_begin, q.body_end);
      EXPECT_LE(q.body_end, cut.size());
      for (const Part& c : q.children) {
        EXPECT_GE(c.header_begin, q.body_begin);
        EXPECT_LE(c.body_end, q.body_end);
        check(c);
      }
    };
    check(p);
    (void)imap_bodystructure(cut, p, true);
    (void)imap_envelope(cut, p);
    (void)section(cut, p, sec({2, 2, 1}));
    (void)searchable_body(cut, p);
  }
}

TEST(MimeParams, Rfc2231ContinuationsAreMerged) {
  // Plain parameters first, then the merged ones in name order (Dovecot's
  // rfc2231_parse).
  std::string m = crlf(
      "MIME-Version: 1.0\n"
      "Content-Type: application/x-y; name*1=\"two.bin\"; a=1; name*0=\"part-\";\n"
      " title*=us-ascii'en'This%20is; b*0*=utf-8''%C3%A4; b*1=100%\n"
      "Content-Disposition: attachment; filename*0=x; filename*2=z\n"
      "\n"
      "x\n");
  Part p = parse(m);
  ASSERT_EQ(p.params.size(), 4u);
  EXPECT_EQ(p.params[0].name, "a");
  EXPECT_EQ(p.params[1].name, "b*");
  EXPECT_EQ(p.params[1].value, "utf-8''%C3%A4100%25");  // plain segments %-escaped
  EXPECT_EQ(p.params[2].name, "name");
  EXPECT_EQ(p.params[2].value, "part-two.bin");
  EXPECT_EQ(p.params[3].name, "title*");
  EXPECT_EQ(p.params[3].value, "us-ascii'en'This%20is");
  // A missing index leaves the segments as they are.
  ASSERT_EQ(p.disposition_params.size(), 2u);
  EXPECT_EQ(p.disposition_params[0].name, "filename*0");
  EXPECT_EQ(p.disposition_params[1].name, "filename*2");
}

TEST(MimeSections, HeaderFieldsNotKeepsTheHeaderEnd) {
  // No blank line (no body): HEADER.FIELDS.NOT ends where the header ends;
  // HEADER.FIELDS always ends in a blank line. As Dovecot does it.
  std::string m = crlf("From: a@example.org\nSubject: s\nDate: d");
  Part p = parse(m);
  EXPECT_EQ(section(m, p, sec({}, SectionKind::HeaderFieldsNot, {"subject"})),
            "From: a@example.org\r\nDate: d");
  EXPECT_EQ(section(m, p, sec({}, SectionKind::HeaderFieldsNot, {"from", "subject", "date"})), "");
  EXPECT_EQ(section(m, p, sec({}, SectionKind::HeaderFields, {"date"})), "Date: d\r\n\r\n");
  std::string with_blank = crlf("From: a@example.org\nSubject: s\n\nbody\n");
  Part q = parse(with_blank);
  EXPECT_EQ(section(with_blank, q, sec({}, SectionKind::HeaderFieldsNot, {"subject"})),
            "From: a@example.org\r\n\r\n");
}

TEST(MimeBinary, PartsAreDecodedInsideContainers) {
  std::string m = crlf(
      "MIME-Version: 1.0\n"
      "Content-Type: multipart/mixed; boundary=b\n"
      "\n"
      "--b\n"
      "Content-Type: multipart/alternative; boundary=c\n"
      "\n"
      "--c\n"
      "Content-Type: text/plain\n"
      "Content-Transfer-Encoding: quoted-printable\n"
      "Content-ID: <x>\n"
      "\n"
      "a=3Db\n"
      "--c--\n"
      "--b\n"
      "Content-Type: message/rfc822\n"
      "\n"
      "Subject: inner\n"
      "MIME-Version: 1.0\n"
      "Content-Transfer-Encoding: base64\n"
      "\n"
      "aGk=\n"
      "--b--\n");
  Part p = parse(m);
  bool unknown = true;
  EXPECT_EQ(binary(m, p, {1}, unknown),
            "--c\r\nContent-Type: text/plain\r\nContent-ID: <x>\r\nContent-Transfer-Encoding: binary\r\n\r\n"
            "a=b\r\n--c--\r\n");  // the line break after "--c--" is the epilogue's
  EXPECT_FALSE(unknown);
  EXPECT_EQ(binary(m, p, {1, 1}, unknown), "a=b");
  // A message/rfc822 part is the embedded message; 2.1 is its body.
  EXPECT_EQ(binary(m, p, {2}, unknown),
            "Subject: inner\r\nMIME-Version: 1.0\r\nContent-Transfer-Encoding: binary\r\n\r\nhi");
  EXPECT_EQ(binary(m, p, {2, 1}, unknown), "hi");
  EXPECT_EQ(binary(m, p, {3}, unknown), std::nullopt);
  EXPECT_FALSE(unknown);
  EXPECT_EQ(binary(m, p, {1, 1, 1}, unknown), "a=b");  // "1" of a leaf is the leaf (RFC 3501 6.4.5)
  std::string single = crlf("Content-Type: text/plain\n\nhello\n");
  Part s = parse(single);
  EXPECT_EQ(binary(single, s, {1}, unknown), "hello\r\n");
  EXPECT_EQ(binary(single, s, {1, 1}, unknown), std::nullopt);
  EXPECT_EQ(binary(single, s, {}, unknown), single);
  std::string uu = crlf("MIME-Version: 1.0\nContent-Transfer-Encoding: x-uuencode\n\nbegin\n");
  Part u = parse(uu);
  EXPECT_EQ(binary(uu, u, {1}, unknown), std::nullopt);
  EXPECT_TRUE(unknown);
}

// --- decoding ------------------------------------------------------------------------

TEST(MimeDecode, TransferEncodings) {
  EXPECT_EQ(decode_transfer("aGVs\r\nbG8=\r\n", "base64"), "hello");
  EXPECT_EQ(decode_transfer("aGV*sb!G8", "BASE64"), "hello");  // stray bytes are skipped
  EXPECT_EQ(decode_transfer("aGk=aGk=", " base64 (comment)"), "hihi");
  EXPECT_EQ(decode_transfer("a=3Db=\r\nc  \r\nd=zz=4\r\n=e9", "Quoted-Printable"), "a=bc\r\nd=zz=4\r\n\xE9");
  EXPECT_EQ(decode_transfer("a\nb=\nc\n", "quoted-printable"), "a\r\nbc\r\n");  // hard breaks are CRLF
  EXPECT_EQ(with_crlf("a\nb\r\nc\n\n"), "a\r\nb\r\nc\r\n\r\n");
  EXPECT_EQ(decode_transfer("raw\r\n", "8bit"), "raw\r\n");
  EXPECT_EQ(decode_transfer("raw", ""), "raw");
  EXPECT_EQ(decode_transfer("raw", "binary"), "raw");
  EXPECT_EQ(decode_transfer("raw", "?invalid"), "raw");  // shown as "7bit" in BODYSTRUCTURE too
  EXPECT_EQ(decode_transfer("begin 644 x", "x-uuencode"), std::nullopt);
}

TEST(MimeDecode, SearchableBodyDecodesCharsetsAndIsBounded) {
  std::string m = crlf(
      "Content-Type: multipart/mixed; boundary=s\n"
      "\n"
      "--s\n"
      "Content-Type: text/plain; charset=iso-8859-1\n"
      "Content-Transfer-Encoding: quoted-printable\n"
      "\n"
      "d=E9j=E0 vu\n"
      "--s\n"
      "Content-Type: image/png\n"
      "Content-Transfer-Encoding: base64\n"
      "\n"
      "aGVsbG8=\n"
      "--s\n"
      "Content-Type: text/html; charset=utf-8\n"
      "Content-Transfer-Encoding: base64\n"
      "\n"
      "PGI+w6k8L2I+\n"
      "--s--\n");
  Part p = parse(m);
  EXPECT_EQ(searchable_body(m, p), "d\xC3\xA9j\xC3\xA0 vu\n<b>\xC3\xA9</b>");
  EXPECT_EQ(searchable_body(m, p, 2), "d");  // never half a character
  EXPECT_EQ(searchable_body(m, p, 5), "d\xC3\xA9j");
  EXPECT_EQ(searchable_body(m, p, 0), "");
}

}  // namespace
}  // namespace mailfort::proto::mime
