#include "auth/dmarc.h"

#include <gtest/gtest.h>

#include <map>
#include <utility>

namespace mailfort::auth {
namespace {

// DNS from a map; names not in it are NXDOMAIN. Counts queries.
class MapDns final : public DnsSource {
 public:
  std::map<std::pair<std::string, dns::Type>, dns::Answer> answers;
  std::vector<std::string> asked;
  void txt(const std::string& name, std::vector<std::string> records) {
    dns::Answer a;
    a.status = dns::Answer::Status::Ok;
    a.txt = std::move(records);
    answers[{name, dns::Type::TXT}] = a;
  }
  void status(const std::string& name, dns::Type t, dns::Answer::Status s) {
    dns::Answer a;
    a.status = s;
    answers[{name, t}] = a;
  }
  dns::Answer query(const std::string& name, dns::Type type) override {
    asked.push_back(name);
    auto it = answers.find({name, type});
    if (it != answers.end()) return it->second;
    dns::Answer a;
    a.status = dns::Answer::Status::NxDomain;
    return a;
  }
};

SpfOutcome spf_pass(const std::string& domain) {
  SpfOutcome o;
  o.result = SpfResult::Pass;
  o.domain = domain;
  o.identity = "mailfrom";
  return o;
}

DkimResult dkim(const std::string& domain, DkimStatus s = DkimStatus::Pass) {
  DkimResult r;
  r.status = s;
  r.domain = domain;
  return r;
}

TEST(OrganizationalDomain, PublicSuffixList) {
  EXPECT_EQ(organizational_domain("mail.shop.example.co.uk"), "example.co.uk");
  EXPECT_EQ(organizational_domain("Example.CO.UK."), "example.co.uk");
  EXPECT_EQ(organizational_domain("a.b.example.com"), "example.com");
  EXPECT_EQ(organizational_domain("co.uk"), "co.uk");
  EXPECT_EQ(organizational_domain("x.y.example.test"), "example.test");
}

TEST(Alignment, RelaxedAndStrict) {
  EXPECT_TRUE(aligned("mail.example.co.uk", "example.co.uk", false));
  EXPECT_FALSE(aligned("mail.example.co.uk", "example.co.uk", true));
  EXPECT_TRUE(aligned("EXAMPLE.co.uk", "example.co.uk", true));
  EXPECT_FALSE(aligned("other.co.uk", "example.co.uk", false));
  EXPECT_FALSE(aligned("", "", false));
}

TEST(AuthorDomain, ExactlyOneFromAddress) {
  EXPECT_EQ(author_domain("From: A <a@Mail.Example.TEST>\r\nTo: b@c.test\r\n\r\n").domain,
            "mail.example.test");
  EXPECT_EQ(author_domain("To: b@c.test\r\n\r\n").error, "no From header field");
  EXPECT_EQ(author_domain("From: a@x.test\r\nFrom: b@y.test\r\n\r\n").error, "several From header fields");
  EXPECT_EQ(author_domain("from: a@x.test\r\nFROM: b@y.test\r\n\r\n").error, "several From header fields");
  EXPECT_EQ(author_domain("From: a@x.test, b@y.test\r\n\r\n").error,
            "From header field names several addresses");
  EXPECT_EQ(author_domain("From: g:;\r\n\r\n").error, "From header field names no address");
  EXPECT_TRUE(author_domain("From: a@[192.0.2.1]\r\n\r\n").domain.empty());
  EXPECT_TRUE(author_domain("From: <<<\r\n\r\n").domain.empty());
}

TEST(Dmarc, NoRecordIsNone) {
  MapDns dns;
  auto o = check_dmarc(dns, "x.example.test", nullptr, {}, 0);
  EXPECT_EQ(o.result, DmarcResult::None);
  EXPECT_EQ(o.org_domain, "example.test");
  // From domain first, then the organisational domain.
  ASSERT_EQ(dns.asked.size(), 2u);
  EXPECT_EQ(dns.asked[0], "_dmarc.x.example.test");
  EXPECT_EQ(dns.asked[1], "_dmarc.example.test");
}

TEST(Dmarc, AlignedBySpfOrDkim) {
  MapDns dns;
  dns.txt("_dmarc.example.test", {"v=spf1 -all", "v=DMARC1; p=reject; rua=mailto:r@example.test"});
  auto spf = spf_pass("bounce.example.test");
  auto by_spf = check_dmarc(dns, "example.test", &spf, {}, 0);
  EXPECT_EQ(by_spf.result, DmarcResult::Pass);
  EXPECT_TRUE(by_spf.spf_aligned);
  EXPECT_FALSE(by_spf.dkim_aligned);
  EXPECT_EQ(by_spf.rua, std::vector<std::string>{"mailto:r@example.test"});
  auto by_dkim =
      check_dmarc(dns, "example.test", nullptr, {dkim("other.test"), dkim("news.example.test")}, 0);
  EXPECT_EQ(by_dkim.result, DmarcResult::Pass);
  EXPECT_TRUE(by_dkim.dkim_aligned);
  auto failing = check_dmarc(dns, "example.test", nullptr, {dkim("example.test", DkimStatus::Fail)}, 0);
  EXPECT_EQ(failing.result, DmarcResult::Fail);
  EXPECT_EQ(failing.policy, DmarcPolicy::Reject);
  EXPECT_EQ(effective_policy(failing), DmarcPolicy::Reject);
}

TEST(Dmarc, SpfHeloIdentityNeverAligns) {
  MapDns dns;
  dns.txt("_dmarc.example.test", {"v=DMARC1; p=reject"});
  SpfOutcome helo = spf_pass("example.test");
  helo.identity = "helo";
  EXPECT_EQ(check_dmarc(dns, "example.test", &helo, {}, 0).result, DmarcResult::Fail);
  SpfOutcome soft = spf_pass("example.test");
  soft.result = SpfResult::SoftFail;
  EXPECT_EQ(check_dmarc(dns, "example.test", &soft, {}, 0).result, DmarcResult::Fail);
}

TEST(Dmarc, StrictAlignment) {
  MapDns dns;
  dns.txt("_dmarc.example.test", {"v=DMARC1; p=reject; adkim=s; aspf=s"});
  auto spf = spf_pass("bounce.example.test");
  EXPECT_EQ(check_dmarc(dns, "example.test", &spf, {dkim("mail.example.test")}, 0).result, DmarcResult::Fail);
  EXPECT_EQ(check_dmarc(dns, "example.test", nullptr, {dkim("example.test")}, 0).result, DmarcResult::Pass);
}

TEST(Dmarc, SubdomainAndNonExistentPolicies) {
  MapDns dns;
  dns.txt("_dmarc.example.co.uk", {"v=DMARC1; p=reject; sp=quarantine; np=none"});
  dns.status("mail.shop.example.co.uk", dns::Type::A, dns::Answer::Status::Ok);
  auto sub = check_dmarc(dns, "mail.shop.example.co.uk", nullptr, {}, 0);
  EXPECT_EQ(sub.result, DmarcResult::Fail);
  EXPECT_EQ(sub.policy_domain, "example.co.uk");
  EXPECT_EQ(sub.policy, DmarcPolicy::Quarantine);
  auto nx = check_dmarc(dns, "ghost.example.co.uk", nullptr, {}, 0);
  EXPECT_EQ(nx.policy, DmarcPolicy::None);
  auto top = check_dmarc(dns, "example.co.uk", nullptr, {}, 0);
  EXPECT_EQ(top.policy, DmarcPolicy::Reject);
}

TEST(Dmarc, PctSamplesOut) {
  MapDns dns;
  dns.txt("_dmarc.example.test", {"v=DMARC1; p=reject; pct=30"});
  auto in = check_dmarc(dns, "example.test", nullptr, {}, 29);
  EXPECT_FALSE(in.sampled_out);
  EXPECT_EQ(effective_policy(in), DmarcPolicy::Reject);
  auto out = check_dmarc(dns, "example.test", nullptr, {}, 30);
  EXPECT_TRUE(out.sampled_out);
  EXPECT_EQ(effective_policy(out), DmarcPolicy::Quarantine);
  dns.txt("_dmarc.example.test", {"v=DMARC1; p=quarantine; pct=0"});
  EXPECT_EQ(effective_policy(check_dmarc(dns, "example.test", nullptr, {}, 0)), DmarcPolicy::None);
}

TEST(Dmarc, DnsFailureIsTempError) {
  MapDns dns;
  dns.status("_dmarc.example.test", dns::Type::TXT, dns::Answer::Status::ServFail);
  EXPECT_EQ(check_dmarc(dns, "example.test", nullptr, {}, 0).result, DmarcResult::TempError);
  dns.status("_dmarc.example.test", dns::Type::TXT, dns::Answer::Status::NoData);
  dns.status("_dmarc.x.example.test", dns::Type::TXT, dns::Answer::Status::ServFail);
  EXPECT_EQ(check_dmarc(dns, "x.example.test", nullptr, {}, 0).result, DmarcResult::TempError);
}

TEST(Dmarc, SeveralOrInvalidRecordsAreNone) {
  MapDns dns;
  dns.txt("_dmarc.example.test", {"v=DMARC1; p=reject", "v=DMARC1; p=none"});
  EXPECT_EQ(check_dmarc(dns, "example.test", nullptr, {}, 0).result, DmarcResult::None);
  dns.txt("_dmarc.example.test", {"v=DMARC1; p=bogus"});
  EXPECT_EQ(check_dmarc(dns, "example.test", nullptr, {}, 0).result, DmarcResult::None);
  dns.txt("_dmarc.example.test", {"v=DMARC1; rua=mailto:a@example.test"});
  auto none_policy = check_dmarc(dns, "example.test", nullptr, {}, 0);
  EXPECT_EQ(none_policy.result, DmarcResult::Fail);
  EXPECT_EQ(none_policy.policy, DmarcPolicy::None);
}

}  // namespace
}  // namespace mailfort::auth
