// SessionRegistry: the live connections, so a graceful stop can close them
// and a new ban can close its client's sessions that have not logged in.
#pragma once
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>

namespace mailfort::server {

class Connection;

class SessionRegistry {
 public:
  void add(const std::shared_ptr<Connection>& c);
  void remove(uint64_t id);
  // Asks every live connection to close (on its own executor).
  void close_all();
  // Closes every live connection whose peer address `same_client` accepts
  // and that has not authenticated, except `except` (the session that is
  // answering the failure itself); returns how many. Thread-safe.
  // Authenticated sessions stay: the ban is on guessing, and a colleague
  // behind the same NAT who mistyped must not end the sessions of users
  // who logged in correctly.
  std::size_t close_unauthenticated(const std::function<bool(const std::string& ip)>& same_client,
                                    uint64_t except);
  std::size_t size() const;

 private:
  mutable std::mutex mu_;
  std::unordered_map<uint64_t, std::weak_ptr<Connection>> live_;
};

}  // namespace mailfort::server
