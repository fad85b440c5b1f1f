#include "filter/checks.h"

#include <gtest/gtest.h>

#include <algorithm>

#include "auth/message_auth.h"
#include "filter/message_view.h"

namespace mailfort::filter {
namespace {

// 2026-12-04 02:00:00 UTC
constexpr std::time_t kNow = 1796349600;

const char* kGood =
    "Received: from mx.example.org (mx.example.org [192.0.2.1]) by mail.example.test with ESMTP id 1; "
    "Fri, 04 Dec 2026 01:59:00 +0000\r\n"
    "From: Alice Example <alice@example.org>\r\n"
    "To: bob@example.test\r\n"
    "Subject: Lunch\r\n"
    "Date: Fri, 04 Dec 2026 02:58:00 +0100\r\n"
    "Message-ID: <abc.123@example.org>\r\n"
    "\r\n"
    "See you at noon.\r\n";

std::string with_header(std::string extra, const std::string& drop = "") {
  std::string m = kGood;
  if (!drop.empty()) {
    auto at = m.find(drop + ":");
    auto end = m.find("\r\n", at);
    m.erase(at, end + 2 - at);
  }
  return extra + m;
}

std::vector<Symbol> headers_of(const std::string& m, const ScanInput& in = {}) {
  MessageView v(m);
  std::vector<Symbol> out;
  check_headers(v, in, kNow, out);
  return out;
}

std::vector<Symbol> mime_of(const std::string& m) {
  MessageView v(m);
  std::vector<Symbol> out;
  check_mime(v, out);
  return out;
}

const Symbol* find(const std::vector<Symbol>& s, std::string_view name) {
  auto it = std::find_if(s.begin(), s.end(), [&](const Symbol& x) { return x.name == name; });
  return it == s.end() ? nullptr : &*it;
}

std::vector<std::string> names(const std::vector<Symbol>& s) {
  std::vector<std::string> out;
  for (const auto& x : s) out.push_back(x.name);
  return out;
}

std::string base64(std::string_view in) {
  static const char* t = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  for (std::size_t i = 0; i < in.size(); i += 3) {
    uint32_t n = static_cast<unsigned char>(in[i]) << 16;
    if (i + 1 < in.size()) n |= static_cast<unsigned char>(in[i + 1]) << 8;
    if (i + 2 < in.size()) n |= static_cast<unsigned char>(in[i + 2]);
    out += t[(n >> 18) & 63];
    out += t[(n >> 12) & 63];
    out += i + 1 < in.size() ? t[(n >> 6) & 63] : '=';
    out += i + 2 < in.size() ? t[n & 63] : '=';
    if (out.size() % 78 == 76) out += "\r\n";
  }
  return out;
}

// --- GTUBE

TEST(Gtube, FoundInPlainAndBase64Bodies) {
  std::string g = "XJS*C4JDBQADN1.NSBN3*2IDNEN*GTUBE-STANDARD-ANTI-UBE-TEST-EMAIL*C.34X";
  EXPECT_EQ(check_gtube(MessageView(std::string(kGood) + g + "\r\n")), "Gtube pattern");
  std::string b64 = "Subject: x\r\nContent-Type: text/plain\r\nContent-Transfer-Encoding: base64\r\n\r\n" +
                    base64("hello " + g + " bye") + "\r\n";
  EXPECT_EQ(check_gtube(MessageView(b64)), "Gtube pattern");
}

TEST(Gtube, NotInHeadersOrWhenBroken) {
  EXPECT_EQ(check_gtube(MessageView(kGood)), "");
  std::string g = "XJS*C4JDBQADN1.NSBN3*2IDNEN*GTUBE-STANDARD-ANTI-UBE-TEST-EMAIL*C.34X";
  EXPECT_EQ(check_gtube(MessageView("Subject: " + g + "\r\n\r\nbody\r\n")), "");
  EXPECT_EQ(check_gtube(MessageView(std::string(kGood) + g.substr(0, 40) + "\r\n")), "");
}

// --- authentication

auth::DkimResult dkim(auth::DkimStatus status, std::string domain, std::string selector) {
  auth::DkimResult d;
  d.status = status;
  d.domain = std::move(domain);
  d.selector = std::move(selector);
  return d;
}

auth::SpfOutcome spf(auth::SpfResult result, std::string domain, std::string problem = "") {
  auth::SpfOutcome o;
  o.result = result;
  o.domain = std::move(domain);
  o.problem = std::move(problem);
  return o;
}

TEST(AuthSymbols, NoVerdictNoSymbols) {
  std::vector<Symbol> out;
  check_auth(ScanInput{}, out);
  EXPECT_TRUE(out.empty());
}

TEST(AuthSymbols, AllPass) {
  auth::Verdict v;
  v.spf = spf(auth::SpfResult::Pass, "example.org", "ip4:192.0.2.0/24");
  v.dkim.push_back(dkim(auth::DkimStatus::Pass, "example.org", "s1"));
  v.dmarc.result = auth::DmarcResult::Pass;
  v.dmarc.from_domain = "example.org";
  v.arc.chain = auth::ArcChain::Pass;
  v.arc.newest_domain = "list.example";
  ScanInput in;
  in.verdict = &v;
  std::vector<Symbol> out;
  check_auth(in, out);
  ASSERT_EQ(names(out),
            (std::vector<std::string>{"R_SPF_ALLOW", "R_DKIM_ALLOW", "DMARC_POLICY_ALLOW", "ARC_ALLOW"}));
  EXPECT_DOUBLE_EQ(out[0].score, -0.2);
  EXPECT_EQ(out[0].options, std::vector<std::string>{"ip4:192.0.2.0/24"});
  EXPECT_EQ(out[1].options, std::vector<std::string>{"example.org:s=s1"});
  EXPECT_DOUBLE_EQ(out[2].score, -0.5);
  EXPECT_DOUBLE_EQ(out[3].score, -1.0);
}

TEST(AuthSymbols, Failures) {
  auth::Verdict v;
  v.spf = spf(auth::SpfResult::Fail, "example.org");
  v.dkim.push_back(dkim(auth::DkimStatus::Fail, "example.org", "s1"));
  v.dkim.push_back(dkim(auth::DkimStatus::PermError, "", ""));
  v.dmarc.result = auth::DmarcResult::Fail;
  v.dmarc.policy = auth::DmarcPolicy::Reject;
  v.arc.chain = auth::ArcChain::Fail;
  ScanInput in;
  in.verdict = &v;
  std::vector<Symbol> out;
  check_auth(in, out);
  EXPECT_EQ(names(out), (std::vector<std::string>{"R_SPF_FAIL", "R_DKIM_REJECT", "R_DKIM_PERMFAIL",
                                                  "DMARC_POLICY_REJECT", "ARC_REJECT"}));
  EXPECT_DOUBLE_EQ(find(out, "R_SPF_FAIL")->score, 1.0);
  EXPECT_DOUBLE_EQ(find(out, "DMARC_POLICY_REJECT")->score, 2.0);

  v.spf->result = auth::SpfResult::SoftFail;
  v.dmarc.policy = auth::DmarcPolicy::Quarantine;
  out.clear();
  check_auth(in, out);
  EXPECT_DOUBLE_EQ(find(out, "R_SPF_SOFTFAIL")->score, 0.6);
  EXPECT_DOUBLE_EQ(find(out, "DMARC_POLICY_QUARANTINE")->score, 1.5);
  v.dmarc.policy = auth::DmarcPolicy::None;
  out.clear();
  check_auth(in, out);
  EXPECT_DOUBLE_EQ(find(out, "DMARC_POLICY_SOFTFAIL")->score, 0.1);
}

TEST(AuthSymbols, NothingToCheck) {
  auth::Verdict v;  // no SPF, no DKIM, DMARC none, no ARC
  ScanInput in;
  in.verdict = &v;
  std::vector<Symbol> out;
  check_auth(in, out);
  EXPECT_EQ(names(out), (std::vector<std::string>{"R_SPF_NA", "R_DKIM_NA", "DMARC_NA", "ARC_NA"}));
  for (const auto& s : out) EXPECT_EQ(s.score, 0);
}

// --- IP listings

TEST(IpListings, BlockListsDoubleAllowListsNegative) {
  std::vector<Symbol> out;
  check_ip_listings({{"zen.spamhaus.org", "127.0.0.2", false, 3},
                     {"zen.spamhaus.org", "127.0.0.4", false, 2},
                     {"bl.spam-cop.net", "127.0.0.2", false, 1},
                     {"list.dnswl.org", "127.0.10.2", true, -5},
                     {"swl.example", "127.0.0.2", true, -20}},
                    out);
  ASSERT_EQ(names(out),
            (std::vector<std::string>{"RBL_ZEN_SPAMHAUS_ORG", "RBL_BL_SPAM_COP_NET",
                                      "RCVD_IN_DNSWL_LIST_DNSWL_ORG", "RCVD_IN_DNSWL_SWL_EXAMPLE"}));
  EXPECT_DOUBLE_EQ(out[0].score, 6.0);
  EXPECT_EQ(out[0].options, (std::vector<std::string>{"127.0.0.2", "127.0.0.4"}));
  EXPECT_DOUBLE_EQ(out[1].score, 2.0);
  EXPECT_DOUBLE_EQ(out[2].score, -5.0);
  EXPECT_DOUBLE_EQ(out[3].score, -5.0);  // bounded
  out.clear();
  check_ip_listings({}, out);
  EXPECT_TRUE(out.empty());
}

// --- headers

TEST(HeaderChecks, AGoodMessageHasNone) {
  EXPECT_EQ(names(headers_of(kGood)), std::vector<std::string>{});
}

TEST(HeaderChecks, Date) {
  EXPECT_EQ(names(headers_of(with_header("", "Date"))), std::vector<std::string>{"MISSING_DATE"});
  EXPECT_EQ(names(headers_of(with_header("Date: yesterday-ish\r\n", "Date"))),
            std::vector<std::string>{"INVALID_DATE"});
  EXPECT_EQ(names(headers_of(with_header("Date: Fri, 31 Feb 2026 01:00:00 +0000\r\n", "Date"))),
            std::vector<std::string>{"INVALID_DATE"});
  EXPECT_EQ(names(headers_of(with_header("Date: Fri, 04 Dec 2026 05:00:00 +0000\r\n", "Date"))),
            std::vector<std::string>{"DATE_IN_FUTURE"});
  // 1 hour ahead is clock skew, not a symbol; a zone and a comment are read.
  EXPECT_EQ(names(headers_of(with_header("Date: 3 Dec 2026 22:00 -0500 (EST)\r\n", "Date"))),
            std::vector<std::string>{});
  EXPECT_EQ(names(headers_of(with_header("Date: Thu, 19 Nov 2026 01:00:00 GMT\r\n", "Date"))),
            std::vector<std::string>{"DATE_IN_PAST"});
  EXPECT_EQ(names(headers_of(with_header("Date: Thu, 3 Dec 26 01:00:00 +0000\r\n", "Date"))),
            std::vector<std::string>{});
}

TEST(HeaderChecks, MessageId) {
  EXPECT_EQ(names(headers_of(with_header("", "Message-ID"))), std::vector<std::string>{"MISSING_MID"});
  for (const char* bad : {"abc@example.org", "<abc>", "<@x>", "<a b@x>", "<a@>"}) {
    EXPECT_EQ(names(headers_of(with_header(std::string("Message-Id: ") + bad + "\r\n", "Message-ID"))),
              std::vector<std::string>{"INVALID_MSGID"})
        << bad;
  }
}

TEST(HeaderChecks, FromDisplayNameHoldingAnotherAddress) {
  auto s = headers_of(with_header("From: \"support@bank.example\" <x@evil.example>\r\n", "From"));
  ASSERT_EQ(names(s), std::vector<std::string>{"FROM_DN_HAS_ADDR"});
  EXPECT_EQ(s[0].options, std::vector<std::string>{"support@bank.example"});
  // The same address in the name is fine.
  EXPECT_EQ(names(headers_of(with_header("From: \"Alice@Example.org\" <alice@example.org>\r\n", "From"))),
            std::vector<std::string>{});
  // Encoded words are decoded first.
  EXPECT_EQ(
      names(headers_of(with_header("From: =?utf-8?q?pay=40bank=2Eexample?= <x@evil.example>\r\n", "From"))),
      std::vector<std::string>{"FROM_DN_HAS_ADDR"});
}

TEST(HeaderChecks, FreemailReplyTo) {
  EXPECT_EQ(names(headers_of(with_header("Reply-To: Claims <claims.dept@gmail.com>\r\n"))),
            std::vector<std::string>{"FREEMAIL_REPLYTO_NEQ_FROM"});
  EXPECT_EQ(names(headers_of(with_header("Reply-To: list@lists.example.org\r\n"))),
            std::vector<std::string>{});
  EXPECT_EQ(names(headers_of(with_header("Reply-To: a@gmail.com\r\n", "From") + "")),
            std::vector<std::string>{"FREEMAIL_REPLYTO_NEQ_FROM"});
  std::string gmail = with_header("From: a@gmail.com\r\nReply-To: b@gmail.com\r\n", "From");
  EXPECT_EQ(names(headers_of(gmail)), std::vector<std::string>{});
}

TEST(HeaderChecks, OurDomainInFromWithoutAuthentication) {
  ScanInput in;
  in.is_local_domain = [](std::string_view d) { return d == "example.org"; };
  EXPECT_EQ(names(headers_of(kGood, in)), std::vector<std::string>{"FROM_LOCAL_UNAUTH"});
  in.auth_user = "alice@example.org";
  EXPECT_EQ(names(headers_of(kGood, in)), std::vector<std::string>{});
  in.auth_user.clear();
  auth::Verdict v;
  v.dmarc.result = auth::DmarcResult::Pass;
  in.verdict = &v;
  EXPECT_EQ(names(headers_of(kGood, in)), std::vector<std::string>{});
  v.dmarc.result = auth::DmarcResult::Fail;
  EXPECT_EQ(names(headers_of(kGood, in)), std::vector<std::string>{"FROM_LOCAL_UNAUTH"});
  in.is_local_domain = [](std::string_view) { return false; };
  EXPECT_EQ(names(headers_of(kGood, in)), std::vector<std::string>{});
}

TEST(HeaderChecks, MultipleAndMissingFields) {
  EXPECT_EQ(names(headers_of(with_header("From: mallory@evil.example\r\n"))),
            std::vector<std::string>{"MULTIPLE_FROM"});
  EXPECT_EQ(names(headers_of(with_header("Subject: again\r\n"))),
            std::vector<std::string>{"MULTIPLE_SUBJECT"});
  EXPECT_EQ(names(headers_of(with_header("", "Subject"))), std::vector<std::string>{"MISSING_SUBJECT"});
  EXPECT_EQ(names(headers_of(with_header("", "To"))), std::vector<std::string>{"MISSING_TO"});
}

TEST(HeaderChecks, ReceivedChain) {
  EXPECT_EQ(names(headers_of(
                with_header("Received: by host.example (Postfix, from userid 1000) id 9; Fri, 4 Dec 2026 "
                            "01:00:00 +0000\r\n"))),
            std::vector<std::string>{});
  EXPECT_EQ(names(headers_of(
                with_header("Received: (qmail 4242 invoked by uid 0); 4 Dec 2026 01:00:00 -0000\r\n"
                            "Received: from a (HELO b) (192.0.2.1)\r\n  by c with SMTP; Fri, 4 Dec 2026 "
                            "01:00:00 +0000\r\n"))),
            std::vector<std::string>{});
  auto s = headers_of(with_header("Received: hello world\r\nReceived: from x by y with SMTP\r\n"));
  ASSERT_EQ(names(s), std::vector<std::string>{"RCVD_UNPARSABLE"});
  EXPECT_EQ(s[0].options, std::vector<std::string>{"2"});
  EXPECT_EQ(names(headers_of(with_header("Received: from a by b; Mon, 1 Feb 2027 00:00:00 +0000\r\n"))),
            std::vector<std::string>{"FORGED_RECEIVED"});
  std::string many;
  for (int i = 0; i < 51; ++i) many += "Received: from a by b; Fri, 4 Dec 2026 01:00:00 +0000\r\n";
  s = headers_of(with_header(many));
  ASSERT_EQ(names(s), std::vector<std::string>{"FORGED_RECEIVED"});
  EXPECT_EQ(s[0].options, std::vector<std::string>{"52 hops"});
}

// --- MIME

std::string alternative(const std::string& plain, const std::string& html) {
  return "Subject: x\r\nMIME-Version: 1.0\r\nContent-Type: multipart/alternative; boundary=\"b\"\r\n\r\n"
         "--b\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n" +
         plain + "\r\n--b\r\nContent-Type: text/html; charset=utf-8\r\n\r\n" + html + "\r\n--b--\r\n";
}

TEST(MimeChecks, PlainMessageHasNone) {
  EXPECT_EQ(names(mime_of(kGood)), std::vector<std::string>{});
}

TEST(MimeChecks, HtmlOnly) {
  EXPECT_EQ(names(mime_of("Subject: x\r\nContent-Type: text/html; charset=utf-8\r\n\r\n<p>Buy now</p>\r\n")),
            std::vector<std::string>{"MIME_HTML_ONLY"});
}

TEST(MimeChecks, PartsDiffer) {
  std::string text = "The quarterly report is attached and the meeting moved to Thursday afternoon";
  EXPECT_EQ(names(mime_of(alternative(text, "<p>" + text + "</p>"))), std::vector<std::string>{});
  auto s = mime_of(alternative(text, "<p>Cheap watches pills casino bonus win money click here today</p>"));
  EXPECT_EQ(names(s), std::vector<std::string>{"R_PARTS_DIFFER"});
}

TEST(MimeChecks, Charsets) {
  EXPECT_EQ(names(mime_of("Subject: x\r\nContent-Type: text/plain\r\n\r\nCaf\xc3\xa9\r\n")),
            std::vector<std::string>{"R_MISSING_CHARSET"});
  EXPECT_EQ(names(mime_of("Subject: x\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nCaf\xc3\xa9\r\n")),
            std::vector<std::string>{});
  EXPECT_EQ(names(mime_of("Subject: x\r\nContent-Type: text/plain; charset=x-no-such-thing\r\n\r\nhi\r\n")),
            std::vector<std::string>{"R_BAD_CHARSET"});
}

std::string with_attachment(const std::string& filename, const std::string& type, const std::string& data) {
  return "Subject: x\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=\"b\"\r\n\r\n"
         "--b\r\nContent-Type: text/plain; charset=us-ascii\r\n\r\nsee attached\r\n"
         "--b\r\nContent-Type: " +
         type + "; name=\"" + filename + "\"\r\nContent-Disposition: attachment; filename=\"" + filename +
         "\"\r\nContent-Transfer-Encoding: base64\r\n\r\n" + base64(data) + "\r\n--b--\r\n";
}

TEST(MimeChecks, ExecutableAndDoubleExtension) {
  EXPECT_EQ(names(mime_of(with_attachment("report.pdf", "application/pdf", "%PDF-1.4"))),
            std::vector<std::string>{});
  EXPECT_EQ(names(mime_of(with_attachment("setup.EXE", "application/octet-stream", "MZ"))),
            std::vector<std::string>{"MIME_EXE_ATTACHMENT"});
  auto s = mime_of(with_attachment("invoice.pdf.exe", "application/octet-stream", "MZ"));
  EXPECT_EQ(names(s), (std::vector<std::string>{"MIME_EXE_ATTACHMENT", "MIME_DOUBLE_BAD_EXTENSION"}));
  EXPECT_EQ(find(s, "MIME_DOUBLE_BAD_EXTENSION")->options, std::vector<std::string>{"pdf.exe"});
  EXPECT_EQ(names(mime_of(with_attachment("invoice.pdf   .scr.", "application/octet-stream", "MZ"))),
            (std::vector<std::string>{"MIME_EXE_ATTACHMENT", "MIME_DOUBLE_BAD_EXTENSION"}));
  EXPECT_EQ(names(mime_of(with_attachment("my.holiday.jpg", "image/jpeg", "x"))), std::vector<std::string>{});
}

std::string zip_entry(uint16_t flags) {
  std::string h("PK\x03\x04", 4);
  h += std::string("\x14\x00", 2);
  h += static_cast<char>(flags & 0xff);
  h += static_cast<char>(flags >> 8);
  h += std::string(22, '\0');  // method .. extra length
  return h + "data";
}

TEST(MimeChecks, EncryptedArchives) {
  EXPECT_EQ(names(mime_of(with_attachment("a.zip", "application/zip", zip_entry(0)))),
            std::vector<std::string>{});
  auto s = mime_of(with_attachment("a.zip", "application/zip", zip_entry(0) + zip_entry(1)));
  ASSERT_EQ(names(s), std::vector<std::string>{"MIME_ENCRYPTED_ARCHIVE"});
  EXPECT_EQ(s[0].options, std::vector<std::string>{"a.zip"});
  // RAR 5 with an archive encryption header (type 4).
  std::string rar5 = std::string("Rar!\x1a\x07\x01\x00", 8) + "CRC!" + "\x05" + "\x04" + "xxxxx";
  EXPECT_EQ(names(mime_of(with_attachment("a.rar", "application/vnd.rar", rar5))),
            std::vector<std::string>{"MIME_ENCRYPTED_ARCHIVE"});
  std::string rar5_plain = std::string("Rar!\x1a\x07\x01\x00", 8) + "CRC!" + "\x05" + "\x01" + "xxxxx";
  EXPECT_EQ(names(mime_of(with_attachment("a.rar", "application/vnd.rar", rar5_plain))),
            std::vector<std::string>{});
  // RAR 4: main header with the password flag.
  std::string rar4 =
      std::string("Rar!\x1a\x07\x00", 7) + std::string("\x00\x00\x73\x80\x00\x0d\x00", 7) + "xxxxxx";
  EXPECT_EQ(names(mime_of(with_attachment("a.rar", "application/x-rar-compressed", rar4))),
            std::vector<std::string>{"MIME_ENCRYPTED_ARCHIVE"});
  // Garbage called .zip is not an archive.
  EXPECT_EQ(names(mime_of(with_attachment("a.zip", "application/zip", "PK"))), std::vector<std::string>{});
}

TEST(MimeChecks, Base64TextAndLongLines) {
  std::string m =
      "Subject: x\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: base64\r\n\r\n" +
      base64("just plain ascii words") + "\r\n";
  EXPECT_EQ(names(mime_of(m)), std::vector<std::string>{"MIME_BASE64_TEXT_BOGUS"});
  std::string utf8 =
      "Subject: x\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: base64\r\n\r\n" +
      base64("caf\xc3\xa9") + "\r\n";
  EXPECT_EQ(names(mime_of(utf8)), std::vector<std::string>{});
  std::string one_line = base64(std::string(3000, 'x'));
  one_line.erase(std::remove(one_line.begin(), one_line.end(), '\r'), one_line.end());
  one_line.erase(std::remove(one_line.begin(), one_line.end(), '\n'), one_line.end());
  std::string long_line =
      "Subject: x\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=\"b\"\r\n\r\n"
      "--b\r\nContent-Type: text/plain; charset=us-ascii\r\n\r\nsee attached\r\n"
      "--b\r\nContent-Type: application/octet-stream\r\nContent-Disposition: attachment; "
      "filename=\"a.bin\"\r\n"
      "Content-Transfer-Encoding: base64\r\n\r\n" +
      one_line + "\r\n--b--\r\n";
  auto s = mime_of(long_line);
  ASSERT_EQ(names(s), std::vector<std::string>{"MIME_BAD_LINE"});
  EXPECT_EQ(s[0].options, std::vector<std::string>{"4000 bytes"});
}

TEST(MimeChecks, TooManyPartsAndDeepNesting) {
  std::string many = "Subject: x\r\nContent-Type: multipart/mixed; boundary=\"b\"\r\n\r\n";
  for (int i = 0; i < 300; ++i) many += "--b\r\nContent-Type: text/plain; charset=us-ascii\r\n\r\npart\r\n";
  many += "--b--\r\n";
  auto s = mime_of(many);
  EXPECT_NE(find(s, "MIME_TOO_MANY_PARTS"), nullptr);
  EXPECT_EQ(find(s, "MIME_DEEP_NESTING"), nullptr);

  std::string deep = "Subject: x\r\nContent-Type: multipart/mixed; boundary=\"b0\"\r\n\r\n";
  for (int i = 1; i <= 15; ++i)
    deep += "--b" + std::to_string(i - 1) + "\r\nContent-Type: multipart/mixed; boundary=\"b" +
            std::to_string(i) + "\"\r\n\r\n";
  deep += "--b15\r\nContent-Type: text/plain\r\n\r\ndeep\r\n";
  for (int i = 15; i >= 0; --i) deep += "--b" + std::to_string(i) + "--\r\n";
  s = mime_of(deep);
  EXPECT_NE(find(s, "MIME_DEEP_NESTING"), nullptr);
  EXPECT_EQ(find(s, "MIME_TOO_MANY_PARTS"), nullptr);
}

}  // namespace
}  // namespace mailfort::filter
