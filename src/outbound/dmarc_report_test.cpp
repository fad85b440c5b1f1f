#include "outbound/dmarc_report.h"

#include <gtest/gtest.h>
#include <zlib.h>

#include <vector>

#include "base/base64.h"

namespace mailfort::outbound {
namespace {

// A small XML well-formedness check: tags nest and close in order, the
// only '&' start entities, no '<' or '>' in text. Returns the error or "".
std::string xml_problem(const std::string& x) {
  std::vector<std::string> open;
  std::size_t i = 0;
  if (x.rfind("<?xml ", 0) == 0) i = x.find("?>") + 2;
  bool root_seen = false;
  while (i < x.size()) {
    if (x[i] == '<') {
      auto end = x.find('>', i);
      if (end == std::string::npos) return "unterminated tag";
      std::string tag = x.substr(i + 1, end - i - 1);
      if (tag.empty()) return "empty tag";
      if (tag[0] == '/') {
        if (open.empty() || open.back() != tag.substr(1)) return "mismatched </" + tag.substr(1) + ">";
        open.pop_back();
      } else {
        if (open.empty() && root_seen) return "second root";
        root_seen = true;
        if (tag.find_first_of("<&\"' ") != std::string::npos) return "odd tag " + tag;
        open.push_back(tag);
      }
      i = end + 1;
    } else if (x[i] == '&') {
      auto semi = x.find(';', i);
      std::string ent = x.substr(i, semi == std::string::npos ? 0 : semi - i + 1);
      if (ent != "&amp;" && ent != "&lt;" && ent != "&gt;" && ent != "&quot;" && ent != "&apos;")
        return "bad entity at " + std::to_string(i);
      i = semi + 1;
    } else if (x[i] == '>') {
      return "bare > at " + std::to_string(i);
    } else {
      ++i;
    }
  }
  if (!open.empty()) return "unclosed " + open.back();
  return root_seen ? "" : "no root";
}

std::string gunzip(const std::string& gz) {
  z_stream z{};
  EXPECT_EQ(inflateInit2(&z, 15 + 16), Z_OK);
  std::string out(1 << 20, '\0');
  z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(gz.data()));
  z.avail_in = static_cast<uInt>(gz.size());
  z.next_out = reinterpret_cast<Bytef*>(out.data());
  z.avail_out = static_cast<uInt>(out.size());
  EXPECT_EQ(inflate(&z, Z_FINISH), Z_STREAM_END);
  out.resize(z.total_out);
  inflateEnd(&z);
  return out;
}

std::size_t count(const std::string& s, const std::string& needle) {
  std::size_t n = 0;
  for (auto at = s.find(needle); at != std::string::npos; at = s.find(needle, at + 1)) ++n;
  return n;
}

AggregateMeta meta() {
  return {"mail.example.test", "noreply-dmarc@example.test", "2026-12-01.a.example@mail.example.test",
          1796083200, 1796083200 + 86399};
}

auth::DmarcReportRow row(const std::string& ip, uint64_t n) {
  auth::DmarcReportRow r;
  r.source_ip = ip;
  r.disposition = "none";
  r.dkim_eval = "pass";
  r.spf_eval = "fail";
  r.header_from = "a.example";
  r.envelope_from = "bounce.a.example";
  r.dkim = {{"a.example", "s1", "pass"}, {"esp.example", "k", "fail"}};
  r.spf_domain = "bounce.a.example";
  r.spf_scope = "mfrom";
  r.spf_result = "softfail";
  r.count = n;
  return r;
}

TEST(DmarcPublished, Defaults) {
  auto p =
      parse_dmarc_published("a.example", {"v=spf1 -all", "v=DMARC1; p=quarantine; rua=mailto:r@a.example"});
  ASSERT_TRUE(p);
  EXPECT_EQ(p->domain, "a.example");
  EXPECT_EQ(p->p, "quarantine");
  EXPECT_EQ(p->sp, "quarantine");
  EXPECT_EQ(p->pct, 100u);
  EXPECT_EQ(p->adkim, "r");
  EXPECT_EQ(p->aspf, "r");
  ASSERT_EQ(p->rua.size(), 1u);
  EXPECT_EQ(p->rua[0].uri, "mailto:r@a.example");
  EXPECT_EQ(p->rua[0].max_size, 0u);
}

TEST(DmarcPublished, AllTags) {
  auto p = parse_dmarc_published(
      "a.example", {"v=DMARC1 ; p=reject; sp=none; pct=25; adkim=s; aspf=s; fo=1; "
                    "rua=mailto:r@a.example!10m, mailto:x@reports.example ,https://x.example/"});
  ASSERT_TRUE(p);
  EXPECT_EQ(p->p, "reject");
  EXPECT_EQ(p->sp, "none");
  EXPECT_EQ(p->pct, 25u);
  EXPECT_EQ(p->adkim, "s");
  EXPECT_EQ(p->aspf, "s");
  EXPECT_EQ(p->fo, "1");
  ASSERT_EQ(p->rua.size(), 3u);
  EXPECT_EQ(report_target(p->rua[0])->address, "r@a.example");
  EXPECT_EQ(report_target(p->rua[0])->max_size, 10u << 20);
  EXPECT_EQ(report_target(p->rua[1])->address, "x@reports.example");
  EXPECT_EQ(report_target(p->rua[1])->max_size, 0u);
  EXPECT_FALSE(report_target(p->rua[2]));  // https: not supported
}

TEST(DmarcPublished, Invalid) {
  EXPECT_FALSE(parse_dmarc_published("a.example", {}));
  EXPECT_FALSE(parse_dmarc_published("a.example", {"v=DMARC1; adkim=s"}));  // no p=, no rua=
  // No valid p= but a rua=: read as p=none (RFC 7489 6.6.3).
  EXPECT_EQ(parse_dmarc_published("a.example", {"v=DMARC1; rua=mailto:r@a.example"})->p, "none");
  EXPECT_FALSE(parse_dmarc_published("a.example", {"v=DMARC1; p=maybe"}));  // no valid p=, no rua=
  EXPECT_FALSE(parse_dmarc_published("a.example", {"v=DMARC1; p=none", "v=DMARC1; p=reject"}));
  EXPECT_FALSE(parse_dmarc_published("a.example", {"v=DMARC2; p=none"}));
  EXPECT_TRUE(has_dmarc1({"x", "v=DMARC1"}));
  EXPECT_FALSE(has_dmarc1({"v=DMARC10", "v=spf1"}));
}

TEST(DmarcReportUri, Targets) {
  using proto::dmarc::ReportUri;
  auto t = report_target(ReportUri{"mailto:r@a.example", 2048});
  ASSERT_TRUE(t);
  EXPECT_EQ(t->address, "r@a.example");
  EXPECT_EQ(t->max_size, 2048u);
  EXPECT_EQ(report_target(ReportUri{"mailto:r%40x@a.example", 0})->address, "r@x@a.example");
  EXPECT_FALSE(report_target(ReportUri{"https://a.example/r", 0}));
  EXPECT_FALSE(report_target(ReportUri{"mailto:nobody", 0}));
  // Suffixes as the record parser reads them.
  auto p = parse_dmarc_published("a.example",
                                 {"v=DMARC1; p=none; rua=mailto:r@a.example!500,mailto:s@a.example!2k"});
  ASSERT_TRUE(p);
  ASSERT_EQ(p->rua.size(), 2u);
  EXPECT_EQ(p->rua[0].max_size, 500u);
  EXPECT_EQ(p->rua[1].max_size, 2048u);
}

TEST(DmarcReportUri, ExternalDestination) {
  EXPECT_FALSE(is_external_destination("a.example", "a.example", "a.example"));
  EXPECT_FALSE(is_external_destination("reports.a.example", "a.example", "a.example"));
  EXPECT_FALSE(is_external_destination("a.example", "mail.a.example", "a.example"));  // same org domain
  EXPECT_TRUE(is_external_destination("reports.example", "a.example", "a.example"));
  EXPECT_TRUE(is_external_destination("xa.example", "a.example", "a.example"));  // not a subdomain
  EXPECT_TRUE(is_external_destination("b.example", "mail.a.example", ""));
}

TEST(DmarcReportXml, WellFormedWithRfcFields) {
  DmarcPublished pub = *parse_dmarc_published("a.example", {"v=DMARC1; p=reject; pct=50"});
  std::string x = build_aggregate_xml(meta(), pub, {row("192.0.2.1", 5), row("2001:db8::1", 2)});
  EXPECT_EQ(xml_problem(x), "") << x;
  EXPECT_EQ(x.rfind("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<feedback>", 0), 0u);
  for (auto s : {"<org_name>mail.example.test</org_name>",
                 "<email>noreply-dmarc@example.test</email>",
                 "<report_id>2026-12-01.a.example@mail.example.test</report_id>",
                 "<begin>1796083200</begin>",
                 "<end>1796169599</end>",
                 "<domain>a.example</domain>",
                 "<p>reject</p>",
                 "<sp>reject</sp>",
                 "<pct>50</pct>",
                 "<adkim>r</adkim>",
                 "<source_ip>2001:db8::1</source_ip>",
                 "<count>5</count>",
                 "<disposition>none</disposition>",
                 "<dkim>pass</dkim>",
                 "<spf>fail</spf>",
                 "<header_from>a.example</header_from>",
                 "<envelope_from>bounce.a.example</envelope_from>",
                 "<selector>s1</selector>",
                 "<result>softfail</result>",
                 "<scope>mfrom</scope>"})
    EXPECT_NE(x.find(s), std::string::npos) << s;
  EXPECT_EQ(count(x, "<record>"), 2u);
  EXPECT_EQ(count(x, "<dkim>\n"), 4u);  // two auth_results dkim per record
  EXPECT_EQ(x.find("<reason>"), std::string::npos);
  // Order of report_metadata, policy_published, record (Appendix C sequence).
  EXPECT_LT(x.find("<report_metadata>"), x.find("<policy_published>"));
  EXPECT_LT(x.find("</policy_published>"), x.find("<record>"));
}

TEST(DmarcReportXml, EscapesAndReasons) {
  DmarcPublished pub = *parse_dmarc_published("a.example", {"v=DMARC1; p=none"});
  auto r = row("192.0.2.1", 1);
  r.header_from = "<evil>&\"'.example";
  r.dkim = {{"a.example", "s<1>", "pass"}};
  r.reason = "sampled_out";
  auto m = meta();
  m.org_name = "a&b";
  std::string x = build_aggregate_xml(m, pub, {r});
  EXPECT_EQ(xml_problem(x), "") << x;
  EXPECT_NE(x.find("<header_from>&lt;evil&gt;&amp;&quot;&apos;.example</header_from>"), std::string::npos);
  EXPECT_NE(x.find("<selector>s&lt;1&gt;</selector>"), std::string::npos);
  EXPECT_NE(x.find("<org_name>a&amp;b</org_name>"), std::string::npos);
  EXPECT_NE(x.find("<reason>\n          <type>sampled_out</type>"), std::string::npos);
}

TEST(DmarcReportXml, EmptyReportStillWellFormed) {
  std::string x = build_aggregate_xml(meta(), *parse_dmarc_published("a.example", {"v=DMARC1;p=none"}), {});
  EXPECT_EQ(xml_problem(x), "");
}

TEST(DmarcReportMail, GzipAttachment) {
  std::string xml = build_aggregate_xml(meta(), *parse_dmarc_published("a.example", {"v=DMARC1;p=none"}),
                                        {row("192.0.2.1", 3)});
  auto gz = gzip(xml);
  ASSERT_TRUE(gz);
  EXPECT_EQ(static_cast<unsigned char>((*gz)[0]), 0x1f);  // gzip magic
  EXPECT_EQ(static_cast<unsigned char>((*gz)[1]), 0x8b);
  EXPECT_EQ(gunzip(*gz), xml);

  std::string msg = build_aggregate_message(meta(), "a.example", "noreply-dmarc@example.test", "r@a.example",
                                            *gz, 1796170000);
  EXPECT_NE(msg.find("Subject: Report Domain: a.example Submitter: mail.example.test\r\n Report-ID: "
                     "<2026-12-01.a.example@mail.example.test>\r\n"),
            std::string::npos);
  EXPECT_NE(msg.find("To: <r@a.example>\r\n"), std::string::npos);
  EXPECT_NE(msg.find("Content-Type: application/gzip\r\n"), std::string::npos);
  EXPECT_NE(msg.find("filename=\"mail.example.test!a.example!1796083200!1796169599.xml.gz\""),
            std::string::npos);
  // The base64 body decodes to the gzip bytes.
  auto start = msg.find("\r\n\r\n", msg.find("Content-Type: application/gzip")) + 4;
  auto end = msg.find("\r\n\r\n--", start);
  std::string b64;
  for (char c : msg.substr(start, end - start))
    if (c != '\r' && c != '\n') b64 += c;
  auto decoded = base64::decode(b64);
  ASSERT_TRUE(decoded);
  EXPECT_EQ(*decoded, *gz);
  for (std::size_t at = 0, nl; (nl = msg.find("\r\n", at)) != std::string::npos; at = nl + 2)
    EXPECT_LE(nl - at, 998u);
}

}  // namespace
}  // namespace mailfort::outbound
