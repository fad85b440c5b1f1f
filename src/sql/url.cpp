// The database URL of [directory] url: scheme://user@host:port/database with
// one known query parameter per engine (mysql ?socket=, postgresql ?host=),
// and display() for logs. Configuration input: everything unknown is
// refused with a message naming it, and a password is never accepted here
// (it would sit in the config file and show in logs).
#include <cctype>
#include <charconv>
#include <string>

#include "sql/sql.h"

namespace mailfort::sql {

const char* dialect_name(Dialect d) {
  switch (d) {
    case Dialect::SQLite:
      return "sqlite";
    case Dialect::MySQL:
      return "mysql";
    case Dialect::PostgreSQL:
      return "postgresql";
  }
  return "?";
}

namespace {

Error invalid(std::string_view url, std::string why) {
  (void)url;  // never echoed: it may hold a password
  return make_error(Errc::Invalid, "database url: " + why);
}

int hex(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// %XX decoding; a NUL or a broken escape is refused.
Result<std::string> decode(std::string_view s, const char* what) {
  std::string out;
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] != '%') {
      out += s[i];
      continue;
    }
    int h = i + 2 < s.size() ? hex(s[i + 1]) : -1;
    int l = h >= 0 ? hex(s[i + 2]) : -1;
    if (l < 0 || (h == 0 && l == 0))
      return make_error(Errc::Invalid, std::string("database url: bad %-escape in the ") + what);
    out += static_cast<char>(h * 16 + l);
    i += 2;
  }
  return out;
}

// %XX for what would not read back (for display()).
std::string encode(std::string_view s) {
  static const char* digits = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : s) {
    if (std::isalnum(c) || c == '-' || c == '.' || c == '_' || c == '~' || c == '/') {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += digits[c >> 4];
      out += digits[c & 15];
    }
  }
  return out;
}

Result<ConnectOptions> parse_sqlite(std::string_view url, std::string_view rest) {
  ConnectOptions o;
  o.dialect = Dialect::SQLite;
  if (rest.starts_with("//")) {
    rest.remove_prefix(2);
    if (!rest.starts_with('/')) return invalid(url, "sqlite:// takes an absolute path (sqlite:///path/file)");
  }
  if (rest.find('?') != std::string_view::npos) return invalid(url, "sqlite: takes no parameters");
  auto path = decode(rest, "path");
  if (!path) return path.error();
  if (path->empty()) return invalid(url, "sqlite: names no file");
  o.path = std::move(*path);
  return o;
}

Result<void> parse_params(std::string_view url, std::string_view query, ConnectOptions& o) {
  while (!query.empty()) {
    std::size_t amp = query.find('&');
    std::string_view kv = query.substr(0, amp);
    query = amp == std::string_view::npos ? std::string_view{} : query.substr(amp + 1);
    if (kv.empty()) continue;
    std::size_t eq = kv.find('=');
    std::string key(kv.substr(0, eq));
    auto value = decode(eq == std::string_view::npos ? std::string_view{} : kv.substr(eq + 1), "parameters");
    if (!value) return value.error();
    const char* known = o.dialect == Dialect::MySQL ? "socket" : "host";
    if (key != known)
      return invalid(url, "unknown parameter '" + key + "' (" + dialect_name(o.dialect) + " takes only ?" +
                              known + "=; TLS and timeouts are [directory] keys)");
    if (!value->starts_with('/')) return invalid(url, "?" + key + "= must be an absolute path");
    if (!o.socket.empty()) return invalid(url, "?" + key + "= given twice");
    o.socket = std::move(*value);
  }
  return {};
}

