// Brute-force protection (fail2ban built in), shared by every protocol.
//
// N failed logins from one client within a window ban that client for a
// period. A client is its IPv4 address or its IPv6 /64 (`client_key`,
// prefix configurable): every method takes the peer's address and keys it.
// Bans are kept in memory for the hot path (is_banned on accept) and persisted
// in an SQLite table (<data_dir>/state.sqlite, table bans) so they survive
// restarts and the CLI can list and lift them; refresh() re-reads the table so
// a `mailfort ban remove` reaches a running server.
//
// With a Redis ([state] backend = "redis") failures are counted in Redis,
// per key in a sorted set (one Lua script: count, and ban at the threshold,
// atomically across nodes), and bans live in the sorted set `bans` (score =
// until; details in `ban:<key>`, expiring with the ban). refresh() pulls the
// active bans from Redis and the table, so a ban made on any node holds on
// every node within a refresh. While Redis is unreachable the node counts
// and bans locally, as without Redis (Redis::count_fallback).
//
// record_failure() and refresh() write/read SQLite or Redis: call them off
// the I/O threads. is_banned() touches memory only.
#pragma once
#include <chrono>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>
#include <vector>

#include "base/result.h"
#include "base/sqlite.h"

namespace mailfort::state {
class Redis;
}

namespace mailfort::policy {

struct Ban {
  std::string ip;
  int64_t since = 0;  // unix seconds
  int64_t until = 0;  // unix seconds
  std::string reason;
};

class BanService {
 public:
  struct Settings {
    uint32_t failures = 10;  // failures before a ban (0 = never ban)
    uint32_t window_seconds = 600;
    uint32_t duration_seconds = 3600;
    uint32_t ipv6_prefix_length = 64;  // IPv6 clients are counted per network of this size
  };
  using Clock = std::chrono::system_clock;

  // `clock` replaces the system clock (tests); `redis` null = local only.
  static Result<std::shared_ptr<BanService>> open(const std::string& state_db, Settings settings,
                                                  std::function<Clock::time_point()> clock = {},
                                                  std::shared_ptr<state::Redis> redis = {});
  ~BanService();

  // The ban key of a peer address (client_key with the configured prefix).
  std::string key(const std::string& ip) const;
  bool is_banned(const std::string& ip) const;
  // Records a failed login; returns true when this failure triggered a ban
  // (the caller logs it with protocol and user).
  bool record_failure(const std::string& ip, const std::string& reason);
  Result<std::vector<Ban>> list();  // Ban::ip is the key ("2001:db8::/64")
  // Lifts the ban `ip_or_key` names: a listed key, or an address inside a
  // banned network (so it works whatever prefix the caller configured).
  // NotFound when not banned.
  Result<void> remove(const std::string& ip_or_key);
  Result<void> refresh();  // reload bans from the table
  void set_settings(Settings settings);

 private:
  BanService() = default;
  int64_t now() const;
  std::string key_locked(const std::string& ip) const;
  // Redis: -1 unreachable (count locally), 0 not banned, else the new ban's until.
  int64_t record_failure_redis(const std::string& key, const std::string& reason, int64_t now,
                               const Settings& settings);
  bool record_failure_local(const std::string& key, const std::string& reason, int64_t now);
  // The active bans in Redis (and drops expired ones); Temp when unreachable.
  Result<std::unordered_map<std::string, int64_t>> redis_bans(int64_t now);
  std::shared_ptr<state::Redis> redis_;
  std::unordered_map<std::string, int64_t> redis_bans_;  // last pulled; kept through an outage
  mutable std::mutex mu_;
  sqlite::Database db_;
  Settings settings_;
  std::function<Clock::time_point()> now_;
  std::unordered_map<std::string, int64_t> banned_until_;
  std::unordered_map<std::string, std::deque<int64_t>> failures_;
};

}  // namespace mailfort::policy
