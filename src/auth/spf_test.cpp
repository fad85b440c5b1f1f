// The SPF evaluator over a map-backed DnsSource: the limits (10 DNS
// mechanisms, 2 void lookups, 10 MX / PTR names), IPv6, temperror, and
// identity selection. The OpenSPF suite runs end to end in
// tests/integration/test_spf_suite.py.
#include "auth/spf.h"

#include <gtest/gtest.h>

#include <map>
#include <string>
#include <utility>
#include <vector>

namespace mailfort::auth {
namespace {

using S = dns::Answer::Status;

class MapDns final : public DnsSource {
 public:
  void txt(const std::string& name, const std::string& text) {
    add(name, dns::Type::TXT).txt.push_back(text);
  }
  void a(const std::string& name, const std::string& ip) {
    add(name, ip.find(':') == std::string::npos ? dns::Type::A : dns::Type::AAAA).addresses.push_back(ip);
  }
  void mx(const std::string& name, const std::string& host) {
    add(name, dns::Type::MX).mx.push_back({10, host});
  }
  void ptr(const std::string& name, const std::string& target) {
    add(name, dns::Type::PTR).names.push_back(target);
  }
  void fail(const std::string& name, dns::Type type) { add(name, type).status = S::ServFail; }

  dns::Answer query(const std::string& name, dns::Type type) override {
    queries.push_back(name);
    auto it = answers_.find({name, type});
    if (it != answers_.end()) return it->second;
    dns::Answer a;
    bool known = false;
    for (const auto& [key, _] : answers_) known = known || key.first == name;
    a.status = known ? S::NoData : S::NxDomain;
    return a;
  }

  std::vector<std::string> queries;

