// ScanHistory over SQLite: records and their daily counters, UTC day
// boundaries, top symbols, purging (by hand and from record() with a fake
// clock), bounds on what one record keeps, concurrent writers.
#include "filter/history.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <atomic>
#include <cmath>
#include <filesystem>
#include <thread>

namespace fs = std::filesystem;
using namespace mailfort;
using namespace mailfort::filter;

namespace {

// 2026-12-04 12:00:00 UTC
constexpr std::time_t kNoon = 1796385600;
constexpr std::time_t kDay = 86400;

struct HistoryFixture : ::testing::Test {
  fs::path dir;
  std::atomic<std::time_t> now{kNoon};
  HistoryFixture() {
    char tmpl[] = "/tmp/mf-history-XXXXXX";
    dir = ::mkdtemp(tmpl);
  }
  ~HistoryFixture() override { fs::remove_all(dir); }
  std::string path() const { return (dir / "spam-history.sqlite").string(); }
  std::unique_ptr<ScanHistory> open(uint32_t keep_days = 30) {
    auto h = open_scan_history(path(), {.keep_days = keep_days, .clock = [this] { return now.load(); }});
    EXPECT_TRUE(h) << (h ? "" : h.error().message);
    return std::move(h).value();
  }
};

ScanRecord scan(std::time_t t, std::string queue_id, std::string action, double score = 1.5,
                std::vector<Symbol> symbols = {}) {
  ScanRecord r;
  r.time = t;
  r.queue_id = std::move(queue_id);
  r.ip = "192.0.2.7";
  r.sender = "alice@example.org";
  r.rcpts = {"bob@example.com", "carol@example.com"};
  r.listener = "mx";
  r.score = score;
  r.action = std::move(action);
  r.symbols = std::move(symbols);
  return r;
}

TEST(HistoryDay, NoonIsTheFourthOfDecember) {
  std::tm tm{};
  gmtime_r(&kNoon, &tm);
  EXPECT_EQ(tm.tm_year + 1900, 2026);
  EXPECT_EQ(tm.tm_mon + 1, 12);
  EXPECT_EQ(tm.tm_mday, 4);
  EXPECT_EQ(tm.tm_hour, 12);
}

TEST_F(HistoryFixture, RecordComesBackFromRecentWithEveryField) {
  auto h = open();
  ScanRecord r = scan(kNoon, "4XyZ01", "add header", 7.125,
                      {{"BAYES_SPAM", 5.1, {"99.87%"}}, {"R_SPF_FAIL", 1.0, {"-all", "example.org"}}});
  r.virus = "";
  ASSERT_TRUE(h->record(r));
  auto got = h->recent(10);
  ASSERT_TRUE(got);
  ASSERT_EQ(got->size(), 1u);
  const ScanRecord& g = got->front();
  EXPECT_EQ(g.time, kNoon);
  EXPECT_EQ(g.queue_id, "4XyZ01");
  EXPECT_EQ(g.ip, "192.0.2.7");
  EXPECT_EQ(g.sender, "alice@example.org");
  EXPECT_EQ(g.rcpts, (std::vector<std::string>{"bob@example.com", "carol@example.com"}));
  EXPECT_EQ(g.listener, "mx");
  EXPECT_DOUBLE_EQ(g.score, 7.125);
  EXPECT_EQ(g.action, "add header");
  ASSERT_EQ(g.symbols.size(), 2u);
  EXPECT_EQ(g.symbols[0].name, "BAYES_SPAM");
  EXPECT_DOUBLE_EQ(g.symbols[0].score, 5.1);
  EXPECT_EQ(g.symbols[0].options, (std::vector<std::string>{"99.87%"}));
  EXPECT_EQ(g.symbols[1].name, "R_SPF_FAIL");
  EXPECT_EQ(g.symbols[1].options, (std::vector<std::string>{"-all", "example.org"}));
  EXPECT_TRUE(g.virus.empty());
}

TEST_F(HistoryFixture, EmptyFieldsStayEmpty) {
  auto h = open();
  ScanRecord r;
  r.time = kNoon;
  r.action = "no action";
  r.symbols = {{"NEG", -2.5, {}}};
  ASSERT_TRUE(h->record(r));
  auto got = h->recent(1);
  ASSERT_TRUE(got);
  ASSERT_EQ(got->size(), 1u);
  EXPECT_TRUE(got->front().sender.empty());
  EXPECT_TRUE(got->front().rcpts.empty());
  ASSERT_EQ(got->front().symbols.size(), 1u);
  EXPECT_DOUBLE_EQ(got->front().symbols[0].score, -2.5);
  EXPECT_TRUE(got->front().symbols[0].options.empty());
}

TEST_F(HistoryFixture, RecentIsNewestFirstAndLimited) {
  auto h = open();
  for (int i = 0; i < 5; ++i) ASSERT_TRUE(h->record(scan(kNoon + i, "Q" + std::to_string(i), "no action")));
  // Same second: the later insert is newer.
  ASSERT_TRUE(h->record(scan(kNoon + 4, "Q5", "no action")));
  auto got = h->recent(3);
  ASSERT_TRUE(got);
  ASSERT_EQ(got->size(), 3u);
  EXPECT_EQ((*got)[0].queue_id, "Q5");
  EXPECT_EQ((*got)[1].queue_id, "Q4");
  EXPECT_EQ((*got)[2].queue_id, "Q3");
  EXPECT_TRUE(h->recent(0)->empty());
}

TEST_F(HistoryFixture, EachActionCountsInItsColumn) {
  auto h = open();
  ASSERT_TRUE(h->record(scan(kNoon, "a", "no action")));
  ASSERT_TRUE(h->record(scan(kNoon, "b", "no action")));
  ASSERT_TRUE(h->record(scan(kNoon, "c", "add header")));
  ASSERT_TRUE(h->record(scan(kNoon, "d", "reject")));
  ASSERT_TRUE(h->record(scan(kNoon, "e", "milter-reject")));
  ASSERT_TRUE(h->record(scan(kNoon, "f", "soft reject")));
  ASSERT_TRUE(h->record(scan(kNoon, "g", "tempfail")));
  ScanRecord v = scan(kNoon, "h", "virus");
  v.virus = "Eicar-Test-Signature";
  ASSERT_TRUE(h->record(v));
  ASSERT_TRUE(h->record(scan(kNoon, "i", "discard")));  // scanned only
  ASSERT_TRUE(h->record_learn(true, kNoon));
  ASSERT_TRUE(h->record_learn(true, kNoon));
  ASSERT_TRUE(h->record_learn(false, kNoon));
  auto st = h->stats(7);
  ASSERT_TRUE(st);
  ASSERT_EQ(st->size(), 1u);
  const DayStats& d = st->front();
  EXPECT_EQ(d.day, "2026-12-04");
  EXPECT_EQ(d.scanned, 9u);
  EXPECT_EQ(d.ham, 2u);
  EXPECT_EQ(d.add_header, 1u);
  EXPECT_EQ(d.rejected, 2u);
  EXPECT_EQ(d.soft_rejected, 2u);
  EXPECT_EQ(d.virus, 1u);
  EXPECT_EQ(d.learned_spam, 2u);
  EXPECT_EQ(d.learned_ham, 1u);
  auto recent = h->recent(1);
  EXPECT_EQ(recent->front().virus, "");  // "i" is the newest
}

TEST_F(HistoryFixture, DaysSplitAtMidnightUtc) {
  auto h = open();
  std::time_t midnight = kNoon + 12 * 3600;  // 2026-12-05 00:00:00 UTC
  ASSERT_TRUE(h->record(scan(midnight - 1, "late", "no action")));
  ASSERT_TRUE(h->record(scan(midnight, "early", "reject")));
  ASSERT_TRUE(h->record(scan(midnight + 1, "early2", "reject")));
  ASSERT_TRUE(h->record_learn(false, midnight - 1));
  now = midnight + 3600;
  auto st = h->stats(2);
  ASSERT_TRUE(st);
  ASSERT_EQ(st->size(), 2u);
  EXPECT_EQ((*st)[0].day, "2026-12-05");  // newest first
  EXPECT_EQ((*st)[0].scanned, 2u);
  EXPECT_EQ((*st)[0].rejected, 2u);
  EXPECT_EQ((*st)[0].learned_ham, 0u);
  EXPECT_EQ((*st)[1].day, "2026-12-04");
  EXPECT_EQ((*st)[1].scanned, 1u);
  EXPECT_EQ((*st)[1].ham, 1u);
  EXPECT_EQ((*st)[1].learned_ham, 1u);
  // One day back is today only.
  auto today = h->stats(1);
  ASSERT_TRUE(today);
  ASSERT_EQ(today->size(), 1u);
  EXPECT_EQ(today->front().day, "2026-12-05");
  EXPECT_TRUE(h->stats(0)->empty());
}

TEST_F(HistoryFixture, TopSymbolsCountMessagesOverTheDays) {
  auto h = open();
  auto sym = [](const char* n) { return Symbol{n, 1.0, {}}; };
  ASSERT_TRUE(h->record(scan(kNoon - 3 * kDay, "old", "no action", 0, {sym("OLD_ONLY"), sym("MID")})));
  ASSERT_TRUE(h->record(scan(kNoon - kDay, "y", "no action", 0, {sym("MID"), sym("TOP")})));
  ASSERT_TRUE(h->record(scan(kNoon, "t1", "no action", 0, {sym("TOP"), sym("TOP")})));  // once per message
  ASSERT_TRUE(h->record(scan(kNoon, "t2", "no action", 0, {sym("TOP"), sym("A_LOW")})));
  auto top = h->top_symbols(2, 10);
  ASSERT_TRUE(top);
  ASSERT_EQ(top->size(), 3u);
  EXPECT_EQ((*top)[0].name, "TOP");
  EXPECT_EQ((*top)[0].count, 3u);
  EXPECT_EQ((*top)[1].name, "A_LOW");  // ties by name
  EXPECT_EQ((*top)[1].count, 1u);
  EXPECT_EQ((*top)[2].name, "MID");
  EXPECT_EQ((*top)[2].count, 1u);
  auto four = h->top_symbols(4, 10);
  ASSERT_TRUE(four);
  ASSERT_EQ(four->size(), 4u);
  EXPECT_EQ((*four)[1].name, "MID");
  EXPECT_EQ((*four)[1].count, 2u);
  auto one = h->top_symbols(4, 1);
  ASSERT_EQ(one->size(), 1u);
  EXPECT_EQ(one->front().name, "TOP");
}

TEST_F(HistoryFixture, PurgeDropsOldScansAndCounters) {
  auto h = open(365);
  ASSERT_TRUE(h->record(scan(kNoon - 40 * kDay, "old", "reject", 0, {{"OLD_SYM", 1, {}}})));
  ASSERT_TRUE(h->record_learn(true, kNoon - 40 * kDay));
  ASSERT_TRUE(h->record(scan(kNoon - 2 * kDay, "recent", "no action", 0, {{"NEW_SYM", 1, {}}})));
  ASSERT_TRUE(h->purge(30, kNoon));
  auto recent = h->recent(10);
  ASSERT_EQ(recent->size(), 1u);
  EXPECT_EQ(recent->front().queue_id, "recent");
  auto st = h->stats(100);
  ASSERT_EQ(st->size(), 1u);
  EXPECT_EQ(st->front().day, "2026-12-02");
  auto top = h->top_symbols(100, 10);
  ASSERT_EQ(top->size(), 1u);
  EXPECT_EQ(top->front().name, "NEW_SYM");
}

TEST_F(HistoryFixture, PurgeKeepsTheCutoffDaysCounters) {
  auto h = open(365);
  ASSERT_TRUE(h->record(scan(kNoon - 30 * kDay - 60, "before", "no action")));  // 30 days and a minute
  ASSERT_TRUE(h->record(scan(kNoon - 30 * kDay + 60, "after", "no action")));
  ASSERT_TRUE(h->purge(30, kNoon));
  auto recent = h->recent(10);
  ASSERT_EQ(recent->size(), 1u);
  EXPECT_EQ(recent->front().queue_id, "after");
  // Both fell on the same day; its counters stay until the whole day is old.
  auto st = h->stats(40);
  ASSERT_EQ(st->size(), 1u);
  EXPECT_EQ(st->front().scanned, 2u);
}

TEST_F(HistoryFixture, RecordPurgesItselfAtMostHourly) {
  auto h = open(30);
  ASSERT_TRUE(h->record(scan(kNoon, "first", "no action")));  // purges (nothing) and starts the hour
  // A scan dated 31 days back arrives (the clock is what counts for purging).
  ASSERT_TRUE(h->record(scan(kNoon - 31 * kDay, "stale", "no action")));
  now = kNoon + 1800;
  ASSERT_TRUE(h->record(scan(now, "half-hour", "no action")));
  EXPECT_EQ(h->recent(10)->size(), 3u);  // not purged within the hour
  now = kNoon + 3600;
  ASSERT_TRUE(h->record(scan(now, "hour", "no action")));
  auto recent = h->recent(10);
  ASSERT_EQ(recent->size(), 3u);
  for (const auto& r : *recent) EXPECT_NE(r.queue_id, "stale");
}

TEST_F(HistoryFixture, KeepDaysFollowsTheOption) {
  auto h = open(1);
  // The first record() purges after its insert: a scan older than one day
  // goes at once, one from an hour ago stays.
  ASSERT_TRUE(h->record(scan(kNoon - 3600, "hour-ago", "no action")));
  ASSERT_TRUE(h->record(scan(kNoon - 2 * kDay, "two-days", "no action")));  // within the hour: kept
  now = kNoon + 3600;
  ASSERT_TRUE(h->record(scan(now, "now", "no action")));
  auto recent = h->recent(10);
  ASSERT_EQ(recent->size(), 2u);
  EXPECT_EQ((*recent)[0].queue_id, "now");
  EXPECT_EQ((*recent)[1].queue_id, "hour-ago");
}

TEST_F(HistoryFixture, OneRecordStaysBounded) {
  auto h = open();
  ScanRecord r = scan(kNoon, std::string(5000, 'q'), "no action");
  for (int i = 0; i < 1000; ++i)
    r.symbols.push_back(
        {"SYM_" + std::to_string(i), 0.1, std::vector<std::string>(50, std::string(1000, 'o'))});
  for (int i = 0; i < 1000; ++i) r.rcpts.push_back("r" + std::to_string(i) + "@example.com");
  // Control bytes (ours are the column separators) and a UTF-8 character
  // straddling the cut.
  r.sender = "evil\x1e\x1f\r\nsender@example.org";
  r.ip = std::string(319, 'a') + "\xc3\xa9";
  ASSERT_TRUE(h->record(r));
  auto got = h->recent(1);
  ASSERT_TRUE(got);
  const ScanRecord& g = got->front();
  EXPECT_EQ(g.queue_id.size(), 320u);
  EXPECT_EQ(g.symbols.size(), 100u);
  for (const auto& s : g.symbols) {
    EXPECT_EQ(s.options.size(), 8u);
    EXPECT_EQ(s.options[0].size(), 320u);
  }
  EXPECT_EQ(g.rcpts.size(), 100u);
  EXPECT_EQ(g.sender, "evil????sender@example.org");
  EXPECT_EQ(g.ip, std::string(319, 'a'));  // the two-byte character does not fit: cut before it
  auto top = h->top_symbols(1, 1000);
  EXPECT_EQ(top->size(), 100u);
}

TEST_F(HistoryFixture, ScoresThatAreNotNumbersAreZero) {
  auto h = open();
  ASSERT_TRUE(h->record(scan(kNoon, "nan", "no action", std::nan(""), {{"INF", HUGE_VAL, {}}})));
  auto got = h->recent(1);
  EXPECT_EQ(got->front().score, 0.0);
  EXPECT_EQ(got->front().symbols[0].score, 0.0);
}

TEST_F(HistoryFixture, ConcurrentRecordsAllCount) {
  auto h = open();
  constexpr int kThreads = 8, kEach = 50;
  std::vector<std::thread> threads;
  std::atomic<int> failures{0};
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kEach; ++i) {
        auto id = "T" + std::to_string(t) + "-" + std::to_string(i);
        if (!h->record(scan(kNoon, id, i % 2 ? "reject" : "no action", 1.0, {{"SYM", 1, {}}}))) ++failures;
        if (i % 10 == 0 && !h->record_learn(true, kNoon)) ++failures;
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(failures.load(), 0);
  auto st = h->stats(1);
  ASSERT_EQ(st->size(), 1u);
  EXPECT_EQ(st->front().scanned, static_cast<uint64_t>(kThreads * kEach));
  EXPECT_EQ(st->front().ham, static_cast<uint64_t>(kThreads * kEach / 2));
  EXPECT_EQ(st->front().rejected, static_cast<uint64_t>(kThreads * kEach / 2));
  EXPECT_EQ(st->front().learned_spam, static_cast<uint64_t>(kThreads * 5));
  EXPECT_EQ(h->recent(100000)->size(), static_cast<std::size_t>(kThreads * kEach));
  EXPECT_EQ(h->top_symbols(1, 5)->front().count, static_cast<uint64_t>(kThreads * kEach));
}

TEST_F(HistoryFixture, TwoConnectionsShareTheFile) {
  auto writer = open();
  auto reader = open();
  ASSERT_TRUE(writer->record(scan(kNoon, "shared", "add header")));
  auto got = reader->recent(5);
  ASSERT_TRUE(got);
  ASSERT_EQ(got->size(), 1u);
  EXPECT_EQ(got->front().queue_id, "shared");
  writer.reset();
  auto again = open();
  EXPECT_EQ(again->stats(1)->front().add_header, 1u);
}

TEST_F(HistoryFixture, UnopenablePathIsAnError) {
  auto h = open_scan_history((dir / "missing" / "x.sqlite").string());
  ASSERT_FALSE(h);
  EXPECT_NE(h.error().message.find("cannot open"), std::string::npos);
}

}  // namespace
