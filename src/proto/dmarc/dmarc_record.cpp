#include "proto/dmarc/dmarc_record.h"

#include <cctype>

namespace mailfort::proto::dmarc {
namespace {

bool is_wsp(char c) {
  return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && is_wsp(s.front())) s.remove_prefix(1);
  while (!s.empty() && is_wsp(s.back())) s.remove_suffix(1);
  return s;
}

std::string lower(std::string_view s) {
  std::string out(s);
  for (auto& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

std::optional<Policy> read_policy(std::string_view v) {
  std::string l = lower(v);
  if (l == "none") return Policy::None;
  if (l == "quarantine") return Policy::Quarantine;
  if (l == "reject") return Policy::Reject;
  return std::nullopt;
}

std::optional<Alignment> read_alignment(std::string_view v) {
  std::string l = lower(v);
  if (l == "r") return Alignment::Relaxed;
  if (l == "s") return Alignment::Strict;
  return std::nullopt;
}

// 1*DIGIT with at most `max_digits` digits.
std::optional<uint64_t> read_number(std::string_view v, std::size_t max_digits) {
  if (v.empty() || v.size() > max_digits) return std::nullopt;
  uint64_t n = 0;
  for (char c : v) {
    if (c < '0' || c > '9') return std::nullopt;
    n = n * 10 + static_cast<uint64_t>(c - '0');
  }
  return n;
}

// RFC 7489 6.2: dmarc-uri = URI [ "!" 1*DIGIT [ "k" / "m" / "g" / "t" ] ].
// The URI must have a scheme; ',' and '!' in it would have to be
// %-encoded, so they end it.
std::optional<ReportUri> read_uri(std::string_view item) {
  item = trim(item);
  ReportUri out;
  std::size_t bang = item.find('!');
  std::string_view uri = trim(item.substr(0, bang));
  if (bang != std::string_view::npos) {
    std::string_view size = trim(item.substr(bang + 1));
    uint64_t unit = 1;
    if (!size.empty()) {
      switch (std::tolower(static_cast<unsigned char>(size.back()))) {
        case 'k':
          unit = 1ull << 10;
          break;
        case 'm':
          unit = 1ull << 20;
          break;
        case 'g':
          unit = 1ull << 30;
          break;
        case 't':
          unit = 1ull << 40;
          break;
        default:
          break;
      }
      if (unit != 1) size.remove_suffix(1);
    }
    auto n = read_number(size, 12);
    if (!n || *n == 0) return std::nullopt;
    out.max_size = *n * unit;
  }
  std::size_t colon = uri.find(':');
  if (colon == std::string_view::npos || colon == 0 || colon + 1 == uri.size()) return std::nullopt;
  for (std::size_t i = 0; i < colon; ++i) {
    char c = uri[i];
    bool ok = std::isalpha(static_cast<unsigned char>(c)) ||
              (i > 0 && (std::isdigit(static_cast<unsigned char>(c)) || c == '+' || c == '-' || c == '.'));
    if (!ok) return std::nullopt;
  }
  for (char c : uri) {
    if (static_cast<unsigned char>(c) <= ' ' || c == 0x7f) return std::nullopt;
  }
  out.uri = std::string(uri);
  return out;
}

// A comma-separated URI list; invalid entries are skipped (RFC 7489 6.6.3
// keeps the valid ones). Empty when none is valid.
std::vector<ReportUri> read_uris(std::string_view v, std::size_t max_uris) {
  std::vector<ReportUri> out;
  while (!v.empty() && out.size() < max_uris) {
    std::size_t comma = v.find(',');
    if (auto u = read_uri(v.substr(0, comma))) out.push_back(std::move(*u));
    if (comma == std::string_view::npos) break;
    v.remove_prefix(comma + 1);
  }
  return out;
}

}  // namespace

bool looks_like_dmarc(std::string_view text) {
  text = trim(text);
  if (text.size() < 2 || (text[0] != 'v' && text[0] != 'V')) return false;
  text.remove_prefix(1);
  text = trim(text);
  if (text.empty() || text[0] != '=') return false;
  text = trim(text.substr(1));
  if (text.substr(0, 6) != "DMARC1") return false;
  text.remove_prefix(6);
  text = trim(text);
  return text.empty() || text[0] == ';';
}

ParsedRecord parse_record(std::string_view text, const RecordLimits& limits) {
  ParsedRecord out;
  if (text.size() > limits.max_record_bytes) {
    out.error = RecordError::TooLong;
    return out;
  }
  if (!looks_like_dmarc(text)) {
    out.error = RecordError::NotDmarc;
    return out;
  }
  Record& r = out.record;
  bool first = true;
  bool sp_seen = false, np_seen = false;
  while (!text.empty()) {
    std::size_t semi = text.find(';');
    std::string_view tag = text.substr(0, semi);
    text = semi == std::string_view::npos ? std::string_view() : text.substr(semi + 1);
    if (first) {  // v=DMARC1, checked above
      first = false;
      continue;
    }
    tag = trim(tag);
    if (tag.empty()) continue;
    std::size_t eq = tag.find('=');
    if (eq == std::string_view::npos) continue;  // not a tag: ignored like an unknown one
    std::string name = lower(trim(tag.substr(0, eq)));
    std::string_view value = trim(tag.substr(eq + 1));
    if (name == "p") {
      if (auto p = read_policy(value)) {
        r.p = *p;
        r.p_given = true;
      }
    } else if (name == "sp" && !sp_seen) {
      sp_seen = true;
      r.sp = read_policy(value);
    } else if (name == "np" && !np_seen) {
      np_seen = true;
      r.np = read_policy(value);
    } else if (name == "pct") {
      if (auto n = read_number(value, 3); n && *n <= 100) r.pct = static_cast<int>(*n);
    } else if (name == "adkim") {
      if (auto a = read_alignment(value)) r.adkim = *a;
    } else if (name == "aspf") {
      if (auto a = read_alignment(value)) r.aspf = *a;
    } else if (name == "rua") {
      r.rua = read_uris(value, limits.max_uris);
    } else if (name == "ruf") {
      r.ruf = read_uris(value, limits.max_uris);
    } else if (name == "fo") {
      if (!value.empty()) r.fo = std::string(value);
    } else if (name == "rf") {
      if (!value.empty()) r.rf = lower(value);
    } else if (name == "ri") {
      if (auto n = read_number(value, 10); n && *n <= UINT32_MAX) r.ri = static_cast<uint32_t>(*n);
    }
  }
  if (!r.p_given && r.rua.empty()) out.error = RecordError::NoPolicy;
  return out;
}

const char* policy_name(Policy p) {
  switch (p) {
    case Policy::None:
      return "none";
    case Policy::Quarantine:
      return "quarantine";
    case Policy::Reject:
      return "reject";
  }
  return "none";
}

const char* record_error_name(RecordError e) {
  switch (e) {
    case RecordError::None:
      return "ok";
    case RecordError::NotDmarc:
      return "not a DMARC record";
    case RecordError::NoPolicy:
      return "no valid p= tag";
    case RecordError::TooLong:
      return "record too long";
  }
  return "?";
}

}  // namespace mailfort::proto::dmarc
