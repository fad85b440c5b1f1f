#include "policy/send_limiter.h"

#include <algorithm>
#include <utility>

#include "state/redis.h"

namespace mailfort::policy {
namespace {

// ARGV: now (minute), the minute to count in, then per level: key prefix,
// limit (0 = none), level code. Sums each limited level's last 60 buckets
// (prefix .. minute); returns the first level at its limit, or counts one
// in every level and returns 0. One script: nodes cannot race past a limit.
// (Keys are built in the script: a standalone Redis, not a cluster.)
constexpr const char* kCountScript = R"lua(
local now = tonumber(ARGV[1])
for i = 3, #ARGV, 3 do
  local limit = tonumber(ARGV[i + 1])
  if limit > 0 then
    local keys = {}
    for m = now - 59, now do keys[#keys + 1] = ARGV[i] .. m end
    local total = 0
    for _, v in ipairs(redis.call('MGET', unpack(keys))) do
      if v then total = total + tonumber(v) end
    end
    if total >= limit then return tonumber(ARGV[i + 2]) end
  end
end
for i = 3, #ARGV, 3 do
  local k = ARGV[i] .. ARGV[2]
  redis.call('INCR', k)
  redis.call('EXPIRE', k, 3660)  -- a bucket outlives the hour it is summed in
end
return 0
)lua";

}  // namespace

const char* level_name(SendLimiter::Level level) {
  switch (level) {
    case SendLimiter::Level::Server:
      return "server";
    case SendLimiter::Level::Domain:
      return "domain";
    case SendLimiter::Level::Mailbox:
      return "mailbox";
    case SendLimiter::Level::MailboxRecipients:
      return "mailbox-recipients";
    case SendLimiter::Level::None:
      break;
  }
  return "none";
}

SendLimiter::Reservation& SendLimiter::Reservation::operator=(Reservation&& o) noexcept {
  if (this != &o) {
    release();
    owner_ = std::move(o.owner_);
    mailbox_ = std::move(o.mailbox_);
    domain_ = std::move(o.domain_);
    minute_ = o.minute_;
    recipients_ = std::exchange(o.recipients_, 0);
    rcpt_minute_ = o.rcpt_minute_;
    in_redis_ = o.in_redis_;
    redis_recipients_ = std::exchange(o.redis_recipients_, 0);
    redis_rcpt_minute_ = o.redis_rcpt_minute_;
  }
  return *this;
}

void SendLimiter::Reservation::release() {
  if (!owner_) return;
  auto owner = std::move(owner_);
  owner_.reset();
  owner->release(*this);
}

void SendLimiter::Window::advance(int64_t now) {
  if (now <= head) return;
  if (now - head >= 60) {
    buckets.fill(0);
    total = 0;
  } else {
    for (int64_t m = head + 1; m <= now; ++m) {
      auto& b = buckets[static_cast<std::size_t>(m % 60)];
      total -= b;
      b = 0;
    }
  }
  head = now;
}

void SendLimiter::Window::remove(int64_t now, int64_t minute, uint32_t n) {
  advance(now);
  if (now - minute >= 60 || minute > now) return;  // already out of the window
  auto& b = buckets[static_cast<std::size_t>(minute % 60)];
  n = std::min(n, b);
  b -= n;
  total -= n;
}

int64_t SendLimiter::now_minute() const {
  auto t = clock_ ? clock_() : std::chrono::steady_clock::now();
  // +60 keeps minutes positive so the ring index is never negative.
  return std::chrono::duration_cast<std::chrono::minutes>(t.time_since_epoch()).count() + 60;
}

void SendLimiter::set_redis(std::shared_ptr<state::Redis> redis,
                            std::function<void(std::function<void()>)> offload) {
  redis_ = std::move(redis);
  offload_ = std::move(offload);
}

int64_t SendLimiter::wall_minute() {
  return std::chrono::duration_cast<std::chrono::minutes>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

std::optional<SendLimiter::Refusal> SendLimiter::acquire_redis(const Request& request, int64_t minute) {
  Limits limits = this->limits();
  std::vector<std::string> argv{"EVAL", kCountScript, "0", std::to_string(minute), std::to_string(minute)};
  auto level = [&](const std::string& prefix, uint32_t limit, Level code) {
    argv.push_back(redis_->key(prefix));
    argv.push_back(std::to_string(limit));
    argv.push_back(std::to_string(static_cast<int>(code)));
  };
  if (!request.mailbox.empty())
    level("send:m:" + request.mailbox + ":", request.mailbox_limit.value_or(limits.mailbox), Level::Mailbox);
  if (!request.domain.empty())
    level("send:d:" + request.domain + ":", request.domain_limit.value_or(limits.domain), Level::Domain);
  level("send:s:", limits.server, Level::Server);
  auto r = redis_->command(argv);
  if (!r || r->type != state::RedisReply::Type::Integer) return std::nullopt;
  auto code = static_cast<Level>(r->integer);
  switch (code) {
    case Level::Mailbox:
      return Refusal{code, request.mailbox_limit.value_or(limits.mailbox)};
    case Level::Domain:
      return Refusal{code, request.domain_limit.value_or(limits.domain)};
    case Level::Server:
      return Refusal{code, limits.server};
    default:
      return Refusal{};
  }
}

SendLimiter::Reservation SendLimiter::acquire(const Request& request, Refusal& refusal) {
  refusal = {};
  if (redis_) {
    int64_t minute = wall_minute();
    if (auto counted = acquire_redis(request, minute)) {
      refusal = *counted;
      if (refusal.level != Level::None) return Reservation();
      Reservation r;
      r.owner_ = shared_from_this();
      r.mailbox_ = request.mailbox;
      r.domain_ = request.domain;
      r.minute_ = minute;
      r.in_redis_ = true;
      return r;
    }
    redis_->count_fallback();
  }
  int64_t now = now_minute();
  std::lock_guard lock(mu_);
  prune(now);
  Window* mailbox = nullptr;
  Window* domain = nullptr;
  if (!request.mailbox.empty()) {
    mailbox = &mailboxes_[request.mailbox];
    mailbox->advance(now);
    uint32_t limit = request.mailbox_limit.value_or(limits_.mailbox);
    if (limit != 0 && mailbox->total >= limit) refusal = {Level::Mailbox, limit};
  }
  if (refusal.level == Level::None && !request.domain.empty()) {
    domain = &domains_[request.domain];
    domain->advance(now);
    uint32_t limit = request.domain_limit.value_or(limits_.domain);
    if (limit != 0 && domain->total >= limit) refusal = {Level::Domain, limit};
  }
  if (refusal.level == Level::None) {
    server_.advance(now);
    if (limits_.server != 0 && server_.total >= limits_.server) refusal = {Level::Server, limits_.server};
  }
  if (refusal.level != Level::None) return Reservation();
  if (mailbox) mailbox->add(now);
  if (domain) domain->add(now);
  server_.add(now);
  Reservation r;
  r.owner_ = shared_from_this();
  r.mailbox_ = request.mailbox;
  r.domain_ = request.domain;
  r.minute_ = now;
  return r;
}

void SendLimiter::release_redis(const Reservation& r) {
  int64_t now = wall_minute();
  std::vector<std::vector<std::string>> cmds;
  auto undo = [&](const std::string& prefix, int64_t minute, uint32_t n) {
    if (n == 0 || now - minute >= 60) return;  // out of the window (and expiring) already
    cmds.push_back({"DECRBY", redis_->key(prefix + std::to_string(minute)), std::to_string(n)});
  };
  if (r.in_redis_) {
    undo("send:s:", r.minute_, 1);
    if (!r.domain_.empty()) undo("send:d:" + r.domain_ + ":", r.minute_, 1);
    if (!r.mailbox_.empty()) undo("send:m:" + r.mailbox_ + ":", r.minute_, 1);
  }
  undo("send:r:" + r.mailbox_ + ":", r.redis_rcpt_minute_, r.redis_recipients_);
  if (cmds.empty()) return;
  auto run = [redis = redis_, cmds = std::move(cmds)] {
    // Unreachable: the counts stay until their buckets expire (an hour at
    // most); counting too much is the safe side of a sending limit.
    (void)redis->pipeline(cmds);
  };
  if (offload_) {
    offload_(std::move(run));
  } else {
    run();
  }
}

void SendLimiter::release(const Reservation& r) {
  if (redis_ && (r.in_redis_ || r.redis_recipients_ > 0)) release_redis(r);
  if (r.in_redis_ && r.recipients_ == 0) return;
  int64_t now = now_minute();
  std::lock_guard lock(mu_);
  if (!r.in_redis_) {
    server_.remove(now, r.minute_);
    if (!r.domain_.empty()) {
      if (auto it = domains_.find(r.domain_); it != domains_.end()) it->second.remove(now, r.minute_);
    }
    if (!r.mailbox_.empty()) {
      if (auto it = mailboxes_.find(r.mailbox_); it != mailboxes_.end()) it->second.remove(now, r.minute_);
    }
  }
  if (r.recipients_ > 0) {
    if (auto it = recipients_.find(r.mailbox_); it != recipients_.end())
      it->second.remove(now, r.rcpt_minute_, r.recipients_);
  }
}

std::optional<SendLimiter::Refusal> SendLimiter::add_recipient_redis(Reservation& r, int64_t now) {
  uint32_t limit = limits().mailbox_recipients;
  // All of a message's recipients go into one bucket (see below).
  int64_t bucket = r.redis_recipients_ == 0 || now - r.redis_rcpt_minute_ >= 60 ? now : r.redis_rcpt_minute_;
  auto reply = redis_->command({"EVAL", kCountScript, "0", std::to_string(now), std::to_string(bucket),
                                redis_->key("send:r:" + r.mailbox_ + ":"), std::to_string(limit),
                                std::to_string(static_cast<int>(Level::MailboxRecipients))});
  if (!reply || reply->type != state::RedisReply::Type::Integer) return std::nullopt;
  if (reply->integer != 0) return Refusal{Level::MailboxRecipients, limit};
  if (bucket != r.redis_rcpt_minute_) r.redis_recipients_ = 0;
  r.redis_rcpt_minute_ = bucket;
  ++r.redis_recipients_;
  return Refusal{};
}

bool SendLimiter::add_recipient(Reservation& r, Refusal& refusal) {
  refusal = {};
  if (!r || r.mailbox_.empty()) return true;
  if (redis_) {
    if (auto counted = add_recipient_redis(r, wall_minute())) {
      refusal = *counted;
      return refusal.level == Level::None;
    }
    redis_->count_fallback();
  }
  int64_t now = now_minute();
  std::lock_guard lock(mu_);
  Window& w = recipients_[r.mailbox_];
  w.advance(now);
  if (limits_.mailbox_recipients != 0 && w.total >= limits_.mailbox_recipients) {
    refusal = {Level::MailboxRecipients, limits_.mailbox_recipients};
    return false;
  }
  // All of a message's recipients go into one bucket, so release() finds
  // them; a transaction older than the window starts a new one (the old
  // counts have expired anyway).
  if (r.recipients_ == 0 || now - r.rcpt_minute_ >= 60) {
    r.recipients_ = 0;
    r.rcpt_minute_ = now;
  }
  ++w.buckets[static_cast<std::size_t>(r.rcpt_minute_ % 60)];
  ++w.total;
  ++r.recipients_;
  return true;
}

void SendLimiter::prune(int64_t now) {
  if (now == last_prune_) return;
  last_prune_ = now;
  for (auto* map : {&domains_, &mailboxes_, &recipients_}) {
    for (auto it = map->begin(); it != map->end();) {
      it->second.advance(now);
      if (it->second.total == 0) {
        it = map->erase(it);
      } else {
        ++it;
      }
    }
  }
}

void SendLimiter::set_limits(Limits limits) {
  std::lock_guard lock(mu_);
  limits_ = limits;
}

SendLimiter::Limits SendLimiter::limits() const {
  std::lock_guard lock(mu_);
  return limits_;
}

uint32_t SendLimiter::count_of(std::unordered_map<std::string, Window>& map, const std::string& key,
                               int64_t now) {
  auto it = map.find(key);
  if (it == map.end()) return 0;
  it->second.advance(now);
  return it->second.total;
}

uint32_t SendLimiter::redis_count(const std::string& prefix) {
  int64_t now = wall_minute();
  std::vector<std::string> mget{"MGET"};
  for (int64_t m = now - 59; m <= now; ++m) mget.push_back(redis_->key(prefix + std::to_string(m)));
  auto r = redis_->command(mget);
  if (!r) return 0;
  uint32_t total = 0;
  for (const auto& e : r->elements)
    total += static_cast<uint32_t>(std::max<long long>(0, std::atoll(e.str.c_str())));
  return total;
}

uint32_t SendLimiter::server_count() {
  if (redis_ && redis_->available()) return redis_count("send:s:");
  int64_t now = now_minute();
  std::lock_guard lock(mu_);
  server_.advance(now);
  return server_.total;
}

uint32_t SendLimiter::domain_count(const std::string& domain) {
  if (redis_ && redis_->available()) return redis_count("send:d:" + domain + ":");
  int64_t now = now_minute();
  std::lock_guard lock(mu_);
  return count_of(domains_, domain, now);
}

uint32_t SendLimiter::mailbox_count(const std::string& mailbox) {
  if (redis_ && redis_->available()) return redis_count("send:m:" + mailbox + ":");
  int64_t now = now_minute();
  std::lock_guard lock(mu_);
  return count_of(mailboxes_, mailbox, now);
}

uint32_t SendLimiter::recipient_count(const std::string& mailbox) {
  if (redis_ && redis_->available()) return redis_count("send:r:" + mailbox + ":");
  int64_t now = now_minute();
  std::lock_guard lock(mu_);
  return count_of(recipients_, mailbox, now);
}

std::size_t SendLimiter::active_keys() const {
  std::lock_guard lock(mu_);
  return domains_.size() + mailboxes_.size() + recipients_.size();
}

}  // namespace mailfort::policy
