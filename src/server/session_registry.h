// SessionRegistry: the live connections, so a graceful stop can close them.
#pragma once
#include <cstdint>
#include <memory>
#include <mutex>
#include <unordered_map>

namespace mailfort::server {

class Connection;

class SessionRegistry {
 public:
  void add(const std::shared_ptr<Connection>& c);
  void remove(uint64_t id);
  // Asks every live connection to close (on its own executor).
  void close_all();
  std::size_t size() const;

 private:
  mutable std::mutex mu_;
  std::unordered_map<uint64_t, std::weak_ptr<Connection>> live_;
};

}  // namespace mailfort::server
