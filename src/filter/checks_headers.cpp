// Header sanity: what honest mail programs always write and spam tools get
// wrong (Date, Message-ID, Subject, To), forgeries of the sender (an
// address in the From display name, our own domain in From without
// authentication, a freemail Reply-To), and broken Received chains. Reads
// the decoded fields of the message view; faces untrusted input; every
// loop is bounded by the view's field limit.
#include <algorithm>
#include <array>
#include <cctype>
#include <optional>
#include <string_view>

#include "auth/message_auth.h"
#include "base/text.h"
#include "filter/checks.h"
#include "filter/message_view.h"
#include "proto/mail/address.h"

namespace mailfort::filter {
namespace {

constexpr long kFutureSlack = 2 * 3600;     // DATE_IN_FUTURE beyond this
constexpr long kPastLimit = 7 * 24 * 3600;  // DATE_IN_PAST beyond this
constexpr std::size_t kMaxReceived = 50;

void add(std::vector<Symbol>& out, std::string name, double score, std::vector<std::string> options = {}) {
  out.push_back(Symbol{std::move(name), score, std::move(options)});
}

// The big free mail providers: a Reply-To there, differing from From's
// domain, is the advance-fee and phishing pattern.
constexpr std::array<std::string_view, 40> kFreemail = {
    "gmail.com",      "googlemail.com", "yahoo.com",      "yahoo.co.uk",   "yahoo.fr",   "yahoo.de",
    "ymail.com",      "rocketmail.com", "hotmail.com",    "hotmail.co.uk", "hotmail.fr", "outlook.com",
    "live.com",       "msn.com",        "aol.com",        "aim.com",       "icloud.com", "me.com",
    "mac.com",        "mail.com",       "gmx.com",        "gmx.net",       "gmx.de",     "web.de",
    "yandex.com",     "yandex.ru",      "mail.ru",        "bk.ru",         "inbox.ru",   "list.ru",
    "protonmail.com", "proton.me",      "zoho.com",       "tutanota.com",  "qq.com",     "163.com",
    "126.com",        "sina.com",       "rediffmail.com", "libero.it"};

bool is_freemail(std::string_view domain) {
  return std::find(kFreemail.begin(), kFreemail.end(), domain) != kFreemail.end();
}

const HeaderField* field(const MessageView& view, std::string_view name) {
  for (const auto& h : view.headers())
    if (iequals(h.name, name)) return &h;
  return nullptr;
}

// The first mailbox of an address field, lowercased; nullopt when it does
// not parse.
std::optional<std::string> first_address(const HeaderField* f) {
  if (!f) return std::nullopt;
  auto list = proto::mail::parse_address_list(f->raw);
  if (!list.ok() || list.mailboxes.empty()) return std::nullopt;
  return to_lower(list.mailboxes.front().str());
}

std::string domain_of(std::string_view address) {
  auto at = address.rfind('@');
  return at == std::string_view::npos ? std::string() : std::string(address.substr(at + 1));
}

bool addr_local_char(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '_' || c == '%' || c == '+' ||
         c == '-';
}
bool addr_domain_char(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '-';
}

// An address written inside a display name ("PayPal service@paypal.com"
// <x@evil.example>): the first local@domain.tld in `text`, lowercased.
std::optional<std::string> address_in_text(std::string_view text) {
  for (std::size_t at = text.find('@'); at != std::string_view::npos; at = text.find('@', at + 1)) {
    std::size_t b = at, e = at + 1;
    while (b > 0 && addr_local_char(text[b - 1])) --b;
    while (e < text.size() && addr_domain_char(text[e])) ++e;
    std::string_view local = text.substr(b, at - b), domain = text.substr(at + 1, e - at - 1);
    while (!domain.empty() && (domain.back() == '.' || domain.back() == '-')) domain.remove_suffix(1);
    if (local.empty() || domain.find('.') == std::string_view::npos) continue;
    return to_lower(std::string(local) + "@" + std::string(domain));
  }
  return std::nullopt;
}

// RFC 5322 3.3 date-time, with the obsolete zones and 2-digit years of
// 4.3; comments dropped. Seconds since the epoch, nullopt when invalid.
std::optional<long> parse_date(std::string_view value) {
  std::string text;
  int depth = 0;
  for (char c : value.substr(0, 200)) {
    if (c == '(')
      ++depth;
    else if (c == ')' && depth > 0)
      --depth;
    else if (depth == 0)
      text += (c == ',' ? ' ' : c);
  }
  std::vector<std::string> tok;
  for (std::size_t i = 0; i < text.size();) {
    while (i < text.size() && std::isspace(static_cast<unsigned char>(text[i]))) ++i;
    std::size_t b = i;
    while (i < text.size() && !std::isspace(static_cast<unsigned char>(text[i]))) ++i;
    if (i > b) tok.emplace_back(text.substr(b, i - b));
  }
  static constexpr std::array<std::string_view, 7> days = {"mon", "tue", "wed", "thu", "fri", "sat", "sun"};
  static constexpr std::array<std::string_view, 12> months = {"jan", "feb", "mar", "apr", "may", "jun",
                                                              "jul", "aug", "sep", "oct", "nov", "dec"};
  std::size_t t = 0;
  if (t < tok.size() && std::find(days.begin(), days.end(), to_lower(tok[t])) != days.end()) ++t;
  if (tok.size() - t != 5 && tok.size() - t != 4) return std::nullopt;
  auto number = [](const std::string& s, std::size_t min_len, std::size_t max_len) -> std::optional<long> {
    if (s.size() < min_len || s.size() > max_len) return std::nullopt;
    long v = 0;
    for (char c : s) {
      if (!std::isdigit(static_cast<unsigned char>(c))) return std::nullopt;
      v = v * 10 + (c - '0');
    }
    return v;
  };
  auto day = number(tok[t], 1, 2);
  auto mon = std::find(months.begin(), months.end(), to_lower(tok[t + 1]));
  auto year = number(tok[t + 2], 2, 4);
  if (!day || mon == months.end() || !year) return std::nullopt;
  long y = *year;
  if (tok[t + 2].size() == 2)
    y += y < 50 ? 2000 : 1900;
  else if (tok[t + 2].size() == 3)
    y += 1900;
  long m = mon - months.begin() + 1;
  // hh:mm[:ss]
  const std::string& tm = tok[t + 3];
  long hh = 0, mm = 0, ss = 0;
  {
    std::vector<std::string> parts;
    std::size_t b = 0;
    for (std::size_t i = 0; i <= tm.size(); ++i)
      if (i == tm.size() || tm[i] == ':') {
        parts.push_back(tm.substr(b, i - b));
        b = i + 1;
      }
    if (parts.size() < 2 || parts.size() > 3) return std::nullopt;
    auto h = number(parts[0], 1, 2), mi = number(parts[1], 2, 2);
    auto s = parts.size() == 3 ? number(parts[2], 2, 2) : std::optional<long>(0);
    if (!h || !mi || !s || *h > 23 || *mi > 59 || *s > 60) return std::nullopt;
    hh = *h, mm = *mi, ss = *s;
  }
  long zone = 0;  // seconds east of UTC
  if (tok.size() - t == 5) {
    std::string z = to_lower(tok[t + 4]);
    if ((z[0] == '+' || z[0] == '-') && z.size() == 5) {
      auto v = number(z.substr(1), 4, 4);
      if (!v || *v % 100 > 59) return std::nullopt;
      zone = (*v / 100 * 3600 + *v % 100 * 60) * (z[0] == '-' ? -1 : 1);
    } else {
      static const std::pair<std::string_view, int> named[] = {
          {"ut", 0},   {"gmt", 0},  {"utc", 0},  {"z", 0},    {"est", -5}, {"edt", -4},
          {"cst", -6}, {"cdt", -5}, {"mst", -7}, {"mdt", -6}, {"pst", -8}, {"pdt", -7}};
      bool found = false;
      for (auto& [n, h] : named)
        if (z == n) {
          zone = h * 3600L;
          found = true;
        }
      if (!found) return std::nullopt;
    }
  }
  static constexpr int mdays[] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  if (y < 1900 || *day < 1 || *day > mdays[m - 1]) return std::nullopt;
  // Days from civil (Howard Hinnant's algorithm).
  long yy = y - (m <= 2);
  long era = (yy >= 0 ? yy : yy - 399) / 400;
  long yoe = yy - era * 400;
  long doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + *day - 1;
  long doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  long days_since = era * 146097 + doe - 719468;
  return days_since * 86400 + hh * 3600 + mm * 60 + ss - zone;
}

void check_date(const MessageView& view, std::time_t now, std::vector<Symbol>& out) {
  auto date = view.first("Date");
  if (!date) {
    add(out, "MISSING_DATE", 1.0);
    return;
  }
  auto t = parse_date(*date);
  if (!t) {
    add(out, "INVALID_DATE", 1.5);
    return;
  }
  long delta = *t - static_cast<long>(now);
  if (delta > kFutureSlack)
    add(out, "DATE_IN_FUTURE", 4.0);
  else if (delta < -kPastLimit)
    add(out, "DATE_IN_PAST", 1.0);
}

// "<left@right>" with something on both sides and nothing else.
bool valid_msgid(std::string_view v) {
  while (!v.empty() && std::isspace(static_cast<unsigned char>(v.front()))) v.remove_prefix(1);
  while (!v.empty() && std::isspace(static_cast<unsigned char>(v.back()))) v.remove_suffix(1);
  if (v.size() < 5 || v.front() != '<' || v.back() != '>') return false;
  std::string_view in = v.substr(1, v.size() - 2);
  auto at = in.find('@');
  if (at == std::string_view::npos || at == 0 || at + 1 == in.size()) return false;
  for (char c : in)
    if (c == '<' || c == '>' || std::isspace(static_cast<unsigned char>(c)) ||
        static_cast<unsigned char>(c) < 32)
      return false;
  return true;
}

void check_message_id(const MessageView& view, std::vector<Symbol>& out) {
  const HeaderField* mid = field(view, "Message-ID");
  if (!mid)
    add(out, "MISSING_MID", 2.5);
  else if (!valid_msgid(mid->raw))
    add(out, "INVALID_MSGID", 1.7);
}

void check_from(const MessageView& view, const ScanInput& in, std::vector<Symbol>& out) {
  if (view.count("From") > 1) add(out, "MULTIPLE_FROM", 3.0);
  const HeaderField* from = field(view, "From");
  auto address = first_address(from);
  if (from && address) {
    // The display name: the decoded value before the last '<'.
    auto lt = from->value.rfind('<');
    if (lt != std::string::npos) {
      auto in_name = address_in_text(std::string_view(from->value).substr(0, lt));
      if (in_name && *in_name != *address) add(out, "FROM_DN_HAS_ADDR", 3.0, {*in_name});
    }
  }
  std::string from_domain = address ? domain_of(*address) : "";
  if (auto reply_to = first_address(field(view, "Reply-To"))) {
    std::string rd = domain_of(*reply_to);
    if (is_freemail(rd) && rd != from_domain) add(out, "FREEMAIL_REPLYTO_NEQ_FROM", 3.0, {rd});
  }
  if (!from_domain.empty() && in.auth_user.empty() && in.is_local_domain && in.is_local_domain(from_domain)) {
    bool dmarc_pass = in.verdict && in.verdict->dmarc.result == auth::DmarcResult::Pass;
    if (!dmarc_pass) add(out, "FROM_LOCAL_UNAUTH", 2.0, {from_domain});
  }
}

// A Received field as every MTA writes it: "from X ... by Y ...; date",
// "by Y ...; date" (local pickup, Gmail's internal hops) or, qmail's, a
// comment alone before the date: "(qmail 1 invoked by uid 0); date".
bool parsable_received(std::string_view raw, std::time_t now, bool& future) {
  auto semi = raw.rfind(';');
  if (semi == std::string_view::npos) return false;
  // The clauses, lowercased, comments (nested) dropped.
  std::string clauses;
  int depth = 0;
  for (char c : raw.substr(0, semi)) {
    if (c == '(')
      ++depth;
    else if (c == ')' && depth > 0)
      --depth;
    else if (depth == 0)
      clauses += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  }
  std::string_view cl = clauses;
  while (!cl.empty() && std::isspace(static_cast<unsigned char>(cl.front()))) cl.remove_prefix(1);
  bool ok = cl.empty() || cl.starts_with("by ") ||
            (cl.starts_with("from ") && cl.find(" by ") != std::string_view::npos);
  if (!ok) return false;
  auto t = parse_date(raw.substr(semi + 1));
  if (!t) return false;
  if (*t - static_cast<long>(now) > kFutureSlack) future = true;
  return true;
}

void check_received(const MessageView& view, std::time_t now, std::vector<Symbol>& out) {
  std::size_t count = 0, bad = 0;
  bool future = false;
  for (const auto& h : view.headers()) {
    if (!iequals(h.name, "Received")) continue;
    ++count;
    if (!parsable_received(h.raw, now, future)) ++bad;
  }
  if (bad) add(out, "RCVD_UNPARSABLE", 1.0, {std::to_string(bad)});
  if (count > kMaxReceived)
    add(out, "FORGED_RECEIVED", 2.0, {std::to_string(count) + " hops"});
  else if (future)
    add(out, "FORGED_RECEIVED", 2.0, {"date in the future"});
}

}  // namespace

void check_headers(const MessageView& view, const ScanInput& in, std::time_t now, std::vector<Symbol>& out) {
  check_date(view, now, out);
  check_message_id(view, out);
  check_from(view, in, out);
  if (view.count("Subject") == 0)
    add(out, "MISSING_SUBJECT", 2.0);
  else if (view.count("Subject") > 1)
    add(out, "MULTIPLE_SUBJECT", 1.5);
  if (view.count("To") == 0) add(out, "MISSING_TO", 2.0);
  check_received(view, now, out);
}

}  // namespace mailfort::filter
