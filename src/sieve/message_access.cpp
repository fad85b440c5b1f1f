#include "sieve/message_access.h"

#include "proto/mail/address.h"
#include "proto/mime/mime.h"

#include <array>
#include <cstdio>

namespace mailfort::sieve {
namespace mime = proto::mime;
namespace mail = proto::mail;

namespace {

unsigned char lower(unsigned char c) {
  return c >= 'A' && c <= 'Z' ? static_cast<unsigned char>(c + 32) : c;
}

bool iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i)
    if (lower(static_cast<unsigned char>(a[i])) != lower(static_cast<unsigned char>(b[i]))) return false;
  return true;
}

std::string_view trim(std::string_view s) {
  auto blank = [](char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; };
  while (!s.empty() && blank(s.front())) s.remove_prefix(1);
  while (!s.empty() && blank(s.back())) s.remove_suffix(1);
  return s;
}

std::string_view param(const mime::Part& p, std::string_view name) {
  for (const mime::Param& x : p.params)
    if (iequals(x.name, name)) return x.value;
  return {};
}

// RFC 5173 5.2: "" matches every type, "text" a top-level type,
// "text/html" a type and subtype.
bool type_matches(const mime::Part& p, const std::vector<std::string>& types) {
  for (const std::string& t : types) {
    if (t.empty()) return true;
    std::size_t slash = t.find('/');
    if (slash == std::string::npos) {
      if (iequals(t, p.type)) return true;
    } else if (iequals(std::string_view(t).substr(0, slash), p.type) &&
               iequals(std::string_view(t).substr(slash + 1), p.subtype)) {
      return true;
    }
  }
  return false;
}

// A leaf part's body with its transfer encoding undone and, for text,
// converted to UTF-8 (unknown encodings and charsets stay as they are).
std::string decoded_body(std::string_view message, const mime::Part& p) {
  std::string_view raw = message.substr(p.body_begin, p.body_end - p.body_begin);
  std::string body = mime::decode_transfer(raw, p.encoding).value_or(std::string(raw));
  if (p.type == "text") {
    std::string_view charset = param(p, "charset");
    if (charset.empty()) charset = "us-ascii";
    if (auto utf8 = mime::charset_to_utf8(body, charset)) return std::move(*utf8);
  }
  return body;
}

// Offset just past the line starting at `pos` (LF or CRLF ended).
std::size_t next_line(std::string_view s, std::size_t pos) {
  std::size_t nl = s.find('\n', pos);
  return nl == std::string_view::npos ? s.size() : nl + 1;
}

// A multipart's preamble (before the first boundary line) and epilogue
// (after the closing one), the text RFC 5173 matches for multipart types.
std::string preamble_and_epilogue(std::string_view message, const mime::Part& p) {
  if (p.children.empty()) return std::string(message.substr(p.body_begin, p.body_end - p.body_begin));
  std::string out;
  std::string_view pre = message.substr(p.body_begin, p.children.front().header_begin - p.body_begin);
  // `pre` ends with the first boundary line.
  std::size_t cut = pre.rfind("--");
  while (cut != std::string_view::npos && cut > 0 && pre[cut - 1] != '\n') cut = pre.rfind("--", cut - 1);
  if (cut != std::string_view::npos) pre = pre.substr(0, cut);
  out += trim(pre);
  std::size_t after = p.children.back().body_end;
  if (after < p.body_end) {
    // The CRLF before the closing boundary, then the boundary line itself.
    std::size_t pos = after;
    if (message.substr(pos, 2) == "\r\n")
      pos += 2;
    else if (message.substr(pos, 1) == "\n")
      pos += 1;
    pos = next_line(message, pos);
    if (pos < p.body_end) {
      std::string_view epi = trim(message.substr(pos, p.body_end - pos));
      if (!epi.empty()) {
        if (!out.empty()) out += "\n";
        out += epi;
      }
    }
  }
  return out;
}

void collect(std::string_view message, const mime::Part& p, const std::vector<std::string>& types,
             std::vector<std::string>& out) {
  if (p.is_multipart()) {
    if (type_matches(p, types)) out.push_back(preamble_and_epilogue(message, p));
    for (const mime::Part& c : p.children) collect(message, c, types, out);
    return;
  }
  if (p.is_message_rfc822()) {
    // The embedded message's header is what message/rfc822 contributes; its
    // body's parts are looked at on their own.
    const mime::Part& inner = p.children.front();
    if (type_matches(p, types))
      out.push_back(mime::decode_header_value(
          message.substr(inner.header_begin, inner.body_begin - inner.header_begin)));
    collect(message, inner, types, out);
    return;
  }
  if (type_matches(p, types)) out.push_back(decoded_body(message, p));
}

}  // namespace

