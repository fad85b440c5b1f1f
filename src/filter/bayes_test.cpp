#include "filter/bayes.h"

#include <gtest/gtest.h>
#include <stdlib.h>

#include <atomic>
#include <filesystem>
#include <random>
#include <string>
#include <thread>

#include "base/sqlite.h"
#include "filter/message_view.h"
#include "filter/tokenizer.h"

namespace mailfort::filter {
namespace {

// --- the arithmetic ---

TEST(ChiSquareCombine, KnownValues) {
  // Reference values from an independent 60-digit computation of
  // Robinson's I = (1 + H - S) / 2 (SpamBayes' chi2_spamprob).
  EXPECT_DOUBLE_EQ(chi_square_combine({}), 0.5);
  EXPECT_NEAR(chi_square_combine({0.9}), 0.9, 1e-12);
  EXPECT_NEAR(chi_square_combine({0.9, 0.8, 0.3}), 0.7996685883117753, 1e-12);
  EXPECT_NEAR(chi_square_combine({0.2, 0.1, 0.4, 0.6}), 0.1611437521184304, 1e-12);
  EXPECT_NEAR(chi_square_combine({0.95, 0.05, 0.7, 0.2, 0.9}), 0.6128006894776485, 1e-12);
  EXPECT_NEAR(chi_square_combine({0.6, 0.4}), 0.5, 1e-12);
}

TEST(ChiSquareCombine, SpamNearOneHamNearZero) {
  EXPECT_GT(chi_square_combine(std::vector<double>(20, 0.99)), 0.999);
  EXPECT_LT(chi_square_combine(std::vector<double>(20, 0.01)), 0.001);
  std::vector<double> mixed = {0.9, 0.2, 0.75, 0.33, 0.6};
  std::vector<double> mirrored;
  for (double p : mixed) mirrored.push_back(1 - p);
  EXPECT_NEAR(chi_square_combine(mixed) + chi_square_combine(mirrored), 1.0, 1e-12);
}

TEST(ChiSquareCombine, NoUnderflowWithManyTokens) {
  // e^-916 is 0 in a double: summed naively H would be 0 and the answer 0.
  EXPECT_NEAR(chi_square_combine(std::vector<double>(1000, 0.4)), 0.4983390817270385, 1e-9);
  double extreme = chi_square_combine(std::vector<double>(150, 1e-300));
  EXPECT_GE(extreme, 0.0);
  EXPECT_LT(extreme, 1e-6);
  EXPECT_GT(chi_square_combine(std::vector<double>(150, 1.0)), 1 - 1e-6);
  EXPECT_NEAR(chi_square_combine({0.0, 1.0}), 0.5, 1e-9);
}

TEST(TokenProbability, Robinson) {
  EXPECT_NEAR(token_probability(10, 0, 10, 10), 10.5 / 11, 1e-12);
  EXPECT_NEAR(token_probability(0, 10, 10, 10), 0.5 / 11, 1e-12);
  EXPECT_NEAR(token_probability(5, 5, 10, 10), 0.5, 1e-12);
  // Ham learned twice as often: the same count of each is spam-leaning.
  EXPECT_NEAR(token_probability(5, 5, 10, 20), 0.6515151515151515, 1e-12);
  EXPECT_NEAR(token_probability(1, 0, 10, 10), 0.75, 1e-12);  // seen once: halfway from 0.5
  EXPECT_DOUBLE_EQ(token_probability(0, 0, 10, 10), 0.5);
  EXPECT_DOUBLE_EQ(token_probability(3, 3, 0, 10), 0.5);
}

// --- the store ---

class BayesStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/mf-bayes-XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    path_ = dir_ + "/bayes.sqlite";
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  std::unique_ptr<BayesStore> open(uint32_t min_learns) {
    auto s = open_sqlite_bayes(path_, min_learns);
    EXPECT_TRUE(s) << (s ? "" : s.error().message);
    return s ? std::move(s).value() : nullptr;
  }

  // A message of `vocabulary`-range tokens (token values in [base, base +
  // 50)), 30 picks at random, plus a unique one so that no two
  // messages have the same digest.
  std::vector<Token> message(Token base) {
    std::uniform_int_distribution<Token> pick(0, 49);
    std::vector<Token> t;
    for (int i = 0; i < 30; ++i) t.push_back(base + pick(rng_));
    t.push_back(0xfff0000000000000ULL + serial_++);
    std::sort(t.begin(), t.end());
    t.erase(std::unique(t.begin(), t.end()), t.end());
    return t;
  }

