#include <algorithm>

#include "base/cidr.h"
#include "base/sqlite.h"
#include "policy/ban_service.h"
#include "policy/client_key.h"

namespace mailfort::policy {
namespace {

// Bounds memory when a botnet sprays failures from many addresses.
constexpr std::size_t kMaxTrackedIps = 100000;

}  // namespace

Result<std::shared_ptr<BanService>> BanService::open(const std::string& state_db, Settings settings,
                                                     std::function<Clock::time_point()> clock) {
  std::shared_ptr<BanService> svc(new BanService());
  svc->settings_ = settings;
  svc->now_ = std::move(clock);
  auto db = sqlite::Database::open(state_db, {.serialized = true, .wal = true});
  if (!db) return make_error(db.error().code, "cannot open " + state_db + ": " + db.error().message);
  svc->db_ = std::move(db).value();
  if (auto r = svc->db_.exec("CREATE TABLE IF NOT EXISTS bans (ip TEXT PRIMARY KEY, since INTEGER NOT NULL, "
                             "until INTEGER NOT NULL,"
                             " reason TEXT NOT NULL DEFAULT '');");
      !r)
    return make_error(r.error().code, "cannot create bans table in " + state_db + ": " + r.error().message);
  svc->db_.prepare("DELETE FROM bans WHERE until <= ?").bind(1, svc->now()).step();
  if (auto r = svc->refresh(); !r) return r.error();
  return svc;
}

BanService::~BanService() = default;

int64_t BanService::now() const {
  auto t = now_ ? now_() : Clock::now();
  return std::chrono::duration_cast<std::chrono::seconds>(t.time_since_epoch()).count();
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
  // The in-memory ban holds even if the disk write fails.
  db_.prepare("INSERT OR REPLACE INTO bans (ip, since, until, reason) VALUES (?, ?, ?, ?)")
      .bind(1, ip)
      .bind(2, t)
      .bind(3, until)
      .bind(4, reason)
      .step();
  return true;
}

Result<std::vector<Ban>> BanService::list() {
  std::lock_guard lock(mu_);
  auto q = db_.prepare("SELECT ip, since, until, reason FROM bans WHERE until > ? ORDER BY since");
  q.bind(1, now());
  std::vector<Ban> out;
  while (q.step()) out.push_back(Ban{q.text(0), q.i64(1), q.i64(2), q.text(3)});
  if (!q.done()) return q.error("list bans");
  return out;
}

Result<void> BanService::remove(const std::string& ip_or_key) {
  std::lock_guard lock(mu_);
  // The keys to lift: the text itself, and every banned network holding it
  // (the table may have been written with another prefix length).
  std::vector<std::string> keys{ip_or_key};
  {
    auto q = db_.prepare("SELECT ip FROM bans WHERE ip LIKE '%/%'");
    if (!q.ok()) return q.error("remove ban");
    while (q.step()) {
      std::string k = q.text(0);
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
    auto del = db_.prepare("DELETE FROM bans WHERE ip = ?");
    if (!del.bind(1, k).run()) return del.error("remove ban");
    found |= db_.changes() > 0;
    found |= banned_until_.erase(k) > 0;
    failures_.erase(k);
  }
  if (!found) return make_error(Errc::NotFound, ip_or_key + " is not banned");
  return {};
}

Result<void> BanService::refresh() {
  std::lock_guard lock(mu_);
  auto q = db_.prepare("SELECT ip, until FROM bans WHERE until > ?");
  q.bind(1, now());
  std::unordered_map<std::string, int64_t> fresh;
  while (q.step()) fresh[q.text(0)] = q.i64(1);
  if (!q.done()) return q.error("read bans");
  banned_until_.swap(fresh);
  return {};
}

}  // namespace mailfort::policy
