// Connection caps shared by every listener: a total and a per-client
// maximum (a client is its IPv4 address or IPv6 network, see client_key.h). acquire() hands out a guard that
// releases its slot when destroyed. Thread-safe (I/O threads of every core share one limiter).
#pragma once
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>

namespace mailfort::policy {

class ConnectionLimiter : public std::enable_shared_from_this<ConnectionLimiter> {
 public:
  struct Limits {
    uint32_t total = 5000;
    uint32_t per_ip = 50;
    uint32_t ipv6_prefix_length = 64;
  };
  enum class Refusal { None, Total, PerIp };

  class Guard {
   public:
    Guard() = default;
    Guard(std::shared_ptr<ConnectionLimiter> owner, std::string ip)
        : owner_(std::move(owner)), ip_(std::move(ip)) {}
    Guard(Guard&&) noexcept = default;
    Guard& operator=(Guard&&) noexcept;
    ~Guard();
    explicit operator bool() const { return owner_ != nullptr; }

   private:
    std::shared_ptr<ConnectionLimiter> owner_;
    std::string ip_;
  };

  static std::shared_ptr<ConnectionLimiter> create(Limits limits) {
    return std::shared_ptr<ConnectionLimiter>(new ConnectionLimiter(limits));
  }
  // Empty guard and the reason when a cap is reached. `ip` is the peer's
  // address; the guard keeps the key it was counted under.
  Guard acquire(const std::string& ip, Refusal& refusal);
  void set_limits(Limits limits);  // live config reload
  uint32_t total() const;
  uint32_t count(const std::string& ip) const;

 private:
  explicit ConnectionLimiter(Limits limits) : limits_(limits) {}
  void release(const std::string& ip);
  mutable std::mutex mu_;
  Limits limits_;
  uint32_t total_ = 0;
  std::unordered_map<std::string, uint32_t> per_ip_;
};

}  // namespace mailfort::policy
