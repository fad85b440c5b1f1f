#include <algorithm>
#include <random>

#include "base/cidr.h"
#include "base/sqlite.h"
#include "policy/ban_service.h"
#include "policy/client_key.h"
#include "state/redis.h"

namespace mailfort::policy {
namespace {

// Bounds memory when a botnet sprays failures from many addresses.
constexpr std::size_t kMaxTrackedIps = 100000;

// KEYS: failures of the key (sorted set), bans (sorted set), ban details.
// ARGV: now, window, failures, duration, key, reason, unique member.
// Returns 0 (counted, no ban), the new ban's until, or -until when the key
// is banned already (no extension while banned, as locally). One script, so
// two nodes counting the same client cannot both miss the threshold.
constexpr const char* kRecordFailureScript = R"lua(
local now = tonumber(ARGV[1])
local banned = redis.call('ZSCORE', KEYS[2], ARGV[5])
if banned and tonumber(banned) > now then return -tonumber(banned) end
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - tonumber(ARGV[2]))
redis.call('ZADD', KEYS[1], now, ARGV[7])
redis.call('EXPIRE', KEYS[1], ARGV[2])
if redis.call('ZCARD', KEYS[1]) < tonumber(ARGV[3]) then return 0 end
redis.call('DEL', KEYS[1])
local until_ = now + tonumber(ARGV[4])
redis.call('ZADD', KEYS[2], until_, ARGV[5])
redis.call('SET', KEYS[3], ARGV[1] .. ' ' .. ARGV[6], 'EX', ARGV[4])
return until_
)lua";

std::string unique_member(int64_t now) {
  thread_local std::mt19937_64 rng{std::random_device{}()};
  return std::to_string(now) + ":" + std::to_string(rng());
}

// "since reason" of ban:<key>.
void parse_details(const std::string& v, Ban& b) {
  auto sp = v.find(' ');
  b.since = std::strtoll(v.c_str(), nullptr, 10);
  if (sp != std::string::npos) b.reason = v.substr(sp + 1);
}

}  // namespace

Result<std::shared_ptr<BanService>> BanService::open(const std::string& state_db, Settings settings,
                                                     std::function<Clock::time_point()> clock,
                                                     std::shared_ptr<state::Redis> redis) {
  std::shared_ptr<BanService> svc(new BanService());
  svc->settings_ = settings;
  svc->now_ = std::move(clock);
  svc->redis_ = std::move(redis);
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
  Settings settings;
  std::string ip;
  const int64_t t = now();
  {
    std::lock_guard lock(mu_);
    settings = settings_;
    if (settings.failures == 0) return false;
    ip = key_locked(peer);
    auto b = banned_until_.find(ip);
    if (b != banned_until_.end() && b->second > t) return false;  // no extension while banned
  }
  if (redis_) {
    // The round trip runs without the lock: is_banned() on the I/O threads
    // never waits for Redis.
    int64_t r = record_failure_redis(ip, reason, t, settings);
    if (r != -1) {
      if (r == 0) return false;
      std::lock_guard lock(mu_);
      banned_until_[ip] = redis_bans_[ip] = r < 0 ? -r : r;
      failures_.erase(ip);
      return r > 0;
    }
    redis_->count_fallback();
  }
  std::lock_guard lock(mu_);
  return record_failure_local(ip, reason, t);
}

int64_t BanService::record_failure_redis(const std::string& ip, const std::string& reason, int64_t t,
                                         const Settings& settings) {
  auto r = redis_->command({"EVAL", kRecordFailureScript, "3", redis_->key("banfail:" + ip),
                            redis_->key("bans"), redis_->key("ban:" + ip), std::to_string(t),
                            std::to_string(settings.window_seconds), std::to_string(settings.failures),
                            std::to_string(settings.duration_seconds), ip, reason, unique_member(t)});
  // A ban's until is far from 1 s after the epoch, so -1 stays free for "unreachable".
  if (!r || r->type != state::RedisReply::Type::Integer) return -1;
  return r->integer;
}

