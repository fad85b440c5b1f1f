// The Bayes statistics in SQLite (<data_dir>/bayes.sqlite), through the
// one wrapper base/sqlite.h:
//   bayes_users(id, name, spam_learns, ham_learns)  name "" = global
//   bayes_tokens(user_id, token, spam, ham)         messages of each class that had the token
//   bayes_learned(user_id, digest, spam, learned_at) what each message was learned as
// A learn is one write transaction on the one writer connection (its
// mutex): the digest decides learned / already learned / relearned for
// the user and, separately, for the global statistics; the token counts
// move by one message with prepared, cached statements (400 messages of a
// few hundred tokens learn in about a second). Classification reads on
// connections of its own (WAL: readers never wait for the writer), taken
// from a small pool, one per concurrent scan. Token counts read are kept
// in memory per statistics scope (the words most messages share are then
// not looked up again) for as long as that scope's learn counts stay the
// same: any learn, by this process or by `spam learn`, changes them.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <mutex>
#include <unordered_map>
#include <utility>

#include "base/sqlite.h"
#include "filter/bayes.h"

namespace mailfort::filter {
namespace {

// Idle reader connections kept open.
constexpr std::size_t kMaxIdleReaders = 8;
// Token counts kept in memory, all scopes together; past it the cache
// starts again.
constexpr std::size_t kMaxCachedTokens = 2'000'000;

constexpr const char* kSchema =
    "CREATE TABLE IF NOT EXISTS bayes_users (id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE,"
    " spam_learns INTEGER NOT NULL DEFAULT 0, ham_learns INTEGER NOT NULL DEFAULT 0);"
    "CREATE TABLE IF NOT EXISTS bayes_tokens (user_id INTEGER NOT NULL, token INTEGER NOT NULL,"
    " spam INTEGER NOT NULL, ham INTEGER NOT NULL, PRIMARY KEY (user_id, token)) WITHOUT ROWID;"
    "CREATE TABLE IF NOT EXISTS bayes_learned (user_id INTEGER NOT NULL, digest BLOB NOT NULL,"
    " spam INTEGER NOT NULL, learned_at INTEGER NOT NULL, PRIMARY KEY (user_id, digest)) WITHOUT ROWID;";

struct UserRow {
  int64_t id = 0;
  uint64_t spam_learns = 0, ham_learns = 0;
};

// The user's row, nullopt when it has none.
Result<std::optional<UserRow>> find_user(sqlite::Database& db, const std::string& name) {
  auto q = db.cached("SELECT id, spam_learns, ham_learns FROM bayes_users WHERE name = ?1");
  q.bind(1, name);
  if (q.step()) {
    return std::optional<UserRow>(UserRow{q.i64(0), static_cast<uint64_t>(std::max<int64_t>(0, q.i64(1))),
                                          static_cast<uint64_t>(std::max<int64_t>(0, q.i64(2)))});
  }
  if (!q.done()) return q.error("bayes user");
  return std::optional<UserRow>();
}

class SqliteBayes : public BayesStore {
 public:
  SqliteBayes(std::string path, uint32_t min_learns, sqlite::Database writer)
      : path_(std::move(path)), min_learns_(std::max<uint32_t>(min_learns, 1)), writer_(std::move(writer)) {}

  Result<LearnOutcome> learn(const std::vector<Token>& tokens, bool spam, const std::string& user) override;
  Result<std::optional<double>> classify(const std::vector<Token>& tokens, const std::string& user) override;
  Result<BayesCounts> counts(const std::string& user) override;

 private:
  // A reader connection for one call, returned to the pool after it.
  class Reader {
   public:
    Reader(SqliteBayes& owner, sqlite::Database db) : owner_(owner), db_(std::move(db)) {}
    ~Reader() { owner_.give_back(std::move(db_)); }
    Reader(const Reader&) = delete;
    Reader& operator=(const Reader&) = delete;
    sqlite::Database& db() { return db_; }

   private:
    SqliteBayes& owner_;
    sqlite::Database db_;
  };
  Result<sqlite::Database> take_reader();
  void give_back(sqlite::Database db);

  Result<LearnOutcome> learn_scope(const std::string& name, const std::string& digest,
                                   const std::vector<Token>& tokens, bool spam);
  Result<std::optional<double>> score(sqlite::Database& db, const UserRow& scope,
                                      const std::vector<Token>& tokens);

  std::string path_;
  uint32_t min_learns_;
  std::mutex write_mu_;
  sqlite::Database writer_;
  std::mutex readers_mu_;
  std::vector<sqlite::Database> readers_;

