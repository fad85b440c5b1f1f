// Our spam headers in Rspamd's milter_headers format (so Sieve scripts and
// mail clients written for Rspamd keep working) and the removal of the same
// fields arriving from outside. Options come from message content (URL
// hosts, rule options): they are cleaned of controls and bounded so a
// header line never exceeds 998 bytes.
#include "filter/spam_headers.h"

#include <cmath>
#include <cstdio>

#include "base/text.h"

namespace mailfort::filter {
namespace {

constexpr std::size_t kMaxOptionsPerSymbol = 10;
constexpr std::size_t kMaxOptionBytes = 64;
constexpr std::size_t kMaxBar = 50;

std::string two_decimals(double v) {
  if (!std::isfinite(v)) v = 0;
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.2f", v);
  std::string s = buf;
  if (s == "-0.00") s = "0.00";
  return s;
}

// Printable ASCII only; brackets and separators that would end the option
// list early become '?'.
std::string clean_option(std::string_view o) {
  std::string out;
  for (char c : o.substr(0, kMaxOptionBytes)) {
    auto u = static_cast<unsigned char>(c);
    bool bad = u < 0x20 || u >= 0x7f || c == '[' || c == ']' || c == ';';
    out += bad ? '?' : c;
  }
  return out;
}

std::string symbol_text(const Symbol& s) {
  std::string out = clean_option(s.name);
  out += "(" + two_decimals(s.score) + ")[";
  for (std::size_t i = 0; i < s.options.size() && i < kMaxOptionsPerSymbol; ++i) {
    if (i) out += ',';
    out += clean_option(s.options[i]);
  }
  if (s.options.size() > kMaxOptionsPerSymbol) out += ",...";
  out += ']';
  return out;
}

}  // namespace

std::string spamd_bar(double score) {
  if (!std::isfinite(score)) return "/";
  if (score >= 1)
    return std::string(std::min<std::size_t>(kMaxBar, static_cast<std::size_t>(std::floor(score))), '+');
  if (score <= -1)
    return std::string(std::min<std::size_t>(kMaxBar, static_cast<std::size_t>(std::floor(-score))), '-');
  return "/";
}

std::string spam_header_fields(const ScanResult& r) {
  const bool spam = r.is_spam();
  std::string out = "X-Spamd-Result: default: ";
  out += spam ? "True" : "False";
  out += " [" + two_decimals(r.score) + " / " + two_decimals(r.required_score) + "]";
  for (const auto& s : r.symbols) out += ";\r\n\t" + symbol_text(s);
  out += "\r\n";
  out += "X-Spamd-Bar: " + spamd_bar(r.score) + "\r\n";
  // Rspamd writes X-Spam-Level for positive scores, one '*' per whole point;
  // below one point that would be an empty field, which we leave out.
  if (std::isfinite(r.score) && r.score >= 1) {
    out += "X-Spam-Level: " +
           std::string(std::min<std::size_t>(kMaxBar, static_cast<std::size_t>(std::floor(r.score))), '*') +
           "\r\n";
  }
  if (spam) out += "X-Spam-Flag: YES\r\nX-Spam: Yes\r\n";
  out += std::string("X-Spam-Status: ") + (spam ? "Yes" : "No") + ", score=" + two_decimals(r.score) + "\r\n";
  return out;
}

const std::vector<std::string>& spam_header_names() {
  static const std::vector<std::string> names = {
      "x-spamd-result", "x-spamd-bar",  "x-spam-level",    "x-spam-flag",          "x-spam",
      "x-spam-status",  "x-spam-score", "x-virus-scanned", "x-mailfort-virus-scan"};
  return names;
}

// One walk over the header lines up to the first empty line. A field is
// "name:" or, as RFC 5322's obs-optional allows and some readers accept,
// "name WSP :"; its folded continuation lines go with it. Lines that are
// neither are kept and the walk goes on, so a field hidden after a broken
// line is still removed.
std::string strip_spam_headers(std::string_view m) {
  const auto& names = spam_header_names();
  std::string out;
  out.reserve(m.size());
  std::size_t pos = 0;
  bool dropping = false;
  while (pos < m.size()) {
    std::size_t nl = m.find('\n', pos);
    std::size_t next = nl == std::string_view::npos ? m.size() : nl + 1;
    std::string_view line = m.substr(pos, next - pos);
    std::string_view content = line;
    while (!content.empty() && (content.back() == '\n' || content.back() == '\r')) content.remove_suffix(1);
    if (content.empty()) break;  // end of the header: the rest is copied as is
    if (content[0] == ' ' || content[0] == '\t') {
      if (!dropping) out.append(line);
      pos = next;
      continue;
    }
    std::size_t i = 0;
    while (i < content.size() && content[i] > 32 && content[i] < 127 && content[i] != ':') ++i;
    std::string_view name = content.substr(0, i);
    while (i < content.size() && (content[i] == ' ' || content[i] == '\t')) ++i;
    dropping = false;
    if (i < content.size() && content[i] == ':') {
      for (const auto& n : names)
        if (iequals(name, n)) dropping = true;
    }
    if (!dropping) out.append(line);
    pos = next;
  }
  out.append(m.substr(pos));
  return out;
}

}  // namespace mailfort::filter
