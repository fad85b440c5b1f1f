// Durable Sieve state in <data_dir>/sieve-state.sqlite (WAL): vacation's
// "one reply per sender per period" (RFC 5230 4.2) and the duplicate
// extension's seen ids (RFC 7352), per account, expired as they age out.
// Survives restarts. Blocking: call on the worker pool. Thread-safe.
#pragma once
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>

#include "base/result.h"

namespace mailfort::sqlite {
class Database;
}

namespace mailfort::sieve {

class SieveState {
 public:
  static Result<std::unique_ptr<SieveState>> open(const std::string& path);
  ~SieveState();

  // Vacation: true when `user` should reply to `sender` now for `handle`
  // (no reply within `period_seconds`), and then the reply is recorded as
  // sent at `now` in the same transaction; false when one was sent within
  // the period. Addresses are compared case-insensitively.
  Result<bool> vacation_claim(const std::string& user, const std::string& handle, const std::string& sender,
                              uint64_t period_seconds, int64_t now);

  // Duplicate: was `id` recorded for `user` and is it still within the
  // period it was recorded with (relative to `now`)?
  Result<bool> duplicate_seen(const std::string& user, const std::string& id, uint64_t seconds, int64_t now);
  Result<void> duplicate_mark(const std::string& user, const std::string& id, uint64_t seconds, int64_t now);

  // Removes entries older than their period (called now and then).
  void expire(int64_t now);

 private:
  SieveState() = default;
  std::mutex mu_;
  std::unique_ptr<sqlite::Database> db_;
};

}  // namespace mailfort::sieve
