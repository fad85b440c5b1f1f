#include <arpa/inet.h>
#include <fmt/format.h>

#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>

#include "base/config.h"
#include "base/config_keys.h"
#include "base/text.h"

namespace mailfort::config {
namespace {

namespace fs = std::filesystem;

int line_of(const toml::node& n) {
  return static_cast<int>(n.source().begin.line);
}

// "ip:port" or "[v6]:port" -> host, port. `port_required` false allows "ip".
bool parse_host_port(const std::string& s, std::string& host, uint16_t& port, bool port_required) {
  std::string h, p;
  if (!s.empty() && s.front() == '[') {
    auto close = s.find(']');
    if (close == std::string::npos) return false;
    h = s.substr(1, close - 1);
    if (close + 1 < s.size()) {
      if (s[close + 1] != ':') return false;
      p = s.substr(close + 2);
    }
    unsigned char buf[16];
    if (inet_pton(AF_INET6, h.c_str(), buf) != 1) return false;
  } else if (unsigned char b6[16]; !port_required && inet_pton(AF_INET6, s.c_str(), b6) == 1) {
    h = s;  // bare IPv6 address, default port
  } else {
    auto colon = s.rfind(':');
    if (colon == std::string::npos) {
      h = s;
    } else {
      h = s.substr(0, colon);
      p = s.substr(colon + 1);
    }
    unsigned char buf[16];
    if (inet_pton(AF_INET, h.c_str(), buf) != 1) return false;
  }
  if (p.empty()) {
    if (port_required) return false;
    port = 53;
  } else {
    if (p.size() > 5 || !std::all_of(p.begin(), p.end(), [](unsigned char c) { return std::isdigit(c); }))
      return false;
    int v = std::stoi(p);
    if (v < 1 || v > 65535) return false;
    port = static_cast<uint16_t>(v);
  }
  host = h;
  return true;
}

std::string resolve_path(const fs::path& base, const std::string& p) {
  if (p.empty() || fs::path(p).is_absolute()) return p;
  return (base / p).lexically_normal().string();
}

class Loader {
 public:
  Loader(std::string file) : file_(std::move(file)) {}

  LoadResult load(const toml::table& root) {
    Config c;
    c.path = file_;
    std::set<std::string> seen;
    for (const auto& [k, node] : root) {
      std::string key(k.str());
      if (key == "listener") {
        load_listeners(c, node);
        continue;
      }
      if (key == "milter") {
        load_milters(c, node);
        continue;
      }
      if (const auto* tbl = node.as_table()) {
        if (std::find(schema::sections().begin(), schema::sections().end(), key) ==
            schema::sections().end()) {
          problem(line_of(node), "unknown section [" + key + "]");
          continue;
        }
        load_section(c, key, *tbl, seen);
        continue;
      }
      set_key(c, key, node, "", seen);
    }
    for (const auto& k : schema::keys()) {
      if (k.required && !seen.count(std::string(k.name))) {
        problem(0, "missing required key '" + std::string(k.name) + "'");
      }
    }
    validate(c, root);
    LoadResult r;
    r.problems = std::move(problems_);
    if (r.problems.empty()) {
      r.config = std::move(c);
    } else {
      r.partial = std::move(c);
    }
    return r;
  }

  void problem(int line, std::string msg) { problems_.push_back(Problem{file_, line, std::move(msg)}); }

  // A [section]'s keys; a sub-table that is a section itself ([directory.queries]) recurses.
  void load_section(Config& c, const std::string& section, const toml::table& tbl, std::set<std::string>& seen) {
    for (const auto& [sk, sn] : tbl) {
      std::string full = section + "." + std::string(sk.str());
      const auto& secs = schema::sections();
      if (sn.is_table() && std::find(secs.begin(), secs.end(), full) != secs.end()) {
        load_section(c, full, *sn.as_table(), seen);
        continue;
      }
      set_key(c, full, sn, section, seen);
    }
  }

