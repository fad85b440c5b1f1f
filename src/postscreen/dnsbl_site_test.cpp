#include "postscreen/dnsbl_site.h"

#include <gtest/gtest.h>

#include <unistd.h>

#include <cstdlib>
#include <filesystem>

#include "postscreen/dnsbl.h"
#include "postscreen/greylist.h"

namespace mailfort::postscreen {
namespace {

DnsblSite site(const char* text) {
  auto p = parse_dnsbl_site(text);
  EXPECT_TRUE(p.site) << text << ": " << p.error;
  return p.site ? *p.site : DnsblSite{};
}

TEST(DnsblSite, PlainDomainMatchesAnyRecordWithWeightOne) {
  auto s = site("zen.spamhaus.org");
  EXPECT_EQ(s.domain, "zen.spamhaus.org");
  EXPECT_EQ(s.weight, 1);
  EXPECT_FALSE(s.filter);
  EXPECT_TRUE(s.matches("127.0.0.2"));
  EXPECT_TRUE(s.matches("127.255.0.11"));
  EXPECT_FALSE(s.matches("not an address"));
  EXPECT_FALSE(s.matches("127.0.0"));
  EXPECT_FALSE(s.matches("127.0.0.256"));
}

TEST(DnsblSite, WeightAndUpperCaseDomain) {
  auto s = site("ZEN.Spamhaus.org.*2");
  EXPECT_EQ(s.domain, "zen.spamhaus.org");
  EXPECT_EQ(s.weight, 2);
  EXPECT_EQ(site("list.dnswl.org*-2").weight, -2);
  EXPECT_EQ(site("x.example*0").weight, 0);
}

TEST(DnsblSite, SingleAddressFilter) {
  auto s = site("b.barracudacentral.org=127.0.0.2*1");
  EXPECT_EQ(s.domain, "b.barracudacentral.org");
  EXPECT_EQ(s.weight, 1);
  EXPECT_TRUE(s.matches("127.0.0.2"));
  EXPECT_FALSE(s.matches("127.0.0.3"));
  EXPECT_FALSE(s.matches("127.0.1.2"));
}

TEST(DnsblSite, RangesInSeveralOctets) {
  auto s = site("list.dnswl.org=127.0.[0..255].[0..255]*-2");
  EXPECT_EQ(s.weight, -2);
  EXPECT_TRUE(s.matches("127.0.0.0"));
  EXPECT_TRUE(s.matches("127.0.15.3"));
  EXPECT_TRUE(s.matches("127.0.255.255"));
  EXPECT_FALSE(s.matches("127.1.0.0"));
  EXPECT_FALSE(s.matches("128.0.0.0"));
}

TEST(DnsblSite, ListOfValuesAndRanges) {
  auto s = site("x.example=127.0.0.[2;4;10..11]");
  EXPECT_EQ(s.weight, 1);
  for (int v : {2, 4, 10, 11}) EXPECT_TRUE(s.matches("127.0.0." + std::to_string(v))) << v;
  for (int v : {0, 1, 3, 5, 9, 12, 255}) EXPECT_FALSE(s.matches("127.0.0." + std::to_string(v))) << v;
}

TEST(DnsblSite, RefusesMalformedEntries) {
  for (const char* bad : {"",
                          "*2",
                          "=127.0.0.2",
                          "localhost",
                          "zen.example*",
                          "zen.example*x",
                          "zen.example*101",
                          "zen.example*-101",
                          "zen.example*+2",
                          "zen.example=127.0.0",
                          "zen.example=127.0.0.2.1",
                          "zen.example=127.0.0.256",
                          "zen.example=127.0.0.[]",
                          "zen.example=127.0.0.[2..1]",
                          "zen.example=127.0.0.[2",
                          "zen.example=127.0.0.2]",
                          "zen.example=127.0.[1]x.2",
                          "zen.example=127.0.0.[1;;2]",
                          "zen.example=127.0.0.[1..]",
                          "zen..example",
                          "zen example.org",
                          "zen.example=127.0.0.-1"}) {
    auto p = parse_dnsbl_site(bad);
    EXPECT_FALSE(p.site) << bad;
    if (!p.site) EXPECT_NE(p.error.find("dnsbl site"), std::string::npos);
  }
}

TEST(Dnsbl, QueryNames) {
  EXPECT_EQ(dnsbl_query_name("127.0.0.9", "bl.test"), "9.0.0.127.bl.test");
  EXPECT_EQ(dnsbl_query_name("192.0.2.1", "zen.example"), "1.2.0.192.zen.example");
  EXPECT_EQ(dnsbl_query_name("2001:db8::1", "bl.test"),
            "1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.bl.test");
  EXPECT_FALSE(dnsbl_query_name("nonsense", "bl.test"));
}

TEST(Dnsbl, ScoreSumsMatchingWeightsOnly) {
  std::vector<DnsblSite> sites{site("bl.test*2"), site("wl.test=127.0.[0..255].[0..255]*-2"),
                               site("filtered.test=127.0.0.4*3"), site("slow.test*5")};
  DnsblAnswer listed{DnsblAnswer::Status::Listed, {"127.0.0.2"}};
  DnsblAnswer not_listed{DnsblAnswer::Status::NotListed, {}};
  // Blocklisted only.
  auto s = score_dnsbl(sites, {listed, not_listed, not_listed, std::nullopt});
  EXPECT_EQ(s.score, 2);
  EXPECT_EQ(s.listed_by, std::vector<std::string>{"bl.test"});
  // Also allow-listed: the weights cancel.
  s = score_dnsbl(sites, {listed, listed, not_listed, std::nullopt});
  EXPECT_EQ(s.score, 0);
  // A record outside the filter counts nothing; an unanswered list neither.
  s = score_dnsbl(sites, {not_listed, not_listed, listed, std::nullopt});
  EXPECT_EQ(s.score, 0);
  EXPECT_TRUE(s.listed_by.empty());
  DnsblAnswer failed{DnsblAnswer::Status::Failed, {"127.0.0.4"}};
  s = score_dnsbl(sites, {failed, failed, failed, failed});
  EXPECT_EQ(s.score, 0);
}

TEST(Greylist, Networks) {
  EXPECT_EQ(greylist_network("192.0.2.77"), "192.0.2.0/24");
  EXPECT_EQ(greylist_network("2001:db8:1:2:3:4:5:6"), "2001:db8:1:2::/64");
  EXPECT_EQ(greylist_network("junk"), "junk");
}

class GreylistDb : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/mf-greylist-XXXXXX";
    dir_ = mkdtemp(tmpl);
    path_ = dir_ + "/state.sqlite";
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  std::string dir_, path_;
};

TEST_F(GreylistDb, DefersUntilTheDelayThenPassesAndRemembers) {
  GreylistSettings s{300, 1, 36};
  auto gl = Greylist::open(path_);
  ASSERT_TRUE(gl) << gl.error().message;
  auto& g = *gl.value();
  const int64_t t0 = 1'000'000;
  auto v = g.check("192.0.2.0/24", "a@b.example", "u@example.test", s, t0);
  ASSERT_TRUE(v);
  EXPECT_EQ(v->kind, GreylistVerdict::Kind::Defer);
  EXPECT_STREQ(v->reason, "new");
  EXPECT_EQ(v->retry_in, 300);
  v = g.check("192.0.2.0/24", "a@b.example", "u@example.test", s, t0 + 299);
  EXPECT_EQ(v->kind, GreylistVerdict::Kind::Defer);
  EXPECT_STREQ(v->reason, "waiting");
  EXPECT_EQ(v->retry_in, 1);
  v = g.check("192.0.2.0/24", "a@b.example", "u@example.test", s, t0 + 300);
  EXPECT_EQ(v->kind, GreylistVerdict::Kind::Pass);
  EXPECT_STREQ(v->reason, "passed");
  // pass_count 1: the network is now known, a new triplet passes at once.
  v = g.check("192.0.2.0/24", "other@c.example", "u@example.test", s, t0 + 301);
  EXPECT_EQ(v->kind, GreylistVerdict::Kind::Pass);
  EXPECT_STREQ(v->reason, "known-client");
  // Another network still waits.
  v = g.check("198.51.100.0/24", "a@b.example", "u@example.test", s, t0 + 301);
  EXPECT_EQ(v->kind, GreylistVerdict::Kind::Defer);
}

TEST_F(GreylistDb, PassCountAndExpiryAndRestart) {
  GreylistSettings s{60, 2, 1};
  const int64_t t0 = 5'000'000;
  {
    auto g = Greylist::open(path_).value();
    EXPECT_EQ(g->check("n", "a", "r1", s, t0)->kind, GreylistVerdict::Kind::Defer);
    EXPECT_EQ(g->check("n", "a", "r1", s, t0 + 60)->kind, GreylistVerdict::Kind::Pass);
    // One pass of two: a new triplet of the network still waits.
    EXPECT_EQ(g->check("n", "a", "r2", s, t0 + 61)->kind, GreylistVerdict::Kind::Defer);
  }
  // Reopened (a restart): the passed triplet is remembered.
  auto g = Greylist::open(path_).value();
  auto v = g->check("n", "a", "r1", s, t0 + 100);
  EXPECT_EQ(v->kind, GreylistVerdict::Kind::Pass);
  EXPECT_STREQ(v->reason, "known-triplet");
  EXPECT_EQ(g->check("n", "a", "r2", s, t0 + 121)->kind, GreylistVerdict::Kind::Pass);  // second pass
  EXPECT_STREQ(g->check("n", "z", "r3", s, t0 + 122)->reason, "known-client");
  // allow_days = 1: a day after the last pass everything starts over.
  const int64_t later = t0 + 122 + 86400 + 1;
  v = g->check("n", "a", "r1", s, later);
  EXPECT_EQ(v->kind, GreylistVerdict::Kind::Defer);
  EXPECT_STREQ(v->reason, "new");
  // An unpassed triplet not retried within the retry window starts over.
  EXPECT_EQ(g->check("m", "a", "r", s, later)->kind, GreylistVerdict::Kind::Defer);
  v = g->check("m", "a", "r", s, later + Greylist::kRetryWindowSeconds + 1);
  EXPECT_STREQ(v->reason, "new");
  EXPECT_TRUE(g->prune(s, later + 10 * 86400));
}

TEST_F(GreylistDb, VerifiedDomains) {
  GreylistSettings s{60, 1, 2};
  auto g = Greylist::open(path_).value();
  EXPECT_FALSE(g->is_verified_domain("b.example", s, 100).value());
  ASSERT_TRUE(g->remember_verified_domain("b.example", 100));
  EXPECT_TRUE(g->is_verified_domain("b.example", s, 200).value());
  EXPECT_FALSE(g->is_verified_domain("b.example", s, 100 + 2 * 86400).value());
}

}  // namespace
}  // namespace mailfort::postscreen
