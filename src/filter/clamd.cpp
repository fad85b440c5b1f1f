// PLACEHOLDER (helper i13-clamav replaces this file).
#include "filter/clamd.h"

namespace mailfort::filter {
std::unique_ptr<Antivirus> make_clamd_antivirus(const config::Antivirus&) {
  return nullptr;
}
}  // namespace mailfort::filter