 private:
  void set_key(Config& c, const std::string& full, const toml::node& node, const std::string& section,
               std::set<std::string>& seen) {
    const auto& ks = schema::keys();
    auto it = std::find_if(ks.begin(), ks.end(), [&](const auto& k) { return k.name == full; });
    if (it == ks.end()) {
      std::string leaf = section.empty() ? full : full.substr(section.size() + 1);
      problem(line_of(node), section.empty() ? "unknown top-level key '" + leaf + "'"
                                             : "unknown key '" + leaf + "' in [" + section + "]");
      return;
    }
    std::string err;
    if (!it->set(c, node, err)) {
      problem(line_of(node), "'" + full + "' " + err);
      return;
    }
    seen.insert(full);
    c.key_lines[full] = line_of(node);
  }

  void load_listeners(Config& c, const toml::node& node) {
    const auto* arr = node.as_array();
    if (!arr || !arr->is_array_of_tables()) {
      problem(line_of(node), "'listener' must be written as [[listener]] tables");
      return;
    }
    for (const auto& item : *arr) {
      const auto& tbl = *item.as_table();
      c.listeners.emplace_back();
      auto& l = c.listeners.back();
      l.line = line_of(item);
      std::size_t idx = c.listeners.size() - 1;
      bool tls_set = false;
      std::set<std::string> seen;
      for (const auto& [k, n] : tbl) {
        std::string key(k.str());
        const auto& ks = schema::listener_keys();
        auto it = std::find_if(ks.begin(), ks.end(), [&](const auto& d) { return d.name == key; });
        if (it == ks.end()) {
          problem(line_of(n), "unknown key '" + key + "' in [[listener]]");
          continue;
        }
        std::string err;
        if (!it->set(c, n, err)) {
          problem(line_of(n), "listener '" + key + "' " + err);
          continue;
        }
        seen.insert(key);
        if (key == "tls") tls_set = true;
        c.key_lines["listener." + std::to_string(idx) + "." + key] = line_of(n);
      }
      for (const auto& d : schema::listener_keys()) {
        if (d.required && !seen.count(std::string(d.name))) {
          problem(l.line, "[[listener]] is missing '" + std::string(d.name) + "'");
        }
      }
      if (!tls_set) l.tls = l.protocol == Protocol::admin ? TlsMode::none : TlsMode::starttls;
      if (!l.address.empty() && !parse_host_port(l.address, l.host, l.port, true)) {
        problem(c.line_of("listener." + std::to_string(idx) + ".address"),
                "listener '" + l.name + "': address '" + l.address +
                    "' is not \"ip:port\" (IPv6 as \"[::1]:993\")");
        l.host.clear();
      }
    }
  }

  void load_milters(Config& c, const toml::node& node) {
    const auto* arr = node.as_array();
    if (!arr || !arr->is_array_of_tables()) {
      problem(line_of(node), "'milter' must be written as [[milter]] tables");
      return;
    }
    for (const auto& item : *arr) {
      const auto& tbl = *item.as_table();
      c.milters.emplace_back();
      c.milters.back().line = line_of(item);
      std::set<std::string> seen;
      for (const auto& [k, n] : tbl) {
        std::string key(k.str());
        const auto& ks = schema::milter_keys();
        auto it = std::find_if(ks.begin(), ks.end(), [&](const auto& d) { return d.name == key; });
        if (it == ks.end()) {
          problem(line_of(n), "unknown key '" + key + "' in [[milter]]");
          continue;
        }
        std::string err;
        if (!it->set(c, n, err)) {
          problem(line_of(n), "milter '" + key + "' " + err);
          continue;
        }
        seen.insert(key);
      }
      for (const auto& d : schema::milter_keys()) {
        if (d.required && !seen.count(std::string(d.name))) {
          problem(c.milters.back().line, "[[milter]] is missing '" + std::string(d.name) + "'");
        }
      }
      for (std::size_t i = 0; i + 1 < c.milters.size(); ++i) {
        if (!c.milters.back().name.empty() && c.milters[i].name == c.milters.back().name) {
          problem(c.milters.back().line, "duplicate milter name '" + c.milters.back().name + "'");
        }
      }
    }
  }

