#include "filter/spam_headers.h"

#include <gtest/gtest.h>

namespace mailfort::filter {
namespace {

ScanResult result(double score, Action action, std::vector<Symbol> symbols, double required = 6.0) {
  ScanResult r;
  r.engine = "builtin";
  r.score = score;
  r.required_score = required;
  r.reject_score = 15;
  r.action = action;
  r.symbols = std::move(symbols);
  return r;
}

TEST(SpamHeaders, HamInRspamdFormatByteExact) {
  auto r = result(1.2, Action::NoAction,
                  {{"MISSING_MID", 2.5, {}},
                   {"R_SPF_ALLOW", -0.2, {"+ip4:192.0.2.0/24"}},
                   {"DMARC_POLICY_ALLOW", -1.1, {"example.org", "none"}}});
  EXPECT_EQ(spam_header_fields(r),
            "X-Spamd-Result: default: False [1.20 / 6.00];\r\n"
            "\tMISSING_MID(2.50)[];\r\n"
            "\tR_SPF_ALLOW(-0.20)[+ip4:192.0.2.0/24];\r\n"
            "\tDMARC_POLICY_ALLOW(-1.10)[example.org,none]\r\n"
            "X-Spamd-Bar: +\r\n"
            "X-Spam-Level: *\r\n"
            "X-Spam-Status: No, score=1.20\r\n");
}

TEST(SpamHeaders, SpamGetsFlagAndTrue) {
  auto r = result(7.1, Action::AddHeader, {{"BAYES_SPAM", 7.1, {"99.99%"}}});
  EXPECT_EQ(spam_header_fields(r),
            "X-Spamd-Result: default: True [7.10 / 6.00];\r\n"
            "\tBAYES_SPAM(7.10)[99.99%]\r\n"
            "X-Spamd-Bar: +++++++\r\n"
            "X-Spam-Level: *******\r\n"
            "X-Spam-Flag: YES\r\n"
            "X-Spam: Yes\r\n"
            "X-Spam-Status: Yes, score=7.10\r\n");
}

TEST(SpamHeaders, NoSymbolsNoSemicolonNoLevelBelowOnePoint) {
  auto r = result(0.5, Action::NoAction, {});
  EXPECT_EQ(spam_header_fields(r),
            "X-Spamd-Result: default: False [0.50 / 6.00]\r\n"
            "X-Spamd-Bar: /\r\n"
            "X-Spam-Status: No, score=0.50\r\n");
}

TEST(SpamHeaders, NegativeScore) {
  auto r = result(-2.7, Action::NoAction, {{"BAYES_HAM", -2.7, {}}});
  auto h = spam_header_fields(r);
  EXPECT_NE(h.find("X-Spamd-Bar: --\r\n"), std::string::npos) << h;
  EXPECT_EQ(h.find("X-Spam-Level"), std::string::npos);
  EXPECT_NE(h.find("[-2.70 / 6.00]"), std::string::npos);
}

TEST(SpamHeaders, RejectIsSpamToo) {
  auto h = spam_header_fields(result(20, Action::Reject, {}));
  EXPECT_NE(h.find("default: True [20.00 / 6.00]"), std::string::npos);
  EXPECT_NE(h.find("X-Spam-Flag: YES\r\n"), std::string::npos);
}

TEST(SpamHeaders, BarBounds) {
  EXPECT_EQ(spamd_bar(0), "/");
  EXPECT_EQ(spamd_bar(0.99), "/");
  EXPECT_EQ(spamd_bar(-0.99), "/");
  EXPECT_EQ(spamd_bar(1), "+");
  EXPECT_EQ(spamd_bar(3.9), "+++");
  EXPECT_EQ(spamd_bar(-1), "-");
  EXPECT_EQ(spamd_bar(1000), std::string(50, '+'));
  EXPECT_EQ(spamd_bar(-1e9), std::string(50, '-'));
  EXPECT_EQ(spamd_bar(std::numeric_limits<double>::quiet_NaN()), "/");
}

TEST(SpamHeaders, OptionsFromMessagesCannotBreakTheHeader) {
  Symbol s{"URIBL_X", 4, {"evil\r\nX-Spam-Flag: NO", "a]b;c[d", std::string(500, 'x')}};
  for (int i = 0; i < 30; ++i) s.options.push_back("o" + std::to_string(i));
  auto h = spam_header_fields(result(4, Action::NoAction, {s}));
  EXPECT_EQ(h.find("\r\nX-Spam-Flag: NO"), std::string::npos);
  EXPECT_NE(h.find("evil??X-Spam-Flag: NO,a?b?c?d,"), std::string::npos) << h;
  EXPECT_NE(h.find(",...]"), std::string::npos);
  std::size_t start = 0;
  while (start < h.size()) {
    auto end = h.find("\r\n", start);
    EXPECT_LE(end - start, 998u);
    start = end + 2;
  }
}

TEST(StripSpamHeaders, RemovesOursAnyCaseWithFolds) {
  std::string m =
      "Received: from a by b; Fri, 4 Dec 2026 01:00:00 +0000\r\n"
      "X-Spamd-Result: default: False [0.00 / 6.00];\r\n"
      "\tR_SPF_ALLOW(-0.20)[];\r\n"
      " DMARC_NA(0.00)[]\r\n"
      "x-spam-flag: YES\r\n"
      "Subject: hello\r\n"
      "X-SPAM: Yes\r\n"
      "X-Spam-Level: ***\r\n"
      "X-Spam-Status: Yes, score=9\r\n"
      "X-Spam-Score: 9\r\n"
      "X-Spamd-Bar: +++\r\n"
      "X-Virus-Scanned: ClamAV\r\n"
      "X-Mailfort-Virus-Scan: clean\r\n"
      "X-Spam-Flag : YES\r\n"
      "X-Spammy: keep\r\n"
      "From: a@example.org\r\n"
      "\r\n"
      "X-Spam-Flag: YES\r\n"
      "body\r\n";
  EXPECT_EQ(strip_spam_headers(m),
            "Received: from a by b; Fri, 4 Dec 2026 01:00:00 +0000\r\n"
            "Subject: hello\r\n"
            "X-Spammy: keep\r\n"
            "From: a@example.org\r\n"
            "\r\n"
            "X-Spam-Flag: YES\r\n"
            "body\r\n");
}

TEST(StripSpamHeaders, KeepsEverythingElseAndWorksOnOddInput) {
  EXPECT_EQ(strip_spam_headers(""), "");
  EXPECT_EQ(strip_spam_headers("Subject: x\r\n"), "Subject: x\r\n");
  EXPECT_EQ(strip_spam_headers("X-Spam: yes"), "");
  EXPECT_EQ(strip_spam_headers("\r\nX-Spam: yes\r\n"), "\r\nX-Spam: yes\r\n");
  // A field hidden after a broken line is still removed.
  EXPECT_EQ(strip_spam_headers("Subject: a\r\nnot a field\r\nX-Spam-Flag: YES\r\n\r\nb"),
            "Subject: a\r\nnot a field\r\n\r\nb");
  // Bare LF line ends.
  EXPECT_EQ(strip_spam_headers("X-Spam-Flag: YES\n\tmore\nA: b\n\nX-Spam: x\n"), "A: b\n\nX-Spam: x\n");
}

TEST(StripSpamHeaders, NamesAreLowercase) {
  for (const auto& n : spam_header_names()) {
    for (char c : n) EXPECT_FALSE(c >= 'A' && c <= 'Z') << n;
  }
  EXPECT_EQ(spam_header_names().size(), 9u);
}

}  // namespace
}  // namespace mailfort::filter
