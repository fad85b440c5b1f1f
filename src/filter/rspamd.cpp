// PLACEHOLDER (helper i13-rspamd replaces this file).
#include "filter/rspamd.h"

namespace mailfort::filter {
std::unique_ptr<SpamEngine> make_rspamd_engine(const config::Spam&) {
  return nullptr;
}
}  // namespace mailfort::filter