  void validate(Config& c, const toml::table& root) {
    fs::path base = fs::absolute(fs::path(file_)).parent_path();
    if (!c.hostname.empty() && !mailfort::is_fqdn(c.hostname)) {
      problem(c.line_of("hostname"), "hostname '" + c.hostname + "' is not a fully qualified domain name");
    }
    c.data_dir = resolve_path(base, c.data_dir);
    c.tls.cert = resolve_path(base, c.tls.cert);
    c.tls.key = resolve_path(base, c.tls.key);
    c.dns.trust_anchor = resolve_path(base, c.dns.trust_anchor);
    c.directory.path = resolve_path(base, c.directory.path);
    c.directory.password_file = resolve_path(base, c.directory.password_file);
    c.directory.tls_ca_file = resolve_path(base, c.directory.tls_ca_file);
    c.state.redis_password_file = resolve_path(base, c.state.redis_password_file);
    c.state.redis_tls_ca_file = resolve_path(base, c.state.redis_tls_ca_file);
    if (c.directory.backend != "sqlite" && c.directory.url.empty()) {
      problem(c.line_of("directory.backend"),
              "directory.backend = \"" + c.directory.backend + "\" needs directory.url");
    }
    if (c.state.backend == "redis" && c.state.redis_url.empty()) {
      problem(c.line_of("state.backend"), "state.backend = \"redis\" needs state.redis_url");
    }
    c.log.file = resolve_path(base, c.log.file);
    c.spam.rspamd_password_file = resolve_path(base, c.spam.rspamd_password_file);
    for (auto& r : c.spam.rules) r = resolve_path(base, r);
    // Relative like every other path (`mailfort init` writes data/sieve/...).
    for (auto& p : c.sieve.before) p = resolve_path(base, p);
    for (auto& p : c.sieve.after) p = resolve_path(base, p);
    c.sieve.global_dir = resolve_path(base, c.sieve.global_dir);
    if (c.spam.reject_score < c.spam.add_header_score) {
      problem(c.line_of("spam.reject_score"), "spam.reject_score must not be below spam.add_header_score");
    }
    for (const auto& r : c.dns.resolvers) {
      std::string h;
      uint16_t p;
      if (!parse_host_port(r, h, p, false)) {
        problem(c.line_of("dns.resolvers"), "dns resolver '" + r + "' is not \"ip\" or \"ip:port\"");
      }
    }
    for (const auto& n : c.smtp.trusted_networks) {
      auto slash = n.find('/');
      std::string ip = n.substr(0, slash);
      unsigned char buf[16];
      bool ok = inet_pton(AF_INET, ip.c_str(), buf) == 1 || inet_pton(AF_INET6, ip.c_str(), buf) == 1;
      if (ok && slash != std::string::npos) {
        std::string bits = n.substr(slash + 1);
        ok = !bits.empty() && bits.size() <= 3 &&
             std::all_of(bits.begin(), bits.end(), [](unsigned char ch) { return std::isdigit(ch); }) &&
             std::stoi(bits) <= (ip.find(':') != std::string::npos ? 128 : 32);
      }
      if (!ok) problem(c.line_of("smtp.trusted_networks"), "trusted network '" + n + "' is not a CIDR");
    }
    if (c.listeners.empty() && !root.contains("listener")) {
      problem(0, "no [[listener]] configured: the server would do nothing");
    }
    bool any_tls = false;
    std::set<std::string> names;
    for (std::size_t i = 0; i < c.listeners.size(); ++i) {
      const auto& l = c.listeners[i];
      if (l.tls != TlsMode::none) any_tls = true;
      if (!l.name.empty() && !names.insert(l.name).second) {
        problem(l.line, "duplicate listener name '" + l.name + "'");
      }
      if (l.host.empty()) continue;
      for (std::size_t j = 0; j < i; ++j) {
        const auto& o = c.listeners[j];
        if (o.host.empty() || o.port != l.port) continue;
        bool v6 = l.host.find(':') != std::string::npos, ov6 = o.host.find(':') != std::string::npos;
        if (v6 != ov6) continue;
        bool wildcard = l.host == "0.0.0.0" || l.host == "::" || o.host == "0.0.0.0" || o.host == "::";
        if (l.host == o.host || wildcard) {
          problem(c.line_of("listener." + std::to_string(i) + ".address"),
                  "port clash: listener '" + l.name + "' (" + l.address + ") and listener '" + o.name +
                      "' (" + o.address + ") bind the same port");
        }
      }
    }
    if (any_tls && (c.tls.cert.empty() || c.tls.key.empty())) {
      problem(c.key_lines.count("tls.cert") ? c.line_of("tls.cert") : 0,
              "listeners use TLS but [tls] cert and key are not both set");
    }
  }

