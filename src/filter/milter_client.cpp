// PLACEHOLDER (helper i13-milter replaces this file).
#include "filter/milter_client.h"

namespace mailfort::filter {
MilterOutcome run_milter(const config::Milter&, const MilterInput&) {
  MilterOutcome o;
  o.failed = true;
  o.error = "milter client not built yet";
  return o;
}
std::string apply_milter_changes(std::string_view message, const MilterOutcome&) {
  return std::string(message);
}
}  // namespace mailfort::filter
