#include "server/session_registry.h"

#include "server/connection.h"

namespace mailfort::server {

void SessionRegistry::add(const std::shared_ptr<Connection>& c) {
  std::lock_guard lock(mu_);
  live_[c->id()] = c;
}

void SessionRegistry::remove(uint64_t id) {
  std::lock_guard lock(mu_);
  live_.erase(id);
}

void SessionRegistry::close_all() {
  std::lock_guard lock(mu_);
  for (auto& [id, weak] : live_) {
    if (auto c = weak.lock()) c->abort();
  }
}

std::size_t SessionRegistry::close_unauthenticated(const std::function<bool(const std::string&)>& same_client,
                                                   uint64_t except) {
  std::lock_guard lock(mu_);
  std::size_t n = 0;
  for (auto& [id, weak] : live_) {
    if (id == except) continue;
    auto c = weak.lock();
    if (!c || c->authenticated() || !same_client(c->peer_ip())) continue;
    c->abort();
    ++n;
  }
  return n;
}

std::size_t SessionRegistry::size() const {
  std::lock_guard lock(mu_);
  return live_.size();
}

}  // namespace mailfort::server
