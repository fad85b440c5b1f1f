#include "proto/mail/header.h"

#include "base/text.h"

#include <ctime>

namespace mailfort::proto::mail {
namespace {

bool is_ftext(unsigned char c) {
  return c >= 33 && c <= 126 && c != ':';
}

}  // namespace

HeaderBlock parse_header_block(std::string_view m, std::size_t max_fields) {
  HeaderBlock h;
  std::size_t pos = 0;
  while (pos < m.size()) {
    std::size_t eol = m.find("\r\n", pos);
    std::size_t next = eol == std::string_view::npos ? m.size() : eol + 2;
    std::string_view line = m.substr(pos, (eol == std::string_view::npos ? m.size() : eol) - pos);
    if (line.empty()) {
      h.body_offset = next;
      return h;
    }
    if (line[0] == ' ' || line[0] == '\t') {
      if (!h.fields.empty())
        h.fields.back().end = next;
      else
        h.malformed = true;
    } else {
      std::size_t colon = 0;
      while (colon < line.size() && is_ftext(static_cast<unsigned char>(line[colon]))) ++colon;
      if (colon == 0 || colon >= line.size() || line[colon] != ':') {
        // Not a field: RFC 5322 says the header ended; treat the rest as body.
        h.malformed = true;
        h.body_offset = pos;
        return h;
      }
      if (h.fields.size() >= max_fields) {
        h.malformed = true;
        h.body_offset = pos;
        return h;
      }
      h.fields.push_back(HeaderField{line.substr(0, colon), pos, next});
    }
    pos = next;
  }
  h.body_offset = m.size();
  return h;
}

bool has_field(const HeaderBlock& h, std::string_view name) {
  for (const auto& f : h.fields)
    if (iequals(f.name, name)) return true;
  return false;
}

std::string rewrite_header(std::string_view m, const HeaderBlock& h,
                           const std::vector<std::string_view>& drop, std::string_view prefix,
                           std::string_view append_to_header) {
  std::string out;
  out.reserve(m.size() + prefix.size() + append_to_header.size());
  out.append(prefix);
  std::size_t header_end = h.fields.empty() ? 0 : h.fields.back().end;
  for (const auto& f : h.fields) {
    bool dropped = false;
    for (auto d : drop)
      if (iequals(f.name, d)) dropped = true;
    if (!dropped) out.append(m.substr(f.begin, f.end - f.begin));
  }
  out.append(append_to_header);
  out.append(m.substr(header_end));
  return out;
}

std::string rfc5322_date(long t) {
  std::time_t tt = t;
  std::tm tm{};
  gmtime_r(&tt, &tm);
  char buf[64];
  std::strftime(buf, sizeof buf, "%a, %d %b %Y %H:%M:%S +0000", &tm);
  return buf;
}

bool hidden_field_after(std::string_view rest, const std::vector<std::string_view>& names) {
  while (!rest.empty()) {
    std::size_t eol = rest.find("\r\n");
    std::string_view line = rest.substr(0, eol);
    if (line.empty()) return false;
    std::size_t i = 0;
    while (i < line.size() && line[i] > 32 && line[i] < 127 && line[i] != ':') ++i;
    std::string_view name = line.substr(0, i);
    while (i < line.size() && (line[i] == ' ' || line[i] == '\t')) ++i;
    if (i < line.size() && line[i] == ':') {
      for (auto n : names)
        if (iequals(name, n)) return true;
    }
    if (eol == std::string_view::npos) return false;
    rest.remove_prefix(eol + 2);
  }
  return false;
}

}  // namespace mailfort::proto::mail
