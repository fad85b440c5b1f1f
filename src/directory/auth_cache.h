// AuthCache: remembers passwords that verified, so a client that logs in
// every few minutes does not cost an Argon2id run (0.1-0.3 s, 64 MiB) each
// time; the role of Dovecot's auth_cache.
//
// An entry is keyed by the account's stored hash string, which includes its
// random salt, and holds an HMAC-SHA256 of the password under a key made at
// start-up, never the password. A password change gives a new stored hash,
// so the old entry can no longer match: there is no stale window to flush.
// Only successes are remembered; a wrong password always takes the slow
// path. Bounded (least recently used entries go first) and thread-safe.
#pragma once
#include <array>
#include <chrono>
#include <cstdint>
#include <list>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>

namespace mailfort::directory {

class AuthCache {
 public:
  using Clock = std::chrono::steady_clock;

  AuthCache();
  // ttl 0 disables the cache (and empties it).
  void configure(std::chrono::seconds ttl, std::size_t max_entries);

  // True if `password` verified against `stored_hash` within the TTL.
  bool matches(std::string_view stored_hash, std::string_view password, Clock::time_point now = Clock::now());
  // Records a successful verification.
  void remember(std::string_view stored_hash, std::string_view password,
                Clock::time_point now = Clock::now());
  std::size_t size() const;

 private:
  using Digest = std::array<unsigned char, 32>;
  struct Entry {
    Digest mac;
    Clock::time_point expires;
    std::list<std::string>::iterator lru;  // position in lru_ (front = most recent)
  };
  Digest mac_of(std::string_view password) const;

  mutable std::mutex mu_;
  std::array<unsigned char, 32> key_{};
  std::chrono::seconds ttl_{0};
  std::size_t max_entries_ = 0;
  std::unordered_map<std::string, Entry> entries_;
  std::list<std::string> lru_;
};

}  // namespace mailfort::directory
