// PLACEHOLDER (helper i13-history replaces this file).
#include "filter/history.h"

namespace mailfort::filter {
Result<std::unique_ptr<ScanHistory>> open_scan_history(const std::string&) {
  return Error{Errc::Perm, "scan history: not built yet"};
}
}  // namespace mailfort::filter