bool BanService::record_failure_local(const std::string& ip, const std::string& reason, int64_t t) {
  auto b = banned_until_.find(ip);
  if (b != banned_until_.end() && b->second > t) return false;
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

Result<std::unordered_map<std::string, int64_t>> BanService::redis_bans(int64_t t) {
  auto r = redis_->pipeline(
      {{"ZREMRANGEBYSCORE", redis_->key("bans"), "-inf", std::to_string(t)},
       {"ZRANGEBYSCORE", redis_->key("bans"), "(" + std::to_string(t), "+inf", "WITHSCORES"}});
  if (!r) return r.error();
  const auto& range = r.value()[1];
  if (range.type != state::RedisReply::Type::Array) return make_error(Errc::Perm, "redis bans: " + range.str);
  std::unordered_map<std::string, int64_t> out;
  for (std::size_t i = 0; i + 1 < range.elements.size(); i += 2)
    out[range.elements[i].str] = std::strtoll(range.elements[i + 1].str.c_str(), nullptr, 10);
  return out;
}

Result<std::vector<Ban>> BanService::list() {
  const int64_t t = now();
  std::vector<Ban> out;
  if (redis_) {
    auto active = redis_bans(t);
    if (!active) return Error{active.error().code, "redis: " + active.error().message};
    std::vector<std::string> mget{"MGET"};
    std::vector<std::string> keys;
    for (const auto& [k, until] : active.value()) {
      keys.push_back(k);
      mget.push_back(redis_->key("ban:" + k));
    }
    std::vector<state::RedisReply> details;
    if (!keys.empty()) {
      auto r = redis_->command(mget);
      if (!r) return Error{r.error().code, "redis: " + r.error().message};
      details = std::move(r->elements);
    }
    for (std::size_t i = 0; i < keys.size(); ++i) {
      Ban b{keys[i], 0, active.value()[keys[i]], ""};
      if (i < details.size()) parse_details(details[i].str, b);
      out.push_back(std::move(b));
    }
  }
  std::lock_guard lock(mu_);
  auto q = db_.prepare("SELECT ip, since, until, reason FROM bans WHERE until > ? ORDER BY since");
  q.bind(1, t);
  while (q.step()) {
    std::string ip = q.text(0);
    // A ban both here (made while Redis was down) and in Redis is listed once.
    if (std::none_of(out.begin(), out.end(), [&](const Ban& b) { return b.ip == ip; }))
      out.push_back(Ban{ip, q.i64(1), q.i64(2), q.text(3)});
  }
  if (!q.done()) return q.error("list bans");
  std::stable_sort(out.begin(), out.end(), [](const Ban& a, const Ban& b) { return a.since < b.since; });
  return out;
}

Result<void> BanService::remove(const std::string& ip_or_key) {
  // The keys to lift: the text itself, and every banned network holding it
  // (the table may have been written with another prefix length).
  std::vector<std::string> keys{ip_or_key};
  auto add_containing = [&](const std::string& k) {
    auto net = k.find('/') != std::string::npos ? Cidr::parse(k) : std::nullopt;
    if (net && k != ip_or_key && net->contains(ip_or_key) &&
        std::find(keys.begin(), keys.end(), k) == keys.end())
      keys.push_back(k);
  };
  std::optional<Error> redis_error;
  std::unordered_map<std::string, int64_t> in_redis;
  if (redis_) {
    if (auto active = redis_bans(now())) {
      in_redis = std::move(active.value());
    } else {
      redis_error = active.error();
    }
    for (const auto& [k, until] : in_redis) add_containing(k);
  }
  std::lock_guard lock(mu_);
  {
    auto q = db_.prepare("SELECT ip FROM bans WHERE ip LIKE '%/%'");
    if (!q.ok()) return q.error("remove ban");
    while (q.step()) add_containing(q.text(0));
  }
  for (const auto& [k, until] : banned_until_) add_containing(k);
  bool found = false;
  for (const auto& k : keys) {
    auto del = db_.prepare("DELETE FROM bans WHERE ip = ?");
    if (!del.bind(1, k).run()) return del.error("remove ban");
    found |= db_.changes() > 0;
    found |= banned_until_.erase(k) > 0;
    found |= in_redis.count(k) > 0;
    failures_.erase(k);
    redis_bans_.erase(k);
  }
  if (redis_ && !redis_error) {
    std::vector<std::vector<std::string>> cmds;
    std::vector<std::string> zrem{"ZREM", redis_->key("bans")};
    std::vector<std::string> del{"DEL"};
    for (const auto& k : keys) {
      zrem.push_back(k);
      del.push_back(redis_->key("ban:" + k));
      del.push_back(redis_->key("banfail:" + k));
    }
    if (auto r = redis_->pipeline({zrem, del}); !r) redis_error = r.error();
  }
  if (redis_error)
    return make_error(Errc::Temp, "redis unreachable, bans in Redis not lifted: " + redis_error->message);
  if (!found) return make_error(Errc::NotFound, ip_or_key + " is not banned");
  return {};
}

Result<void> BanService::refresh() {
  const int64_t t = now();
  std::optional<std::unordered_map<std::string, int64_t>> pulled;
  if (redis_) {
    // Outside the lock; on failure the bans pulled last stay in force.
    if (auto r = redis_bans(t)) {
      pulled = std::move(r.value());
    } else {
      redis_->count_fallback();
    }
  }
  std::lock_guard lock(mu_);
  auto q = db_.prepare("SELECT ip, until FROM bans WHERE until > ?");
  q.bind(1, t);
  std::unordered_map<std::string, int64_t> fresh;
  while (q.step()) fresh[q.text(0)] = q.i64(1);
  if (!q.done()) return q.error("read bans");
  if (pulled) redis_bans_ = std::move(*pulled);
  for (const auto& [k, until] : redis_bans_) {
    if (until > t) fresh[k] = std::max(fresh[k], until);
  }
  banned_until_.swap(fresh);
  return {};
}

}  // namespace mailfort::policy
