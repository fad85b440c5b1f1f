#include "proto/dmarc/auth_results.h"

#include <gtest/gtest.h>

namespace mailfort::proto::dmarc {
namespace {

TEST(AuthResults, IssueExample) {
  auto ar = parse_auth_results(
      " mail.example.test; spf=pass smtp.mailfrom=a@b.example; dkim=pass header.d=b.example header.s=s1\r\n"
      "\theader.a=ed25519-sha256; dmarc=pass header.from=b.example; arc=none\r\n");
  ASSERT_TRUE(ar.ok) << ar.error;
  EXPECT_EQ(ar.authserv_id, "mail.example.test");
  ASSERT_EQ(ar.results.size(), 4u);
  EXPECT_EQ(ar.results[0].method, "spf");
  EXPECT_EQ(ar.results[0].result, "pass");
  ASSERT_EQ(ar.results[0].properties.size(), 1u);
  EXPECT_EQ(ar.results[0].properties[0].ptype, "smtp");
  EXPECT_EQ(ar.results[0].properties[0].property, "mailfrom");
  EXPECT_EQ(ar.results[0].properties[0].value, "a@b.example");
  EXPECT_EQ(ar.results[1].properties.size(), 3u);
  EXPECT_EQ(result_of(ar, "dmarc"), "pass");
  EXPECT_EQ(result_of(ar, "arc"), "none");
  EXPECT_FALSE(result_of(ar, "iprev").has_value());
}

TEST(AuthResults, Rfc8601Examples) {
  auto none = parse_auth_results("example.org 1; none");
  ASSERT_TRUE(none.ok) << none.error;
  EXPECT_EQ(none.authserv_id, "example.org");
  EXPECT_EQ(none.version, "1");
  EXPECT_TRUE(none.none);

  auto c = parse_auth_results(
      " example.com;\r\n"
      "          spf=pass smtp.mailfrom=example.net (comment (nested)) ;\r\n"
      "          sender-id=pass header.from=example.net\r\n");
  ASSERT_TRUE(c.ok) << c.error;
  EXPECT_EQ(c.results.size(), 2u);
  EXPECT_EQ(c.results[1].method, "sender-id");

  auto r = parse_auth_results(
      "example.com; dkim/1=FAIL reason=\"bad \\\"sig\\\"\" header.i=@newyork.example.com; auth=pass "
      "(cram-md5) "
      "smtp.auth=sender@example.net");
  ASSERT_TRUE(r.ok) << r.error;
  EXPECT_EQ(r.results[0].version, "1");
  EXPECT_EQ(r.results[0].result, "fail");
  EXPECT_EQ(r.results[0].reason, "bad \"sig\"");
  EXPECT_EQ(r.results[0].properties[0].value, "@newyork.example.com");
  EXPECT_EQ(r.results[1].properties[0].value, "sender@example.net");
}

TEST(AuthResults, QuotedAuthservIdAndComments) {
  auto ar = parse_auth_results("(first) \"mx.example.test\" (x); dmarc=pass");
  ASSERT_TRUE(ar.ok) << ar.error;
  EXPECT_EQ(ar.authserv_id, "mx.example.test");
}

TEST(AuthResults, BrokenValueKeepsAuthservId) {
  auto ar = parse_auth_results("MX.Example.Test; spf=pass smtp.mailfrom");
  EXPECT_FALSE(ar.ok);
  EXPECT_EQ(ar.authserv_id, "MX.Example.Test");
  EXPECT_FALSE(parse_auth_results("").ok);
  EXPECT_FALSE(parse_auth_results("x; (unterminated").ok);
  EXPECT_FALSE(parse_auth_results("x; spf").ok);
  EXPECT_FALSE(parse_auth_results("x; spf=").ok);
  EXPECT_FALSE(parse_auth_results("x spf=pass").ok);
}

TEST(AuthResults, Bounds) {
  std::string deep = "x; spf=pass " + std::string(100, '(') + std::string(100, ')');
  EXPECT_FALSE(parse_auth_results(deep).ok);
  std::string many = "x";
  for (int i = 0; i < 100; ++i) many += "; spf=pass";
  AuthResultsLimits limits;
  EXPECT_FALSE(parse_auth_results(many, limits).ok);
  limits.max_results = 200;
  EXPECT_TRUE(parse_auth_results(many, limits).ok);
}

TEST(AuthResults, EveryPrefixIsSafe) {
  std::string v =
      "a.test 1; dkim=pass (ok) header.d=\"x.test\" header.b=abc; dmarc=fail reason=\"p\" header.from=x";
  for (std::size_t i = 0; i <= v.size(); ++i) (void)parse_auth_results(v.substr(0, i));
  EXPECT_TRUE(parse_auth_results(v).ok);
}

}  // namespace
}  // namespace mailfort::proto::dmarc