  std::string file_;
  std::vector<Problem> problems_;
};

LoadResult parse_and_load(const std::string& text, const std::string& path) {
  Loader loader(path);
  toml::table root;
  try {
    root = toml::parse(text, path);
  } catch (const toml::parse_error& e) {
    LoadResult r;
    r.problems.push_back(
        Problem{path, static_cast<int>(e.source().begin.line), std::string(e.description())});
    return r;
  }
  return loader.load(root);
}

}  // namespace

const char* const kDefaultTls12Ciphers =
    "ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:ECDHE-ECDSA-CHACHA20-POLY1305:"
    "ECDHE-RSA-CHACHA20-POLY1305:ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256";

const char* to_string(Protocol p) {
  switch (p) {
    case Protocol::smtp:
      return "smtp";
    case Protocol::submission:
      return "submission";
    case Protocol::imap:
      return "imap";
    case Protocol::pop3:
      return "pop3";
    case Protocol::managesieve:
      return "managesieve";
    case Protocol::admin:
      return "admin";
  }
  return "?";
}

const char* to_string(TlsMode m) {
  switch (m) {
    case TlsMode::none:
      return "none";
    case TlsMode::starttls:
      return "starttls";
    case TlsMode::implicit:
      return "implicit";
  }
  return "?";
}

int Config::line_of(const std::string& key) const {
  auto it = key_lines.find(key);
  return it == key_lines.end() ? 0 : it->second;
}

std::string Config::state_db_path() const {
  return data_dir + "/state.sqlite";
}

std::string Config::directory_db_path() const {
  return directory.path.empty() ? data_dir + "/directory.sqlite" : directory.path;
}

std::string Config::authserv_id() const {
  return inbound.authserv_id.empty() ? hostname : inbound.authserv_id;
}

std::string Config::srs_secret_path() const {
  return inbound.srs_secret_file.empty() ? data_dir + "/srs.key" : inbound.srs_secret_file;
}

std::string Config::bayes_db_path() const {
  return data_dir + "/bayes.sqlite";
}

std::string Config::spam_history_db_path() const {
  return data_dir + "/spam-history.sqlite";
}

std::string Config::sieve_global_dir() const {
  return sieve.global_dir.empty() ? data_dir + "/sieve/global" : sieve.global_dir;
}

std::string Config::sieve_state_db_path() const {
  return data_dir + "/sieve-state.sqlite";
}

std::string Problem::to_string() const {
  return line > 0 ? fmt::format("{}:{}: {}", file, line, message) : fmt::format("{}: {}", file, message);
}

LoadResult load_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    LoadResult r;
    r.problems.push_back(Problem{path, 0, "cannot read the configuration file"});
    return r;
  }
  std::stringstream ss;
  ss << in.rdbuf();
  return parse_and_load(ss.str(), path);
}

LoadResult load_string(const std::string& text, const std::string& path_for_messages) {
  return parse_and_load(text, path_for_messages);
}

