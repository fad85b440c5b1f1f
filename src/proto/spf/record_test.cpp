#include "proto/spf/record.h"

#include <gtest/gtest.h>

#include <string>

namespace mailfort::proto::spf {
namespace {

Record ok(const std::string& txt) {
  auto r = parse_record(txt);
  EXPECT_TRUE(r.record) << txt << ": " << r.error;
  return r.record ? *r.record : Record{};
}

bool bad(const std::string& txt) {
  return !parse_record(txt).record;
}

TEST(SpfRecord, Version) {
  EXPECT_TRUE(is_spf_record("v=spf1"));
  EXPECT_TRUE(is_spf_record("v=spf1 -all"));
  EXPECT_TRUE(is_spf_record("V=SPF1 -all"));
  EXPECT_FALSE(is_spf_record("v=spf1-all"));
  EXPECT_FALSE(is_spf_record("v=spf10"));
  EXPECT_FALSE(is_spf_record(" v=spf1"));
  EXPECT_FALSE(is_spf_record("v=spf"));
  EXPECT_FALSE(is_spf_record("spf2.0/pra"));
  EXPECT_TRUE(ok("v=spf1").directives.empty());
  EXPECT_TRUE(ok("v=spf1   ").directives.empty());
}

TEST(SpfRecord, EveryMechanismAndQualifier) {
  auto r =
      ok("v=spf1 +a -mx ~ptr ?ip4:192.0.2.0/24 ip6:2001:db8::/32 include:_spf.example.com "
         "exists:%{i}.bl.example.com a:mail.example.com/28//64 mx//0 all");
  ASSERT_EQ(r.directives.size(), 10u);
  EXPECT_EQ(r.directives[0].mechanism, Mechanism::A);
  EXPECT_EQ(r.directives[0].qualifier, Qualifier::Pass);
  EXPECT_EQ(r.directives[1].qualifier, Qualifier::Fail);
  EXPECT_EQ(r.directives[2].qualifier, Qualifier::SoftFail);
  EXPECT_EQ(r.directives[2].mechanism, Mechanism::Ptr);
  EXPECT_EQ(r.directives[3].qualifier, Qualifier::Neutral);
  EXPECT_EQ(r.directives[3].cidr4, 24);
  EXPECT_EQ(r.directives[3].network[2], 2);
  EXPECT_EQ(r.directives[4].mechanism, Mechanism::Ip6);
  EXPECT_EQ(r.directives[4].cidr6, 32);
  EXPECT_EQ(r.directives[5].domain_spec, "_spf.example.com");
  EXPECT_EQ(r.directives[6].mechanism, Mechanism::Exists);
  EXPECT_EQ(r.directives[7].domain_spec, "mail.example.com");
  EXPECT_EQ(r.directives[7].cidr4, 28);
  EXPECT_EQ(r.directives[7].cidr6, 64);
  EXPECT_EQ(r.directives[8].mechanism, Mechanism::Mx);
  EXPECT_EQ(r.directives[8].cidr4, 32);
  EXPECT_EQ(r.directives[8].cidr6, 0);
  EXPECT_EQ(r.directives[9].mechanism, Mechanism::All);
  EXPECT_EQ(ok("v=spf1 MX Include:x.example.com ALL").directives.size(), 3u);
}

TEST(SpfRecord, Modifiers) {
  auto r = ok("v=spf1 -all redirect=_spf.example.com exp=explain.%{d} moo=%{d}.cow foo.bar-9_=");
  EXPECT_EQ(r.redirect.value(), "_spf.example.com");
  EXPECT_EQ(r.exp.value(), "explain.%{d}");
  EXPECT_TRUE(bad("v=spf1 redirect=a.example.com redirect=b.example.com"));
  EXPECT_TRUE(bad("v=spf1 exp=a.example.com exp=b.example.com"));
  EXPECT_TRUE(bad("v=spf1 moo=%{"));  // unknown but invalid
  EXPECT_TRUE(bad("v=spf1 redirect="));
  EXPECT_TRUE(bad("v=spf1 -redirect=a.example.com"));
  EXPECT_TRUE(bad("v=spf1 9x=y"));
}

TEST(SpfRecord, SyntaxErrors) {
  for (const char* r : {"v=spf1 a:",
                        "v=spf1 include",
                        "v=spf1 include:",
                        "v=spf1 exists",
                        "v=spf1 all:x.com",
                        "v=spf1 all/24",
                        "v=spf1 ip4",
                        "v=spf1 ip4:",
                        "v=spf1 ip4:1.2.3",
                        "v=spf1 ip4:1.2.3.4/33",
                        "v=spf1 ip4:1.2.3.04",
                        "v=spf1 ip4:256.1.1.1",
                        "v=spf1 ip4:1.2.3.4/024",
                        "v=spf1 ip4:1.2.3.4//24",
                        "v=spf1 ip6:1.2.3.4",
                        "v=spf1 ip6:::1/129",
                        "v=spf1 ip6:::1/",
                        "v=spf1 a/33",
                        "v=spf1 a//129",
                        "v=spf1 a:foo",
                        "v=spf1 a:foo.1",
                        "v=spf1 a:foo.-bar",
                        "v=spf1 a:example.com/",
                        "v=spf1 mx:example.com//64/24",
                        "v=spf1 ip5:1.2.3.4",
                        "v=spf1 -",
                        "v=spf1 +-all",
                        "v=spf1 a:%{d",
                        "v=spf1 a:%{c}.example.com",
                        "v=spf1 a:%{d0}.example.com",
                        "v=spf1 include:foo.example.com\t-all"}) {
    EXPECT_TRUE(bad(r)) << r;
  }
}

TEST(SpfRecord, DomainSpecs) {
  EXPECT_TRUE(valid_domain_spec("example.com"));
  EXPECT_TRUE(valid_domain_spec("example.com."));
  EXPECT_TRUE(valid_domain_spec("%{d}"));
  EXPECT_TRUE(valid_domain_spec("%{ir}.%{v}._spf.%{d2}"));
  EXPECT_TRUE(valid_domain_spec("foo.1-2"));
  EXPECT_TRUE(valid_domain_spec(".com"));
  EXPECT_FALSE(valid_domain_spec(""));
  EXPECT_FALSE(valid_domain_spec("com"));
  EXPECT_FALSE(valid_domain_spec("example.123"));
  EXPECT_FALSE(valid_domain_spec("example.com-"));
  EXPECT_FALSE(valid_domain_spec("%{d}com"));
  EXPECT_FALSE(valid_domain_spec("%{d}."));  // domain-end is a macro-expand or "." toplabel ["."]
  EXPECT_FALSE(valid_domain_spec("example.com.."));
}

TEST(SpfRecord, Addresses) {
  EXPECT_TRUE(parse_ip4("0.0.0.0"));
  EXPECT_TRUE(parse_ip4("255.255.255.255"));
  EXPECT_FALSE(parse_ip4("1.2.3.4."));
  EXPECT_FALSE(parse_ip4("1.2.3.4.5"));
  EXPECT_FALSE(parse_ip4("1234.2.3.4"));
  EXPECT_TRUE(parse_ip6("::ffff:192.0.2.1"));
  EXPECT_FALSE(parse_ip6("2001:db8::1::2"));
  uint8_t a[4] = {192, 0, 2, 200}, b[4] = {192, 0, 2, 1};
  EXPECT_TRUE(prefix_match(a, b, 4, 24));
  EXPECT_TRUE(prefix_match(a, b, 4, 0));
  EXPECT_FALSE(prefix_match(a, b, 4, 25));
  EXPECT_FALSE(prefix_match(a, b, 4, 32));
}

TEST(SpfRecord, EveryPrefixOfTrickyRecords) {
  const std::string tricky[] = {
      "v=spf1 a:mail.example.com/28//64 ip6:2001:db8::ffff:1.2.3.4/96 ~include:%{ir}.%{v}._spf.%{d2} -all",
      "v=spf1 exists:%{l1r-}.%{S}.e.example.com redirect=_spf.example.com exp=x.%{d}.example.com x-y=%%%_%-",
      "v=spf1 ?mx//0 -ip4:0.0.0.0/0 +ptr:example.com.",
  };
  for (const auto& s : tricky) {
    EXPECT_TRUE(parse_record(s).record) << s;
    for (std::size_t n = 0; n < s.size(); ++n) {
      auto r = parse_record(s.substr(0, n));
      if (!r.record) {
        EXPECT_FALSE(r.error.empty());
      } else {
        EXPECT_LE(r.record->directives.size(), n);
      }
    }
  }
}

}  // namespace
}  // namespace mailfort::proto::spf
