// Outgoing sending limits (Q7): messages per hour per server, per sender
// domain and per mailbox, so a stolen password or a compromised host on a
// trusted network cannot send a spam run before anyone notices.
//
// Each key (the server, a domain, a mailbox) has a sliding one-hour window
// kept as a ring of 60 one-minute counters: memory is bounded by 60 counters
// per key active in the last hour, and idle keys are pruned once a minute.
// acquire() checks every level and counts one message against each in one
// step under one lock, so concurrent sessions cannot both slip under a limit.
// The count is a Reservation: taken at MAIL FROM, released unless keep() is
// called (the message was accepted), so aborted or refused transactions do
// not use up the quota, and a session never has more than one message
// counted ahead of its acceptance.
//
// One message counts once, whatever its number of recipients; recipients
// of an account's messages have a limit of their own (add_recipient), since
// 500 messages of 100 recipients each are a spam run too. Thread-safe; no
// I/O without Redis. The clock is injectable for tests.
//
// With a Redis ([state] backend = "redis", set_redis) the windows are
// shared by every node: per-minute bucket keys (wall-clock minutes, expiring
// after the hour), checked and counted by one Lua script per call (sum of
// the last 60 buckets of each level, then INCR), released by DECRBY. Then
// acquire() and add_recipient() block: call them on the worker pool; a
// release is handed to `offload` (the worker pool) so destroying a
// Reservation never blocks. Redis unreachable: the local windows count, as
// without Redis (Redis::count_fallback).
#pragma once
#include <array>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>

namespace mailfort::state {
class Redis;
}

namespace mailfort::policy {

class SendLimiter : public std::enable_shared_from_this<SendLimiter> {
 public:
  using Clock = std::function<std::chrono::steady_clock::time_point()>;

  // Messages per hour; 0 = unlimited. From [limits] send_per_hour_*.
  struct Limits {
    uint32_t server = 0;
    uint32_t domain = 0;
    uint32_t mailbox = 500;
    uint32_t mailbox_recipients = 2000;  // recipients per hour per mailbox
  };
  enum class Level { None, Server, Domain, Mailbox, MailboxRecipients };

  struct Request {
    std::string mailbox;                    // authenticated account; "" = count against the server only
    std::string domain;                     // the account's domain; "" with mailbox ""
    std::optional<uint32_t> mailbox_limit;  // directory override of Limits::mailbox
    std::optional<uint32_t> domain_limit;   // directory override of Limits::domain
  };

  struct Refusal {
    Level level = Level::None;
    uint32_t limit = 0;  // the limit that was reached
  };

  // One counted message. Released (uncounted) when destroyed unless kept.
  class Reservation {
   public:
    Reservation() = default;
    Reservation(Reservation&& o) noexcept { *this = std::move(o); }
    Reservation& operator=(Reservation&& o) noexcept;
    Reservation(const Reservation&) = delete;
    Reservation& operator=(const Reservation&) = delete;
    ~Reservation() { release(); }
    explicit operator bool() const { return owner_ != nullptr; }
    void keep() { owner_.reset(); }  // the message was accepted: it stays counted
    void release();

   private:
    friend class SendLimiter;
    std::shared_ptr<SendLimiter> owner_;
    std::string mailbox_, domain_;
    int64_t minute_ = 0;
    uint32_t recipients_ = 0;  // counted by add_recipient, in minute rcpt_minute_
    int64_t rcpt_minute_ = 0;
    bool in_redis_ = false;          // the message was counted in Redis, in wall-clock minute_
    uint32_t redis_recipients_ = 0;  // recipients counted in Redis, in wall-clock minute redis_rcpt_minute_
    int64_t redis_rcpt_minute_ = 0;
  };

  static std::shared_ptr<SendLimiter> create(Limits limits, Clock clock = {}) {
    return std::shared_ptr<SendLimiter>(new SendLimiter(limits, std::move(clock)));
  }

  // Counts one message against the server, and the request's domain and
  // mailbox when set, if none of them has reached its limit. On refusal the
  // reservation is empty, nothing is counted and `refusal` names the most
  // specific level reached (mailbox, then domain, then server).
  Reservation acquire(const Request& request, Refusal& refusal);

  // Counts one more recipient of the reserved message against its mailbox's
  // recipient limit; false (nothing counted, `refusal` set) when reached.
  // Reservations without a mailbox (trusted-network relaying) always pass.
  bool add_recipient(Reservation& reservation, Refusal& refusal);

  // Shares the windows through `redis` (null = local only); `offload` runs
  // a release's Redis call off the caller's thread.
  void set_redis(std::shared_ptr<state::Redis> redis, std::function<void(std::function<void()>)> offload);
  bool uses_redis() const { return redis_ != nullptr; }

  void set_limits(Limits limits);  // live config reload
  Limits limits() const;

  // Messages counted in the last hour (tests, diagnostics).
  uint32_t server_count();
  uint32_t domain_count(const std::string& domain);
  uint32_t mailbox_count(const std::string& mailbox);
  uint32_t recipient_count(const std::string& mailbox);
  std::size_t active_keys() const;  // keys (domains, mailboxes) with a window in memory

 private:
  struct Window {
    std::array<uint32_t, 60> buckets{};
    int64_t head = 0;  // minute of the newest bucket
    uint32_t total = 0;
    void advance(int64_t now);
    void add(int64_t now) {
      advance(now);
      ++buckets[static_cast<std::size_t>(now % 60)];
      ++total;
    }
    void remove(int64_t now, int64_t minute, uint32_t n = 1);
  };

  SendLimiter(Limits limits, Clock clock) : limits_(limits), clock_(std::move(clock)) {}
  int64_t now_minute() const;
  static int64_t wall_minute();
  // Redis: the refused level (None = counted), or nullopt when unreachable.
  std::optional<Refusal> acquire_redis(const Request& request, int64_t minute);
  std::optional<Refusal> add_recipient_redis(Reservation& r, int64_t minute);
  uint32_t redis_count(const std::string& prefix);
  void release_redis(const Reservation& r);
  void release(const Reservation& r);
  void prune(int64_t now);
  static uint32_t count_of(std::unordered_map<std::string, Window>& map, const std::string& key, int64_t now);

  mutable std::mutex mu_;
  Limits limits_;
  Clock clock_;
  Window server_;
  std::unordered_map<std::string, Window> domains_, mailboxes_, recipients_;
  int64_t last_prune_ = 0;
  std::shared_ptr<state::Redis> redis_;  // set before serving, then read-only
  std::function<void(std::function<void()>)> offload_;
};

const char* level_name(SendLimiter::Level level);

}  // namespace mailfort::policy
