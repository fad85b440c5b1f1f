// The scan history in SQLite (<data_dir>/spam-history.sqlite, WAL):
//   scan        one row per scan, newest found through an index on time;
//               recipients and symbols packed in one column each (below)
//   day_count   per UTC day: scanned, ham, add_header, rejected,
//               soft_rejected, virus, learned_spam, learned_ham
//   symbol_day  per UTC day and symbol name: messages that had it (what
//               top_symbols() sums, so it never reads the scans)
// record() writes the three in one transaction. One connection under a
// mutex: the SMTP workers record concurrently, the learner thread counts
// learns, and the CLI reads the same file from another process (WAL, busy
// timeout).
//
// Everything recorded comes from the network (sender, recipients, symbol
// options quoting message content), so each string is cut, control bytes
// are replaced, and at most kMaxSymbols symbols and kMaxRcpts recipients of
// a scan are kept: one row stays small whatever the message was.
#include "filter/history.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <cmath>
#include <mutex>
#include <set>
#include <string_view>

#include "base/log.h"
#include "base/sqlite.h"

namespace mailfort::filter {
namespace {

using sqlite::Database;
using sqlite::Statement;
using sqlite::Transaction;

constexpr std::size_t kMaxSymbols = 100;      // per scan
constexpr std::size_t kMaxOptions = 8;        // per symbol
constexpr std::size_t kMaxRcpts = 100;        // per scan
constexpr std::size_t kMaxText = 320;         // bytes of any one string (an address is at most 254+)
constexpr std::size_t kMaxRecent = 100000;    // rows recent() returns at most
constexpr uint32_t kMaxDays = 100000;         // days stats() and top_symbols() look back at most
constexpr std::time_t kPurgeInterval = 3600;  // record() purges at most this often
constexpr int64_t kDay = 86400;

// The packed columns: fields separated by US (0x1f), records by RS (0x1e).
// clean() keeps every control byte out of the values, so no escaping.
constexpr char kField = '\x1f';
constexpr char kRecord = '\x1e';

// At most kMaxText bytes, cut before a UTF-8 continuation byte so a
// multi-byte character is never split; control bytes become '?'.
std::string clean(std::string_view s) {
  std::size_t n = s.size();
  if (n > kMaxText) {
    n = kMaxText;
    while (n > 0 && (static_cast<unsigned char>(s[n]) & 0xC0) == 0x80) --n;
  }
  std::string out(s.substr(0, n));
  for (char& c : out) {
    auto u = static_cast<unsigned char>(c);
    if (u < 0x20 || u == 0x7f) c = '?';
  }
  return out;
}

std::string day_of(std::time_t t) {
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[16];
  std::strftime(buf, sizeof buf, "%Y-%m-%d", &tm);
  return buf;
}

std::vector<std::string> split(std::string_view s, char sep) {
  std::vector<std::string> out;
  if (s.empty()) return out;
  std::size_t start = 0;
  for (;;) {
    auto at = s.find(sep, start);
    out.emplace_back(s.substr(start, at == std::string_view::npos ? std::string_view::npos : at - start));
    if (at == std::string_view::npos) return out;
    start = at + 1;
  }
}

std::string pack_rcpts(const std::vector<std::string>& rcpts) {
  std::string out;
  for (std::size_t i = 0; i < rcpts.size() && i < kMaxRcpts; ++i) {
    if (i) out += kRecord;
    out += clean(rcpts[i]);
  }
  return out;
}

// Scores as integer thousandths: the wrapper binds integers and text, and
// three decimals are more than any engine reports.
int64_t milli(double score) {
  if (!std::isfinite(score)) return 0;
  return std::llround(std::clamp(score, -1e12, 1e12) * 1000.0);
}

// A symbol: name US score-in-thousandths [US option]...
std::string pack_symbols(const std::vector<Symbol>& symbols) {
  std::string out;
  for (std::size_t i = 0; i < symbols.size() && i < kMaxSymbols; ++i) {
    const Symbol& s = symbols[i];
    if (i) out += kRecord;
    out += clean(s.name);
    out += kField;
    out += std::to_string(milli(s.score));
    for (std::size_t o = 0; o < s.options.size() && o < kMaxOptions; ++o) {
      out += kField;
      out += clean(s.options[o]);
    }
  }
  return out;
}

std::vector<Symbol> unpack_symbols(std::string_view packed) {
  std::vector<Symbol> out;
  for (const auto& rec : split(packed, kRecord)) {
    auto fields = split(rec, kField);
    if (fields.size() < 2) continue;
    Symbol s;
    s.name = fields[0];
    try {
      s.score = static_cast<double>(std::stoll(fields[1])) / 1000.0;
    } catch (const std::exception&) {
      continue;  // not written by pack_symbols()
    }
    s.options.assign(fields.begin() + 2, fields.end());
    out.push_back(std::move(s));
  }
  return out;
}

// Which daily counter a scan's action counts in, besides `scanned`.
struct ActionCounts {
  int64_t ham = 0, add_header = 0, rejected = 0, soft_rejected = 0, virus = 0;
};

ActionCounts counts_of(const ScanRecord& r) {
  ActionCounts c;
  if (!r.virus.empty() || r.action == "virus") {
    c.virus = 1;
  } else if (r.action == action_name(Action::NoAction)) {
    c.ham = 1;
  } else if (r.action == action_name(Action::AddHeader)) {
    c.add_header = 1;
  } else if (r.action == action_name(Action::Reject) || r.action == "milter-reject") {
    c.rejected = 1;
  } else if (r.action == action_name(Action::SoftReject) || r.action == "tempfail") {
    c.soft_rejected = 1;
  }
  return c;
}

constexpr const char* kSchema =
    "CREATE TABLE IF NOT EXISTS scan (id INTEGER PRIMARY KEY, time INTEGER NOT NULL,"
    " queue_id TEXT NOT NULL, ip TEXT NOT NULL, sender TEXT NOT NULL, rcpts TEXT NOT NULL,"
    " listener TEXT NOT NULL, score_milli INTEGER NOT NULL, action TEXT NOT NULL,"
    " symbols TEXT NOT NULL, virus TEXT NOT NULL);"
    "CREATE INDEX IF NOT EXISTS scan_by_time ON scan (time);"
    "CREATE TABLE IF NOT EXISTS day_count (day TEXT PRIMARY KEY,"
    " scanned INTEGER NOT NULL DEFAULT 0, ham INTEGER NOT NULL DEFAULT 0,"
    " add_header INTEGER NOT NULL DEFAULT 0, rejected INTEGER NOT NULL DEFAULT 0,"
    " soft_rejected INTEGER NOT NULL DEFAULT 0, virus INTEGER NOT NULL DEFAULT 0,"
    " learned_spam INTEGER NOT NULL DEFAULT 0, learned_ham INTEGER NOT NULL DEFAULT 0) WITHOUT ROWID;"
    "CREATE TABLE IF NOT EXISTS symbol_day (day TEXT NOT NULL, name TEXT NOT NULL,"
    " count INTEGER NOT NULL, PRIMARY KEY (day, name)) WITHOUT ROWID;";

class SqliteScanHistory final : public ScanHistory {
 public:
  SqliteScanHistory(Database db, ScanHistoryOptions options)
      : db_(std::move(db)), options_(std::move(options)) {}

