#include "proto/mtasts/mtasts.h"

#include <gtest/gtest.h>

namespace mailfort::proto::mtasts {
namespace {

TEST(MtaStsTxt, RfcExample) {
  auto r = parse_txt("v=STSv1; id=20160831085700Z;");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->id, "20160831085700Z");
  ASSERT_TRUE(parse_txt("v=STSv1;id=abc"));
  ASSERT_TRUE(parse_txt("v=STSv1 ;\tid=abc ; ext=val;"));
}

TEST(MtaStsTxt, Invalid) {
  EXPECT_FALSE(parse_txt(""));
  EXPECT_FALSE(parse_txt("v=STSv1;"));  // id required
  EXPECT_FALSE(parse_txt("v=STSv1"));
  EXPECT_FALSE(parse_txt(" v=STSv1; id=a"));  // must start with the version
  EXPECT_FALSE(parse_txt("v=STSv2; id=a"));
  EXPECT_FALSE(parse_txt("v=STSv1; id=a-b"));  // id is alphanumeric
  EXPECT_FALSE(parse_txt("v=STSv1; id=" + std::string(33, 'a')));
  EXPECT_TRUE(parse_txt("v=STSv1; id=" + std::string(32, 'a')));
  EXPECT_FALSE(parse_txt("v=STSv1; id="));
  EXPECT_FALSE(parse_txt("v=STSv1; id=a;;"));       // empty field
  EXPECT_FALSE(parse_txt("v=STSv1; id=a; bad"));    // not key=value
  EXPECT_FALSE(parse_txt("v=STSv1; id=a; x=a b"));  // space in a value
  EXPECT_FALSE(parse_txt("v=STSv1; id =a"));
  EXPECT_FALSE(parse_txt("v=STSv1; v=STSv1; id=a"));
}

TEST(MtaStsTxt, FirstIdWins) {
  auto r = parse_txt("v=STSv1; id=first; id=second");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->id, "first");
}

TEST(MtaStsTxt, SelectExactlyOne) {
  EXPECT_EQ(select_txt({"v=spf1 -all", "v=STSv1; id=x1;"})->id, "x1");
  EXPECT_FALSE(select_txt({"v=STSv1; id=x1;", "v=STSv1; id=x2;"}));
  EXPECT_FALSE(select_txt({"v=spf1 -all"}));
  EXPECT_FALSE(select_txt({}));
  EXPECT_FALSE(select_txt({"v=STSv1; nonsense"}));
}

constexpr const char* kRfcPolicy =
    "version: STSv1\r\n"
    "mode: enforce\r\n"
    "mx: mail.example.com\r\n"
    "mx: *.example.net\r\n"
    "mx: backupmx.example.com\r\n"
    "max_age: 604800\r\n";

TEST(MtaStsPolicy, RfcExample) {
  auto p = parse_policy(kRfcPolicy);
  ASSERT_TRUE(p);
  EXPECT_EQ(p->mode, Mode::Enforce);
  EXPECT_EQ(p->max_age, 604800u);
  ASSERT_EQ(p->mx.size(), 3u);
  EXPECT_EQ(p->mx[1], "*.example.net");
  EXPECT_TRUE(policy_allows_mx(*p, "mail.example.com"));
  EXPECT_TRUE(policy_allows_mx(*p, "Foo.Example.NET."));
  EXPECT_FALSE(policy_allows_mx(*p, "example.net"));
  EXPECT_FALSE(policy_allows_mx(*p, "a.b.example.net"));
  EXPECT_FALSE(policy_allows_mx(*p, "evil.com"));
}

TEST(MtaStsPolicy, LfLinesNoFinalNewlineWhitespaceAndExtensions) {
  auto p = parse_policy(
      "version: STSv1\nmode:testing  \nx-ext: some value here\nmx: MX.Example.com\nmax_age:86400");
  ASSERT_TRUE(p);
  EXPECT_EQ(p->mode, Mode::Testing);
  EXPECT_EQ(p->max_age, 86400u);
  ASSERT_EQ(p->mx.size(), 1u);
  EXPECT_EQ(p->mx[0], "mx.example.com");
}

