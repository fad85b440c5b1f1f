#include "policy/send_limiter.h"

#include <algorithm>
#include <utility>

namespace mailfort::policy {

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

SendLimiter::Reservation SendLimiter::acquire(const Request& request, Refusal& refusal) {
  refusal = {};
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

void SendLimiter::release(const Reservation& r) {
  int64_t now = now_minute();
  std::lock_guard lock(mu_);
  server_.remove(now, r.minute_);
  if (!r.domain_.empty()) {
    if (auto it = domains_.find(r.domain_); it != domains_.end()) it->second.remove(now, r.minute_);
  }
  if (!r.mailbox_.empty()) {
    if (auto it = mailboxes_.find(r.mailbox_); it != mailboxes_.end()) it->second.remove(now, r.minute_);
  }
  if (r.recipients_ > 0) {
    if (auto it = recipients_.find(r.mailbox_); it != recipients_.end())
      it->second.remove(now, r.rcpt_minute_, r.recipients_);
  }
}

bool SendLimiter::add_recipient(Reservation& r, Refusal& refusal) {
  refusal = {};
  if (!r || r.mailbox_.empty()) return true;
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

uint32_t SendLimiter::server_count() {
  int64_t now = now_minute();
  std::lock_guard lock(mu_);
  server_.advance(now);
  return server_.total;
}

uint32_t SendLimiter::domain_count(const std::string& domain) {
  int64_t now = now_minute();
  std::lock_guard lock(mu_);
  return count_of(domains_, domain, now);
}

uint32_t SendLimiter::mailbox_count(const std::string& mailbox) {
  int64_t now = now_minute();
  std::lock_guard lock(mu_);
  return count_of(mailboxes_, mailbox, now);
}

uint32_t SendLimiter::recipient_count(const std::string& mailbox) {
  int64_t now = now_minute();
  std::lock_guard lock(mu_);
  return count_of(recipients_, mailbox, now);
}

std::size_t SendLimiter::active_keys() const {
  std::lock_guard lock(mu_);
  return domains_.size() + mailboxes_.size() + recipients_.size();
}

}  // namespace mailfort::policy