struct MessageAccess::Impl {
  mime::Part root;
  std::string_view header_block;
};

MessageAccess::MessageAccess(std::string_view message) : message_(message), impl_(new Impl) {
  mime::Limits limits;
  limits.max_depth = 16;  // RFC 5173 recursion; deeper containers are leaves
  limits.max_parts = 1000;
  impl_->root = mime::parse(message, limits);
  impl_->header_block = message.substr(0, impl_->root.body_begin);
}

MessageAccess::~MessageAccess() {
  delete impl_;
}

std::vector<std::string> MessageAccess::header(std::string_view name, bool decode) const {
  std::vector<std::string> out = mime::header_values(impl_->header_block, name);
  for (std::string& v : out) {
    std::string value = decode ? mime::decode_header_value(v) : v;
    v = std::string(trim(value));
  }
  return out;
}

bool MessageAccess::has_header(std::string_view name) const {
  return !mime::header_values(impl_->header_block, name).empty();
}

std::vector<std::string> MessageAccess::addresses(std::string_view name) const {
  std::vector<std::string> out;
  for (const std::string& raw : mime::header_values(impl_->header_block, name)) {
    mail::AddressList list = mail::parse_address_list(raw);
    if (!list.ok()) {
      // Not an address list we read (or one of the obsolete forms the
      // parser refuses): RFC 5228 2.7.4 lets us match the value as a string.
      std::string v(trim(mime::decode_header_value(raw)));
      if (!v.empty()) out.push_back(std::move(v));
      continue;
    }
    if (list.mailboxes.empty()) {
      // Only empty groups ("undisclosed-recipients:;"): Pigeonhole matches
      // the value as one address, so `:count` and `:all` agree with it.
      std::string v(trim(mime::decode_header_value(raw)));
      if (!v.empty()) out.push_back(std::move(v));
      continue;
    }
    for (const mail::HeaderMailbox& mb : list.mailboxes)
      out.push_back(mb.domain.empty() ? mb.local : mb.str());
  }
  return out;
}

std::string_view MessageAccess::body_raw() const {
  return message_.substr(impl_->root.body_begin);
}

std::vector<std::string> MessageAccess::body_content(const std::vector<std::string>& types) const {
  std::vector<std::string> out;
  collect(message_, impl_->root, types, out);
  return out;
}

std::vector<std::string> MessageAccess::body_text() const {
  return body_content({"text"});
}

std::optional<std::string> address_part(std::string_view address, AddressPart part,
                                        std::string_view separator) {
  if (part == AddressPart::All) return std::string(address);
  std::size_t at = address.rfind('@');
  std::string_view local = at == std::string_view::npos ? address : address.substr(0, at);
  switch (part) {
    case AddressPart::All:
      break;
    case AddressPart::LocalPart:
      return std::string(local);
    case AddressPart::Domain:
      if (at == std::string_view::npos) return std::nullopt;
      return std::string(address.substr(at + 1));
    case AddressPart::User:
    case AddressPart::Detail: {
      std::size_t sep = separator.empty() ? std::string_view::npos : local.find(separator);
      if (part == AddressPart::User) return std::string(local.substr(0, sep));
      if (sep == std::string_view::npos) return std::nullopt;
      return std::string(local.substr(sep + separator.size()));
    }
  }
  return std::string(address);
}

// ---- Dates (RFC 5322 3.3, RFC 5260) ----

namespace {

constexpr std::array<std::string_view, 12> kMonths = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                                      "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
constexpr std::array<std::string_view, 7> kDays = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};

// Howard Hinnant's days_from_civil / civil_from_days (proleptic Gregorian).
int64_t days_from_civil(int64_t y, unsigned m, unsigned d) {
  y -= m <= 2;
  const int64_t era = (y >= 0 ? y : y - 399) / 400;
  const unsigned yoe = static_cast<unsigned>(y - era * 400);
  const unsigned doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + static_cast<int64_t>(doe) - 719468;
}

