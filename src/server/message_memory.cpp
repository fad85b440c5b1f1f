#include "server/message_memory.h"

#include <algorithm>

namespace mailfort::server {

namespace {

void subtract(std::unordered_map<std::string, uint64_t>& m, const std::string& key, uint64_t n) {
  auto it = m.find(key);
  if (it == m.end()) return;
  it->second -= std::min(it->second, n);
  if (it->second == 0) m.erase(it);  // idle keys take no memory
}

uint64_t value_of(const std::unordered_map<std::string, uint64_t>& m, const std::string& key) {
  auto it = m.find(key);
  return it == m.end() ? 0 : it->second;
}

}  // namespace

bool MessageMemory::Reservation::cover(uint64_t size) {
  if (size <= held_) return true;
  if (!memory_->grow(*this, size - held_)) return false;
  held_ = size;
  return true;
}

void MessageMemory::Reservation::shrink_to(uint64_t size) {
  if (size >= held_) return;
  memory_->shrink(*this, held_ - size);
  held_ = size;
}

bool MessageMemory::grow(Reservation& r, uint64_t n) {
  std::lock_guard lock(mu_);
  if (total_ + n > r.total_cap_) return false;
  if (r.imap_) {
    if (imap_total_ + n > r.caps_.total) return false;
    if (value_of(by_user_, r.user_) + n > r.caps_.per_user) return false;
    if (value_of(by_ip_, r.ip_) + n > r.caps_.per_ip) return false;
    imap_total_ += n;
    by_user_[r.user_] += n;
    by_ip_[r.ip_] += n;
  }
  total_ += n;
  return true;
}

void MessageMemory::shrink(Reservation& r, uint64_t n) {
  std::lock_guard lock(mu_);
  total_ -= std::min(total_, n);
  if (r.imap_) {
    imap_total_ -= std::min(imap_total_, n);
    subtract(by_user_, r.user_, n);
    subtract(by_ip_, r.ip_, n);
  }
}

}  // namespace mailfort::server