Result<void> parse_host_port(std::string_view url, std::string_view hp, ConnectOptions& o) {
  std::string_view port;
  if (hp.starts_with('[')) {
    std::size_t close = hp.find(']');
    if (close == std::string_view::npos) return invalid(url, "unclosed '[' in the host");
    o.host = std::string(hp.substr(1, close - 1));
    hp.remove_prefix(close + 1);
    if (!hp.empty() && !hp.starts_with(':')) return invalid(url, "junk after ']' in the host");
    if (!hp.empty()) port = hp.substr(1);
  } else {
    std::size_t colon = hp.find(':');
    o.host = std::string(hp.substr(0, colon));
    if (colon != std::string_view::npos) port = hp.substr(colon + 1);
    if (colon != std::string_view::npos && port.empty()) return invalid(url, "empty port");
  }
  if (!port.empty()) {
    unsigned v = 0;
    auto [p, ec] = std::from_chars(port.data(), port.data() + port.size(), v);
    if (ec != std::errc{} || p != port.data() + port.size() || v == 0 || v > 65535)
      return invalid(url, "bad port (a number 1..65535)");  // not echoed: may be a password
    o.port = static_cast<uint16_t>(v);
  }
  return {};
}

Result<ConnectOptions> parse_server(std::string_view url, Dialect d, std::string_view rest) {
  ConnectOptions o;
  o.dialect = d;
  if (!rest.starts_with("//")) return invalid(url, std::string(dialect_name(d)) + " URLs start with //");
  rest.remove_prefix(2);
  std::string_view query;
  if (std::size_t q = rest.find('?'); q != std::string_view::npos) {
    query = rest.substr(q + 1);
    rest = rest.substr(0, q);
  }
  std::size_t slash = rest.find('/');
  std::string_view authority = rest.substr(0, slash);
  std::string_view db = slash == std::string_view::npos ? std::string_view{} : rest.substr(slash + 1);
  if (std::size_t at = authority.rfind('@'); at != std::string_view::npos) {
    std::string_view userinfo = authority.substr(0, at);
    authority.remove_prefix(at + 1);
    if (userinfo.find(':') != std::string_view::npos)
      return invalid(url, "a password in the URL is refused: put the password in password_file");
    auto user = decode(userinfo, "user");
    if (!user) return user.error();
    o.user = std::move(*user);
  }
  if (auto r = parse_host_port(url, authority, o); !r) return r.error();
  if (db.empty())
    return invalid(url, "names no database (" + std::string(dialect_name(d)) + "://user@host/database)");
  auto database = decode(db, "database");
  if (!database) return database.error();
  if (database->find('/') != std::string::npos) return invalid(url, "a database name has no '/'");
  o.database = std::move(*database);
  if (auto r = parse_params(url, query, o); !r) return r.error();
  return o;
}

}  // namespace

Result<ConnectOptions> parse_url(std::string_view url) {
  std::size_t colon = url.find(':');
  if (colon == std::string_view::npos)
    return invalid(url, "no scheme (sqlite:, mysql:, mariadb:, postgresql:, postgres:)");
  std::string scheme(url.substr(0, colon));
  for (auto& c : scheme) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  std::string_view rest = url.substr(colon + 1);
  if (scheme == "sqlite") return parse_sqlite(url, rest);
  if (scheme == "mysql" || scheme == "mariadb") return parse_server(url, Dialect::MySQL, rest);
  if (scheme == "postgresql" || scheme == "postgres") return parse_server(url, Dialect::PostgreSQL, rest);
  return invalid(url, "unknown scheme '" + scheme + "' (sqlite:, mysql:, mariadb:, postgresql:, postgres:)");
}

std::string ConnectOptions::display() const {
  if (dialect == Dialect::SQLite) return "sqlite:" + encode(path);
  std::string out = std::string(dialect_name(dialect)) + "://";
  if (host.find(':') != std::string::npos)
    out += "[" + host + "]";
  else
    out += encode(host);
  if (port) out += ":" + std::to_string(port);
  out += "/" + encode(database);
  if (!socket.empty()) out += (dialect == Dialect::MySQL ? "?socket=" : "?host=") + encode(socket);
  return out;
}

}  // namespace mailfort::sql
