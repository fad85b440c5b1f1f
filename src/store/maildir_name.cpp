#include "store/maildir_name.h"

#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdint>

namespace mailfort::store {

std::string maildir_host(std::string_view hostname) {
  std::string h(hostname);
  for (char& c : h)
    if (c == '/' || c == ':') c = '_';
  return h;
}

std::string maildir_unique_name(std::string_view host, std::size_t size) {
  static std::atomic<uint64_t> seq{0};
  uint64_t q = seq.fetch_add(1, std::memory_order_relaxed) + 1;
  auto us = std::chrono::duration_cast<std::chrono::microseconds>(
                std::chrono::system_clock::now().time_since_epoch())
                .count();
  std::string name = std::to_string(us / 1000000) + ".M" + std::to_string(us % 1000000) + "P" +
                     std::to_string(::getpid()) + "Q" + std::to_string(q) + ".";
  name += host;
  name += ",S=" + std::to_string(size);
  return name;
}

}  // namespace mailfort::store
