#include "base/sqlite.h"

#include <utility>

namespace mailfort::sqlite {

Errc errc_of(int rc) {
  switch (rc & 0xff) {
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
    case SQLITE_IOERR:
    case SQLITE_FULL:
    case SQLITE_NOMEM:
    case SQLITE_CANTOPEN:
    case SQLITE_PROTOCOL:
    case SQLITE_INTERRUPT:
    case SQLITE_ABORT:
    case SQLITE_SCHEMA:
      return Errc::Temp;
    case SQLITE_CONSTRAINT:
      return Errc::Exists;
    default:
      return Errc::Perm;
  }
}

namespace {

std::string message_of(sqlite3* db) {
  return db ? sqlite3_errmsg(db) : "out of memory";
}

}  // namespace

// ---- Statement ----

Statement::~Statement() {
  release();
}

Statement::Statement(Statement&& o) noexcept
    : db_(o.db_), st_(std::exchange(o.st_, nullptr)), rc_(o.rc_), owned_(o.owned_) {}

Statement& Statement::operator=(Statement&& o) noexcept {
  if (this != &o) {
    release();
    db_ = o.db_;
    st_ = std::exchange(o.st_, nullptr);
    rc_ = o.rc_;
    owned_ = o.owned_;
  }
  return *this;
}

void Statement::release() {
  if (!st_) return;
  if (owned_) {
    sqlite3_finalize(st_);
  } else {
    sqlite3_reset(st_);
    sqlite3_clear_bindings(st_);
  }
  st_ = nullptr;
}

Error Statement::error(std::string_view what) const {
  int rc = rc_ != SQLITE_OK && rc_ != SQLITE_ROW && rc_ != SQLITE_DONE ? rc_ : sqlite3_errcode(db_);
  return Error{errc_of(rc), std::string(what) + ": " + message_of(db_)};
}

// ---- Database ----

Result<Database> Database::open(const std::string& path, const Options& options) {
  Database d;
  int flags = SQLITE_OPEN_READWRITE | (options.create ? SQLITE_OPEN_CREATE : 0) |
              (options.serialized ? SQLITE_OPEN_FULLMUTEX : SQLITE_OPEN_NOMUTEX);
  int rc = sqlite3_open_v2(path.c_str(), &d.db_, flags, nullptr);
  if (rc != SQLITE_OK) return Error{errc_of(rc), message_of(d.db_)};
  sqlite3_busy_timeout(d.db_, options.busy_timeout_ms);
  if (options.wal)
    if (auto r = d.exec("PRAGMA journal_mode=WAL"); !r) return r.error();
  if (options.synchronous_normal)
    if (auto r = d.exec("PRAGMA synchronous=NORMAL"); !r) return r.error();
  return d;
}

Database::~Database() {
  close();
}

Database::Database(Database&& o) noexcept : db_(std::exchange(o.db_, nullptr)), cache_(std::move(o.cache_)) {
  o.cache_.clear();
}

Database& Database::operator=(Database&& o) noexcept {
  if (this != &o) {
    close();
    db_ = std::exchange(o.db_, nullptr);
    cache_ = std::move(o.cache_);
    o.cache_.clear();
  }
  return *this;
}

void Database::close() {
  for (auto& [sql, st] : cache_) sqlite3_finalize(st);
  cache_.clear();
  if (db_) sqlite3_close(db_);
  db_ = nullptr;
}

Result<void> Database::exec(const char* sql) {
  char* err = nullptr;
  int rc = sqlite3_exec(db_, sql, nullptr, nullptr, &err);
  if (rc == SQLITE_OK) return {};
  std::string msg = err ? err : message_of(db_);
  sqlite3_free(err);
  return Error{errc_of(rc), std::move(msg)};
}

Statement Database::prepare(const char* sql) {
  sqlite3_stmt* st = nullptr;
  int rc = sqlite3_prepare_v2(db_, sql, -1, &st, nullptr);
  if (rc != SQLITE_OK) {
    sqlite3_finalize(st);
    st = nullptr;
  }
  return Statement(db_, st, rc, true);
}

Statement Database::cached(const char* sql) {
  auto it = cache_.find(sql);
  if (it != cache_.end()) return Statement(db_, it->second, SQLITE_OK, false);
  sqlite3_stmt* st = nullptr;
  int rc = sqlite3_prepare_v3(db_, sql, -1, SQLITE_PREPARE_PERSISTENT, &st, nullptr);
  if (rc != SQLITE_OK) {
    sqlite3_finalize(st);
    return Statement(db_, nullptr, rc, false);  // not kept: the next call tries again
  }
  cache_.emplace(sql, st);
  return Statement(db_, st, SQLITE_OK, false);
}

Error Database::error(std::string_view what) const {
  return Error{errc_of(sqlite3_errcode(db_)), std::string(what) + ": " + message_of(db_)};
}

int64_t Database::changes() const {
  return sqlite3_changes(db_);
}

// ---- Transaction ----

Transaction::Transaction(Database& db, Kind kind) : db_(db) {
  ok_ = db.exec(kind == Kind::Immediate ? "BEGIN IMMEDIATE" : "BEGIN").ok();
}

Transaction::~Transaction() {
  if (ok_ && !committed_) (void)db_.exec("ROLLBACK");
}

bool Transaction::commit() {
  committed_ = db_.exec("COMMIT").ok();
  return committed_;
}

}  // namespace mailfort::sqlite
