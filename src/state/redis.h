// A Redis client for the state several nodes share ([state] backend =
// "redis"): bans and failure counts, sending-limit counters, greylisting,
// DNSBL/MTA-STS caches and Bayes statistics. hiredis speaks RESP; this
// class adds a bounded connection pool, timeouts, AUTH (password from a
// file), optional TLS (rediss://) and reconnects with backoff.
//
// Every call blocks (network): call on a worker pool, never on an I/O
// thread. Thread-safe.
#pragma once
#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.h"

namespace mailfort::state {

//   redis://127.0.0.1:6379/0       redis://user@host:6379/2
//   rediss://host:6380/0           (TLS)
//   unix:///run/redis/redis.sock?db=0
// A password in the URL is refused: it comes from redis_password_file.
struct RedisOptions {
  std::string host;
  uint16_t port = 6379;
  std::string socket;  // unix socket path; host/port unused then
  std::string user;    // ACL user; empty = "default"
  std::string password;
  int db = 0;
  bool tls = false;
  std::string tls_ca_file;                 // empty = the system's CA store
  std::string key_prefix = "mailfort:";    // every key Mailfort writes starts with it
  std::chrono::milliseconds timeout{500};  // connect and each command
  std::size_t pool_size = 4;
  std::string display() const;  // the URL without user info
};
Result<RedisOptions> parse_redis_url(std::string_view url);

struct RedisReply {
  enum class Type { Nil, Integer, String, Status, Array, Error };
  Type type = Type::Nil;
  int64_t integer = 0;
  std::string str;  // String, Status, Error
  std::vector<RedisReply> elements;
};

class Redis {
 public:
  static std::shared_ptr<Redis> create(RedisOptions options);
  ~Redis();

  // One command, binary-safe arguments. Errc::Temp when Redis cannot be
  // reached or times out (during the backoff after a failure the call fails
  // at once without trying); a Redis error reply is Errc::Perm.
  Result<RedisReply> command(const std::vector<std::string>& argv);
  // Several commands in one round trip; the replies in order.
  Result<std::vector<RedisReply>> pipeline(const std::vector<std::vector<std::string>>& commands);

  // The key with the configured prefix.
  std::string key(std::string_view name) const;
  std::string display() const;  // the server's URL, for logs
  bool available() const;       // the last call reached Redis
  std::string last_error() const;
  // Calls answered from local state because Redis could not be reached
  // (the users of this class count them here; a metric for the admin API).
  void count_fallback();
  uint64_t fallbacks() const;

 private:
  struct Impl;
  explicit Redis(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace mailfort::state
