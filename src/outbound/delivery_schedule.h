// Pure parts of the outbound scheduler (no I/O, unit-tested): the
// due-time ordered schedule of queued messages, connection slots per
// destination and in all, and the retry backoff.
#pragma once
#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

namespace mailfort::outbound {

// Queue ids ordered by their next attempt time; one entry per id.
class DueSchedule {
 public:
  void set(const std::string& id, int64_t due);  // insert or move
  bool erase(const std::string& id);
  bool contains(const std::string& id) const { return due_.count(id) != 0; }
  std::optional<int64_t> next_due() const;
  // Removes and returns up to `max` ids due at `now`, earliest first.
  std::vector<std::string> take_due(int64_t now, std::size_t max);
  void make_all_due(int64_t now);  // `queue flush`
  std::vector<std::string> ids() const;
  std::size_t size() const { return due_.size(); }

 private:
  std::set<std::pair<int64_t, std::string>> order_;
  std::unordered_map<std::string, int64_t> due_;
};

// Outbound connections, per destination and in all, against the caps of
// [delivery] max_connections_per_destination and max_connections.
class ConnectionSlots {
 public:
  bool can_open(const std::string& dest, uint32_t per_destination, uint32_t total) const;
  void open(const std::string& dest);
  void close(const std::string& dest);
  uint32_t count(const std::string& dest) const;
  uint32_t total() const { return total_; }

 private:
  std::map<std::string, uint32_t> per_dest_;
  uint32_t total_ = 0;
};

// Next attempt after `attempts` tries: minimal backoff doubling per attempt
// up to the maximal backoff, never later than the end of the lifetime (so
// the expiry bounce goes out on time).
int64_t next_attempt_time(int64_t now, int64_t arrival, uint32_t attempts, uint32_t minimal_backoff,
                          uint32_t maximal_backoff, uint32_t lifetime);

}  // namespace mailfort::outbound
