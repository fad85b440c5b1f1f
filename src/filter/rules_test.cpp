#include "filter/rules.h"

#include <gtest/gtest.h>

#include <chrono>
#include <filesystem>
#include <fstream>

#include "filter/message_view.h"
#include "filter/url_extract.h"

namespace mailfort::filter {
namespace {

const std::string kMessage =
    "From: \"Prize Desk\" <win@lottery.example>\r\n"
    "To: you@example.test\r\n"
    "Subject: =?UTF-8?B?WW91IGhhdmUgV09O?= a prize\r\n"
    "X-Mailer: MassMailer 3.1\r\n"
    "Content-Type: text/plain; charset=utf-8\r\n"
    "Content-Transfer-Encoding: quoted-printable\r\n"
    "\r\n"
    "Claim your =E2=82=AC1,000,000 prize now at http://claim.prize.example/now\r\n"
    "Reply within 24 hours.\r\n";

std::vector<std::string> names(const std::vector<Symbol>& symbols) {
  std::vector<std::string> out;
  for (const auto& s : symbols) out.push_back(s.name);
  return out;
}

std::vector<std::string> match(const std::string& rules_text, const std::string& message = kMessage) {
  std::vector<RuleProblem> problems;
  auto rules = parse_rules(rules_text, "test.rules", problems);
  EXPECT_TRUE(problems.empty()) << problems.front().line << ": " << problems.front().message;
  MessageView view(message);
  auto urls = extract_urls(view.all_text());
  return names(rules->match(view, urls));
}

TEST(Rules, HeaderRulesOnDecodedValues) {
  auto hit = match(
      "# comment line\n"
      "\n"
      "header SUBJ_WON Subject =~ /you have won/i 2.5 Subject says we won\n"
      "header SUBJ_CASE Subject =~ /you have won/ 1\n"           // case-sensitive: no
      "header SUBJ_RAW Subject:raw =~ /=\\?UTF-8\\?B\\?/ 0.5\n"  // encoded word as written
      "header NO_CC Cc !~ /./ 0.1\n"                             // absent field reads as ""
      "header HAS_MAILER exists:X-Mailer 0.2\n"
      "header HAS_LIST exists:List-Id 0.2\n"
      "header MAILER X-Mailer=~/^MassMailer/ 1.5\n"
      "header ALL_LOTTERY ALL =~ m{^From:.*lottery\\.example}m 1\n");
  EXPECT_EQ(hit, (std::vector<std::string>{"SUBJ_WON", "SUBJ_RAW", "NO_CC", "HAS_MAILER", "MAILER",
                                           "ALL_LOTTERY"}));
}

TEST(Rules, BodyRawbodyFullUri) {
  auto hit = match(
      "body PRIZE_EURO /\\x{20AC}1,000,000/ 3\n"    // decoded text (quoted-printable, UTF-8)
      "rawbody PRIZE_QP /=E2=82=AC1/ 1\n"           // the raw body as sent
      "rawbody PRIZE_DECODED_RAW /\\x{20AC}1/ 1\n"  // not in the raw body
      "full FULL_MAILER /^X-Mailer: Mass/m 1\n"
      "uri URI_PRIZE /prize\\.example/ 2\n"
      "uri URI_OTHER /other\\.example/ 2\n"
      "body MULTI_LINE /now.*Reply/s 0.5\n"  // s: . crosses lines
      "body ONE_LINE /now.*Reply/ 0.5\n");
  EXPECT_EQ(hit,
            (std::vector<std::string>{"PRIZE_EURO", "PRIZE_QP", "FULL_MAILER", "URI_PRIZE", "MULTI_LINE"}));
}

TEST(Rules, ScoresDescriptionsAndUriOptions) {
  std::vector<RuleProblem> problems;
  auto rules = parse_rules("uri URI_PRIZE /prize/ -1.25 a description\n", "t", problems);
  ASSERT_TRUE(problems.empty());
  MessageView view(kMessage);
  auto symbols = rules->match(view, extract_urls(view.all_text()));
  ASSERT_EQ(symbols.size(), 1u);
  EXPECT_DOUBLE_EQ(symbols[0].score, -1.25);
  EXPECT_EQ(symbols[0].options, std::vector<std::string>{"claim.prize.example"});
}

TEST(Rules, MetaRulesAndHiddenSubRules) {
  auto hit = match(
      "body __PRIZE /prize/ 0\n"
      "header __LOTTERY From =~ /lottery/ 0\n"
      "header __LIST exists:List-Id 0\n"
      "meta PRIZE_FROM_LOTTERY (__PRIZE && __LOTTERY && !__LIST) 4\n"
      "meta EITHER (__LIST || (PRIZE_FROM_LOTTERY && !__LIST)) 1\n"
      "meta NEITHER (!__PRIZE && !__LOTTERY) 1\n");
  EXPECT_EQ(hit, (std::vector<std::string>{"PRIZE_FROM_LOTTERY", "EITHER"}));
}

TEST(Rules, ProblemsCarryLinesAndGoodRulesStay) {
  std::vector<RuleProblem> problems;
  auto rules = parse_rules(
      "body GOOD_ONE /prize/ 1\n"
      "body lower_case /x/ 1\n"               // 2 bad name
      "body NO_SCORE /x/\n"                   // 3
      "body BAD_FLAG /x/x 1\n"                // 4 x is Perl's
      "body LOOKBEHIND /(?<=a)b/ 1\n"         // 5 RE2 refuses
      "header NO_OP Subject /x/ 1\n"          // 6
      "frobnicate THING /x/ 1\n"              // 7
      "body GOOD_ONE /again/ 1\n"             // 8 duplicate
      "meta UNKNOWN (GOOD_ONE && LATER) 1\n"  // 9 LATER not defined before
      "body UNCLOSED /abc 1\n"                // 10
      "body HUGE_SCORE /x/ 1e9\n"             // 11
      "meta BAD_META (GOOD_ONE &&) 1\n"       // 12
      "body LATER /x/ 1\r\n"                  // 13 fine (CRLF)
      "body BACKREF /(a)\\1/ 1\n",            // 14
      "local.rules", problems);
  std::vector<int> lines;
  for (const auto& p : problems) {
    EXPECT_EQ(p.file, "local.rules");
    EXPECT_FALSE(p.message.empty());
    lines.push_back(p.line);
  }
  EXPECT_EQ(lines, (std::vector<int>{2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 14}));
  EXPECT_EQ(rules->size(), 2u);
  EXPECT_NE(problems[0].message.find("bad rule name"), std::string::npos);
  EXPECT_NE(problems[3].message.find("RE2"), std::string::npos);
  EXPECT_NE(problems[6].message.find("already defined at local.rules:1"), std::string::npos);
}

TEST(Rules, OverLargePatternRefusedAtLoad) {
  std::vector<RuleProblem> problems;
  auto rules = parse_rules(
      "body BLOWUP /((a{100}){100}){100}/ 1\n"
      "body LONG /" +
          std::string(20000, 'a') +
          "/ 1\n"
          "body FINE /a{100}/ 1\n",
      "big.rules", problems);
  ASSERT_EQ(problems.size(), 2u);
  EXPECT_EQ(problems[0].line, 1);
  EXPECT_EQ(problems[1].line, 2);
  EXPECT_EQ(rules->size(), 1u);
}

TEST(Rules, CatastrophicBacktrackingPatternsAreLinear) {
  std::vector<RuleProblem> problems;
  auto rules = parse_rules(
      "body NESTED /(a+)+$/ 1\n"
      "body NESTED2 /(x+x+)+y/ 1\n"
      "body ALT /(a|aa)+b/ 1\n"
      "rawbody RAW_NESTED /(a*)*c/ 1\n"
      "full FULL_NESTED /(.*a){12}z/s 1\n"
      "header SUBJ_NESTED Subject =~ /(a+)+b/ 1\n",
      "evil.rules", problems);
  ASSERT_TRUE(problems.empty()) << problems.front().message;
  std::string as(100 * 1024, 'a');
  std::string message = "Subject: " + std::string(900, 'a') + "\r\nContent-Type: text/plain\r\n\r\n" + as +
                        "\r\n" + std::string(100 * 1024, 'x') + "\r\n";
  MessageView view(message);
  auto start = std::chrono::steady_clock::now();
  auto hit = names(rules->match(view, {}));
  auto took = std::chrono::steady_clock::now() - start;
  // (a+)+$ matches at the end of "aaaa" lines in multiline text? No (?m): $ is the end of all text.
  EXPECT_EQ(hit, std::vector<std::string>{});
  // Backtracking would take hours; RE2 is linear (the bound leaves room for
  // unoptimised sanitizer builds).
  EXPECT_LT(took, std::chrono::seconds(20)) << std::chrono::duration<double, std::milli>(took).count();
}

TEST(Rules, LoadRuleFilesReportsMissingFilesAndKeepsOthers) {
  auto dir = std::filesystem::temp_directory_path() / ("mf_rules_test_" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  std::ofstream(dir / "a.rules") << "body A_RULE /prize/ 1\n";
  std::ofstream(dir / "b.rules") << "meta B_META (A_RULE) 1\nbody A_RULE /dup/ 1\n";
  std::vector<RuleProblem> problems;
  auto rules = load_rule_files(
      {(dir / "a.rules").string(), (dir / "missing.rules").string(), (dir / "b.rules").string()}, problems);
  ASSERT_EQ(problems.size(), 2u);
  EXPECT_EQ(problems[0].file, (dir / "missing.rules").string());
  EXPECT_EQ(problems[0].line, 0);
  EXPECT_EQ(problems[1].file, (dir / "b.rules").string());
  EXPECT_EQ(problems[1].line, 2);
  EXPECT_EQ(rules->size(), 2u);  // a meta may name a rule of an earlier file
  MessageView view(kMessage);
  EXPECT_EQ(names(rules->match(view, {})), (std::vector<std::string>{"A_RULE", "B_META"}));
  std::filesystem::remove_all(dir);
}

TEST(Rules, TheExamplesOfTheDocumentationLoad) {
  // docs/spam-rules.md, "Examples": every line must parse.
  std::vector<RuleProblem> problems;
  auto rules = parse_rules(
      R"(header  SUBJ_CRYPTO      Subject =~ /\b(bitcoin|crypto ?currency)\b/i   2.0  Crypto in the subject
header  FROM_INVOICE     From =~ /invoice/i                              0.5
header  NO_UNSUBSCRIBE   List-Unsubscribe !~ /./                         0.1  Bulk mail would have one
header  XMAILER_BULK     X-Mailer =~ /^(BulkMailer|MassSender)/           1.5
header  SUBJ_ENCODED     Subject:raw =~ /^=\?(koi8-r|gb2312)\?/i          0.5
header  RCVD_LOCALHOST   ALL =~ /^Received: from localhost \(/m          1.0
body    WIRE_TRANSFER    /wire transfer.{0,40}(urgent|immediately)/is    2.5  Urgent money transfer
rawbody BASE64_HTML      /^PGh0bWw+/m                                    0.5  base64 text starting <html>
uri     URI_SHORTENER    m{^(https?://)?(bit\.ly|tinyurl\.com)/}i         1.0  A URL shortener
uri     URI_IP_HOST      m{^https?://\d+\.\d+\.\d+\.\d+[/:]}              1.5  A link to a bare IP
full    FULL_NUL         /\x00/                                          1.0  A NUL byte anywhere

body    __PAY            /\b(pay|payment)\b/i                            0
meta    PAY_SHORTENER    (__PAY && URI_SHORTENER)                        2.0
)",
      "docs", problems);
  EXPECT_TRUE(problems.empty()) << problems.front().line << ": " << problems.front().message;
  EXPECT_EQ(rules->size(), 13u);
  MessageView view(
      "From: billing <invoice@example.com>\r\nSubject: Buy Bitcoin now\r\n\r\n"
      "Please pay via https://bit.ly/x and http://192.0.2.7/pay\r\n");
  auto urls = extract_urls(view.all_text());
  EXPECT_EQ(names(rules->match(view, urls)),
            (std::vector<std::string>{"SUBJ_CRYPTO", "FROM_INVOICE", "NO_UNSUBSCRIBE", "URI_SHORTENER",
                                      "URI_IP_HOST", "PAY_SHORTENER"}));
}

}  // namespace
}  // namespace mailfort::filter
