#include "auth/arc_sets.h"

#include "base/text.h"
#include "proto/arc/arc_header.h"

namespace mailfort::auth {
namespace {

constexpr std::size_t kMaxArcFields = 3 * proto::arc::kMaxInstance;

}  // namespace

std::string_view bare_name(const dkim::HeaderField& f) {
  std::string_view n = f.name;
  while (!n.empty() && (n.back() == ' ' || n.back() == '\t')) n.remove_suffix(1);
  return n;
}

bool is_arc_field(const dkim::HeaderField& f) {
  std::string_view n = bare_name(f);
  return iequals(n, "ARC-Seal") || iequals(n, "ARC-Message-Signature") ||
         iequals(n, "ARC-Authentication-Results");
}

ArcSets collect_arc_sets(const std::vector<dkim::HeaderField>& fields) {
  ArcSets out;
  out.sets.resize(proto::arc::kMaxInstance);
  std::size_t seen = 0;
  auto note = [&out](std::string e) {
    if (out.error.empty()) out.error = std::move(e);
  };
  for (const auto& f : fields) {
    if (!is_arc_field(f)) continue;
    out.any = true;
    if (++seen > kMaxArcFields) {
      note("more than " + std::to_string(kMaxArcFields) + " ARC header fields");
      break;
    }
    std::string_view name = bare_name(f);
    auto i = proto::arc::instance_of(name, f.value);
    if (!i) {
      note(std::string(name) + " is malformed or has no i= in 1..50");
      continue;
    }
    ArcSetFields& set = out.sets[static_cast<std::size_t>(*i - 1)];
    const dkim::HeaderField** slot = iequals(name, "ARC-Seal")                ? &set.seal
                                     : iequals(name, "ARC-Message-Signature") ? &set.signature
                                                                              : &set.results;
    if (*slot) {
      note("two " + std::string(name) + " fields with i=" + std::to_string(*i));
      continue;
    }
    *slot = &f;
    if (*i > out.newest) out.newest = *i;
  }
  out.sets.resize(static_cast<std::size_t>(out.newest));
  for (int i = 1; i <= out.newest; ++i) {
    const ArcSetFields& s = out.sets[static_cast<std::size_t>(i - 1)];
    if (!s.results || !s.signature || !s.seal) note("ARC set i=" + std::to_string(i) + " is incomplete");
  }
  return out;
}

std::string signed_fields_input(const std::vector<dkim::HeaderField>& fields,
                                const std::vector<std::string>& names, bool relaxed) {
  std::string data;
  std::vector<bool> used(fields.size(), false);
  for (const auto& name : names) {
    for (std::size_t j = fields.size(); j-- > 0;) {
      if (used[j] || !iequals(bare_name(fields[j]), name)) continue;
      used[j] = true;
      data += relaxed ? dkim::relaxed_header(fields[j].name, fields[j].value)
                      : dkim::simple_header(fields[j].name, fields[j].value);
      data += "\r\n";
      break;
    }
  }
  return data;
}

}  // namespace mailfort::auth
