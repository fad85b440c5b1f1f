#include "sieve/sieve_state.h"

#include <algorithm>
#include <cctype>

#include "base/sqlite.h"

namespace mailfort::sieve {
namespace {

// Addresses and account names compare case-insensitively (RFC 5230 4.2
// speaks of "the same address"; local parts are case-insensitive in
// practice and Pigeonhole folds them too).
std::string fold(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return std::tolower(c); });
  return s;
}

// Ids and handles can be long (duplicate :uniqueid is a variable); the key
// stays bounded so a script cannot grow the database by key size alone.
constexpr std::size_t kMaxKey = 1024;

std::string bounded(std::string s) {
  if (s.size() > kMaxKey) s.resize(kMaxKey);
  return s;
}

}  // namespace

Result<std::unique_ptr<SieveState>> SieveState::open(const std::string& path) {
  auto db = sqlite::Database::open(path, {.serialized = true, .wal = true, .synchronous_normal = true});
  if (!db) return make_error(db.error().code, "cannot open " + path + ": " + db.error().message);
  std::unique_ptr<SieveState> st(new SieveState());
  st->db_ = std::make_unique<sqlite::Database>(std::move(db).value());
  // `expires` is when the entry stops mattering (sent/seen + period), so
  // lookups and expiry need no per-row arithmetic.
  if (auto r = st->db_->exec(
          "CREATE TABLE IF NOT EXISTS vacation (user TEXT NOT NULL, handle TEXT NOT NULL, sender TEXT NOT "
          "NULL,"
          " sent INTEGER NOT NULL, expires INTEGER NOT NULL, PRIMARY KEY (user, handle, sender));"
          "CREATE INDEX IF NOT EXISTS vacation_expires ON vacation (expires);"
          "CREATE TABLE IF NOT EXISTS duplicate (user TEXT NOT NULL, id TEXT NOT NULL,"
          " seen INTEGER NOT NULL, expires INTEGER NOT NULL, PRIMARY KEY (user, id));"
          "CREATE INDEX IF NOT EXISTS duplicate_expires ON duplicate (expires);");
      !r)
    return make_error(r.error().code,
                      "cannot create the Sieve state tables in " + path + ": " + r.error().message);
  return st;
}

SieveState::~SieveState() = default;

Result<bool> SieveState::vacation_claim(const std::string& user, const std::string& handle,
                                        const std::string& sender, uint64_t period_seconds, int64_t now) {
  std::lock_guard lock(mu_);
  const std::string u = fold(user), h = bounded(handle), s = bounded(fold(sender));
  sqlite::Transaction tx(*db_);
  if (!tx.ok()) return db_->error("vacation: begin");
  auto q = db_->cached("SELECT expires FROM vacation WHERE user = ? AND handle = ? AND sender = ?");
  q.bind(1, u).bind(2, h).bind(3, s);
  if (q.step() && q.i64(0) > now) return false;
  if (!q.done()) return q.error("vacation: select");
  q.reset();
  auto ins = db_->cached(
      "INSERT OR REPLACE INTO vacation (user, handle, sender, sent, expires) VALUES (?, ?, ?, ?, ?)");
  ins.bind(1, u).bind(2, h).bind(3, s).bind(4, now).bind(5, now + static_cast<int64_t>(period_seconds));
  if (!ins.run()) return ins.error("vacation: insert");
  if (!tx.commit()) return db_->error("vacation: commit");
  return true;
}

Result<bool> SieveState::duplicate_seen(const std::string& user, const std::string& id, uint64_t seconds,
                                        int64_t now) {
  std::lock_guard lock(mu_);
  auto q = db_->cached("SELECT seen, expires FROM duplicate WHERE user = ? AND id = ?");
  q.bind(1, fold(user)).bind(2, bounded(id));
  if (q.step()) {
    // Within the period it was recorded with, and within the period asked
    // about now (a later, shorter :seconds narrows the window).
    return q.i64(1) > now && q.i64(0) + static_cast<int64_t>(seconds) > now;
  }
  if (!q.done()) return q.error("duplicate: select");
  return false;
}

Result<void> SieveState::duplicate_mark(const std::string& user, const std::string& id, uint64_t seconds,
                                        int64_t now) {
  std::lock_guard lock(mu_);
  auto ins = db_->cached("INSERT OR REPLACE INTO duplicate (user, id, seen, expires) VALUES (?, ?, ?, ?)");
  ins.bind(1, fold(user)).bind(2, bounded(id)).bind(3, now).bind(4, now + static_cast<int64_t>(seconds));
  if (!ins.run()) return ins.error("duplicate: insert");
  return {};
}

void SieveState::expire(int64_t now) {
  std::lock_guard lock(mu_);
  db_->prepare("DELETE FROM vacation WHERE expires <= ?").bind(1, now).run();
  db_->prepare("DELETE FROM duplicate WHERE expires <= ?").bind(1, now).run();
}

}  // namespace mailfort::sieve
