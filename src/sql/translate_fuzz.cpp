// libFuzzer target: translate() on the three dialects over arbitrary text
// (custom directory queries come from the configuration). It must never
// read out of bounds, and a translation must be consistent: as many
// placeholders in the text as names (for PostgreSQL each name once), and a
// text without ':' comes back unchanged.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <set>
#include <string>
#include <string_view>

#include "sql/sql.h"

using namespace mailfort::sql;

namespace {

void check(std::string_view in, Dialect d) {
  auto r = translate(in, d);
  if (!r) return;
  if (in.find(':') == std::string_view::npos && (r->text != in || !r->names.empty())) std::abort();
  for (const auto& n : r->names)
    if (n.empty()) std::abort();
  if (d == Dialect::PostgreSQL) {
    std::set<std::string> distinct(r->names.begin(), r->names.end());
    if (distinct.size() != r->names.size()) std::abort();
  }
  // '?' outside quotes is refused, so every '?' out is one the input
  // had inside quotes or comments, or a placeholder.
  if (d != Dialect::PostgreSQL) {
    std::size_t in_marks = 0, out_marks = 0;
    for (char c : in) in_marks += c == '?';
    for (char c : r->text) out_marks += c == '?';
    if (out_marks != in_marks + r->names.size()) std::abort();
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view in(reinterpret_cast<const char*>(data), size);
  check(in, Dialect::SQLite);
  check(in, Dialect::MySQL);
  check(in, Dialect::PostgreSQL);
  return 0;
}
