#include "policy/connection_limiter.h"

#include "policy/client_key.h"

namespace mailfort::policy {

ConnectionLimiter::Guard& ConnectionLimiter::Guard::operator=(Guard&& other) noexcept {
  if (this != &other) {
    if (owner_) owner_->release(ip_);
    owner_ = std::move(other.owner_);
    ip_ = std::move(other.ip_);
  }
  return *this;
}

ConnectionLimiter::Guard::~Guard() {
  if (owner_) owner_->release(ip_);
}

ConnectionLimiter::Guard ConnectionLimiter::acquire(const std::string& peer, Refusal& refusal) {
  std::lock_guard lock(mu_);
  const std::string ip = client_key(peer, limits_.ipv6_prefix_length);
  refusal = Refusal::None;
  if (total_ >= limits_.total) {
    refusal = Refusal::Total;
    return Guard();
  }
  uint32_t& n = per_ip_[ip];
  if (n >= limits_.per_ip) {
    if (n == 0) per_ip_.erase(ip);
    refusal = Refusal::PerIp;
    return Guard();
  }
  ++n;
  ++total_;
  return Guard(shared_from_this(), ip);
}

void ConnectionLimiter::release(const std::string& ip) {
  std::lock_guard lock(mu_);
  auto it = per_ip_.find(ip);
  if (it != per_ip_.end() && --it->second == 0) per_ip_.erase(it);
  if (total_ > 0) --total_;
}

void ConnectionLimiter::set_limits(Limits limits) {
  std::lock_guard lock(mu_);
  limits_ = limits;
}

uint32_t ConnectionLimiter::total() const {
  std::lock_guard lock(mu_);
  return total_;
}

uint32_t ConnectionLimiter::count(const std::string& peer) const {
  std::lock_guard lock(mu_);
  auto it = per_ip_.find(client_key(peer, limits_.ipv6_prefix_length));
  return it == per_ip_.end() ? 0 : it->second;
}

}  // namespace mailfort::policy
