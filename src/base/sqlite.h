// The one SQLite wrapper: every SQLite user (the directory, the per-user
// mailbox index, bans, TLS report counts) goes through these classes, and
// only this header and sqlite.cpp call the SQLite C API (the per-row calls
// of Statement are inline here: the mailbox index reads thousands of rows
// per FETCH, as fast as with the C API itself).
//
// - Database: an open connection (RAII), set up with a busy timeout and,
//   when asked, WAL; exec() for statements without results; prepare() for
//   a statement of one use and cached() for one prepared once per
//   connection and reused.
// - Statement: bind by index, step, read columns.
// - Transaction: BEGIN IMMEDIATE (or a deferred read transaction) that
//   rolls back unless committed.
// - errc_of(): the one mapping from SQLite result codes to Errc: a busy or
//   locked database, I/O, a full disk, no memory, a file that cannot be
//   opened, an interrupted or aborted statement -> Temp (a retry may
//   succeed); a constraint -> Exists; anything else (corruption, SQL
//   errors, read-only files) -> Perm.
//
// Not thread-safe by itself: the owner serialises use of one Database (its
// own mutex, or one connection per thread from a pool).
#pragma once
#include <sqlite3.h>

#include <cstdint>
#include <string>
#include <string_view>
#include <unordered_map>

#include "base/result.h"

namespace mailfort::sqlite {

// The Errc of a SQLite result code (primary or extended).
Errc errc_of(int rc);

class Statement {
 public:
  Statement() = default;
  ~Statement();
  Statement(Statement&& o) noexcept;
  Statement& operator=(Statement&& o) noexcept;
  Statement(const Statement&) = delete;
  Statement& operator=(const Statement&) = delete;

  // Prepared; a statement that did not prepare fails its step() with the
  // preparation's error.
  bool ok() const { return st_ != nullptr; }

  Statement& bind(int i, int64_t v) {
    if (st_) sqlite3_bind_int64(st_, i, v);
    return *this;
  }
  Statement& bind(int i, std::string_view text) {
    if (st_) sqlite3_bind_text(st_, i, text.data(), static_cast<int>(text.size()), SQLITE_TRANSIENT);
    return *this;
  }
  Statement& bind_blob(int i, std::string_view bytes) {
    if (st_) sqlite3_bind_blob(st_, i, bytes.data(), static_cast<int>(bytes.size()), SQLITE_TRANSIENT);
    return *this;
  }
  Statement& bind_null(int i) {
    if (st_) sqlite3_bind_null(st_, i);
    return *this;
  }

  // One step: true while a row is available. After the last row (false),
  // done() says whether the statement ended without an error.
  bool step() {
    if (!st_) return false;  // rc_ keeps the preparation's error
    rc_ = sqlite3_step(st_);
    return rc_ == SQLITE_ROW;
  }
  // Steps a statement that returns no rows (or whose rows are not wanted):
  // true when it completed.
  bool run() { return !step() && done(); }
  bool done() const { return st_ && (rc_ == SQLITE_DONE || rc_ == SQLITE_ROW); }
  // The last step()'s result code, for errc_of().
  int rc() const { return rc_; }

  // Columns of the result (0 for a statement without).
  int columns() const { return st_ ? sqlite3_column_count(st_) : 0; }
  int64_t i64(int col) const { return sqlite3_column_int64(st_, col); }
  bool is_null(int col) const { return sqlite3_column_type(st_, col) == SQLITE_NULL; }
  // "" for NULL.
  std::string text(int col) const {
    auto* p = reinterpret_cast<const char*>(sqlite3_column_text(st_, col));
    return p ? std::string(p, static_cast<std::size_t>(sqlite3_column_bytes(st_, col))) : std::string();
  }
  std::string blob(int col) const {
    auto* p = static_cast<const char*>(sqlite3_column_blob(st_, col));
    return p ? std::string(p, static_cast<std::size_t>(sqlite3_column_bytes(st_, col))) : std::string();
  }

  // Ready to run again with new bindings.
  void reset() {
    if (!st_) return;
    sqlite3_reset(st_);
    sqlite3_clear_bindings(st_);
    rc_ = SQLITE_OK;
  }

  // The error of the last step (or of the preparation): errc_of() of its
  // code, message "<what>: <SQLite's message>".
  Error error(std::string_view what) const;

 private:
  friend class Database;
  Statement(sqlite3* db, sqlite3_stmt* st, int rc, bool owned) : db_(db), st_(st), rc_(rc), owned_(owned) {}
  void release();

  sqlite3* db_ = nullptr;
  sqlite3_stmt* st_ = nullptr;
  int rc_ = SQLITE_OK;
  bool owned_ = true;  // finalized at the end, else (cached) reset
};

class Database {
 public:
  struct Options {
    bool create = true;       // create the file when missing
    bool serialized = false;  // SQLite's own mutex (connection shared by threads), else none
    int busy_timeout_ms = 5000;
    bool wal = false;                 // PRAGMA journal_mode=WAL
    bool synchronous_normal = false;  // PRAGMA synchronous=NORMAL (with WAL)
  };

  // Opens `path` read-write. Errors: errc_of() the SQLite code, message
  // SQLite's (the caller adds what it opened).
  static Result<Database> open(const std::string& path, const Options& options);

  Database() = default;
  ~Database();
  Database(Database&& o) noexcept;
  Database& operator=(Database&& o) noexcept;
  Database(const Database&) = delete;
  Database& operator=(const Database&) = delete;

  bool is_open() const { return db_ != nullptr; }

  // Runs one or more statements without results. Error message: SQLite's.
  Result<void> exec(const char* sql);
  // A statement finalized when the Statement goes.
  Statement prepare(const char* sql);
  // The statement for `sql`, prepared once for this connection and kept;
  // the Statement returned resets it (ending its read) when it goes. One
  // use of a given `sql` at a time.
  Statement cached(const char* sql);

  // The connection's last error: errc_of() of its code, "<what>: <message>".
  Error error(std::string_view what) const;
  // Rows changed by the last INSERT, UPDATE or DELETE.
  int64_t changes() const;

 private:
  void close();

  sqlite3* db_ = nullptr;
  std::unordered_map<std::string, sqlite3_stmt*> cache_;  // cached(), finalized before close
};

// A write transaction (BEGIN IMMEDIATE: the write lock is taken at once,
// waiting up to the busy timeout) or a read transaction (BEGIN), rolled
// back when it goes uncommitted.
class Transaction {
 public:
  enum class Kind { Immediate, Read };
  explicit Transaction(Database& db, Kind kind = Kind::Immediate);
  ~Transaction();
  Transaction(const Transaction&) = delete;
  Transaction& operator=(const Transaction&) = delete;
  // BEGIN succeeded.
  bool ok() const { return ok_; }
  // COMMIT; false when it failed (then rolled back at the end).
  bool commit();

 private:
  Database& db_;
  bool ok_ = false, committed_ = false;
};

}  // namespace mailfort::sqlite
