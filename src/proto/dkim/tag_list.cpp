#include "proto/dkim/tag_list.h"

namespace mailfort::proto::dkim {
namespace {

bool fws(char c) {
  return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}
bool alpha(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}
bool digit(char c) {
  return c >= '0' && c <= '9';
}
// VALCHAR is %x21-3A / %x3C-7E; octets above 0x7E are let through because
// real signers put UTF-8 into z= and i= and the tags that matter are
// checked by their own grammar afterwards.
bool value_char(char c) {
  auto u = static_cast<unsigned char>(c);
  return u >= 0x21 && u != ';' && u != 0x7F;
}

std::string_view trim(std::string_view s) {
  std::size_t b = 0;
  std::size_t e = s.size();
  while (b < e && fws(s[b])) ++b;
  while (e > b && fws(s[e - 1])) --e;
  return s.substr(b, e - b);
}

bool set_error(std::string* error, const char* msg) {
  if (error) *error = msg;
  return false;
}

}  // namespace

const Tag* TagList::find(std::string_view name) const {
  for (const auto& t : tags)
    if (t.name == name) return &t;
  return nullptr;
}

std::optional<TagList> parse_tag_list(std::string_view in, std::string* error) {
  TagList out;
  std::size_t pos = 0;
  while (true) {
    std::size_t end = in.find(';', pos);
    bool last = end == std::string_view::npos;
    if (last) end = in.size();
    std::string_view spec = in.substr(pos, end - pos);
    std::string_view trimmed = trim(spec);
    if (trimmed.empty()) {
      // Only after the final ';' (or for an entirely empty list).
      if (!last) return set_error(error, "empty tag"), std::nullopt;
      return out;
    }
    auto eq = spec.find('=');
    if (eq == std::string_view::npos) return set_error(error, "tag without '='"), std::nullopt;
    std::string_view name = trim(spec.substr(0, eq));
    if (name.empty() || !alpha(name[0])) return set_error(error, "bad tag name"), std::nullopt;
    for (char c : name)
      if (!alpha(c) && !digit(c) && c != '_') return set_error(error, "bad tag name"), std::nullopt;
    std::string_view raw_value = spec.substr(eq + 1);
    std::string_view value = trim(raw_value);
    for (char c : value)
      if (!value_char(c) && !fws(c)) return set_error(error, "bad character in tag value"), std::nullopt;
    if (out.find(name)) return set_error(error, "duplicate tag"), std::nullopt;
    if (out.tags.size() >= kMaxTags) return set_error(error, "too many tags"), std::nullopt;
    std::size_t vb = pos + eq + 1;
    out.tags.push_back({name, value, vb, end});
    if (last) return out;
    pos = end + 1;
  }
}

std::string strip_fws(std::string_view value) {
  std::string out;
  out.reserve(value.size());
  for (char c : value)
    if (!fws(c)) out.push_back(c);
  return out;
}

std::vector<std::string_view> split_colon_list(std::string_view value) {
  std::vector<std::string_view> out;
  std::size_t pos = 0;
  while (true) {
    auto c = value.find(':', pos);
    if (c == std::string_view::npos) {
      out.push_back(trim(value.substr(pos)));
      return out;
    }
    out.push_back(trim(value.substr(pos, c - pos)));
    pos = c + 1;
  }
}

}  // namespace mailfort::proto::dkim
