#include "outbound/delivery_schedule.h"

#include <algorithm>

namespace mailfort::outbound {

void DueSchedule::set(const std::string& id, int64_t due) {
  auto it = due_.find(id);
  if (it != due_.end()) {
    order_.erase({it->second, id});
    it->second = due;
  } else {
    due_.emplace(id, due);
  }
  order_.insert({due, id});
}

bool DueSchedule::erase(const std::string& id) {
  auto it = due_.find(id);
  if (it == due_.end()) return false;
  order_.erase({it->second, id});
  due_.erase(it);
  return true;
}

std::optional<int64_t> DueSchedule::next_due() const {
  if (order_.empty()) return std::nullopt;
  return order_.begin()->first;
}

std::vector<std::string> DueSchedule::take_due(int64_t now, std::size_t max) {
  std::vector<std::string> out;
  while (!order_.empty() && out.size() < max && order_.begin()->first <= now) {
    out.push_back(order_.begin()->second);
    due_.erase(order_.begin()->second);
    order_.erase(order_.begin());
  }
  return out;
}

void DueSchedule::make_all_due(int64_t now) {
  std::set<std::pair<int64_t, std::string>> next;
  for (auto& [id, due] : due_) {
    due = std::min(due, now);
    next.insert({due, id});
  }
  order_.swap(next);
}

std::vector<std::string> DueSchedule::ids() const {
  std::vector<std::string> out;
  out.reserve(due_.size());
  for (auto& [id, due] : due_) out.push_back(id);
  return out;
}

bool ConnectionSlots::can_open(const std::string& dest, uint32_t per_destination, uint32_t total) const {
  return total_ < total && count(dest) < per_destination;
}

void ConnectionSlots::open(const std::string& dest) {
  ++per_dest_[dest];
  ++total_;
}

void ConnectionSlots::close(const std::string& dest) {
  auto it = per_dest_.find(dest);
  if (it == per_dest_.end()) return;
  if (--it->second == 0) per_dest_.erase(it);
  --total_;
}

uint32_t ConnectionSlots::count(const std::string& dest) const {
  auto it = per_dest_.find(dest);
  return it == per_dest_.end() ? 0 : it->second;
}

int64_t next_attempt_time(int64_t now, int64_t arrival, uint32_t attempts, uint32_t minimal_backoff,
                          uint32_t maximal_backoff, uint32_t lifetime) {
  uint64_t backoff = minimal_backoff;
  for (uint32_t a = 1; a < attempts && backoff < maximal_backoff; ++a) backoff *= 2;
  backoff = std::min<uint64_t>(backoff, maximal_backoff);
  return std::min<int64_t>(now + static_cast<int64_t>(backoff), arrival + lifetime);
}

}  // namespace mailfort::outbound
