#include "directory/auth_cache.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>

#include <stdexcept>

namespace mailfort::directory {

AuthCache::AuthCache() {
  if (RAND_bytes(key_.data(), static_cast<int>(key_.size())) != 1)
    throw std::runtime_error("auth cache: no random key");
}

void AuthCache::configure(std::chrono::seconds ttl, std::size_t max_entries) {
  std::lock_guard lock(mu_);
  ttl_ = ttl;
  max_entries_ = max_entries;
  if (ttl_.count() == 0) max_entries_ = 0;
  while (entries_.size() > max_entries_) {
    entries_.erase(lru_.back());
    lru_.pop_back();
  }
}

AuthCache::Digest AuthCache::mac_of(std::string_view password) const {
  Digest d{};
  unsigned int len = 0;
  HMAC(EVP_sha256(), key_.data(), static_cast<int>(key_.size()),
       reinterpret_cast<const unsigned char*>(password.data()), password.size(), d.data(), &len);
  return d;
}

bool AuthCache::matches(std::string_view stored_hash, std::string_view password, Clock::time_point now) {
  Digest mac = mac_of(password);
  std::lock_guard lock(mu_);
  auto it = entries_.find(std::string(stored_hash));
  if (it == entries_.end()) return false;
  if (it->second.expires <= now) {
    lru_.erase(it->second.lru);
    entries_.erase(it);
    return false;
  }
  if (CRYPTO_memcmp(mac.data(), it->second.mac.data(), mac.size()) != 0) return false;
  lru_.splice(lru_.begin(), lru_, it->second.lru);
  return true;
}

void AuthCache::remember(std::string_view stored_hash, std::string_view password, Clock::time_point now) {
  Digest mac = mac_of(password);
  std::lock_guard lock(mu_);
  if (max_entries_ == 0 || stored_hash.empty()) return;
  std::string key(stored_hash);
  auto it = entries_.find(key);
  if (it != entries_.end()) {
    it->second.mac = mac;
    it->second.expires = now + ttl_;
    lru_.splice(lru_.begin(), lru_, it->second.lru);
    return;
  }
  if (entries_.size() >= max_entries_) {
    entries_.erase(lru_.back());
    lru_.pop_back();
  }
  lru_.push_front(key);
  entries_.emplace(std::move(key), Entry{mac, now + ttl_, lru_.begin()});
}

std::size_t AuthCache::size() const {
  std::lock_guard lock(mu_);
  return entries_.size();
}

}  // namespace mailfort::directory
