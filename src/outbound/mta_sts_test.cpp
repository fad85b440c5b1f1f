#include "outbound/mta_sts.h"

#include <gtest/gtest.h>

namespace mailfort::outbound {
namespace {

using proto::mtasts::Mode;
using proto::mtasts::Policy;

Policy policy(Mode m) {
  Policy p;
  p.mode = m;
  p.max_age = 86400;
  p.mx = {"mx.b.test", "*.mail.b.test"};
  return p;
}

TlsRequirement opportunistic() {
  TlsRequirement t;
  t.policy = "dane";  // the default policy, for an MX without secure TLSA
  t.params.sni = "mx.b.test";
  return t;
}

TEST(ApplyMtaSts, EnforceRequiresVerifiedTlsNamingTheHost) {
  auto t = opportunistic();
  std::string why;
  ASSERT_TRUE(apply_mta_sts(policy(Mode::Enforce), "b.test", "a.mail.b.test", t, why));
  EXPECT_TRUE(t.attempt);
  EXPECT_TRUE(t.mandatory);
  EXPECT_EQ(t.policy, "mta-sts");
  EXPECT_EQ(t.params.verify, tls::ClientParams::Verify::Ca);
  EXPECT_EQ(t.params.match_names, std::vector<std::string>{"a.mail.b.test"});
  EXPECT_EQ(t.params.sni, "a.mail.b.test");
}

TEST(ApplyMtaSts, EnforceSkipsHostsOutsideThePolicy) {
  auto t = opportunistic();
  std::string why;
  EXPECT_FALSE(apply_mta_sts(policy(Mode::Enforce), "b.test", "evil.test", t, why));
  EXPECT_NE(why.find("not allowed by the MTA-STS policy of b.test"), std::string::npos);
  EXPECT_FALSE(apply_mta_sts(policy(Mode::Enforce), "b.test", "x.y.mail.b.test", t, why));
}

TEST(ApplyMtaSts, DaneTakesPrecedence) {
  auto t = opportunistic();
  t.mandatory = true;  // secure usable TLSA found
  t.params.verify = tls::ClientParams::Verify::Dane;
  std::string why;
  EXPECT_TRUE(apply_mta_sts(policy(Mode::Enforce), "b.test", "evil.test", t, why));
  EXPECT_EQ(t.params.verify, tls::ClientParams::Verify::Dane);
  EXPECT_EQ(t.policy, "dane");
}

TEST(ApplyMtaSts, TestingChangesNothingButAsksForAReport) {
  auto t = opportunistic();
  std::string why;
  EXPECT_TRUE(apply_mta_sts(policy(Mode::Testing), "b.test", "mx.b.test", t, why));
  EXPECT_FALSE(t.mandatory);
  EXPECT_EQ(t.params.verify, tls::ClientParams::Verify::None);
  EXPECT_EQ(t.params.report_names, std::vector<std::string>{"mx.b.test"});
  auto u = opportunistic();
  EXPECT_TRUE(apply_mta_sts(policy(Mode::Testing), "b.test", "evil.test", u, why));  // logged only
  EXPECT_FALSE(u.mandatory);
}

TEST(ApplyMtaSts, NoneIsIgnored) {
  auto t = opportunistic();
  std::string why;
  EXPECT_TRUE(apply_mta_sts(policy(Mode::None), "b.test", "evil.test", t, why));
  EXPECT_FALSE(t.mandatory);
  EXPECT_TRUE(t.params.report_names.empty());
}

}  // namespace
}  // namespace mailfort::outbound