  LearnOutcome learn(BayesStore& s, const std::vector<Token>& t, bool spam, const std::string& user = "") {
    auto r = s.learn(t, spam, user);
    EXPECT_TRUE(r) << (r ? "" : r.error().message);
    return r ? r.value() : LearnOutcome::Skipped;
  }

  std::optional<double> classify(BayesStore& s, const std::vector<Token>& t, const std::string& user = "") {
    auto r = s.classify(t, user);
    EXPECT_TRUE(r) << (r ? "" : r.error().message);
    return r ? r.value() : std::nullopt;
  }

  BayesCounts counts(BayesStore& s, const std::string& user = "") {
    auto r = s.counts(user);
    EXPECT_TRUE(r);
    return r ? r.value() : BayesCounts{};
  }

  // spam, ham of one token in the file, read directly.
  std::pair<int64_t, int64_t> token_row(const std::string& user, Token t) {
    auto db = sqlite::Database::open(path_, {.create = false});
    EXPECT_TRUE(db);
    auto q = db.value().prepare(
        "SELECT t.spam, t.ham FROM bayes_tokens t JOIN bayes_users u ON u.id = t.user_id"
        " WHERE u.name = ?1 AND t.token = ?2");
    q.bind(1, user).bind(2, static_cast<int64_t>(t));
    if (!q.step()) return {-1, -1};
    return {q.i64(0), q.i64(1)};
  }