std::string reference_markdown() {
  Config defaults;
  std::string out =
      "# Configuration reference\n\n"
      "<!-- Generated from src/base/config_keys.cpp by `mailfort config-reference`; do not edit. -->\n\n"
      "Mailfort reads one TOML file (`mailfort -c FILE`). Relative paths are relative to the directory of "
      "that file. Unknown keys, wrong types and out-of-range values are errors: `mailfort check -c FILE` "
      "prints every problem as `file:line: message` and exits non-zero. The defaults are the secure "
      "choices; a file needs only `hostname`, `data_dir`, the `[tls]` files and its listeners.\n";
  auto table_for = [&](std::string_view section) {
    out += "\n| key | type | default | description |\n|---|---|---|---|\n";
    for (const auto& k : schema::keys()) {
      auto dot = k.name.rfind('.');
      std::string_view sec = dot == std::string_view::npos ? "" : k.name.substr(0, dot);
      if (sec != section) continue;
      std::string_view leaf = dot == std::string_view::npos ? k.name : k.name.substr(dot + 1);
      std::string type;
      switch (k.kind) {
        case schema::Kind::String:
          type = "string";
          break;
        case schema::Kind::Path:
          type = "path";
          break;
        case schema::Kind::Bool:
          type = "bool";
          break;
        case schema::Kind::UInt:
          type = fmt::format("integer {}..{}", k.min, k.max);
          break;
        case schema::Kind::Number:
          type = fmt::format("number {}..{}", k.min, k.max);
          break;
        case schema::Kind::StringArray:
          type = "array of strings";
          break;
        case schema::Kind::Enum: {
          type = "one of";
          for (auto a : k.allowed) type += " `" + std::string(a) + "`";
          break;
        }
      }
      std::string def = k.required ? "required" : "`" + k.show(defaults) + "`";
      std::string doc(k.doc);
      if (!k.why.empty()) doc += " Why a limit: " + std::string(k.why) + ".";
      out += fmt::format("| `{}` | {} | {} | {} |\n", leaf, type, def, doc);
    }
  };
  out += "\n## Top level\n";
  table_for("");
  for (auto s : schema::sections()) {
    out += "\n## [" + std::string(s) + "]\n";
    table_for(s);
  }
  out += "\n## [[listener]] (repeat for each)\n\n| key | type | description |\n|---|---|---|\n";
  for (const auto& k : schema::listener_keys()) {
    std::string type = k.kind == schema::Kind::Enum ? "one of" : "string";
    for (auto a : k.allowed) type += " `" + std::string(a) + "`";
    out += fmt::format("| `{}` | {} | {}{} |\n", k.name, type, k.doc, k.required ? " Required." : "");
  }
  out +=
      "\nExample:\n\n```toml\n[[listener]]\nname = \"submission\"\nprotocol = \"submission\"\n"
      "address = \"0.0.0.0:587\"\ntls = \"starttls\"\n```\n\n"
      "Two listeners may not bind the same port (a wildcard address clashes with every address of its "
      "family). Changing listeners needs a restart; SIGHUP reloads the certificate, limits, [sieve] settings and log file.\n";
  out +=
      "\n## [[milter]] (repeat for each; called in order at end of data)\n\n| key | type | description "
      "|\n|---|---|---|\n";
  for (const auto& k : schema::milter_keys()) {
    std::string type = k.kind == schema::Kind::Enum          ? "one of"
                       : k.kind == schema::Kind::UInt        ? "integer"
                       : k.kind == schema::Kind::StringArray ? "array of strings"
                                                             : "string";
    for (auto a : k.allowed) type += " `" + std::string(a) + "`";
    out += fmt::format("| `{}` | {} | {}{} |\n", k.name, type, k.doc, k.required ? " Required." : "");
  }
  out +=
      "\nExample (Rspamd's proxy worker in milter mode):\n\n```toml\n[[milter]]\nname = \"rspamd\"\n"
      "address = \"127.0.0.1:11332\"\nlisteners = [\"mx\", \"submission\"]\ndefault_action = "
      "\"tempfail\"\n```\n";
  return out;
}

}  // namespace mailfort::config
