#include <arpa/inet.h>
#include <unbound.h>

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <string>

#include "base/text.h"
#include "dns/resolver.h"

namespace mailfort::dns {
namespace {

std::string hex(const unsigned char* d, std::size_t n) {
  static const char* h = "0123456789abcdef";
  std::string out;
  for (std::size_t i = 0; i < n; ++i) {
    out.push_back(h[d[i] >> 4]);
    out.push_back(h[d[i] & 15]);
  }
  return out;
}

// "127.0.0.1:5353" -> "127.0.0.1@5353"; "[::1]:53" -> "::1@53"; "::1" -> "::1".
std::string unbound_forwarder(const std::string& f) {
  if (!f.empty() && f.front() == '[') {
    auto close = f.find(']');
    std::string host = f.substr(1, close - 1);
    return close + 2 < f.size() ? host + "@" + f.substr(close + 2) : host;
  }
  unsigned char buf[16];
  if (inet_pton(AF_INET6, f.c_str(), buf) == 1) return f;
  auto colon = f.rfind(':');
  return colon == std::string::npos ? f : f.substr(0, colon) + "@" + f.substr(colon + 1);
}

// unbound answers reverse lookups of private, shared, link-local,
// documentation and loopback ranges (10/8, 172.16/12, 192.168/16, 100.64/10,
// 169.254/16, 192.0.2/24, 198.51.100/24, 203.0.113/24, 127/8, fd00::/8,
// fe80::/10, 2001:db8::/32, ::1 ...) from built-in local zones (RFC 6303)
// without asking anyone. Behind a forwarder those zones belong to it: a site
// resolver knows its own PTRs, and tests publish PTRs there (SPF ptr, %{p},
// FCrDNS). In recursion mode they stay local, so private lookups never leak
// to the root servers.
int pass_local_reverse_zones_to_forwarders(ub_ctx* ctx) {
  int rc;
  // The RFC 1918 / RFC 6303 set; unbound validates them as insecure then
  // (a forwarder's answers there cannot chain to the root's signatures).
  if ((rc = ub_ctx_set_option(ctx, "unblock-lan-zones:", "yes")) != 0) return rc;
  if ((rc = ub_ctx_set_option(ctx, "insecure-lan-zones:", "yes")) != 0) return rc;
  // The loopback and "this network" zones unblock-lan-zones keeps local
  // (made transparent: their few built-in records, 1.0.0.127 -> localhost,
  // stay; every other name goes to the forwarder).
  static const char* const kZones[] = {
      "127.in-addr.arpa.",
      "0.in-addr.arpa.",
      "255.255.255.255.in-addr.arpa.",
      "1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.ip6.arpa.",
      "0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.ip6.arpa.",
  };
  for (const char* zone : kZones) {
    if ((rc = ub_ctx_zone_add(ctx, zone, "transparent")) != 0) return rc;
  }
  return 0;
}

// unbound parses names in presentation format; callers pass plain text
// whose only special character is the label-separating dot. Names built
// from mail data (SPF macros expand %_ to a space) can hold any byte.
std::string presentation_name(const std::string& name) {
  std::string out;
  for (unsigned char c : name) {
    if (c <= 0x20 || c >= 0x7f || c == '\\' || c == '"' || c == '(' || c == ')' || c == ';') {
      char esc[5];
      std::snprintf(esc, sizeof esc, "\\%03u", c);
      out += esc;
    } else {
      out.push_back(static_cast<char>(c));
    }
  }
  return out;
}

}  // namespace

const char* status_name(Answer::Status s) {
  switch (s) {
    case Answer::Status::Ok:
      return "ok";
    case Answer::Status::NxDomain:
      return "nxdomain";
    case Answer::Status::NoData:
      return "nodata";
    case Answer::Status::ServFail:
      return "servfail";
    case Answer::Status::Bogus:
      return "bogus";
    case Answer::Status::Error:
      return "error";
  }
  return "error";
}

Result<Type> parse_type(const std::string& name) {
  static const std::pair<const char*, Type> kTypes[] = {
      {"A", Type::A},   {"NS", Type::NS},   {"CNAME", Type::CNAME}, {"PTR", Type::PTR},
      {"MX", Type::MX}, {"TXT", Type::TXT}, {"AAAA", Type::AAAA},   {"TLSA", Type::TLSA}};
  std::string up = name;
  for (auto& c : up) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  for (auto& [n, t] : kTypes)
    if (up == n) return t;
  return make_error(Errc::Invalid, "unsupported record type '" + name + "'");
}

const char* type_name(Type t) {
  switch (t) {
    case Type::A:
      return "A";
    case Type::NS:
      return "NS";
    case Type::CNAME:
      return "CNAME";
    case Type::PTR:
      return "PTR";
    case Type::MX:
      return "MX";
    case Type::TXT:
      return "TXT";
    case Type::AAAA:
      return "AAAA";
    case Type::TLSA:
      return "TLSA";
  }
  return "?";
}

// Uncompressed wire-format name (rdata from unbound is uncompressed).
std::string decode_name(const unsigned char* d, std::size_t len, std::size_t& pos, bool& ok) {
  std::string out;
  ok = false;
  std::size_t total = 0;
  while (pos < len) {
    unsigned l = d[pos++];
    if (l == 0) {
      ok = true;
      return to_lower(out);
    }
    if (l > 63 || pos + l > len || (total += l + 1) > 255) return {};
    if (!out.empty()) out.push_back('.');
    out.append(reinterpret_cast<const char*>(d + pos), l);
    pos += l;
  }
  return {};
}

bool decode_record(Type type, const unsigned char* d, std::size_t len, Answer& a) {
  char buf[INET6_ADDRSTRLEN];
  std::size_t pos = 0;
  bool ok = false;
  switch (type) {
    case Type::A:
      if (len != 4 || !inet_ntop(AF_INET, d, buf, sizeof buf)) return false;
      a.addresses.push_back(buf);
      a.text.push_back(buf);
      return true;
    case Type::AAAA:
      if (len != 16 || !inet_ntop(AF_INET6, d, buf, sizeof buf)) return false;
      a.addresses.push_back(buf);
      a.text.push_back(buf);
      return true;
    case Type::MX: {
      if (len < 3) return false;
      Mx mx;
      mx.preference = static_cast<uint16_t>((d[0] << 8) | d[1]);
      pos = 2;
      mx.host = decode_name(d, len, pos, ok);
      if (!ok || pos != len) return false;
      a.text.push_back(std::to_string(mx.preference) + " " + (mx.host.empty() ? "." : mx.host));
      a.mx.push_back(std::move(mx));
      return true;
    }
    case Type::TXT: {
      std::string joined;
      while (pos < len) {
        unsigned l = d[pos++];
        if (pos + l > len) return false;
        joined.append(reinterpret_cast<const char*>(d + pos), l);
        pos += l;
      }
      a.text.push_back("\"" + joined + "\"");
      a.txt.push_back(std::move(joined));
      return true;
    }
    case Type::TLSA:
      if (len < 4) return false;
      a.text.push_back(std::to_string(d[0]) + " " + std::to_string(d[1]) + " " + std::to_string(d[2]) + " " +
                       hex(d + 3, len - 3));
      return true;
    case Type::PTR:
    case Type::CNAME:
    case Type::NS: {
      std::string n = decode_name(d, len, pos, ok);
      if (!ok || pos != len) return false;
      a.text.push_back(n);
      a.names.push_back(std::move(n));
      return true;
    }
  }
  return false;
}

Result<std::shared_ptr<Resolver>> Resolver::create(const Settings& s) {
  ub_ctx* ctx = ub_ctx_create();
  if (!ctx) return make_error(Errc::Perm, "cannot create the DNS resolver");
  std::shared_ptr<Resolver> r(new Resolver(ctx));
  auto fail = [&](const std::string& what, int rc) {
    return make_error(Errc::Invalid, "dns: " + what + ": " + ub_strerror(rc));
  };
  int rc;
  // A forwarder on loopback (a local unbound, or a test server) is allowed.
  if ((rc = ub_ctx_set_option(ctx, "do-not-query-localhost:", "no")) != 0) return fail("option", rc);
  if (!s.recursion) {
    if (s.forwarders.empty()) {
      if ((rc = ub_ctx_resolvconf(ctx, "/etc/resolv.conf")) != 0) return fail("/etc/resolv.conf", rc);
    }
    for (const auto& f : s.forwarders) {
      if ((rc = ub_ctx_set_fwd(ctx, unbound_forwarder(f).c_str())) != 0) return fail("forwarder " + f, rc);
    }
  }
  if (!s.trust_anchor_file.empty()) {
    if ((rc = ub_ctx_add_ta_file(ctx, s.trust_anchor_file.c_str())) != 0) {
      return fail("trust anchor " + s.trust_anchor_file, rc);
    }
  }
  // Options must all be set before this: ub_ctx_zone_add() finalizes the
  // context.
  if (!s.recursion) {
    if ((rc = pass_local_reverse_zones_to_forwarders(ctx)) != 0) return fail("local zones", rc);
  }
  // unbound answers .test (RFC 6761) locally with NXDOMAIN; labs and the
  // test suite run .test zones on their forwarder, and public resolvers
  // answer NXDOMAIN for it anyway.
  if ((rc = ub_ctx_zone_add(ctx, "test.", "transparent")) != 0) return fail("local zone test.", rc);
  return r;
}

Resolver::~Resolver() {
  ub_ctx_delete(ctx_);
}

Answer Resolver::query(const std::string& name, Type type) {
  std::string key = std::to_string(static_cast<int>(type)) + "/" + to_lower(name);
  if (!key.empty() && key.back() == '.') key.pop_back();
  auto now = std::chrono::steady_clock::now();
  {
    std::lock_guard lock(cache_mu_);
    auto it = cache_.find(key);
    if (it != cache_.end()) {
      if (it->second.expires > now) {
        Answer a = it->second.answer;
        a.ttl = static_cast<uint32_t>(
            std::chrono::duration_cast<std::chrono::seconds>(it->second.expires - now).count());
        return a;
      }
      cache_.erase(it);
    }
  }
  uint32_t ttl = 0;
  Answer a = resolve(name, type, ttl);
  bool keep = a.status == Answer::Status::Ok || a.status == Answer::Status::NxDomain ||
              a.status == Answer::Status::NoData;
  if (keep && ttl > 0) {
    std::lock_guard lock(cache_mu_);
    if (cache_.size() >= kMaxCacheEntries) {
      for (auto it = cache_.begin(); it != cache_.end();)
        it = it->second.expires <= now ? cache_.erase(it) : std::next(it);
      if (cache_.size() >= kMaxCacheEntries) cache_.clear();
    }
    cache_[key] = Cached{a, now + std::chrono::seconds(std::min(ttl, kMaxCacheSeconds))};
  }
  return a;
}

Answer Resolver::resolve(const std::string& name, Type type, uint32_t& ttl) {
  Answer a;
  ub_result* res = nullptr;
  int rc = ub_resolve(ctx_, presentation_name(name).c_str(), static_cast<int>(type), 1 /* IN */, &res);
  if (rc != 0 || !res) {
    a.status = Answer::Status::Error;
    a.why_bogus = ub_strerror(rc);
    return a;
  }
  a.secure = res->secure != 0;
  ttl = res->ttl > 0 ? static_cast<uint32_t>(res->ttl) : 0;
  a.ttl = ttl;
  if (res->bogus) {
    a.status = Answer::Status::Bogus;
    a.why_bogus = res->why_bogus ? res->why_bogus : "bogus";
  } else if (res->rcode == 3) {
    a.status = Answer::Status::NxDomain;
  } else if (res->rcode == 2) {
    a.status = Answer::Status::ServFail;
  } else if (res->rcode != 0) {
    a.status = Answer::Status::Error;
  } else if (!res->havedata) {
    a.status = Answer::Status::NoData;
  } else {
    a.status = Answer::Status::Ok;
    for (int i = 0; res->data && res->data[i]; ++i) {
      decode_record(type, reinterpret_cast<const unsigned char*>(res->data[i]),
                    static_cast<std::size_t>(res->len[i]), a);
    }
    std::stable_sort(a.mx.begin(), a.mx.end(),
                     [](const Mx& x, const Mx& y) { return x.preference < y.preference; });
    if (type == Type::MX) {
      a.text.clear();
      for (const auto& m : a.mx)
        a.text.push_back(std::to_string(m.preference) + " " + (m.host.empty() ? "." : m.host));
    }
  }
  ub_resolve_free(res);
  return a;
}

Answer Resolver::query_ptr(const std::string& ip) {
  unsigned char b[16];
  char part[16];
  std::string name;
  if (inet_pton(AF_INET, ip.c_str(), b) == 1) {
    for (int i = 3; i >= 0; --i) {
      std::snprintf(part, sizeof part, "%u.", b[i]);
      name += part;
    }
    name += "in-addr.arpa";
  } else if (inet_pton(AF_INET6, ip.c_str(), b) == 1) {
    static const char* h = "0123456789abcdef";
    for (int i = 15; i >= 0; --i) {
      name.push_back(h[b[i] & 15]);
      name.push_back('.');
      name.push_back(h[b[i] >> 4]);
      name.push_back('.');
    }
    name += "ip6.arpa";
  } else {
    Answer a;
    a.status = Answer::Status::Error;
    return a;
  }
  return query(name, Type::PTR);
}

}  // namespace mailfort::dns
