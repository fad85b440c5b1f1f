#include <sqlite3.h>

#include <algorithm>

#include "base/cidr.h"
#include "policy/ban_service.h"
#include "policy/client_key.h"

namespace mailfort::policy {
namespace {

// Bounds memory when a botnet sprays failures from many addresses.
constexpr std::size_t kMaxTrackedIps = 100000;

struct Stmt {
  sqlite3_stmt* s = nullptr;
  Stmt(sqlite3* db, const char* sql) { sqlite3_prepare_v2(db, sql, -1, &s, nullptr); }
  ~Stmt() { sqlite3_finalize(s); }
  explicit operator bool() const { return s != nullptr; }
};

Error db_error(sqlite3* db, const std::string& what) {
  int rc = sqlite3_errcode(db);
  Errc code = (rc == SQLITE_BUSY || rc == SQLITE_LOCKED) ? Errc::Temp : Errc::Perm;
  return make_error(code, what + ": " + sqlite3_errmsg(db));
}

}  // namespace

Result<std::shared_ptr<BanService>> BanService::open(const std::string& state_db, Settings settings,
                                                     std::function<Clock::time_point()> clock) {
  std::shared_ptr<BanService> svc(new BanService());
  svc->settings_ = settings;
  svc->now_ = std::move(clock);
  if (sqlite3_open_v2(state_db.c_str(), &svc->db_,
                      SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_FULLMUTEX,
                      nullptr) != SQLITE_OK) {
    std::string msg = svc->db_ ? sqlite3_errmsg(svc->db_) : "out of memory";
    return make_error(Errc::Perm, "cannot open " + state_db + ": " + msg);
  }
  sqlite3_busy_timeout(svc->db_, 5000);
  char* err = nullptr;
  const char* schema =
      "PRAGMA journal_mode=WAL;"
      "CREATE TABLE IF NOT EXISTS bans (ip TEXT PRIMARY KEY, since INTEGER NOT NULL, until INTEGER NOT NULL,"
      " reason TEXT NOT NULL DEFAULT '');";
  if (sqlite3_exec(svc->db_, schema, nullptr, nullptr, &err) != SQLITE_OK) {
    std::string msg = err ? err : "unknown error";
    sqlite3_free(err);
    return make_error(Errc::Perm, "cannot create bans table in " + state_db + ": " + msg);
  }
  {
    Stmt del(svc->db_, "DELETE FROM bans WHERE until <= ?");
    sqlite3_bind_int64(del.s, 1, svc->now());
    sqlite3_step(del.s);
  }
  if (auto r = svc->refresh(); !r) return r.error();
  return svc;
}

BanService::~BanService() {
  if (db_) sqlite3_close(db_);
}

int64_t BanService::now() const {
  auto t = now_ ? now_() : Clock::now();
  return std::chrono::duration_cast<std::chrono::seconds>(t.time_since_epoch()).count();
}

void BanService::set_clock_for_testing(std::function<Clock::time_point()> now) {
  std::lock_guard lock(mu_);
  now_ = std::move(now);
}

void BanService::set_settings(Settings settings) {
  std::lock_guard lock(mu_);
  settings_ = settings;
}

std::string BanService::key_locked(const std::string& ip) const {
  return client_key(ip, settings_.ipv6_prefix_length);
}

std::string BanService::key(const std::string& ip) const {
  std::lock_guard lock(mu_);
  return key_locked(ip);
}

bool BanService::is_banned(const std::string& peer) const {
  std::lock_guard lock(mu_);
  auto it = banned_until_.find(key_locked(peer));
  return it != banned_until_.end() && it->second > now();
}

bool BanService::record_failure(const std::string& peer, const std::string& reason) {
  std::lock_guard lock(mu_);
  if (settings_.failures == 0) return false;
  const std::string ip = key_locked(peer);
  int64_t t = now();
  auto b = banned_until_.find(ip);
  if (b != banned_until_.end() && b->second > t) return false;  // no extension while banned
  if (failures_.size() >= kMaxTrackedIps && failures_.find(ip) == failures_.end()) {
    failures_.erase(failures_.begin());
  }
  auto& q = failures_[ip];
  while (!q.empty() && q.front() <= t - static_cast<int64_t>(settings_.window_seconds)) q.pop_front();
  q.push_back(t);
  while (q.size() > settings_.failures) q.pop_front();
  if (q.size() < settings_.failures) return false;
  failures_.erase(ip);
  int64_t until = t + settings_.duration_seconds;
  banned_until_[ip] = until;
  Stmt ins(db_, "INSERT OR REPLACE INTO bans (ip, since, until, reason) VALUES (?, ?, ?, ?)");
  if (ins) {
    sqlite3_bind_text(ins.s, 1, ip.c_str(), -1, SQLITE_TRANSIENT);
    sqlite3_bind_int64(ins.s, 2, t);
    sqlite3_bind_int64(ins.s, 3, until);
    sqlite3_bind_text(ins.s, 4, reason.c_str(), -1, SQLITE_TRANSIENT);
    sqlite3_step(ins.s);  // the in-memory ban holds even if the disk write fails
  }
  return true;
}

Result<std::vector<Ban>> BanService::list() {
  std::lock_guard lock(mu_);
  Stmt q(db_, "SELECT ip, since, until, reason FROM bans WHERE until > ? ORDER BY since");
  if (!q) return db_error(db_, "list bans");
  sqlite3_bind_int64(q.s, 1, now());
  std::vector<Ban> out;
  int rc;
  while ((rc = sqlite3_step(q.s)) == SQLITE_ROW) {
    out.push_back(Ban{reinterpret_cast<const char*>(sqlite3_column_text(q.s, 0)),
                      sqlite3_column_int64(q.s, 1), sqlite3_column_int64(q.s, 2),
                      reinterpret_cast<const char*>(sqlite3_column_text(q.s, 3))});
  }
  if (rc != SQLITE_DONE) return db_error(db_, "list bans");
  return out;
}

Result<void> BanService::remove(const std::string& ip_or_key) {
  std::lock_guard lock(mu_);
  // The keys to lift: the text itself, and every banned network holding it
  // (the table may have been written with another prefix length).
  std::vector<std::string> keys{ip_or_key};
  {
    Stmt q(db_, "SELECT ip FROM bans WHERE ip LIKE '%/%'");
    if (!q) return db_error(db_, "remove ban");
    while (sqlite3_step(q.s) == SQLITE_ROW) {
      std::string k = reinterpret_cast<const char*>(sqlite3_column_text(q.s, 0));
      auto net = Cidr::parse(k);
      if (k != ip_or_key && net && net->contains(ip_or_key)) keys.push_back(k);
    }
  }
  for (const auto& [k, until] : banned_until_) {
    auto net = k.find('/') != std::string::npos ? Cidr::parse(k) : std::nullopt;
    if (net && k != ip_or_key && net->contains(ip_or_key) &&
        std::find(keys.begin(), keys.end(), k) == keys.end())
      keys.push_back(k);
  }
  bool found = false;
  for (const auto& k : keys) {
    Stmt del(db_, "DELETE FROM bans WHERE ip = ?");
    if (!del) return db_error(db_, "remove ban");
    sqlite3_bind_text(del.s, 1, k.c_str(), -1, SQLITE_TRANSIENT);
    if (sqlite3_step(del.s) != SQLITE_DONE) return db_error(db_, "remove ban");
    found |= sqlite3_changes(db_) > 0;
    found |= banned_until_.erase(k) > 0;
    failures_.erase(k);
  }
  if (!found) return make_error(Errc::NotFound, ip_or_key + " is not banned");
  return {};
}

Result<void> BanService::refresh() {
  std::lock_guard lock(mu_);
  Stmt q(db_, "SELECT ip, until FROM bans WHERE until > ?");
  if (!q) return db_error(db_, "read bans");
  sqlite3_bind_int64(q.s, 1, now());
  std::unordered_map<std::string, int64_t> fresh;
  int rc;
  while ((rc = sqlite3_step(q.s)) == SQLITE_ROW) {
    fresh[reinterpret_cast<const char*>(sqlite3_column_text(q.s, 0))] = sqlite3_column_int64(q.s, 1);
  }
  if (rc != SQLITE_DONE) return db_error(db_, "read bans");
  banned_until_.swap(fresh);
  return {};
}

}  // namespace mailfort::policy