  static constexpr Token kSpamWords = 1'000'000, kHamWords = 2'000'000;
  std::string dir_, path_;
  std::mt19937_64 rng_{42};
  Token serial_ = 0;
};

TEST_F(BayesStoreTest, NoVoteUntilMinLearnsOfEachClass) {
  auto s = open(5);
  for (int i = 0; i < 5; ++i) EXPECT_EQ(learn(*s, message(kHamWords), false), LearnOutcome::Learned);
  for (int i = 0; i < 4; ++i) EXPECT_EQ(learn(*s, message(kSpamWords), true), LearnOutcome::Learned);
  EXPECT_FALSE(classify(*s, message(kSpamWords)).has_value());
  learn(*s, message(kSpamWords), true);
  auto spam = classify(*s, message(kSpamWords));
  auto ham = classify(*s, message(kHamWords));
  ASSERT_TRUE(spam && ham);
  EXPECT_GT(*spam, 0.9);
  EXPECT_LT(*ham, 0.1);
  auto c = counts(*s);
  EXPECT_EQ(c.spam_learns, 5u);
  EXPECT_EQ(c.ham_learns, 5u);
  EXPECT_GT(c.tokens, 50u);
  EXPECT_LE(c.tokens, 110u);  // two vocabularies of 50 and one unique token a message
  // Tokens never seen say nothing: unsure.
  auto unknown = classify(*s, {1, 2, 3});
  ASSERT_TRUE(unknown);
  EXPECT_DOUBLE_EQ(*unknown, 0.5);
}

TEST_F(BayesStoreTest, LearningTwiceCountsOnce) {
  auto s = open(1);
  auto m = message(kSpamWords);
  EXPECT_EQ(learn(*s, m, true), LearnOutcome::Learned);
  auto before = token_row("", m[0]);
  EXPECT_EQ(before, std::make_pair(int64_t{1}, int64_t{0}));
  EXPECT_EQ(learn(*s, m, true), LearnOutcome::AlreadyLearned);
  EXPECT_EQ(token_row("", m[0]), before);
  EXPECT_EQ(counts(*s).spam_learns, 1u);
  EXPECT_EQ(counts(*s).ham_learns, 0u);
}

TEST_F(BayesStoreTest, LearningAsTheOtherClassMovesIt) {
  auto s = open(1);
  auto m = message(kSpamWords);
  auto other = message(kSpamWords);
  learn(*s, other, true);
  EXPECT_EQ(learn(*s, m, true), LearnOutcome::Learned);
  Token shared = 0;  // a token of both messages, if any: counted twice as spam
  for (Token t : m)
    if (std::binary_search(other.begin(), other.end(), t)) shared = t;
  EXPECT_EQ(learn(*s, m, false), LearnOutcome::Relearned);
  auto c = counts(*s);
  EXPECT_EQ(c.spam_learns, 1u);
  EXPECT_EQ(c.ham_learns, 1u);
  EXPECT_EQ(token_row("", m.back()), std::make_pair(int64_t{0}, int64_t{1}));  // the unique token moved
  if (shared) {
    EXPECT_EQ(token_row("", shared), std::make_pair(int64_t{1}, int64_t{1}));
  }
  EXPECT_EQ(learn(*s, m, false), LearnOutcome::AlreadyLearned);
  EXPECT_EQ(learn(*s, m, true), LearnOutcome::Relearned);
  EXPECT_EQ(token_row("", m.back()), std::make_pair(int64_t{1}, int64_t{0}));
  EXPECT_EQ(counts(*s).spam_learns, 2u);
  EXPECT_EQ(counts(*s).ham_learns, 0u);
}

TEST_F(BayesStoreTest, NothingToLearnIsSkipped) {
  auto s = open(1);
  EXPECT_EQ(learn(*s, {}, true), LearnOutcome::Skipped);
  EXPECT_EQ(counts(*s).spam_learns, 0u);
}

TEST_F(BayesStoreTest, UserStatisticsWhenTrainedElseGlobal) {
  auto s = open(3);
  // Globally (no user), the "ham words" are ham and the "spam words" spam.
  for (int i = 0; i < 6; ++i) learn(*s, message(kHamWords), false);
  for (int i = 0; i < 6; ++i) learn(*s, message(kSpamWords), true);
  // One user sees it the other way round: their learns also count globally.
  for (int i = 0; i < 3; ++i)
    EXPECT_EQ(learn(*s, message(kHamWords), true, "Ann@Example.org"), LearnOutcome::Learned);
  for (int i = 0; i < 3; ++i)
    EXPECT_EQ(learn(*s, message(kSpamWords), false, "ann@example.org"), LearnOutcome::Learned);
  EXPECT_EQ(counts(*s, "ann@example.org").spam_learns, 3u);
  EXPECT_EQ(counts(*s, "ANN@example.org").ham_learns, 3u);
  EXPECT_EQ(counts(*s).spam_learns, 9u);
  EXPECT_EQ(counts(*s).ham_learns, 9u);

  auto probe = message(kHamWords);
  auto for_ann = classify(*s, probe, "ann@example.org");
  auto global = classify(*s, probe);
  auto for_bob = classify(*s, probe, "bob@example.org");  // no statistics of his own
  ASSERT_TRUE(for_ann && global && for_bob);
  EXPECT_GT(*for_ann, 0.9);
  EXPECT_LT(*global, 0.5);
  EXPECT_DOUBLE_EQ(*for_bob, *global);

  // A user under min_learns falls back to the global statistics too.
  learn(*s, message(kHamWords), true, "carol@example.org");
  auto for_carol = classify(*s, probe, "carol@example.org");
  ASSERT_TRUE(for_carol);
  EXPECT_LT(*for_carol, 0.5);
}

TEST_F(BayesStoreTest, DuplicateAcrossUsersCountsGloballyOnce) {
  auto s = open(1);
  auto m = message(kSpamWords);
  EXPECT_EQ(learn(*s, m, true, "ann@example.org"), LearnOutcome::Learned);
  EXPECT_EQ(learn(*s, m, true, "bob@example.org"), LearnOutcome::Learned);  // new for bob
  EXPECT_EQ(counts(*s).spam_learns, 1u);                                    // one message globally
  EXPECT_EQ(token_row("", m.back()), std::make_pair(int64_t{1}, int64_t{0}));
  EXPECT_EQ(learn(*s, m, false, "bob@example.org"), LearnOutcome::Relearned);
  EXPECT_EQ(counts(*s).ham_learns, 1u);  // the latest word on it, globally
  EXPECT_EQ(counts(*s).spam_learns, 0u);
  EXPECT_EQ(counts(*s, "ann@example.org").spam_learns, 1u);  // ann's own view stays
}

TEST_F(BayesStoreTest, StatisticsSurviveReopening) {
  {
    auto s = open(2);
    for (int i = 0; i < 2; ++i) learn(*s, message(kSpamWords), true);
    for (int i = 0; i < 2; ++i) learn(*s, message(kHamWords), false);
  }
  auto s = open(2);
  EXPECT_EQ(counts(*s).spam_learns, 2u);
  auto p = classify(*s, message(kSpamWords));
  ASSERT_TRUE(p);
  EXPECT_GT(*p, 0.5);
}

TEST_F(BayesStoreTest, CountsKeptInMemoryFollowLearnsOfAnotherProcess) {
  // The server's store classifies (and keeps the counts it read), then
  // `spam learn` (another store on the same file) teaches it the opposite:
  // the next classification sees the new counts.
  auto server = open(2);
  auto cli = open(2);
  std::vector<Token> words;
  for (Token t = 0; t < 40; ++t) words.push_back(kSpamWords + t);
  auto with_serial = [&](std::vector<Token> t) {
    t.push_back(0xfff0000000000000ULL + serial_++);
    return t;
  };
  for (int i = 0; i < 3; ++i) learn(*cli, with_serial(words), false);  // the words are ham...
  for (int i = 0; i < 2; ++i) learn(*cli, message(kHamWords + 500), true);
  auto before = classify(*server, words);
  ASSERT_TRUE(before);
  EXPECT_LT(*before, 0.2);
  // What a store without anything in memory says.
  auto fresh = [&] { return classify(*open(2), words); };
  for (int i = 0; i < 10; ++i) learn(*cli, with_serial(words), true);  // ...until taught they are spam
  auto after = classify(*server, words);
  ASSERT_TRUE(after);
  EXPECT_GT(*after, *before + 0.2);
  EXPECT_DOUBLE_EQ(*after, *fresh());
  // And learning in the same store counts at once too.
  for (int i = 0; i < 30; ++i) learn(*server, with_serial(words), false);
  auto again = classify(*server, words);
  ASSERT_TRUE(again);
  EXPECT_NE(*again, *after);
  EXPECT_DOUBLE_EQ(*again, *fresh());
}

TEST_F(BayesStoreTest, ConcurrentLearnAndClassify) {
  auto s = open(5);
  std::vector<std::vector<Token>> spam, ham;
  for (int i = 0; i < 80; ++i) spam.push_back(message(kSpamWords));
  for (int i = 0; i < 80; ++i) ham.push_back(message(kHamWords));
  std::atomic<int> errors{0};
  std::vector<std::thread> threads;
  for (int w = 0; w < 4; ++w) {
    threads.emplace_back([&, w] {
      for (int i = w; i < 80; i += 4) {
        if (!s->learn(spam[i], true, w % 2 ? "ann@example.org" : "")) ++errors;
        if (!s->learn(ham[i], false, "")) ++errors;
        if (!s->classify(spam[(i + 1) % 80], "ann@example.org")) ++errors;
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(errors.load(), 0);
  EXPECT_EQ(counts(*s).spam_learns, 80u);
  EXPECT_EQ(counts(*s).ham_learns, 80u);
}

// The tokenizer and the store together: messages that differ only by
// vocabulary, learned, then new ones of each kind classified.
TEST_F(BayesStoreTest, LearnsVocabulariesFromMessages) {
  const std::vector<std::string> spam_words = {"casino", "jackpot", "lottery", "prize",  "pharmacy",
                                               "cheap",  "replica", "loan",    "credit", "bonus"};
  const std::vector<std::string> ham_words = {"meeting", "agenda", "project", "deadline", "report",
                                              "budget",  "review", "minutes", "draft",    "schedule"};
  const std::vector<std::string> common = {"the", "and", "with", "for", "this", "your", "please", "today"};
  auto make = [&](const std::vector<std::string>& words) {
    std::uniform_int_distribution<std::size_t> own(0, words.size() - 1), any(0, common.size() - 1);
    std::bernoulli_distribution mostly(0.6);
    std::string body;
    for (int i = 0; i < 50; ++i) body += (mostly(rng_) ? words[own(rng_)] : common[any(rng_)]) + " ";
    std::string raw = "From: someone@example.org\r\nSubject: " + words[own(rng_)] + " " + words[own(rng_)] +
                      "\r\n\r\n" + body + "\r\n";
    return tokenize(MessageView(raw));
  };
  auto s = open(20);
  for (int i = 0; i < 20; ++i) {
    EXPECT_EQ(learn(*s, make(spam_words), true), LearnOutcome::Learned);
    EXPECT_EQ(learn(*s, make(ham_words), false), LearnOutcome::Learned);
  }
  for (int i = 0; i < 10; ++i) {
    auto spam = classify(*s, make(spam_words)), ham = classify(*s, make(ham_words));
    ASSERT_TRUE(spam && ham);
    EXPECT_GT(*spam, 0.99);
    EXPECT_LT(*ham, 0.01);
  }
}

TEST_F(BayesStoreTest, AnUnwritablePathIsAnError) {
  EXPECT_FALSE(open_sqlite_bayes(dir_ + "/missing/dir/bayes.sqlite", 1));
}

}  // namespace
}  // namespace mailfort::filter
