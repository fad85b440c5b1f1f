#include "filter/builtin_engine.h"

#include <gtest/gtest.h>

#include <stdexcept>

#include "filter/bayes.h"
#include "filter/message_view.h"
#include "filter/rules.h"
#include "filter/uribl.h"
#include "filter/url_extract.h"

namespace mailfort::filter {
namespace {

constexpr std::time_t kNow = 1796349600;  // 2026-12-04 02:00:00 UTC

const std::string kClean =
    "From: Alice <alice@example.org>\r\n"
    "To: bob@example.test\r\n"
    "Subject: Lunch\r\n"
    "Date: Fri, 04 Dec 2026 01:58:00 +0000\r\n"
    "Message-ID: <abc.123@example.org>\r\n"
    "\r\n"
    "See you at noon at http://lunch.example.com/menu\r\n";

class FakeBayes : public BayesStore {
 public:
  std::optional<double> p;
  bool fail = false;
  std::string seen_user;
  std::size_t seen_tokens = 0;
  Result<LearnOutcome> learn(const std::vector<Token>&, bool, const std::string&) override {
    return LearnOutcome::Learned;
  }
  Result<std::optional<double>> classify(const std::vector<Token>& tokens, const std::string& user) override {
    seen_user = user;
    seen_tokens = tokens.size();
    if (fail) return Error{Errc::Temp, "database locked"};
    return p;
  }
  Result<BayesCounts> counts(const std::string&) override { return BayesCounts{}; }
};

class FakeRules : public RuleSet {
 public:
  std::vector<Symbol> hits;
  bool throws = false;
  mutable std::size_t seen_urls = 0;
  std::vector<Symbol> match(const MessageView&, const std::vector<Url>& urls) const override {
    seen_urls = urls.size();
    if (throws) throw std::runtime_error("boom");
    return hits;
  }
  std::size_t size() const override { return hits.size(); }
};

class FakeUribl : public UrlBlocklist {
 public:
  std::vector<UriblHit> hits;
  std::vector<std::string> seen_hosts;
  std::vector<UriblHit> check(const std::vector<Url>& urls, std::chrono::milliseconds) override {
    for (const auto& u : urls) seen_hosts.push_back(u.host);
    return hits;
  }
};

config::Spam spam_config() {
  config::Spam c;
  c.add_header_score = 6;
  c.reject_score = 15;
  return c;
}

BuiltinParts parts_with_clock() {
  BuiltinParts p;
  p.clock = [] { return kNow; };
  return p;
}

ScanInput input(const std::string& m) {
  ScanInput in;
  in.message = m;
  in.ip = "192.0.2.1";
  return in;
}

const Symbol* find(const ScanResult& r, std::string_view name) {
  for (const auto& s : r.symbols)
    if (s.name == name) return &s;
  return nullptr;
}

TEST(BuiltinEngine, CleanMessageNoAction) {
  BuiltinEngine e(spam_config(), parts_with_clock());
  auto r = e.scan(input(kClean));
  EXPECT_EQ(r.engine, "builtin");
  EXPECT_EQ(r.action, Action::NoAction);
  EXPECT_EQ(r.score, 0);
  EXPECT_TRUE(r.symbols.empty());
  EXPECT_EQ(r.required_score, 6);
  EXPECT_EQ(r.reject_score, 15);
  EXPECT_FALSE(r.is_spam());
}

TEST(BuiltinEngine, GtubeRejectsWhateverTheScore) {
  BuiltinEngine e(spam_config(), parts_with_clock());
  auto r = e.scan(input(kClean + "XJS*C4JDBQADN1.NSBN3*2IDNEN*GTUBE-STANDARD-ANTI-UBE-TEST-EMAIL*C.34X\r\n"));
  EXPECT_EQ(r.action, Action::Reject);
  EXPECT_EQ(r.reject_reason, "Gtube pattern");
  ASSERT_NE(find(r, "GTUBE"), nullptr);
  EXPECT_EQ(find(r, "GTUBE")->score, 0);
  EXPECT_EQ(r.score, 0);
}

TEST(BuiltinEngine, ThresholdsAndSortedSymbols) {
  auto rules = std::make_shared<FakeRules>();
  BuiltinParts p = parts_with_clock();
  p.rules = rules;
  rules->hits = {{"Z_RULE", 3.0, {}}, {"A_RULE", 2.99, {}}};
  BuiltinEngine e(spam_config(), p);
  auto r = e.scan(input(kClean));
  EXPECT_EQ(r.action, Action::NoAction);  // 5.99
  EXPECT_DOUBLE_EQ(r.score, 5.99);
  ASSERT_EQ(r.symbols.size(), 2u);
  EXPECT_EQ(r.symbols[0].name, "A_RULE");
  EXPECT_EQ(r.symbols[1].name, "Z_RULE");

  rules->hits = {{"Z_RULE", 3.0, {}}, {"A_RULE", 3.0, {}}};
  r = e.scan(input(kClean));
  EXPECT_EQ(r.action, Action::AddHeader);  // exactly 6: at the threshold
  EXPECT_TRUE(r.is_spam());
  EXPECT_TRUE(r.reject_reason.empty());

  rules->hits = {{"BIG", 15.0, {}}};
  r = e.scan(input(kClean));
  EXPECT_EQ(r.action, Action::Reject);
  EXPECT_EQ(r.reject_reason, "Spam message rejected");

  // Header checks count too: no Message-ID, no Date, no Subject, no To = 7.5.
  rules->hits.clear();
  r = e.scan(input("From: a@example.org\r\n\r\nhello\r\n"));
  EXPECT_EQ(r.action, Action::AddHeader);
  EXPECT_DOUBLE_EQ(r.score, 7.5);
}

TEST(BuiltinEngine, UrlsReachRulesAndBlocklistOnePerZone) {
  auto rules = std::make_shared<FakeRules>();
  auto uribl = std::make_shared<FakeUribl>();
  uribl->hits = {{"dbl.example", "evil.example", "127.0.1.2"},
                 {"dbl.example", "evil2.example", "127.0.1.2"},
                 {"multi.surbl.example", "evil.example", "127.0.0.2"}};
  BuiltinParts p = parts_with_clock();
  p.rules = rules;
  p.uribl = uribl;
  BuiltinEngine e(spam_config(), p);
  auto r = e.scan(input(kClean));
  const Symbol* dbl = find(r, uribl_symbol("dbl.example"));
  ASSERT_NE(dbl, nullptr);
  EXPECT_DOUBLE_EQ(dbl->score, 4.0);
  EXPECT_EQ(dbl->options, (std::vector<std::string>{"evil.example", "evil2.example"}));
  ASSERT_NE(find(r, uribl_symbol("multi.surbl.example")), nullptr);
  EXPECT_DOUBLE_EQ(r.score, 8.0);
  EXPECT_EQ(r.action, Action::AddHeader);
  // What reached them is what URL extraction found (none until it is built).
  EXPECT_EQ(rules->seen_urls, extract_urls(MessageView(kClean).all_text()).size());
}

TEST(BuiltinEngine, BayesVotesOnlyAtTheEnds) {
  auto bayes = std::make_shared<FakeBayes>();
  BuiltinParts p = parts_with_clock();
  p.bayes = bayes;
  BuiltinEngine e(spam_config(), p);
  ScanInput in = input(kClean);
  in.bayes_user = "bob@example.test";

  bayes->p = 1.0;
  auto r = e.scan(in);
  EXPECT_EQ(bayes->seen_user, "bob@example.test");
  ASSERT_NE(find(r, "BAYES_SPAM"), nullptr);
  EXPECT_DOUBLE_EQ(find(r, "BAYES_SPAM")->score, 7.0);
  EXPECT_EQ(find(r, "BAYES_SPAM")->options, std::vector<std::string>{"100.00%"});
  EXPECT_EQ(r.action, Action::AddHeader);

  bayes->p = 0.9712;
  r = e.scan(in);
  EXPECT_NEAR(find(r, "BAYES_SPAM")->score, 2 + 5 * 0.0712 / 0.1, 1e-9);
  EXPECT_EQ(find(r, "BAYES_SPAM")->options, std::vector<std::string>{"97.12%"});

  bayes->p = 0.5;
  r = e.scan(in);
  EXPECT_EQ(find(r, "BAYES_SPAM"), nullptr);
  EXPECT_EQ(find(r, "BAYES_HAM"), nullptr);

  bayes->p = 0.0;
  r = e.scan(in);
  EXPECT_DOUBLE_EQ(find(r, "BAYES_HAM")->score, -4.0);
  bayes->p = 0.1;
  r = e.scan(in);
  EXPECT_DOUBLE_EQ(find(r, "BAYES_HAM")->score, -1.0);

  bayes->p = std::nullopt;  // not enough learns
  r = e.scan(in);
  EXPECT_TRUE(r.symbols.empty());
  bayes->fail = true;
  r = e.scan(in);
  EXPECT_TRUE(r.symbols.empty());
  EXPECT_FALSE(r.failed);
}

TEST(BuiltinEngine, IpListingsOnlyWithAnIp) {
  BuiltinParts p = parts_with_clock();
  int calls = 0;
  p.ip_listings = [&](const std::string& ip) {
    ++calls;
    EXPECT_EQ(ip, "192.0.2.1");
    return std::vector<IpListing>{{"zen.example", "127.0.0.2", false, 4}};
  };
  BuiltinEngine e(spam_config(), p);
  auto r = e.scan(input(kClean));
  EXPECT_DOUBLE_EQ(find(r, "RBL_ZEN_EXAMPLE")->score, 8.0);
  EXPECT_EQ(r.action, Action::AddHeader);
  ScanInput no_ip = input(kClean);
  no_ip.ip.clear();
  r = e.scan(no_ip);
  EXPECT_EQ(calls, 1);
  EXPECT_TRUE(r.symbols.empty());
}

TEST(BuiltinEngine, AThrowingCheckIsSkipped) {
  auto rules = std::make_shared<FakeRules>();
  rules->throws = true;
  BuiltinParts p = parts_with_clock();
  p.rules = rules;
  p.ip_listings = [](const std::string&) -> std::vector<IpListing> { throw std::bad_alloc(); };
  BuiltinEngine e(spam_config(), p);
  auto r = e.scan(input(kClean + "XJS*C4JDBQADN1.NSBN3*2IDNEN*GTUBE-STANDARD-ANTI-UBE-TEST-EMAIL*C.34X\r\n"));
  EXPECT_EQ(r.action, Action::Reject);  // the other checks still ran
}

TEST(BuiltinEngine, DuplicateNamesMerged) {
  auto rules = std::make_shared<FakeRules>();
  rules->hits = {{"MISSING_MID", 9.0, {"rule"}}};
  BuiltinParts p = parts_with_clock();
  p.rules = rules;
  BuiltinEngine e(spam_config(), p);
  auto r =
      e.scan(input("From: a@example.org\r\nTo: b@example.test\r\nSubject: x\r\nDate: Fri, 04 Dec 2026 "
                   "01:58:00 +0000\r\n\r\nhi\r\n"));
  ASSERT_EQ(r.symbols.size(), 1u);
  EXPECT_DOUBLE_EQ(r.symbols[0].score, 2.5);  // the built-in check's
  EXPECT_EQ(r.symbols[0].options, std::vector<std::string>{"rule"});
}

TEST(BuiltinEngine, ScanSizeBoundsTheView) {
  config::Spam c = spam_config();
  c.max_scan_size = 200;
  BuiltinEngine e(c, parts_with_clock());
  // GTUBE beyond the first 200 bytes is not seen.
  auto r = e.scan(input(kClean + std::string(500, 'a') +
                        "\r\nXJS*C4JDBQADN1.NSBN3*2IDNEN*GTUBE-STANDARD-ANTI-UBE-TEST-EMAIL*C.34X\r\n"));
  EXPECT_NE(r.action, Action::Reject);
}

}  // namespace
}  // namespace mailfort::filter