struct Civil {
  int64_t y;
  unsigned m, d;
};
Civil civil_from_days(int64_t z) {
  z += 719468;
  const int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  const unsigned doe = static_cast<unsigned>(z - era * 146097);
  const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const unsigned mp = (5 * doy + 2) / 153;
  const unsigned d = doy - (153 * mp + 2) / 5 + 1;
  const unsigned m = mp < 10 ? mp + 3 : mp - 9;
  return {static_cast<int64_t>(yoe) + era * 400 + (m <= 2), m, d};
}

int64_t floor_div(int64_t a, int64_t b) {
  return a / b - ((a % b != 0) && ((a < 0) != (b < 0)));
}

bool leap(int64_t y) {
  return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}
unsigned month_days(int64_t y, unsigned m) {
  static constexpr unsigned kLen[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  return m == 2 && leap(y) ? 29 : kLen[m - 1];
}

// Tokens of a date-time: comments dropped, split on blanks, ',' and ':'
// kept as tokens of their own.
std::vector<std::string_view> date_tokens(std::string_view v) {
  std::vector<std::string_view> out;
  int depth = 0;
  std::size_t i = 0;
  while (i < v.size() && out.size() < 32) {
    char c = v[i];
    if (c == '(') {
      ++depth;
      ++i;
    } else if (c == ')') {
      if (depth > 0) --depth;
      ++i;
    } else if (depth > 0) {
      if (c == '\\') ++i;
      ++i;
    } else if (c == ' ' || c == '\t' || c == '\r' || c == '\n') {
      ++i;
    } else if (c == ',' || c == ':') {
      out.push_back(v.substr(i++, 1));
    } else {
      std::size_t s = i;
      while (i < v.size() && v[i] != ' ' && v[i] != '\t' && v[i] != '\r' && v[i] != '\n' && v[i] != ',' &&
             v[i] != ':' && v[i] != '(')
        ++i;
      out.push_back(v.substr(s, i - s));
    }
  }
  return out;
}

std::optional<int> number(std::string_view s, std::size_t min_digits, std::size_t max_digits) {
  if (s.size() < min_digits || s.size() > max_digits) return std::nullopt;
  int n = 0;
  for (char c : s) {
    if (c < '0' || c > '9') return std::nullopt;
    n = n * 10 + (c - '0');
  }
  return n;
}

// RFC 5322 4.3 obs-zone: the US names, UT/GMT; military letters mean
// -0000 (their sign was defined backwards, so they carry no information).
std::optional<int> named_zone(std::string_view z) {
  static constexpr std::pair<std::string_view, int> kZones[] = {
      {"UT", 0},        {"UTC", 0},       {"GMT", 0},       {"Z", 0},
      {"EST", -5 * 60}, {"EDT", -4 * 60}, {"CST", -6 * 60}, {"CDT", -5 * 60},
      {"MST", -7 * 60}, {"MDT", -6 * 60}, {"PST", -8 * 60}, {"PDT", -7 * 60},
  };
  for (const auto& [name, minutes] : kZones)
    if (iequals(z, name)) return minutes;
  if (z.size() == 1 && ((z[0] >= 'A' && z[0] <= 'I') || (z[0] >= 'K' && z[0] <= 'Z') ||
                        (z[0] >= 'a' && z[0] <= 'i') || (z[0] >= 'k' && z[0] <= 'z')))
    return 0;
  return std::nullopt;
}

std::string two(int64_t n) {
  char b[8];
  std::snprintf(b, sizeof b, "%02d", static_cast<int>(n));
  return b;
}

std::string zone_text(int minutes, bool colon) {
  char sign = minutes < 0 ? '-' : '+';
  int a = minutes < 0 ? -minutes : minutes;
  return std::string(1, sign) + two(a / 60) + (colon ? ":" : "") + two(a % 60);
}

}  // namespace

std::optional<int> parse_zone(std::string_view zone) {
  if (zone.size() != 5 || (zone[0] != '+' && zone[0] != '-')) return std::nullopt;
  auto hh = number(zone.substr(1, 2), 2, 2), mm = number(zone.substr(3, 2), 2, 2);
  if (!hh || !mm || *mm > 59) return std::nullopt;
  int minutes = *hh * 60 + *mm;
  return zone[0] == '-' ? -minutes : minutes;
}

