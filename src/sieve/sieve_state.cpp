// PLACEHOLDER: replaced by the delivery helper.
#include "sieve/sieve_state.h"

#include "base/sqlite.h"

namespace mailfort::sieve {

Result<std::unique_ptr<SieveState>> SieveState::open(const std::string& path) {
  return std::unique_ptr<SieveState>(new SieveState());
}
SieveState::~SieveState() = default;
Result<bool> SieveState::vacation_claim(const std::string& user, const std::string& handle,
                                        const std::string& sender, uint64_t period_seconds, int64_t now) {
  return true;
}
Result<bool> SieveState::duplicate_seen(const std::string& user, const std::string& id, uint64_t seconds,
                                        int64_t now) {
  return false;
}
Result<void> SieveState::duplicate_mark(const std::string& user, const std::string& id, uint64_t seconds,
                                        int64_t now) {
  return {};
}
void SieveState::expire(int64_t now) {}

}  // namespace mailfort::sieve
