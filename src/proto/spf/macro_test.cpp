#include "proto/spf/macro.h"

#include <gtest/gtest.h>

#include <string>

namespace mailfort::proto::spf {
namespace {

MacroValues rfc_values(bool v6 = false) {
  MacroValues v;
  v.sender = "strong-bad@email.example.com";
  v.local_part = "strong-bad";
  v.sender_domain = "email.example.com";
  v.domain = "email.example.com";
  v.ip = v6 ? "2001:db8::cb01" : "192.0.2.3";
  v.ipv6 = v6;
  v.helo = "mx.example.org";
  v.receiver = "mx.example.test";
  v.now = 1700000000;
  return v;
}

std::string ex(const std::string& in, bool v6 = false, MacroUse use = MacroUse::DomainSpec) {
  auto r = expand(in, rfc_values(v6), use);
  return r ? *r : "<error>";
}

TEST(SpfMacro, Rfc7208Section74Examples) {
  EXPECT_EQ(ex("%{s}"), "strong-bad@email.example.com");
  EXPECT_EQ(ex("%{o}"), "email.example.com");
  EXPECT_EQ(ex("%{d}"), "email.example.com");
  EXPECT_EQ(ex("%{d4}"), "email.example.com");
  EXPECT_EQ(ex("%{d3}"), "email.example.com");
  EXPECT_EQ(ex("%{d2}"), "example.com");
  EXPECT_EQ(ex("%{d1}"), "com");
  EXPECT_EQ(ex("%{dr}"), "com.example.email");
  EXPECT_EQ(ex("%{d2r}"), "example.email");
  EXPECT_EQ(ex("%{l}"), "strong-bad");
  EXPECT_EQ(ex("%{l-}"), "strong.bad");
  EXPECT_EQ(ex("%{lr}"), "strong-bad");
  EXPECT_EQ(ex("%{lr-}"), "bad.strong");
  EXPECT_EQ(ex("%{l1r-}"), "strong");
  EXPECT_EQ(ex("%{ir}.%{v}._spf.%{d2}"), "3.2.0.192.in-addr._spf.example.com");
  EXPECT_EQ(ex("%{lr-}.lp._spf.%{d2}"), "bad.strong.lp._spf.example.com");
  EXPECT_EQ(ex("%{lr-}.lp.%{ir}.%{v}._spf.%{d2}"), "bad.strong.lp.3.2.0.192.in-addr._spf.example.com");
  EXPECT_EQ(ex("%{ir}.%{v}.%{l1r-}.lp._spf.%{d2}"), "3.2.0.192.in-addr.strong.lp._spf.example.com");
  EXPECT_EQ(ex("%{d2}.trusted-domains.example.net"), "example.com.trusted-domains.example.net");
  EXPECT_EQ(ex("%{ir}.%{v}._spf.%{d2}", true),
            "1.0.B.C.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.B.D.0.1.0.0.2.ip6._spf.example.com");
}

TEST(SpfMacro, EscapesAndUpperCase) {
  EXPECT_EQ(ex("a%%b%_c%-d", false, MacroUse::Explanation), "a%b c%20d");
  EXPECT_EQ(ex("%{S}"), "strong-bad%40email.example.com");
  EXPECT_EQ(ex("%{L}"), "strong-bad");
  EXPECT_EQ(ex("%{h}"), "mx.example.org");
  EXPECT_EQ(ex("%{d+,=_/}"), "email.example.com");  // every delimiter allowed
}

TEST(SpfMacro, ExplanationOnlyLetters) {
  EXPECT_EQ(ex("%{c}"), "<error>");
  EXPECT_EQ(ex("%{r}"), "<error>");
  EXPECT_EQ(ex("%{t}"), "<error>");
  EXPECT_EQ(ex("%{c} %{r} %{t}", false, MacroUse::Explanation), "192.0.2.3 mx.example.test 1700000000");
  EXPECT_EQ(ex("%{c}", true, MacroUse::Explanation), "2001:db8::cb01");
  EXPECT_EQ(ex("a b"), "<error>");  // no spaces in a domain-spec
}

TEST(SpfMacro, SyntaxErrors) {
  for (const char* bad :
       {"%", "%{", "%{d", "%{}", "%{x}", "%{d0}", "%{d00}", "%{d2rr}", "%{d;}", "%a", "%{d }", "%{dR.R}"}) {
    EXPECT_EQ(ex(bad), "<error>") << bad;
    EXPECT_FALSE(valid_macro_string(bad, MacroUse::Explanation)) << bad;
  }
  EXPECT_EQ(ex(std::string("a\x01")), "<error>");
  EXPECT_EQ(ex("caf\xc3\xa9.example.com"), "<error>");
}

TEST(SpfMacro, PtrIsAskedOnlyWhenUsed) {
  int calls = 0;
  MacroValues v = rfc_values();
  v.validated_name = [&] {
    ++calls;
    return std::string("mx.example.com");
  };
  EXPECT_EQ(*expand("%{d}", v, MacroUse::DomainSpec), "email.example.com");
  EXPECT_EQ(calls, 0);
  EXPECT_EQ(*expand("%{p}.%{p2}", v, MacroUse::DomainSpec), "mx.example.com.example.com");
  EXPECT_EQ(calls, 1);
  v.validated_name = nullptr;
  EXPECT_EQ(*expand("%{p}", v, MacroUse::DomainSpec), "unknown");
}

TEST(SpfMacro, DomainTruncatedFromTheLeftTo253) {
  MacroValues v = rfc_values();
  v.local_part = std::string(60, 'a') + "." + std::string(60, 'b') + "." + std::string(60, 'c') + "." +
                 std::string(60, 'd') + "." + std::string(60, 'e');
  auto r = expand("%{l}.example.com", v, MacroUse::DomainSpec);
  ASSERT_TRUE(r);
  EXPECT_LE(r->size(), kMaxDomainLength);
  // 316 octets: dropping the a-label leaves 255, so the b-label goes too.
  EXPECT_EQ(r->substr(0, 61), std::string(60, 'c') + ".");
  EXPECT_EQ(r->substr(r->size() - 12), ".example.com");
}

TEST(SpfMacro, HugeExpansionsStayBounded) {
  // CVE-2021-20314 class: many macros over long values, huge digit
  // transformers, URL escaping that triples the size.
  MacroValues v = rfc_values();
  v.local_part = std::string(4000, '.');
  v.sender = std::string(4000, '@');
  std::string spec;
  for (int i = 0; i < 500; ++i) spec += "%{S}%{l99999999999999999999r}";
  auto d = expand(spec + ".x.com", v, MacroUse::DomainSpec);
  ASSERT_TRUE(d);
  EXPECT_LE(d->size(), 4096u);
  auto e = expand(spec, v, MacroUse::Explanation);
  ASSERT_TRUE(e);
  EXPECT_LE(e->size(), kMaxExplanation);
}

TEST(SpfMacro, EveryPrefixOfTrickyStringsIsSafe) {
  const std::string tricky[] = {"%{ir}.%{v}._spf.%{d2}", "%{l1r-}.lp.%{S}%%%_%-",
                                "%{d12345678901234567890r+,}", "%{p}%{P2r}.%{h}.%{c}%{r}%{t}"};
  MacroValues v = rfc_values(true);
  for (const auto& s : tricky) {
    for (std::size_t n = 0; n <= s.size(); ++n) {
      auto p = s.substr(0, n);
      for (auto use : {MacroUse::DomainSpec, MacroUse::Explanation}) {
        auto r = expand(p, v, use);
        EXPECT_EQ(r.has_value(), valid_macro_string(p, use)) << p;
        if (r) {
          EXPECT_LE(r->size(), 4096u);
        }
      }
    }
  }
}

TEST(SpfMacro, IpForms) {
  EXPECT_EQ(ip_macro_form("192.0.2.3", false), "192.0.2.3");
  EXPECT_EQ(ip_macro_form("::1", true), "0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.1");
}

}  // namespace
}  // namespace mailfort::proto::spf