std::optional<DateTime> parse_date(std::string_view value) {
  std::vector<std::string_view> t = date_tokens(value);
  std::size_t i = 0;
  // [day-of-week ","]
  if (t.size() > i + 1 && t[i + 1] == ",") {
    bool known = false;
    for (std::string_view d : kDays) known = known || iequals(t[i], d);
    if (!known) return std::nullopt;
    i += 2;
  }
  if (t.size() < i + 7) return std::nullopt;  // day month year hh : mm zone
  auto day = number(t[i++], 1, 2);
  unsigned month = 0;
  for (std::size_t k = 0; k < kMonths.size(); ++k)
    if (iequals(t[i], kMonths[k])) month = static_cast<unsigned>(k + 1);
  ++i;
  auto year = number(t[i++], 2, 4);
  if (!day || !month || !year) return std::nullopt;
  int64_t y = *year;
  std::size_t year_digits = t[i - 1].size();
  if (year_digits == 2)
    y += y < 50 ? 2000 : 1900;  // RFC 5322 4.3
  else if (year_digits == 3)
    y += 1900;
  if (*day < 1 || static_cast<unsigned>(*day) > month_days(y, month)) return std::nullopt;
  auto hour = number(t[i++], 1, 2);
  if (i >= t.size() || t[i++] != ":") return std::nullopt;
  auto minute = number(i < t.size() ? t[i++] : "", 1, 2);
  std::optional<int> second = 0;
  if (i < t.size() && t[i] == ":") {
    ++i;
    second = number(i < t.size() ? t[i++] : "", 1, 2);
  }
  if (!hour || !minute || !second || *hour > 23 || *minute > 59 || *second > 60) return std::nullopt;
  if (i >= t.size()) return std::nullopt;
  std::optional<int> zone = parse_zone(t[i]);
  if (!zone) zone = named_zone(t[i]);
  if (!zone) return std::nullopt;
  DateTime dt;
  dt.zone_minutes = *zone;
  dt.utc = days_from_civil(y, month, static_cast<unsigned>(*day)) * 86400 + *hour * 3600 + *minute * 60 +
           *second - static_cast<int64_t>(*zone) * 60;
  return dt;
}

bool is_date_part(std::string_view part) {
  static constexpr std::string_view kParts[] = {"year",  "month",  "day",    "date", "julian",
                                                "hour",  "minute", "second", "time", "iso8601",
                                                "std11", "zone",   "weekday"};
  for (std::string_view p : kParts)
    if (iequals(part, p)) return true;
  return false;
}

std::optional<std::string> date_part(const DateTime& dt, std::string_view part, int zone_minutes) {
  const int64_t local = dt.utc + static_cast<int64_t>(zone_minutes) * 60;
  const int64_t days = floor_div(local, 86400);
  const int64_t secs = local - days * 86400;
  const Civil c = civil_from_days(days);
  char year_buf[24];
  std::snprintf(year_buf, sizeof year_buf, "%04lld", static_cast<long long>(c.y));
  const std::string year = year_buf;
  const std::string date = year + "-" + two(c.m) + "-" + two(c.d);
  const std::string time = two(secs / 3600) + ":" + two(secs / 60 % 60) + ":" + two(secs % 60);
  const int64_t weekday = ((days % 7) + 7 + 4) % 7;  // 1970-01-01 was a Thursday
  if (iequals(part, "year")) return year;
  if (iequals(part, "month")) return two(c.m);
  if (iequals(part, "day")) return two(c.d);
  if (iequals(part, "date")) return date;
  if (iequals(part, "julian")) return std::to_string(days + 40587);  // MJD 40587 = 1970-01-01
  if (iequals(part, "hour")) return two(secs / 3600);
  if (iequals(part, "minute")) return two(secs / 60 % 60);
  if (iequals(part, "second")) return two(secs % 60);
  if (iequals(part, "time")) return time;
  if (iequals(part, "iso8601")) return date + "T" + time + zone_text(zone_minutes, true);
  if (iequals(part, "std11"))
    return std::string(kDays[weekday]) + ", " + two(c.d) + " " + std::string(kMonths[c.m - 1]) + " " + year +
           " " + time + " " + zone_text(zone_minutes, false);
  if (iequals(part, "zone")) return zone_text(zone_minutes, false);
  if (iequals(part, "weekday")) return std::to_string(weekday);
  return std::nullopt;
}

}  // namespace mailfort::sieve