  Result<void> record(const ScanRecord& r) override {
    std::lock_guard lock(mu_);
    std::time_t now = now_();
    std::time_t when = r.time ? r.time : now;
    std::string day = day_of(when);
    {
      Transaction tx(db_);
      if (!tx.ok()) return db_.error("scan history");
      auto ins = db_.cached(
          "INSERT INTO scan (time, queue_id, ip, sender, rcpts, listener, score_milli, action, symbols, "
          "virus)"
          " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)");
      ins.bind(1, static_cast<int64_t>(when))
          .bind(2, clean(r.queue_id))
          .bind(3, clean(r.ip))
          .bind(4, clean(r.sender))
          .bind(5, pack_rcpts(r.rcpts))
          .bind(6, clean(r.listener))
          .bind(7, milli(r.score))
          .bind(8, clean(r.action))
          .bind(9, pack_symbols(r.symbols))
          .bind(10, clean(r.virus));
      if (!ins.run()) return ins.error("scan history");
      ActionCounts c = counts_of(r);
      auto bump = db_.cached(
          "INSERT INTO day_count (day, scanned, ham, add_header, rejected, soft_rejected, virus)"
          " VALUES (?, 1, ?, ?, ?, ?, ?) ON CONFLICT (day) DO UPDATE SET scanned = scanned + 1,"
          " ham = ham + excluded.ham, add_header = add_header + excluded.add_header,"
          " rejected = rejected + excluded.rejected, soft_rejected = soft_rejected + excluded.soft_rejected,"
          " virus = virus + excluded.virus");
      bump.bind(1, day).bind(2, c.ham).bind(3, c.add_header).bind(4, c.rejected).bind(5, c.soft_rejected);
      bump.bind(6, c.virus);
      if (!bump.run()) return bump.error("scan history");
      // Messages per symbol: a name counts once per scan.
      std::set<std::string> names;
      for (std::size_t i = 0; i < r.symbols.size() && i < kMaxSymbols; ++i)
        names.insert(clean(r.symbols[i].name));
      for (const auto& name : names) {
        auto sym = db_.cached(
            "INSERT INTO symbol_day (day, name, count) VALUES (?, ?, 1)"
            " ON CONFLICT (day, name) DO UPDATE SET count = count + 1");
        sym.bind(1, day).bind(2, name);
        if (!sym.run()) return sym.error("scan history");
      }
      if (!tx.commit()) return db_.error("scan history");
    }
    if (now - last_purge_ >= kPurgeInterval) {
      last_purge_ = now;
      if (auto p = purge_locked(options_.keep_days, now); !p)
        spdlog::warn("spam history-purge-failed error={}", log::quote(p.error().message));
    }
    return {};
  }

