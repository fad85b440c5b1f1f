#include "outbound/tlsrpt_report.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <unistd.h>

#include <filesystem>

#include "base/base64.h"
#include "outbound/tlsrpt.h"

namespace mailfort::outbound {
namespace {

using tls::ClientParams;
using tls::VerifyError;

TEST(TlsRptClassify, CaChecks) {
  EXPECT_EQ(classify_verify(ClientParams::Verify::Ca, VerifyError::None), TlsResult::Success);
  EXPECT_EQ(classify_verify(ClientParams::Verify::Ca, VerifyError::HostMismatch),
            TlsResult::CertificateHostMismatch);
  EXPECT_EQ(classify_verify(ClientParams::Verify::Ca, VerifyError::Expired), TlsResult::CertificateExpired);
  EXPECT_EQ(classify_verify(ClientParams::Verify::Ca, VerifyError::NotTrusted),
            TlsResult::CertificateNotTrusted);
  EXPECT_EQ(classify_verify(ClientParams::Verify::Ca, VerifyError::NoPeerCertificate),
            TlsResult::ValidationFailure);
  EXPECT_EQ(classify_verify(ClientParams::Verify::Ca, VerifyError::Other), TlsResult::ValidationFailure);
  // MTA-STS testing (Verify::None with report names) is classified as a CA check.
  EXPECT_EQ(classify_verify(ClientParams::Verify::None, VerifyError::HostMismatch),
            TlsResult::CertificateHostMismatch);
  EXPECT_EQ(classify_verify(ClientParams::Verify::Fingerprint, VerifyError::FingerprintMismatch),
            TlsResult::ValidationFailure);
}

TEST(TlsRptClassify, Dane) {
  EXPECT_EQ(classify_verify(ClientParams::Verify::Dane, VerifyError::DaneNoMatch), TlsResult::TlsaInvalid);
  EXPECT_EQ(classify_verify(ClientParams::Verify::Dane, VerifyError::NoUsableTlsa), TlsResult::TlsaInvalid);
  EXPECT_EQ(classify_verify(ClientParams::Verify::Dane, VerifyError::Expired), TlsResult::CertificateExpired);
  EXPECT_EQ(classify_verify(ClientParams::Verify::Dane, VerifyError::NoPeerCertificate),
            TlsResult::ValidationFailure);
}

TEST(TlsRptClassify, Names) {
  EXPECT_STREQ(tls_result_name(TlsResult::Success), "");
  EXPECT_STREQ(tls_result_name(TlsResult::StarttlsNotSupported), "starttls-not-supported");
  EXPECT_STREQ(tls_result_name(TlsResult::CertificateHostMismatch), "certificate-host-mismatch");
  EXPECT_STREQ(tls_result_name(TlsResult::CertificateExpired), "certificate-expired");
  EXPECT_STREQ(tls_result_name(TlsResult::CertificateNotTrusted), "certificate-not-trusted");
  EXPECT_STREQ(tls_result_name(TlsResult::ValidationFailure), "validation-failure");
  EXPECT_STREQ(tls_result_name(TlsResult::TlsaInvalid), "tlsa-invalid");
  EXPECT_STREQ(tls_result_name(TlsResult::DnssecInvalid), "dnssec-invalid");
  EXPECT_STREQ(tls_result_name(TlsResult::DaneRequired), "dane-required");
  EXPECT_STREQ(tls_result_name(TlsResult::StsPolicyFetchError), "sts-policy-fetch-error");
  EXPECT_STREQ(tls_result_name(TlsResult::StsPolicyInvalid), "sts-policy-invalid");
  EXPECT_STREQ(tls_result_name(TlsResult::StsWebpkiInvalid), "sts-webpki-invalid");
}

TEST(TlsRptTxt, Parse) {
  auto r = parse_tlsrpt_txt({"v=spf1 -all", "v=TLSRPTv1; rua=mailto:a@b.test, mailto:c@d.test"});
  ASSERT_TRUE(r);
  EXPECT_EQ(*r, (std::vector<std::string>{"mailto:a@b.test", "mailto:c@d.test"}));
  r = parse_tlsrpt_txt({"v=TLSRPTv1;rua=https://r.example/x;"});
  ASSERT_TRUE(r);
  EXPECT_EQ(*r, (std::vector<std::string>{"https://r.example/x"}));
  EXPECT_FALSE(parse_tlsrpt_txt({}));
  EXPECT_FALSE(parse_tlsrpt_txt({"v=TLSRPTv1"}));  // rua required
  EXPECT_FALSE(parse_tlsrpt_txt({"v=TLSRPTv1; rua=mailto:a@b.test", "v=TLSRPTv1; rua=mailto:c@d.test"}));
  EXPECT_FALSE(parse_tlsrpt_txt({"v=TLSRPTv2; rua=mailto:a@b.test"}));
  EXPECT_FALSE(parse_tlsrpt_txt({"v=TLSRPTv1; rua=mailto:a@b.test; rua=mailto:c@d.test"}));
  EXPECT_FALSE(parse_tlsrpt_txt({"v=TLSRPTv1; junk"}));
}

TEST(TlsRptTxt, Mailto) {
  EXPECT_EQ(mailto_address("mailto:reports@b.test"), "reports@b.test");
  EXPECT_EQ(mailto_address("MAILTO:reports@b.test?subject=x"), "reports@b.test");
  EXPECT_EQ(mailto_address("mailto:tls%2Breports@b.test"), "tls+reports@b.test");
  EXPECT_EQ(mailto_address("https://b.test/report"), "");
  EXPECT_EQ(mailto_address("mailto:nobody"), "");
  EXPECT_EQ(mailto_address("mailto:a b@b.test"), "");
  EXPECT_EQ(mailto_address("mailto:a@b.test%0d%0aBcc:x@y.test"), "");
  EXPECT_EQ(mailto_address("mailto:a%zz@b.test"), "");
}

TEST(TlsRptDay, Days) {
  EXPECT_EQ(utc_day(0), "1970-01-01");
  EXPECT_EQ(utc_day(1795564800 + 86399), "2026-11-25");
  EXPECT_EQ(day_start("2026-11-25"), 1795564800);
  EXPECT_FALSE(day_start("2026-02-30"));
  EXPECT_FALSE(day_start("2026-1-25"));
  EXPECT_FALSE(day_start("yesterday!"));
}

ReportMeta meta() {
  ReportMeta m;
  m.organization = "mail.example.test";
  m.contact = "postmaster@mail.example.test";
  m.report_id = "2026-11-25T00:00:00Z_b.test@mail.example.test";
  m.day = "2026-11-25";
  m.domain = "b.test";
  return m;
}

TEST(TlsRptReport, Json) {
  TlsReportPolicy sts{
      "sts", {"version: STSv1", "mode: enforce", "mx: mx.b.test", "max_age: 86400"}, {"mx.b.test"}};
  TlsReportPolicy none{"no-policy-found", {}, {}};
  std::vector<ReportRow> rows = {
      {sts, "mx.b.test", "127.0.0.3", "", 3},
      {none, "mx.b.test", "127.0.0.3", "certificate-host-mismatch", 1},
      {sts, "mx.b.test", "127.0.0.3", "certificate-expired", 2},
      {sts, "mx2.b.test", "127.0.0.4", "", 4},
  };
  auto j = nlohmann::json::parse(build_report_json(meta(), rows));
  EXPECT_EQ(j["organization-name"], "mail.example.test");
  EXPECT_EQ(j["date-range"]["start-datetime"], "2026-11-25T00:00:00Z");
  EXPECT_EQ(j["date-range"]["end-datetime"], "2026-11-25T23:59:59Z");
  EXPECT_EQ(j["contact-info"], "postmaster@mail.example.test");
  EXPECT_EQ(j["report-id"], "2026-11-25T00:00:00Z_b.test@mail.example.test");
  ASSERT_EQ(j["policies"].size(), 2u);
  auto& p0 = j["policies"][0];
  EXPECT_EQ(p0["policy"]["policy-type"], "sts");
  EXPECT_EQ(p0["policy"]["policy-domain"], "b.test");
  EXPECT_EQ(p0["policy"]["policy-string"].size(), 4u);
  EXPECT_EQ(p0["policy"]["mx-host"][0], "mx.b.test");
  EXPECT_EQ(p0["summary"]["total-successful-session-count"], 7);
  EXPECT_EQ(p0["summary"]["total-failure-session-count"], 2);
  ASSERT_EQ(p0["failure-details"].size(), 1u);
  EXPECT_EQ(p0["failure-details"][0]["result-type"], "certificate-expired");
  EXPECT_EQ(p0["failure-details"][0]["receiving-mx-hostname"], "mx.b.test");
  EXPECT_EQ(p0["failure-details"][0]["receiving-ip"], "127.0.0.3");
  EXPECT_EQ(p0["failure-details"][0]["failed-session-count"], 2);
  auto& p1 = j["policies"][1];
  EXPECT_EQ(p1["policy"]["policy-type"], "no-policy-found");
  EXPECT_FALSE(p1["policy"].contains("policy-string"));
  EXPECT_FALSE(p1["policy"].contains("mx-host"));
  EXPECT_EQ(p1["summary"]["total-successful-session-count"], 0);
  EXPECT_EQ(p1["summary"]["total-failure-session-count"], 1);
  EXPECT_EQ(p1["failure-details"][0]["result-type"], "certificate-host-mismatch");
}

TEST(TlsRptReport, Message) {
  std::string json = build_report_json(meta(), {});
  std::string m =
      build_report_message(meta(), "noreply-tlsrpt@mail.example.test", "reports@b.test", json, 1795600000);
  EXPECT_NE(m.find("To: <reports@b.test>\r\n"), std::string::npos);
  EXPECT_NE(m.find("Subject: Report Domain: b.test Submitter: mail.example.test Report-ID: "
                   "<2026-11-25T00:00:00Z_b.test@mail.example.test>\r\n"),
            std::string::npos);
  EXPECT_NE(m.find("TLS-Report-Domain: b.test\r\n"), std::string::npos);
  EXPECT_NE(m.find("TLS-Report-Submitter: mail.example.test\r\n"), std::string::npos);
  EXPECT_NE(m.find("multipart/report; report-type=\"tlsrpt\""), std::string::npos);
  EXPECT_NE(m.find("Content-Type: application/tlsrpt+json\r\n"), std::string::npos);
  EXPECT_NE(m.find("filename=\"mail.example.test!b.test!1795564800!1795651199.json\""), std::string::npos);
  // Every line within 78 octets + CRLF, and the attachment decodes to the JSON.
  std::size_t pos = 0;
  while (pos < m.size()) {
    auto e = m.find("\r\n", pos);
    ASSERT_NE(e, std::string::npos);
    EXPECT_LE(e - pos, 200u);
    pos = e + 2;
  }
  auto start = m.find("\r\n\r\n", m.find("application/tlsrpt+json")) + 4;
  auto end = m.find("\r\n\r\n--", start);
  std::string b64;
  for (std::size_t i = start; i < end; ++i)
    if (m[i] != '\r' && m[i] != '\n') b64.push_back(m[i]);
  EXPECT_EQ(base64::decode(b64), json);
}

TEST(TlsRptStore, CountsAndSentMarks) {
  auto dir = std::filesystem::temp_directory_path() / ("mf-tlsrpt-" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  {
    auto st = TlsReportStore::open((dir / "tlsrpt.sqlite").string());
    ASSERT_TRUE(st);
    auto& s = *st.value();
    int64_t t = 1795564800 + 3600;  // 2026-11-25
    TlsReportPolicy sts{"sts", {"version: STSv1", "mode: enforce"}, {"mx.b.test"}};
    TlsSessionRecord ok{"b.test", sts, "mx.b.test", "127.0.0.3", TlsResult::Success};
    TlsSessionRecord bad{"b.test", sts, "mx.b.test", "127.0.0.3", TlsResult::CertificateHostMismatch};
    TlsSessionRecord other{
        "c.test", {"no-policy-found", {}, {}}, "mx.c.test", "127.0.0.4", TlsResult::StarttlsNotSupported};
    ASSERT_TRUE(s.add({ok, ok, bad}, t));
    ASSERT_TRUE(s.add({ok, other}, t));
    ASSERT_TRUE(s.add({ok}, t - 8 * 86400));  // old: pruned
    auto d = s.pending_domains("2026-11-25");
    ASSERT_TRUE(d);
    EXPECT_EQ(*d, (std::vector<std::string>{"b.test", "c.test"}));
    auto rows = s.rows("2026-11-25", "b.test");
    ASSERT_TRUE(rows);
    ASSERT_EQ(rows->size(), 2u);
    uint64_t succ = 0, fail = 0;
    for (auto& r : *rows) {
      EXPECT_EQ(r.policy.strings, sts.strings);
      EXPECT_EQ(r.policy.mx, sts.mx);
      (r.result.empty() ? succ : fail) += r.count;
    }
    EXPECT_EQ(succ, 3u);
    EXPECT_EQ(fail, 1u);
    ASSERT_TRUE(s.mark_sent("2026-11-25", "b.test", t));
    d = s.pending_domains("2026-11-25");
    EXPECT_EQ(*d, (std::vector<std::string>{"c.test"}));
    ASSERT_TRUE(s.prune(t));
    EXPECT_TRUE(s.pending_domains(utc_day(t - 8 * 86400))->empty());
    EXPECT_EQ(s.pending_domains("2026-11-25")->size(), 1u);
  }
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace mailfort::outbound
