#include "auth/message_auth.h"

#include <gtest/gtest.h>

#include <string>

#include "auth/results_header.h"
#include "auth/test_dns.h"

namespace mailfort::auth {
namespace {

using test_support::MapDns;

Checks checks() {
  Checks c;
  c.authserv_id = "mx.example.test";
  return c;
}

Arrival arrival(const std::string& mail_from) {
  Arrival a;
  a.ip = "192.0.2.5";
  a.helo = "client.example.org";
  a.mail_from = mail_from;
  a.receiver = "mx.example.test";
  a.now = 1700000000;
  return a;
}

Verdict run(MapDns& dns, const std::string& message, const std::string& mail_from,
            const Checks& c = checks()) {
  InboundMessage m;
  m.feed(message);
  m.finish();
  return evaluate(m, arrival(mail_from), c, dns);
}

TEST(Evaluate, SpfAlignedPassDelivers) {
  MapDns dns;
  dns.txt("sender.test", {"v=spf1 ip4:192.0.2.0/24 -all"});
  dns.txt("_dmarc.sender.test", {"v=DMARC1; p=reject"});
  auto v = run(dns, "From: a@sender.test\r\nSubject: x\r\n\r\nhi\r\n", "bounce@sender.test");
  EXPECT_EQ(v.disposition, Disposition::Deliver);
  EXPECT_EQ(v.dmarc.result, DmarcResult::Pass);
  EXPECT_EQ(
      v.results,
      "spf=pass smtp.mailfrom=bounce@sender.test; dkim=none; dmarc=pass header.from=sender.test; arc=none");
  EXPECT_EQ(v.header,
            "Authentication-Results: mx.example.test; spf=pass\r\n"
            "\tsmtp.mailfrom=bounce@sender.test; dkim=none; dmarc=pass\r\n"
            "\theader.from=sender.test; arc=none\r\n");
}

TEST(Evaluate, RejectAndQuarantine) {
  MapDns dns;
  dns.txt("_dmarc.bank.test", {"v=DMARC1; p=reject"});
  dns.txt("_dmarc.shop.test", {"v=DMARC1; p=quarantine"});
  auto r = run(dns, "From: a@bank.test\r\n\r\nhi\r\n", "a@bank.test");
  EXPECT_EQ(r.disposition, Disposition::Reject);
  EXPECT_NE(r.reason.find("bank.test"), std::string::npos);
  EXPECT_NE(r.results.find("dmarc=fail reason=\"p=reject\" header.from=bank.test"), std::string::npos)
      << r.results;
  auto q = run(dns, "From: a@shop.test\r\n\r\nhi\r\n", "a@shop.test");
  EXPECT_EQ(q.disposition, Disposition::Quarantine);
}

TEST(Evaluate, AuthorMustBeOneAddress) {
  MapDns dns;
  auto v = run(dns, "From: a@x.test\r\nFrom: b@y.test\r\n\r\n", "a@x.test");
  EXPECT_EQ(v.disposition, Disposition::Reject);
  EXPECT_EQ(v.dmarc.result, DmarcResult::PermError);
  EXPECT_NE(v.results.find("dmarc=permerror reason=\"several From header fields\""), std::string::npos);
  Checks off = checks();
  off.dmarc = false;
  EXPECT_EQ(run(dns, "From: a@x.test\r\nFrom: b@y.test\r\n\r\n", "a@x.test", off).disposition,
            Disposition::Deliver);
}

TEST(Evaluate, OnlyEnabledChecksReported) {
  MapDns dns;
  Checks c = checks();
  c.spf = false;
  c.arc = false;
  auto v = run(dns, "From: a@x.test\r\n\r\n", "", c);
  EXPECT_EQ(v.results, "dkim=none; dmarc=none header.from=x.test");
  EXPECT_FALSE(v.spf.has_value());
}

TEST(ResultsHeader, FoldsAt78Columns) {
  std::string results;
  for (int i = 0; i < 6; ++i)
    results += "dkim=pass header.d=example" + std::to_string(i) + ".test header.s=s1; ";
  results += "dmarc=fail reason=\"a quoted reason that is rather long and must not be split\" header.from=x";
  std::string h = results_header("mx.example.test", results);
  std::size_t start = 0;
  while (start < h.size()) {
    std::size_t end = h.find("\r\n", start);
    ASSERT_NE(end, std::string::npos);
    EXPECT_LE(end - start, 78u) << h.substr(start, end - start);
    start = end + 2;
    if (start < h.size()) EXPECT_EQ(h[start], '\t');
  }
  EXPECT_NE(h.find("\"a quoted reason that is rather long and must not be split\""), std::string::npos);
}

TEST(ResultsHeader, RemovesOnlyOurs) {
  std::string msg =
      "Authentication-Results: MX.Example.Test; dmarc=pass\r\n"
      "Received: from x\r\n"
      "Authentication-Results: (c) mx.example.test (\r\n"
      " unterminated\r\n"
      "Authentication-Results: other.test; spf=pass\r\n"
      "Subject: Authentication-Results: mx.example.test;\r\n"
      "\r\n"
      "Authentication-Results: mx.example.test; in the body\r\n";
  EXPECT_EQ(count_our_results(msg, "mx.example.test"), 2u);
  EXPECT_EQ(remove_our_results(msg, "mx.example.test"),
            "Received: from x\r\n"
            "Authentication-Results: other.test; spf=pass\r\n"
            "Subject: Authentication-Results: mx.example.test;\r\n"
            "\r\n"
            "Authentication-Results: mx.example.test; in the body\r\n");
}

}  // namespace
}  // namespace mailfort::auth