TEST(MtaStsPolicy, NoneNeedsNoMx) {
  auto p = parse_policy("version: STSv1\nmode: none\nmax_age: 0\n");
  ASSERT_TRUE(p);
  EXPECT_EQ(p->mode, Mode::None);
}

TEST(MtaStsPolicy, FirstNonMxValueWinsAndMaxAgeClamped) {
  auto p = parse_policy(
      "version: STSv1\nmode: testing\nmode: enforce\nmx: a.b\nmax_age: 9999999999\nmax_age: 1\n");
  ASSERT_TRUE(p);
  EXPECT_EQ(p->mode, Mode::Testing);
  EXPECT_EQ(p->max_age, kMaxAge);
}

TEST(MtaStsPolicy, Invalid) {
  const char* bad[] = {
      "",
      "\n",
      "version: STSv2\nmode: enforce\nmx: a.b\nmax_age: 1\n",
      "version: STSv1\nmode: enforce\nmax_age: 1\n",           // enforce without mx
      "version: STSv1\nmode: Enforce\nmx: a.b\nmax_age: 1\n",  // case-sensitive
      "version: STSv1\nmode: enforce\nmx: a.b\n",              // no max_age
      "mode: enforce\nmx: a.b\nmax_age: 1\n",                  // no version
      "version: STSv1\nmode: enforce\nmx: a.b\nmax_age: -1\n",
      "version: STSv1\nmode: enforce\nmx: a.b\nmax_age: 12345678901\n",  // 11 digits
      "version: STSv1\nmode: enforce\nmx: a..b\nmax_age: 1\n",
      "version: STSv1\nmode: enforce\nmx: *a.b\nmax_age: 1\n",
      "version: STSv1\nmode: enforce\nmx: a.*.b\nmax_age: 1\n",
      "version: STSv1\nmode: enforce\nmx: a.b.\nmax_age: 1\n",
      "version: STSv1\n\nmode: enforce\nmx: a.b\nmax_age: 1\n",  // blank line
      "version: STSv1\nmode: enforce\nmx: a.b\nmax_age: 1\n\n",
      " version: STSv1\nmode: enforce\nmx: a.b\nmax_age: 1\n",
      "version STSv1\nmode: enforce\nmx: a.b\nmax_age: 1\n",
      "version: STSv1\rmode: enforce\nmx: a.b\nmax_age: 1\n",  // bare CR
      "version: STSv1\nmode: enforce\nmx: a.b\nmax_age: 1\r",
      "<html>version: STSv1</html>",
  };
  for (auto b : bad) EXPECT_FALSE(parse_policy(b)) << b;
}

TEST(MtaStsMatch, Wildcards) {
  EXPECT_TRUE(mx_pattern_matches("*.example.com", "mail.example.com"));
  EXPECT_FALSE(mx_pattern_matches("*.example.com", "example.com"));
  EXPECT_FALSE(mx_pattern_matches("*.example.com", "foo.bar.example.com"));
  EXPECT_FALSE(mx_pattern_matches("*.example.com", ".example.com"));
  EXPECT_FALSE(mx_pattern_matches("*.example.com", "mailexample.com"));
  EXPECT_TRUE(mx_pattern_matches("mx.example.com", "MX.EXAMPLE.COM."));
  EXPECT_FALSE(mx_pattern_matches("mx.example.com", "mx.example.com.evil"));
  EXPECT_FALSE(mx_pattern_matches("", "a"));
}

TEST(MtaStsPublish, FormatRoundTripsAndIdChanges) {
  Policy p;
  p.mode = Mode::Enforce;
  p.max_age = 604800;
  p.mx = {"mail.example.com"};
  auto text = format_policy(p);
  EXPECT_EQ(text, "version: STSv1\r\nmode: enforce\r\nmx: mail.example.com\r\nmax_age: 604800\r\n");
  auto back = parse_policy(text);
  ASSERT_TRUE(back);
  EXPECT_EQ(back->mx, p.mx);
  auto id = policy_id(text);
  EXPECT_EQ(id.size(), 16u);
  EXPECT_TRUE(parse_txt("v=STSv1; id=" + id + ";"));
  p.mode = Mode::Testing;
  EXPECT_NE(policy_id(format_policy(p)), id);
}

}  // namespace
}  // namespace mailfort::proto::mtasts