 private:
  dns::Answer& add(const std::string& name, dns::Type type) {
    auto& a = answers_[{name, type}];
    a.status = S::Ok;
    return a;
  }
  std::map<std::pair<std::string, dns::Type>, dns::Answer> answers_;
};

SpfOutcome check(MapDns& dns, const std::string& ip, const std::string& sender = "alice@example.com") {
  SpfRequest r;
  r.ip = ip;
  r.sender = sender;
  r.helo = "mail.example.org";
  r.receiver = "mx.example.test";
  return check_mail_from(dns, r);
}

TEST(Spf, ResultNames) {
  EXPECT_STREQ(spf_result_name(SpfResult::SoftFail), "softfail");
  EXPECT_STREQ(spf_result_name(SpfResult::PermError), "permerror");
  EXPECT_STREQ(spf_result_name(SpfResult::TempError), "temperror");
}

TEST(Spf, Ip4AndFallThrough) {
  MapDns dns;
  dns.txt("example.com", "v=spf1 ip4:192.0.2.0/24 ~all");
  EXPECT_EQ(check(dns, "192.0.2.77").result, SpfResult::Pass);
  EXPECT_EQ(check(dns, "198.51.100.1").result, SpfResult::SoftFail);
  EXPECT_EQ(check(dns, "::ffff:192.0.2.77").result, SpfResult::Pass);  // mapped IPv6 is IPv4
  EXPECT_EQ(check(dns, "2001:db8::1").result, SpfResult::SoftFail);
}

TEST(Spf, Ipv6AAndMxWithDualCidr) {
  MapDns dns;
  dns.txt("example.com", "v=spf1 a//64 mx/24//48 -all");
  dns.a("example.com", "2001:db8:1:2::10");
  dns.a("example.com", "192.0.2.10");
  dns.mx("example.com", "mx.example.com");
  dns.a("mx.example.com", "2001:db8:9:1::25");
  dns.a("mx.example.com", "198.51.100.25");
  EXPECT_EQ(check(dns, "2001:db8:1:2:ffff::1").result, SpfResult::Pass);  // a//64
  EXPECT_EQ(check(dns, "2001:db8:9:ffff::1").result, SpfResult::Pass);    // mx//48
  EXPECT_EQ(check(dns, "2001:db8:1:3::1").result, SpfResult::Fail);       // outside both
  EXPECT_EQ(check(dns, "198.51.100.200").result, SpfResult::Pass);        // mx/24
  EXPECT_EQ(check(dns, "192.0.2.11").result, SpfResult::Fail);            // a is /32 for IPv4
  EXPECT_EQ(check(dns, "2001:db8:1:2::10").result, SpfResult::Pass);
}

TEST(Spf, TenDnsMechanismsAndNoMore) {
  MapDns dns;
  std::string ten = "v=spf1";
  for (int i = 0; i < 10; ++i) ten += " a:h" + std::to_string(i) + ".example.com";
  for (int i = 0; i < 10; ++i) dns.a("h" + std::to_string(i) + ".example.com", "203.0.113.1");
  dns.txt("ten.example.com", ten + " -all");
  dns.txt("eleven.example.com", ten + " a:h0.example.com -all");
  dns.txt("ip.example.com", ten + " ip4:192.0.2.1 -all");  // ip4 is no DNS mechanism
  EXPECT_EQ(check(dns, "192.0.2.1", "x@ten.example.com").result, SpfResult::Fail);
  EXPECT_EQ(check(dns, "192.0.2.1", "x@eleven.example.com").result, SpfResult::PermError);
  EXPECT_EQ(check(dns, "192.0.2.1", "x@ip.example.com").result, SpfResult::Pass);
  // include and redirect count too, across records.
  dns.txt("loop.example.com", "v=spf1 include:loop.example.com -all");
  EXPECT_EQ(check(dns, "192.0.2.1", "x@loop.example.com").result, SpfResult::PermError);
  dns.txt("r.example.com", "v=spf1 redirect=r.example.com");
  EXPECT_EQ(check(dns, "192.0.2.1", "x@r.example.com").result, SpfResult::PermError);
}

TEST(Spf, TwoVoidLookupsAndNoMore) {
  MapDns dns;
  dns.txt("two.example.com", "v=spf1 a:none1.example.com mx:none2.example.com ip4:192.0.2.1 -all");
  dns.txt("three.example.com",
          "v=spf1 a:none1.example.com mx:none2.example.com exists:none3.example.com ip4:192.0.2.1 -all");
  EXPECT_EQ(check(dns, "192.0.2.1", "x@two.example.com").result, SpfResult::Pass);
  EXPECT_EQ(check(dns, "192.0.2.1", "x@three.example.com").result, SpfResult::PermError);
}

TEST(Spf, TenMxNamesAndPtrNames) {
  MapDns dns;
  dns.txt("example.com", "v=spf1 mx -all");
  for (int i = 0; i < 11; ++i) dns.mx("example.com", "mx" + std::to_string(i) + ".example.com");
  EXPECT_EQ(check(dns, "192.0.2.1").result, SpfResult::PermError);

  MapDns p;
  p.txt("example.com", "v=spf1 ptr -all");
  for (int i = 0; i < 10; ++i) p.ptr("1.2.0.192.in-addr.arpa", "x" + std::to_string(i) + ".other.net");
  p.ptr("1.2.0.192.in-addr.arpa", "mail.example.com");  // the 11th name is not looked at
  p.a("mail.example.com", "192.0.2.1");
  EXPECT_EQ(check(p, "192.0.2.1").result, SpfResult::Fail);
}

TEST(Spf, PtrValidatedAndIpv6Reverse) {
  MapDns dns;
  dns.txt("example.com", "v=spf1 ptr -all");
  dns.ptr("1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.ip6.arpa", "mail.example.com");
  dns.a("mail.example.com", "2001:db8::1");
  EXPECT_EQ(check(dns, "2001:db8::1").result, SpfResult::Pass);
  dns.ptr("2.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.ip6.arpa", "liar.example.com");
  EXPECT_EQ(check(dns, "2001:db8::2").result, SpfResult::Fail);  // no AAAA back to it
}

TEST(Spf, TempErrorOnDnsFailure) {
  MapDns dns;
  dns.fail("example.com", dns::Type::TXT);
  EXPECT_EQ(check(dns, "192.0.2.1").result, SpfResult::TempError);
  MapDns d2;
  d2.txt("example.com", "v=spf1 include:broken.example.net -all");
  d2.fail("broken.example.net", dns::Type::TXT);
  EXPECT_EQ(check(d2, "192.0.2.1").result, SpfResult::TempError);
}

TEST(Spf, RecordSelection) {
  MapDns dns;
  EXPECT_EQ(check(dns, "192.0.2.1").result, SpfResult::None);
  dns.txt("example.com", "google-site-verification=abc");
  EXPECT_EQ(check(dns, "192.0.2.1").result, SpfResult::None);
  dns.txt("example.com", "v=spf1 +all");
  EXPECT_EQ(check(dns, "192.0.2.1").result, SpfResult::Pass);
  dns.txt("example.com", "v=spf1 -all");
  EXPECT_EQ(check(dns, "192.0.2.1").result, SpfResult::PermError);
  MapDns bad;
  bad.txt("example.com", "v=spf1 ip4:192.0.2.1 a:");  // error after a match still counts
  EXPECT_EQ(check(bad, "192.0.2.1").result, SpfResult::PermError);
}

TEST(Spf, ExplanationOnFailOnly) {
  MapDns dns;
  dns.txt("example.com", "v=spf1 ip4:192.0.2.1 -all exp=why.example.com");
  dns.txt("why.example.com", "%{i} may not send for %{d} (%{l})");
  auto out = check(dns, "198.51.100.7");
  EXPECT_EQ(out.result, SpfResult::Fail);
  EXPECT_EQ(out.explanation, "198.51.100.7 may not send for example.com (alice)");
  EXPECT_EQ(check(dns, "192.0.2.1").explanation, "");
  MapDns broken;
  broken.txt("example.com", "v=spf1 -all exp=why.example.com");
  broken.fail("why.example.com", dns::Type::TXT);
  out = check(broken, "198.51.100.7");
  EXPECT_EQ(out.result, SpfResult::Fail);  // exp failures are ignored
  EXPECT_EQ(out.explanation, "");
}

TEST(Spf, Identities) {
  MapDns dns;
  dns.txt("mail.example.org", "v=spf1 ip4:192.0.2.1 -all");
  SpfRequest r;
  r.ip = "192.0.2.1";
  r.helo = "mail.example.org";
  auto null_sender = check_mail_from(dns, r);
  EXPECT_EQ(null_sender.result, SpfResult::Pass);  // postmaster@helo
  EXPECT_EQ(null_sender.domain, "mail.example.org");
  EXPECT_EQ(check_helo(dns, r).identity, "helo");
  r.helo = "[192.0.2.1]";
  EXPECT_EQ(check_helo(dns, r).result, SpfResult::None);
  r.helo = "localhost";
  EXPECT_EQ(check_helo(dns, r).result, SpfResult::None);  // not multi-label
  EXPECT_EQ(check(dns, "192.0.2.1", "x@" + std::string(64, 'a') + ".com").result, SpfResult::None);
  EXPECT_EQ(dns.queries.size(), 2u);  // the two checks of mail.example.org; invalid names are never queried
}

}  // namespace
}  // namespace mailfort::auth