  Result<void> record_learn(bool spam, std::time_t when) override {
    std::lock_guard lock(mu_);
    auto st = db_.cached(spam ? "INSERT INTO day_count (day, learned_spam) VALUES (?, 1)"
                                " ON CONFLICT (day) DO UPDATE SET learned_spam = learned_spam + 1"
                              : "INSERT INTO day_count (day, learned_ham) VALUES (?, 1)"
                                " ON CONFLICT (day) DO UPDATE SET learned_ham = learned_ham + 1");
    st.bind(1, day_of(when ? when : now_()));
    if (!st.run()) return st.error("scan history");
    return {};
  }

  Result<std::vector<DayStats>> stats(uint32_t days) override {
    std::lock_guard lock(mu_);
    std::vector<DayStats> out;
    if (days == 0) return out;
    auto st = db_.cached(
        "SELECT day, scanned, ham, add_header, rejected, soft_rejected, virus, learned_spam, learned_ham"
        " FROM day_count WHERE day >= ? ORDER BY day DESC");
    st.bind(1, first_day(days));
    while (st.step()) {
      DayStats d;
      d.day = st.text(0);
      d.scanned = static_cast<uint64_t>(st.i64(1));
      d.ham = static_cast<uint64_t>(st.i64(2));
      d.add_header = static_cast<uint64_t>(st.i64(3));
      d.rejected = static_cast<uint64_t>(st.i64(4));
      d.soft_rejected = static_cast<uint64_t>(st.i64(5));
      d.virus = static_cast<uint64_t>(st.i64(6));
      d.learned_spam = static_cast<uint64_t>(st.i64(7));
      d.learned_ham = static_cast<uint64_t>(st.i64(8));
      out.push_back(std::move(d));
    }
    if (!st.done()) return st.error("scan history");
    return out;
  }

