#include "sieve/match.h"

#include <gtest/gtest.h>

#include <chrono>
#include <string>
#include <vector>

namespace mailfort::sieve {
namespace {

MatchSpec spec(MatchType t, Comparator c = Comparator::AsciiCasemap, RelOp r = RelOp::Eq) {
  MatchSpec s;
  s.type = t;
  s.comparator = c;
  s.rel = r;
  return s;
}

bool m(MatchType t, std::string_view value, std::string key, Comparator c = Comparator::AsciiCasemap) {
  return match_value(spec(t, c), value, {std::move(key)});
}

std::vector<std::string> caps(MatchType t, std::string_view value, std::string key,
                              Comparator c = Comparator::AsciiCasemap) {
  std::vector<std::string> out;
  EXPECT_TRUE(match_value(spec(t, c), value, {std::move(key)}, &out)) << value;
  return out;
}

using V = std::vector<std::string>;

TEST(SieveMatchNames, ComparatorsAndRelops) {
  EXPECT_EQ(comparator_from_name("i;octet"), Comparator::Octet);
  EXPECT_EQ(comparator_from_name("i;ascii-casemap"), Comparator::AsciiCasemap);
  EXPECT_EQ(comparator_from_name("i;ascii-numeric"), Comparator::AsciiNumeric);
  EXPECT_EQ(comparator_from_name("i;unicode-casemap"), std::nullopt);
  EXPECT_EQ(comparator_from_name(""), std::nullopt);
  EXPECT_EQ(relop_from_name("gt"), RelOp::Gt);
  EXPECT_EQ(relop_from_name("GE"), RelOp::Ge);
  EXPECT_EQ(relop_from_name("lt"), RelOp::Lt);
  EXPECT_EQ(relop_from_name("le"), RelOp::Le);
  EXPECT_EQ(relop_from_name("eq"), RelOp::Eq);
  EXPECT_EQ(relop_from_name("Ne"), RelOp::Ne);
  EXPECT_EQ(relop_from_name("gte"), std::nullopt);
}

TEST(SieveMatch, IsWithEachComparator) {
  EXPECT_TRUE(m(MatchType::Is, "Frobnitz", "frobnitz"));
  EXPECT_FALSE(m(MatchType::Is, "Frobnitz", "frobnitz", Comparator::Octet));
  EXPECT_TRUE(m(MatchType::Is, "Frobnitz", "Frobnitz", Comparator::Octet));
  EXPECT_FALSE(m(MatchType::Is, "Frobnitz", "Frobnit"));
  EXPECT_TRUE(m(MatchType::Is, "", ""));
  // ascii-casemap folds ASCII letters only: "É" and "é" differ.
  EXPECT_FALSE(m(MatchType::Is, "\xC3\x89", "\xC3\xA9"));
  // i;ascii-numeric: values of the leading digits.
  EXPECT_TRUE(m(MatchType::Is, "0042", "42", Comparator::AsciiNumeric));
  EXPECT_TRUE(m(MatchType::Is, "42abc", "42", Comparator::AsciiNumeric));
  EXPECT_FALSE(m(MatchType::Is, "43", "42", Comparator::AsciiNumeric));
  // Strings not starting with a digit are all +infinity, so equal.
  EXPECT_TRUE(m(MatchType::Is, "abc", "xyz", Comparator::AsciiNumeric));
  EXPECT_FALSE(m(MatchType::Is, "abc", "1", Comparator::AsciiNumeric));
}

TEST(SieveMatch, EmptyKeyListNeverMatches) {
  for (MatchType t :
       {MatchType::Is, MatchType::Contains, MatchType::Matches, MatchType::Regex, MatchType::Value})
    EXPECT_FALSE(match_value(spec(t), "", {}));
  EXPECT_FALSE(match_count(spec(MatchType::Count, Comparator::AsciiNumeric), 0, {}));
}

TEST(SieveMatch, AnyKeyOfTheListMatches) {
  EXPECT_TRUE(match_value(spec(MatchType::Is), "b", {"a", "b", "c"}));
  EXPECT_FALSE(match_value(spec(MatchType::Is), "d", {"a", "b", "c"}));
}

TEST(SieveMatch, Contains) {
  EXPECT_TRUE(m(MatchType::Contains, "Hello World", "o w"));
  EXPECT_FALSE(m(MatchType::Contains, "Hello World", "o w", Comparator::Octet));
  EXPECT_TRUE(m(MatchType::Contains, "Hello World", ""));
  EXPECT_FALSE(m(MatchType::Contains, "Hi", "Hii"));
  EXPECT_FALSE(m(MatchType::Contains, "12345", "234", Comparator::AsciiNumeric));
}

TEST(SieveMatch, MatchesWildcards) {
  EXPECT_TRUE(m(MatchType::Matches, "MAKE MONEY FAST", "*money*"));
  EXPECT_FALSE(m(MatchType::Matches, "MAKE MONEY FAST", "*money*", Comparator::Octet));
  EXPECT_TRUE(m(MatchType::Matches, "abc", "a?c"));
  EXPECT_FALSE(m(MatchType::Matches, "abbc", "a?c"));
  EXPECT_TRUE(m(MatchType::Matches, "", "*"));
  EXPECT_FALSE(m(MatchType::Matches, "", "?"));
  EXPECT_TRUE(m(MatchType::Matches, "abc", "***"));
  EXPECT_FALSE(m(MatchType::Matches, "abc", "ab"));
  EXPECT_FALSE(m(MatchType::Matches, "abc", "bc"));
  EXPECT_TRUE(m(MatchType::Matches, "mississippi", "*iss*ppi"));
  EXPECT_TRUE(m(MatchType::Matches, "aaab", "*a*b"));
  // Escapes: \* and \? are literal, \\ a backslash.
  EXPECT_TRUE(m(MatchType::Matches, "a*c", "a\\*c"));
  EXPECT_FALSE(m(MatchType::Matches, "abc", "a\\*c"));
  EXPECT_TRUE(m(MatchType::Matches, "a?", "a\\?"));
  EXPECT_FALSE(m(MatchType::Matches, "ab", "a\\?"));
  EXPECT_TRUE(m(MatchType::Matches, "a\\b", "a\\\\b"));
  // ? is one UTF-8 character, not one octet.
  EXPECT_TRUE(m(MatchType::Matches, "\xC3\xA9t\xC3\xA9", "?t?"));
  EXPECT_FALSE(m(MatchType::Matches, "\xC3\xA9t\xC3\xA9", "??t??"));
  EXPECT_FALSE(m(MatchType::Matches, "1", "*", Comparator::AsciiNumeric));
}

// RFC 5229 3.2's examples.
TEST(SieveMatch, MatchVariablesRfc5229) {
  EXPECT_EQ(caps(MatchType::Matches, "[acme-users] [fwd] version 1.0 is out", "[*] *"),
            (V{"[acme-users] [fwd] version 1.0 is out", "acme-users", "[fwd] version 1.0 is out"}));
  EXPECT_EQ(caps(MatchType::Matches, "<1234@example.org>", "<*@*>"),
            (V{"<1234@example.org>", "1234", "example.org"}));
  EXPECT_EQ(caps(MatchType::Matches, "coyote@ACME.Example.COM", "*@*.?xample.*"),
            (V{"coyote@ACME.Example.COM", "coyote", "ACME", "E", "COM"}));
  // Leftmost stars take as little as possible, the last one the rest.
  EXPECT_EQ(caps(MatchType::Matches, "a.b.c", "*.*"), (V{"a.b.c", "a", "b.c"}));
  EXPECT_EQ(caps(MatchType::Matches, "abc", "*"), (V{"abc", "abc"}));
  EXPECT_EQ(caps(MatchType::Matches, "ab", "**"), (V{"ab", "", "ab"}));
  EXPECT_EQ(caps(MatchType::Matches, "x\xC3\xA9y", "x?y"), (V{"x\xC3\xA9y", "\xC3\xA9"}));
  // Backtracking re-captures the ? after the star.
  EXPECT_EQ(caps(MatchType::Matches, "aXbYc", "*?c"), (V{"aXbYc", "aXb", "Y"}));
}

TEST(SieveMatch, AtMostTenCaptures) {
  auto c = caps(MatchType::Matches, "abcdefghijkl", "????????????");
  ASSERT_EQ(c.size(), 10u);
  EXPECT_EQ(c[0], "abcdefghijkl");
  EXPECT_EQ(c[9], "i");
}

TEST(SieveMatch, MatchesNoExponentialBacktracking) {
  std::string value(100000, 'a');
  std::string key;
  for (int i = 0; i < 20; ++i) key += "*a";
  key += "b";
  auto t0 = std::chrono::steady_clock::now();
  EXPECT_FALSE(m(MatchType::Matches, value, key));
  EXPECT_LT(std::chrono::steady_clock::now() - t0, std::chrono::seconds(10));
}

TEST(SieveMatch, Regex) {
  EXPECT_TRUE(m(MatchType::Regex, "Subject: hello", "hel+o"));
  EXPECT_TRUE(m(MatchType::Regex, "HELLO", "^hello$"));
  EXPECT_FALSE(m(MatchType::Regex, "HELLO", "^hello$", Comparator::Octet));
  EXPECT_FALSE(m(MatchType::Regex, "hello", "^ello"));
  EXPECT_FALSE(m(MatchType::Regex, "1", "1", Comparator::AsciiNumeric));
  // An invalid pattern matches nothing at run time.
  EXPECT_FALSE(m(MatchType::Regex, "(", "("));
  EXPECT_EQ(caps(MatchType::Regex, "user+tag@example.com", "^([^+@]+)\\+([^@]*)@(.*)$"),
            (V{"user+tag@example.com", "user", "tag", "example.com"}));
  // [0] is what the whole pattern matched; a group that took no part is "".
  EXPECT_EQ(caps(MatchType::Regex, "xx abc yy", "a(b)c|(z)"), (V{"abc", "b", ""}));
  // POSIX leftmost-longest: the longer alternative wins.
  EXPECT_EQ(caps(MatchType::Regex, "abcd", "(a|ab)(c|bcd)"), (V{"abcd", "a", "bcd"}));
}

TEST(SieveMatch, RegexPathologicalPatternIsLinear) {
  std::string value(100000, 'a');
  value += '!';
  auto t0 = std::chrono::steady_clock::now();
  EXPECT_FALSE(m(MatchType::Regex, value, "^(a+)+$"));
  EXPECT_TRUE(m(MatchType::Regex, value, "(a+)+!$"));
  EXPECT_LT(std::chrono::steady_clock::now() - t0, std::chrono::seconds(10));
}

TEST(SieveMatch, RegexCacheKeepsCaseSeparate) {
  // Same pattern, first case-insensitive then case-sensitive: the cached
  // program of one must not answer for the other.
  EXPECT_TRUE(m(MatchType::Regex, "ABC", "abc"));
  EXPECT_FALSE(m(MatchType::Regex, "ABC", "abc", Comparator::Octet));
  // More patterns than the cache holds still match correctly.
  for (int i = 0; i < 200; ++i) {
    std::string k = "^n" + std::to_string(i) + "$";
    EXPECT_TRUE(m(MatchType::Regex, "n" + std::to_string(i), k));
    EXPECT_FALSE(m(MatchType::Regex, "n" + std::to_string(i + 1), k));
  }
}

TEST(SieveMatch, CheckRegex) {
  EXPECT_EQ(check_regex("^a(b|c)*$"), "");
  EXPECT_EQ(check_regex("[[:alpha:]]+"), "");
  EXPECT_NE(check_regex("("), "");
  EXPECT_NE(check_regex("a{2,1}"), "");
  EXPECT_NE(check_regex("[z-a]"), "");
}

// RFC 5231 section 8's examples and the relational operators.
TEST(SieveMatch, ValueRelational) {
  auto v = [](RelOp op, Comparator c, std::string_view value, std::string key) {
    return match_value(spec(MatchType::Value, c, op), value, {std::move(key)});
  };
  const Comparator num = Comparator::AsciiNumeric;
  EXPECT_TRUE(v(RelOp::Gt, num, "10", "9"));
  EXPECT_FALSE(v(RelOp::Gt, Comparator::AsciiCasemap, "10", "9"));  // as strings "10" < "9"
  EXPECT_TRUE(v(RelOp::Lt, Comparator::AsciiCasemap, "10", "9"));
  EXPECT_TRUE(v(RelOp::Ge, num, "9", "9"));
  EXPECT_TRUE(v(RelOp::Le, num, "9", "09"));
  EXPECT_FALSE(v(RelOp::Ne, num, "9", "009"));
  EXPECT_TRUE(v(RelOp::Ne, num, "9", "8"));
  // Non-digit strings are +infinity: greater than any number.
  EXPECT_TRUE(v(RelOp::Gt, num, "abc", "99999999999999999999999999"));
  EXPECT_FALSE(v(RelOp::Lt, num, "abc", "1"));
  // Unbounded integers.
  EXPECT_TRUE(v(RelOp::Gt, num, "123456789012345678901234567890", "123456789012345678901234567889"));
  // RFC 5231 8: From "mickey@disney.com" :value "gt" "M" with ascii-casemap.
  EXPECT_TRUE(v(RelOp::Gt, Comparator::AsciiCasemap, "mickey@disney.com", "M"));
  EXPECT_FALSE(v(RelOp::Gt, Comparator::Octet, "Mickey", "m"));
  EXPECT_TRUE(v(RelOp::Eq, Comparator::AsciiCasemap, "ABC", "abc"));
}

TEST(SieveMatch, CountRelational) {
  const Comparator num = Comparator::AsciiNumeric;
  // RFC 5231 8: address :count "ge" :comparator "i;ascii-numeric" ["to", "cc"] ["3"]
  EXPECT_TRUE(match_count(spec(MatchType::Count, num, RelOp::Ge), 3, {"3"}));
  EXPECT_FALSE(match_count(spec(MatchType::Count, num, RelOp::Ge), 2, {"3"}));
  EXPECT_TRUE(match_count(spec(MatchType::Count, num, RelOp::Eq), 0, {"0"}));
  EXPECT_TRUE(match_count(spec(MatchType::Count, num, RelOp::Gt), 10, {"9"}));
  // With a string comparator the count compares as a string.
  EXPECT_FALSE(match_count(spec(MatchType::Count, Comparator::AsciiCasemap, RelOp::Gt), 10, {"9"}));
  EXPECT_TRUE(match_count(spec(MatchType::Count, num, RelOp::Lt), 1, {"x", "2"}));
  // :count is not a value match.
  EXPECT_FALSE(match_value(spec(MatchType::Count, num), "1", {"1"}));
}

}  // namespace
}  // namespace mailfort::sieve