  // Token counts of one scope as of its learn counts (nullopt = absent).
  struct Counts {
    uint32_t spam = 0, ham = 0;
    bool present = false;
  };
  struct ScopeCache {
    uint64_t spam_learns = 0, ham_learns = 0;
    std::unordered_map<Token, Counts> counts;
  };
  std::mutex cache_mu_;
  std::unordered_map<int64_t, ScopeCache> cache_;
  std::size_t cached_tokens_ = 0;
};

Result<sqlite::Database> SqliteBayes::take_reader() {
  {
    std::lock_guard lock(readers_mu_);
    if (!readers_.empty()) {
      sqlite::Database db = std::move(readers_.back());
      readers_.pop_back();
      return db;
    }
  }
  auto db = sqlite::Database::open(path_, {.create = false});
  if (!db) return make_error(db.error().code, "bayes: cannot open " + path_ + ": " + db.error().message);
  return std::move(db).value();
}

void SqliteBayes::give_back(sqlite::Database db) {
  std::lock_guard lock(readers_mu_);
  if (readers_.size() < kMaxIdleReaders) readers_.push_back(std::move(db));
}

Result<LearnOutcome> SqliteBayes::learn_scope(const std::string& name, const std::string& digest,
                                              const std::vector<Token>& tokens, bool spam) {
  auto add = writer_.cached("INSERT INTO bayes_users (name) VALUES (?1) ON CONFLICT (name) DO NOTHING");
  add.bind(1, name);
  if (!add.run()) return add.error("bayes user");
  auto row = find_user(writer_, name);
  if (!row) return row.error();
  if (!row.value()) return make_error(Errc::Temp, "bayes: user row vanished");
  int64_t id = row.value()->id;

  auto before = writer_.cached("SELECT spam FROM bayes_learned WHERE user_id = ?1 AND digest = ?2");
  before.bind(1, id).bind_blob(2, digest);
  std::optional<bool> was_spam;
  if (before.step()) was_spam = before.i64(0) != 0;
  if (!before.done()) return before.error("bayes learned");
  if (was_spam == spam) return LearnOutcome::AlreadyLearned;

  // One message more in its class, and one less in the other when it moves.
  int64_t to_spam = spam ? 1 : (was_spam ? -1 : 0);
  int64_t to_ham = spam ? (was_spam ? -1 : 0) : 1;
  auto learns = writer_.cached(
      "UPDATE bayes_users SET spam_learns = max(0, spam_learns + ?2), ham_learns = max(0, ham_learns + ?3)"
      " WHERE id = ?1");
  learns.bind(1, id).bind(2, to_spam).bind(3, to_ham);
  if (!learns.run()) return learns.error("bayes learns");
  auto mark = writer_.cached(
      "INSERT INTO bayes_learned (user_id, digest, spam, learned_at) VALUES (?1, ?2, ?3, strftime('%s'))"
      " ON CONFLICT (user_id, digest) DO UPDATE SET spam = excluded.spam, learned_at = excluded.learned_at");
  mark.bind(1, id).bind_blob(2, digest).bind(3, int64_t{spam ? 1 : 0});
  if (!mark.run()) return mark.error("bayes learned");
  auto count = writer_.cached(
      "INSERT INTO bayes_tokens (user_id, token, spam, ham) VALUES (?1, ?2, ?3, ?4)"
      " ON CONFLICT (user_id, token) DO UPDATE SET spam = max(0, spam + ?5), ham = max(0, ham + ?6)");
  for (Token t : tokens) {
    count.reset();
    count.bind(1, id).bind(2, static_cast<int64_t>(t));
    count.bind(3, std::max<int64_t>(0, to_spam)).bind(4, std::max<int64_t>(0, to_ham));
    count.bind(5, to_spam).bind(6, to_ham);
    if (!count.run()) return count.error("bayes token");
  }
  return was_spam ? LearnOutcome::Relearned : LearnOutcome::Learned;
}

Result<LearnOutcome> SqliteBayes::learn(const std::vector<Token>& tokens, bool spam,
                                        const std::string& user) {
  if (tokens.empty()) return LearnOutcome::Skipped;
  std::string digest = bayes_digest(tokens);
  std::lock_guard lock(write_mu_);
  sqlite::Transaction tx(writer_);
  if (!tx.ok()) return writer_.error("bayes learn begin");
  std::string name = bayes_user_name(user);
  // The user's outcome is the answer; the global statistics follow the
  // same rule on their own (another user may have learned the message).
  auto outcome = learn_scope(name, digest, tokens, spam);
  if (!outcome) return outcome.error();
  if (!name.empty()) {
    auto global = learn_scope("", digest, tokens, spam);
    if (!global) return global.error();
  }
  if (!tx.commit()) return writer_.error("bayes learn commit");
  return outcome.value();
}

Result<std::optional<double>> SqliteBayes::score(sqlite::Database& db, const UserRow& scope,
                                                 const std::vector<Token>& tokens) {
  std::vector<double> probabilities;
  auto add = [&](const Counts& c) {
    if (c.present && uint64_t{c.spam} + c.ham >= kBayesMinTokenSightings)
      probabilities.push_back(token_probability(c.spam, c.ham, scope.spam_learns, scope.ham_learns));
  };
  // Cached counts first; the rest from the database, then remembered.
  std::vector<Token> missing;
  {
    std::lock_guard lock(cache_mu_);
    ScopeCache& sc = cache_[scope.id];
    if (sc.spam_learns != scope.spam_learns || sc.ham_learns != scope.ham_learns) {
      cached_tokens_ -= std::min(cached_tokens_, sc.counts.size());
      sc.counts.clear();
      sc.spam_learns = scope.spam_learns;
      sc.ham_learns = scope.ham_learns;
    }
    for (Token t : tokens) {
      auto it = sc.counts.find(t);
      if (it == sc.counts.end()) {
        missing.push_back(t);
      } else {
        add(it->second);
      }
    }
  }
  std::vector<std::pair<Token, Counts>> read;
  read.reserve(missing.size());
  auto q = db.cached("SELECT spam, ham FROM bayes_tokens WHERE user_id = ?1 AND token = ?2");
  for (Token t : missing) {
    q.reset();
    q.bind(1, scope.id).bind(2, static_cast<int64_t>(t));
    Counts c;
    if (q.step()) {
      c.spam = static_cast<uint32_t>(std::clamp<int64_t>(q.i64(0), 0, UINT32_MAX));
      c.ham = static_cast<uint32_t>(std::clamp<int64_t>(q.i64(1), 0, UINT32_MAX));
      c.present = true;
    } else if (!q.done()) {
      return q.error("bayes token");
    }
    add(c);
    read.emplace_back(t, c);
  }
  if (!read.empty()) {
    std::lock_guard lock(cache_mu_);
    if (cached_tokens_ + read.size() > kMaxCachedTokens) {
      cache_.clear();
      cached_tokens_ = 0;
    }
    ScopeCache& sc = cache_[scope.id];
    // Only if no learn moved the scope meanwhile (another scan saw newer counts).
    if (sc.spam_learns == scope.spam_learns && sc.ham_learns == scope.ham_learns) {
      for (const auto& [t, c] : read)
        if (sc.counts.emplace(t, c).second) ++cached_tokens_;
    }
  }
  return std::optional<double>(combine_interesting(std::move(probabilities)));
}

Result<std::optional<double>> SqliteBayes::classify(const std::vector<Token>& tokens,
                                                    const std::string& user) {
  auto taken = take_reader();
  if (!taken) return taken.error();
  Reader reader(*this, std::move(taken).value());
  sqlite::Database& db = reader.db();
  sqlite::Transaction tx(db, sqlite::Transaction::Kind::Read);  // one snapshot of counts and tokens
  if (!tx.ok()) return db.error("bayes classify begin");
  auto trained = [&](const std::optional<UserRow>& row) {
    return row && row->spam_learns >= min_learns_ && row->ham_learns >= min_learns_;
  };
  std::string name = bayes_user_name(user);
  if (!name.empty()) {
    auto own = find_user(db, name);
    if (!own) return own.error();
    if (trained(own.value())) return score(db, *own.value(), tokens);
  }
  auto global = find_user(db, "");
  if (!global) return global.error();
  if (trained(global.value())) return score(db, *global.value(), tokens);
  return std::optional<double>();
}

Result<BayesCounts> SqliteBayes::counts(const std::string& user) {
  auto taken = take_reader();
  if (!taken) return taken.error();
  Reader reader(*this, std::move(taken).value());
  sqlite::Database& db = reader.db();
  sqlite::Transaction tx(db, sqlite::Transaction::Kind::Read);
  if (!tx.ok()) return db.error("bayes counts begin");
  auto row = find_user(db, bayes_user_name(user));
  if (!row) return row.error();
  BayesCounts out;
  if (!row.value()) return out;
  out.spam_learns = row.value()->spam_learns;
  out.ham_learns = row.value()->ham_learns;
  auto q = db.cached("SELECT count(*) FROM bayes_tokens WHERE user_id = ?1");
  q.bind(1, row.value()->id);
  if (!q.step()) return q.error("bayes token count");
  out.tokens = static_cast<uint64_t>(q.i64(0));
  return out;
}

}  // namespace

Result<std::unique_ptr<BayesStore>> open_sqlite_bayes(const std::string& path, uint32_t min_learns) {
  auto db = sqlite::Database::open(path, {.wal = true, .synchronous_normal = true});
  if (!db) return make_error(db.error().code, "bayes: cannot open " + path + ": " + db.error().message);
  if (auto r = db.value().exec(kSchema); !r)
    return make_error(r.error().code,
                      "bayes: cannot create the tables in " + path + ": " + r.error().message);
  return std::unique_ptr<BayesStore>(new SqliteBayes(path, min_learns, std::move(db).value()));
}

}  // namespace mailfort::filter
