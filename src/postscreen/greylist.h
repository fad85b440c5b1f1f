// Greylisting: mail for a new (client network, envelope sender, recipient)
// triplet is deferred 451 4.7.1 at RCPT until [inbound]
// greylist_delay_seconds have passed since it was first seen; real MTAs
// retry, most spam engines do not. A client network (IPv4 /24, IPv6 /64:
// big senders retry from another address of their pool) whose triplets
// passed greylist_pass_count times is let through without delay for
// greylist_allow_days after its last pass.
//
// State in SQLite (tables greylist and greylist_clients of the state
// database), so it survives restarts. Unpassed triplets are forgotten
// after kRetryWindowSeconds, passed ones and clients greylist_allow_days
// after their last use. With a Redis ([state] backend = "redis") the same
// records live there instead, as hashes whose TTL is that window, so a
// triplet passed on one node passes on every node; while Redis is
// unreachable the SQLite tables answer. Both stores take their verdicts
// from greylist_decide(). Thread-safe; every call blocks (worker pool).
#pragma once
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>

#include "base/result.h"
#include "base/sqlite.h"

namespace mailfort::state {
class Redis;
}

namespace mailfort::postscreen {

struct GreylistSettings {
  uint32_t delay_seconds = 300;
  uint32_t pass_count = 1;
  uint32_t allow_days = 36;
};

// The client network a triplet is kept for: "192.0.2.0/24", "2001:db8:1:2::/64";
// the text unchanged when it is no address.
std::string greylist_network(std::string_view ip);

struct GreylistVerdict {
  enum class Kind { Pass, Defer };
  Kind kind = Kind::Defer;
  const char* reason = "new";  // new | waiting | passed | known-triplet | known-client
  int64_t retry_in = 0;        // seconds still to wait when deferred
};

// What a store knows of a triplet and of its client network.
struct GreylistTriplet {
  int64_t first_seen = 0, last_seen = 0;
  bool passed = false;
};
struct GreylistClient {
  int64_t passes = 0, last_pass = 0;
};
// The verdict, and what the store writes back.
struct GreylistDecision {
  GreylistVerdict verdict;
  GreylistTriplet store;      // the triplet as it is written back (last_seen = now)
  bool newly_passed = false;  // count one more pass of the client
  bool known_client = false;  // touch the client's last pass
};
// The greylisting rule, shared by the SQLite and Redis stores (pure).
GreylistDecision greylist_decide(const std::optional<GreylistTriplet>& triplet,
                                 const std::optional<GreylistClient>& client,
                                 const GreylistSettings& settings, int64_t now);

class Greylist {
 public:
  // A triplet not retried within this time starts over (postgrey's default).
  static constexpr int64_t kRetryWindowSeconds = 2 * 86400;

  // `redis` null = SQLite only.
  static Result<std::shared_ptr<Greylist>> open(const std::string& path,
                                                std::shared_ptr<state::Redis> redis = {});

  // `sender` lower-cased by the caller ("" = null sender); `now` in Unix seconds.
  Result<GreylistVerdict> check(const std::string& network, const std::string& sender,
                                const std::string& rcpt, const GreylistSettings& settings, int64_t now);

  // Domains whose mail passed DKIM verification (end of data calls
  // remember; greylisting may skip senders of a domain known this way for
  // greylist_allow_days). `domain` lower-cased by the caller.
  Result<void> remember_verified_domain(const std::string& domain, int64_t now);
  Result<bool> is_verified_domain(const std::string& domain, const GreylistSettings& settings, int64_t now);

  // Drops expired entries (also done by check() at most once an hour).
  Result<void> prune(const GreylistSettings& settings, int64_t now);

 private:
  explicit Greylist(sqlite::Database db) : db_(std::move(db)) {}
  // Redis: nullopt when unreachable (the caller falls back to SQLite).
  std::optional<GreylistVerdict> check_redis(const std::string& network, const std::string& sender,
                                             const std::string& rcpt, const GreylistSettings& settings,
                                             int64_t now);
  Result<GreylistVerdict> check_locked(const std::string& network, const std::string& sender,
                                       const std::string& rcpt, const GreylistSettings& settings,
                                       int64_t now);
  Result<void> prune_locked(const GreylistSettings& settings, int64_t now);

  std::mutex mu_;
  sqlite::Database db_;
  int64_t last_prune_ = 0;
  std::shared_ptr<state::Redis> redis_;
};

}  // namespace mailfort::postscreen