  Result<std::vector<SymbolCount>> top_symbols(uint32_t days, std::size_t limit) override {
    std::lock_guard lock(mu_);
    std::vector<SymbolCount> out;
    if (days == 0 || limit == 0) return out;
    auto st = db_.cached(
        "SELECT name, SUM(count) AS n FROM symbol_day WHERE day >= ? GROUP BY name"
        " ORDER BY n DESC, name LIMIT ?");
    st.bind(1, first_day(days)).bind(2, static_cast<int64_t>(std::min(limit, kMaxRecent)));
    while (st.step()) out.push_back(SymbolCount{st.text(0), static_cast<uint64_t>(st.i64(1))});
    if (!st.done()) return st.error("scan history");
    return out;
  }

  Result<std::vector<ScanRecord>> recent(std::size_t limit) override {
    std::lock_guard lock(mu_);
    std::vector<ScanRecord> out;
    if (limit == 0) return out;
    auto st = db_.cached(
        "SELECT time, queue_id, ip, sender, rcpts, listener, score_milli, action, symbols, virus"
        " FROM scan ORDER BY time DESC, id DESC LIMIT ?");
    st.bind(1, static_cast<int64_t>(std::min(limit, kMaxRecent)));
    while (st.step()) {
      ScanRecord r;
      r.time = static_cast<std::time_t>(st.i64(0));
      r.queue_id = st.text(1);
      r.ip = st.text(2);
      r.sender = st.text(3);
      r.rcpts = split(st.text(4), kRecord);
      r.listener = st.text(5);
      r.score = static_cast<double>(st.i64(6)) / 1000.0;
      r.action = st.text(7);
      r.symbols = unpack_symbols(st.text(8));
      r.virus = st.text(9);
      out.push_back(std::move(r));
    }
    if (!st.done()) return st.error("scan history");
    return out;
  }

  Result<void> purge(uint32_t days, std::time_t now) override {
    std::lock_guard lock(mu_);
    return purge_locked(days, now);
  }

 private:
  std::time_t now_() const { return options_.clock ? options_.clock() : std::time(nullptr); }

  // The first UTC day of the last `days` days, today being the last.
  std::string first_day(uint32_t days) const {
    days = std::min(days, kMaxDays);
    return day_of(now_() - static_cast<std::time_t>(days - 1) * kDay);
  }

  // Scans older than `days` days go; a day's counters go when the whole
  // day is older (the day the cutoff falls in keeps its counters).
  Result<void> purge_locked(uint32_t days, std::time_t now) {
    days = std::min(days, kMaxDays);
    int64_t cutoff = static_cast<int64_t>(now) - static_cast<int64_t>(days) * kDay;
    std::string cutoff_day = day_of(static_cast<std::time_t>(cutoff));
    Transaction tx(db_);
    if (!tx.ok()) return db_.error("scan history purge");
    auto scans = db_.cached("DELETE FROM scan WHERE time < ?");
    scans.bind(1, cutoff);
    if (!scans.run()) return scans.error("scan history purge");
    auto counts = db_.cached("DELETE FROM day_count WHERE day < ?");
    counts.bind(1, cutoff_day);
    if (!counts.run()) return counts.error("scan history purge");
    auto symbols = db_.cached("DELETE FROM symbol_day WHERE day < ?");
    symbols.bind(1, cutoff_day);
    if (!symbols.run()) return symbols.error("scan history purge");
    if (!tx.commit()) return db_.error("scan history purge");
    return {};
  }

  std::mutex mu_;
  Database db_;  // under mu_
  ScanHistoryOptions options_;
  std::time_t last_purge_ = 0;  // under mu_
};

}  // namespace

Result<std::unique_ptr<ScanHistory>> open_scan_history(const std::string& path, ScanHistoryOptions options) {
  auto db = Database::open(path, {.wal = true, .synchronous_normal = true});
  if (!db) return make_error(db.error().code, "cannot open " + path + ": " + db.error().message);
  if (auto r = db.value().exec(kSchema); !r)
    return make_error(r.error().code, "cannot create the scan history in " + path + ": " + r.error().message);
  return std::unique_ptr<ScanHistory>(new SqliteScanHistory(std::move(db).value(), std::move(options)));
}

}  // namespace mailfort::filter
