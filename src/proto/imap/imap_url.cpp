#include "proto/imap/imap_url.h"

#include <cctype>
#include <charconv>

#include "base/text.h"

namespace mailfort::proto::imap {
namespace {

constexpr auto npos = std::string_view::npos;

bool starts_with_ci(std::string_view s, std::string_view prefix) {
  return s.size() >= prefix.size() && iequals(s.substr(0, prefix.size()), prefix);
}

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// Percent-decoding; false on a bad escape or a raw byte no URL may hold.
bool decode(std::string_view in, std::string& out) {
  out.clear();
  for (std::size_t i = 0; i < in.size(); ++i) {
    char c = in[i];
    auto u = static_cast<unsigned char>(c);
    if (c == '%') {
      if (i + 2 >= in.size()) return false;
      int hi = hex_value(in[i + 1]), lo = hex_value(in[i + 2]);
      if (hi < 0 || lo < 0) return false;
      char d = static_cast<char>(hi * 16 + lo);
      if (d == '\0' || d == '\r' || d == '\n') return false;
      out.push_back(d);
      i += 2;
    } else if (u <= 0x20 || u >= 0x7f || c == '"' || c == '\\' || c == '#' || c == '?') {
      return false;
    } else {
      out.push_back(c);
    }
  }
  return true;
}

bool number32(std::string_view s, uint32_t& out, bool nonzero) {
  if (s.empty() || s.size() > 10) return false;
  uint64_t n = 0;
  for (char c : s) {
    if (!std::isdigit(static_cast<unsigned char>(c))) return false;
    n = n * 10 + static_cast<uint64_t>(c - '0');
  }
  if (n > UINT32_MAX || (nonzero && n == 0)) return false;
  out = static_cast<uint32_t>(n);
  return true;
}

bool valid_host(std::string_view host) {
  if (host.empty() || host.size() > 255) return false;
  for (char c : host) {
    auto u = static_cast<unsigned char>(c);
    if (!std::isalnum(u) && c != '.' && c != '-' && c != '_' && c != '[' && c != ']' && c != ':')
      return false;
  }
  return true;
}

// "authuser", "anonymous", "user+<enc-user>", "submit+<enc-user>".
bool valid_access(std::string_view access) {
  if (iequals(access, "authuser") || iequals(access, "anonymous")) return true;
  for (std::string_view p : {"user+", "submit+"})
    if (starts_with_ci(access, p) && access.size() > p.size()) return true;
  return false;
}

// "imap://" [userinfo "@"] host [":" port] "/": the server part, up to
// the '/' at `slash`.
bool parse_server(std::string_view server, ImapUrl& u) {
  auto at = server.rfind('@');
  if (at != npos) {
    std::string_view userinfo = server.substr(0, at);
    auto semi = userinfo.find(';');
    if (semi != npos && !starts_with_ci(userinfo.substr(semi), ";AUTH=")) return false;
    if (!decode(userinfo.substr(0, semi), u.user) || u.user.empty()) return false;
    server = server.substr(at + 1);
  }
  std::string_view host = server;
  auto colon = host.rfind(':');
  if (colon != npos && host.find(']', colon) == npos) {
    uint32_t port = 0;
    if (!number32(host.substr(colon + 1), port, true) || port > 65535) return false;
    u.port = port;
    host = host.substr(0, colon);
  }
  if (!valid_host(host)) return false;
  u.host = to_lower(host);
  return true;
}

enum Stage { kNone, kUidValidity, kUid, kSection, kPartial, kExpire, kUrlauth };

// One ";NAME=value" (after an optional '/') at url[p]; advances p.
bool parse_param(std::string_view url, std::size_t& p, ImapUrl& u, int& stage) {
  bool slash = url[p] == '/';
  if (slash) ++p;
  if (p >= url.size() || url[p] != ';') return false;
  ++p;
  auto eq = url.find('=', p);
  if (eq == npos) return false;
  std::string name = to_upper(url.substr(p, eq - p));
  p = eq + 1;
  std::size_t end = name == "URLAUTH" ? url.find(':', p) : url.find_first_of("/;", p);
  if (end == npos) end = url.size();
  std::string_view value = url.substr(p, end - p);
  p = end;
  std::string text;
  if (name == "UIDVALIDITY") {
    if (slash || stage != kNone || !u.has_mailbox) return false;
    uint32_t v = 0;
    if (!number32(value, v, true)) return false;
    u.uidvalidity = v;
    stage = kUidValidity;
  } else if (name == "UID") {
    // "/;UID=" after a mailbox; a relative URL may start with ";UID=".
    if (stage >= kUid || slash != u.has_mailbox) return false;
    if (!number32(value, u.uid, true)) return false;
    stage = kUid;
  } else if (name == "SECTION") {
    if (!slash || stage != kUid || !decode(value, u.section) || u.section.empty()) return false;
    stage = kSection;
  } else if (name == "PARTIAL") {
    if (!slash || (stage != kUid && stage != kSection)) return false;
    auto dot = value.find('.');
    uint32_t offset = 0, length = 0;
    if (!number32(value.substr(0, dot), offset, false)) return false;
    if (dot != npos && !number32(value.substr(dot + 1), length, true)) return false;
    u.partial_offset = offset;
    if (dot != npos) u.partial_length = length;
    stage = kPartial;
  } else if (name == "EXPIRE") {
    if (slash || stage < kUid || stage >= kExpire || !decode(value, text)) return false;
    u.expire = parse_rfc3339(text);
    if (!u.expire) return false;
    stage = kExpire;
  } else if (name == "URLAUTH") {
    if (slash || stage < kUid || stage >= kUrlauth || !decode(value, u.access) || !valid_access(u.access))
      return false;
    u.rump_size = p;
    stage = kUrlauth;
    if (p < url.size()) {
      // ":" mechanism ":" 32*HEXDIG, the end of the URL.
      auto colon = url.find(':', p + 1);
      if (colon == npos) return false;
      u.mechanism = to_upper(url.substr(p + 1, colon - p - 1));
      u.token = std::string(url.substr(colon + 1));
      if (u.mechanism.empty() || u.token.size() < 32) return false;
      for (char c : u.mechanism)
        if (!std::isalnum(static_cast<unsigned char>(c)) && c != '-' && c != '.') return false;
      for (char c : u.token)
        if (hex_value(c) < 0) return false;
      p = url.size();
    }
  } else {
    return false;
  }
  return true;
}

}  // namespace

std::optional<ImapUrl> parse_imap_url(std::string_view url) {
  if (url.empty() || url.size() > kMaxUrl) return std::nullopt;
  ImapUrl u;
  std::size_t p = 0;
  if (starts_with_ci(url, "imap://")) {
    u.absolute = true;
    auto slash = url.find('/', 7);
    if (slash == npos || !parse_server(url.substr(7, slash - 7), u)) return std::nullopt;
    p = slash + 1;
    u.has_mailbox = true;
  } else if (url[0] == '/') {
    p = 1;
    u.has_mailbox = true;
  } else if (url[0] != ';') {
    return std::nullopt;
  }
  if (u.has_mailbox) {
    auto semi = url.find(';', p);
    if (semi == npos) return std::nullopt;  // a mailbox, not a message
    std::size_t end = semi;
    if (end > p && url[end - 1] == '/') --end;  // "/;UID=" belongs to the UID
    if (end == p || !decode(url.substr(p, end - p), u.mailbox)) return std::nullopt;
    p = end;
  }
  int stage = kNone;
  while (p < url.size())
    if (!parse_param(url, p, u, stage)) return std::nullopt;
  if (u.uid == 0) return std::nullopt;
  if (u.rump_size) u.rump = std::string(url.substr(0, u.rump_size));
  return u;
}

std::optional<Section> url_section(std::string_view section) {
  if (section.empty() || section.size() > 1024) return std::nullopt;
  for (char c : section)
    if (c == '[' || c == ']' || c == '\r' || c == '\n' || c == '{') return std::nullopt;
  auto parsed = parse_command("x FETCH 1 BODY.PEEK[" + std::string(section) + "]");
  if (!parsed.command || parsed.command->fetch.size() != 1 ||
      parsed.command->fetch[0].kind != FetchItem::Kind::BodySection || parsed.command->fetch[0].partial_offset)
    return std::nullopt;
  return std::move(parsed.command->fetch[0].section);
}

std::optional<int64_t> parse_rfc3339(std::string_view t) {
  // YYYY-MM-DDTHH:MM:SS[.frac](Z|+HH:MM|-HH:MM)
  if (t.size() < 20 || t.size() > 64 || t[4] != '-' || t[7] != '-' || (t[10] != 'T' && t[10] != 't') ||
      t[13] != ':' || t[16] != ':')
    return std::nullopt;
  auto num = [&](std::size_t at, std::size_t len) -> int {
    int v = 0;
    for (std::size_t i = at; i < at + len; ++i) {
      if (!std::isdigit(static_cast<unsigned char>(t[i]))) return -1;
      v = v * 10 + (t[i] - '0');
    }
    return v;
  };
  int year = num(0, 4), month = num(5, 2), day = num(8, 2), hh = num(11, 2), mm = num(14, 2), ss = num(17, 2);
  if (year < 0 || month < 1 || month > 12 || day < 1 || hh < 0 || hh > 23 || mm < 0 || mm > 59 || ss < 0 ||
      ss > 60)
    return std::nullopt;
  static const char* months[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                 "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
  auto days = parse_date(std::to_string(day) + "-" + months[month - 1] + "-" + std::string(t.substr(0, 4)));
  if (!days) return std::nullopt;
  std::size_t p = 19;
  if (p < t.size() && t[p] == '.') {
    ++p;
    std::size_t digits = p;
    while (p < t.size() && std::isdigit(static_cast<unsigned char>(t[p]))) ++p;
    if (p == digits) return std::nullopt;
  }
  int64_t zone = 0;
  std::string_view z = t.substr(p);
  if (z == "Z" || z == "z") {
  } else if (z.size() == 6 && (z[0] == '+' || z[0] == '-') && z[3] == ':') {
    int zh = num(p + 1, 2), zm = num(p + 4, 2);
    if (zh < 0 || zh > 23 || zm < 0 || zm > 59) return std::nullopt;
    zone = (zh * 60 + zm) * 60 * (z[0] == '-' ? -1 : 1);
  } else {
    return std::nullopt;
  }
  return *days * 86400 + hh * 3600 + mm * 60 + ss - zone;
}

}  // namespace mailfort::proto::imap
