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

std::size_t SessionRegistry::size() const {
  std::lock_guard lock(mu_);
  return live_.size();
}

}  // namespace mailfort::server
