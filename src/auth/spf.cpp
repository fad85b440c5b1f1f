// check_host() (RFC 7208 4-6) over a DnsSource. Errors that end the whole
// evaluation (temperror, permerror) unwind as an Abort to check(), so each
// mechanism reads as the RFC states it.
#include "auth/spf.h"

#include <arpa/inet.h>

#include <algorithm>
#include <array>
#include <cstring>
#include <optional>
#include <string_view>
#include <vector>

#include "base/text.h"
#include "proto/spf/macro.h"
#include "proto/spf/record.h"

namespace mailfort::auth {
namespace {

namespace spf = proto::spf;

constexpr int kMaxDnsMechanisms = 10;  // 4.6.4: include a mx ptr exists redirect
constexpr int kMaxVoidLookups = 2;     // 4.6.4
constexpr std::size_t kMaxNames = 10;  // 4.6.4: MX names, PTR names

struct Abort {
  SpfResult result;
  std::string why;
};

[[noreturn]] void perm(std::string why) {
  throw Abort{SpfResult::PermError, std::move(why)};
}
[[noreturn]] void temp(std::string why) {
  throw Abort{SpfResult::TempError, std::move(why)};
}

bool failed(const dns::Answer& a) {
  using S = dns::Answer::Status;
  return a.status != S::Ok && a.status != S::NxDomain && a.status != S::NoData;
}

struct Client {
  bool v6 = false;
  std::array<uint8_t, 16> bytes{};  // v4 in the first 4
  std::string text;                 // %{c}
};

// An IPv4-mapped IPv6 address (::ffff:a.b.c.d) is checked as IPv4 (5 note).
std::optional<Client> parse_client(const std::string& ip) {
  Client c;
  if (auto v4 = spf::parse_ip4(ip)) {
    std::memcpy(c.bytes.data(), v4->data(), 4);
    c.text = ip;
    return c;
  }
  auto v6 = spf::parse_ip6(ip);
  if (!v6) return std::nullopt;
  static const uint8_t kMapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
  if (std::memcmp(v6->data(), kMapped, 12) == 0) {
    std::memcpy(c.bytes.data(), v6->data() + 12, 4);
    c.text = std::to_string((*v6)[12]) + "." + std::to_string((*v6)[13]) + "." + std::to_string((*v6)[14]) +
             "." + std::to_string((*v6)[15]);
    return c;
  }
  c.v6 = true;
  c.bytes = *v6;
  char buf[INET6_ADDRSTRLEN];
  c.text = inet_ntop(AF_INET6, v6->data(), buf, sizeof buf) ? buf : ip;  // RFC 5952 form for %{c}
  return c;
}

// 4.3: a multi-label name, labels 1..63 octets, at most 253 in all. Any
// octet may appear in a label (macros expand %_ to a space).
bool valid_domain(std::string_view d) {
  if (!d.empty() && d.back() == '.') d.remove_suffix(1);
  if (d.empty() || d.size() > spf::kMaxDomainLength) return false;
  std::size_t labels = 0, start = 0;
  for (std::size_t i = 0; i <= d.size(); ++i) {
    if (i == d.size() || d[i] == '.') {
      std::size_t len = i - start;
      if (len == 0 || len > 63) return false;
      ++labels;
      start = i + 1;
    }
  }
  return labels >= 2;
}

std::string strip_dot(std::string d) {
  if (!d.empty() && d.back() == '.') d.pop_back();
  return d;
}

std::string reverse_name(const Client& c) {
  static const char* hex = "0123456789abcdef";
  std::string out;
  if (!c.v6) {
    for (int i = 3; i >= 0; --i) out += std::to_string(c.bytes[static_cast<std::size_t>(i)]) + ".";
    return out + "in-addr.arpa";
  }
  for (int i = 15; i >= 0; --i) {
    uint8_t b = c.bytes[static_cast<std::size_t>(i)];
    out.push_back(hex[b & 15]);
    out.push_back('.');
    out.push_back(hex[b >> 4]);
    out.push_back('.');
  }
  return out + "ip6.arpa";
}

SpfResult from_qualifier(spf::Qualifier q) {
  switch (q) {
    case spf::Qualifier::Pass:
      return SpfResult::Pass;
    case spf::Qualifier::Fail:
      return SpfResult::Fail;
    case spf::Qualifier::SoftFail:
      return SpfResult::SoftFail;
    case spf::Qualifier::Neutral:
      return SpfResult::Neutral;
  }
  return SpfResult::Neutral;
}

bool is_subdomain_or_same(std::string_view name, std::string_view domain) {
  if (iequals(name, domain)) return true;
  return name.size() > domain.size() && name[name.size() - domain.size() - 1] == '.' &&
         iequals(name.substr(name.size() - domain.size()), domain);
}

class Evaluator {
 public:
  Evaluator(DnsSource& dns, Client client, spf::MacroValues values)
      : dns_(dns), client_(std::move(client)), values_(std::move(values)) {
    values_.validated_name = [this] { return validated_name_for(values_.domain); };
  }

  struct Out {
    SpfResult result = SpfResult::None;
    std::string explanation;
    std::string problem;
  };

  Out check(const std::string& domain) {
    try {
      return check_host(domain);
    } catch (const Abort& a) {
      return Out{a.result, "", a.why};
    }
  }

 private:
  Out check_host(const std::string& domain) {
    if (!valid_domain(domain)) return Out{SpfResult::None, "", "not a valid domain: " + domain};
    auto record = select_record(domain);
    if (!record) return Out{SpfResult::None, "", "no SPF record at " + domain};
    std::string saved = values_.domain;
    values_.domain = domain;
    struct Restore {
      std::string& slot;
      std::string value;
      ~Restore() { slot = std::move(value); }
    } restore{values_.domain, saved};

    for (const auto& d : record->directives) {
      if (!matches(d, domain)) continue;
      Out out{from_qualifier(d.qualifier), "", "matched " + d.text + " at " + domain};
      if (out.result == SpfResult::Fail && record->exp) out.explanation = explain(*record->exp);
      return out;
    }
    if (record->redirect) {
      count_dns_mechanism();
      std::string target = expand_target(*record->redirect);
      Out inner = valid_domain(target) ? check_host(target) : Out{};
      if (inner.result == SpfResult::None) perm("redirect=" + target + " has no SPF record");
      return inner;
    }
    return Out{SpfResult::Neutral, "", "no mechanism matched at " + domain};
  }

  // 4.5: TXT only; exactly one "v=spf1" record.
  std::optional<spf::Record> select_record(const std::string& domain) {
    auto a = dns_.query(domain, dns::Type::TXT);
    if (failed(a)) temp("DNS failure looking up TXT " + domain);
    std::vector<const std::string*> found;
    for (const auto& t : a.txt)
      if (spf::is_spf_record(t)) found.push_back(&t);
    if (found.empty()) return std::nullopt;
    if (found.size() > 1) perm("several SPF records at " + domain);
    auto parsed = spf::parse_record(*found.front());
    if (!parsed.record) perm(parsed.error + " at " + domain);
    return std::move(parsed.record);
  }

  void count_dns_mechanism() {
    if (++dns_mechanisms_ > kMaxDnsMechanisms) perm("more than 10 DNS lookups");
  }

  void count_void() {
    if (++void_lookups_ > kMaxVoidLookups) perm("more than 2 void lookups");
  }

  std::string expand_target(const std::string& spec) {
    auto t = spf::expand(spec, values_, spf::MacroUse::DomainSpec);
    if (!t) perm("bad macro in " + spec);
    return strip_dot(*t);
  }

  // The target of a/mx/ptr (current domain when no domain-spec).
  std::string target_of(const spf::Directive& d, const std::string& domain) {
    return d.domain_spec.empty() ? domain : expand_target(d.domain_spec);
  }

  bool matches(const spf::Directive& d, const std::string& domain) {
    using M = spf::Mechanism;
    switch (d.mechanism) {
      case M::All:
        return true;
      case M::Ip4:
        return !client_.v6 && spf::prefix_match(client_.bytes.data(), d.network.data(), 4, d.cidr4);
      case M::Ip6:
        return client_.v6 && spf::prefix_match(client_.bytes.data(), d.network.data(), 16, d.cidr6);
      case M::Include: {
        count_dns_mechanism();
        std::string target = expand_target(d.domain_spec);
        Out inner = valid_domain(target) ? check_host(target) : Out{};
        switch (inner.result) {
          case SpfResult::Pass:
            return true;
          case SpfResult::Fail:
          case SpfResult::SoftFail:
          case SpfResult::Neutral:
            return false;
          case SpfResult::TempError:
            temp(inner.problem);
          case SpfResult::PermError:
            perm(inner.problem);
          case SpfResult::None:
            perm("include:" + target + " has no SPF record");
        }
        return false;
      }
      case M::A: {
        count_dns_mechanism();
        std::string target = target_of(d, domain);
        auto a = lookup_addresses(target, true);
        return any_address_matches(a, d);
      }
      case M::Mx: {
        count_dns_mechanism();
        std::string target = target_of(d, domain);
        if (!valid_domain(target)) return false;
        auto mx = dns_.query(target, dns::Type::MX);
        if (failed(mx)) temp("DNS failure looking up MX " + target);
        if (mx.status != dns::Answer::Status::Ok || mx.mx.empty()) {
          count_void();
          return false;
        }
        if (mx.mx.size() > kMaxNames) perm("more than 10 MX names at " + target);
        for (const auto& host : mx.mx) {
          if (host.host.empty()) continue;  // null MX
          auto a = lookup_addresses(host.host, false);
          if (any_address_matches(a, d)) return true;
        }
        return false;
      }
      case M::Ptr: {
        count_dns_mechanism();
        std::string target = target_of(d, domain);
        for (const auto& name : validated_names())
          if (is_subdomain_or_same(name, target)) return true;
        return false;
      }
      case M::Exists: {
        count_dns_mechanism();
        std::string target = expand_target(d.domain_spec);
        if (!valid_domain(target)) return false;
        auto a = dns_.query(target, dns::Type::A);  // 5.7: always A, whatever the client
        if (failed(a)) temp("DNS failure looking up A " + target);
        if (a.addresses.empty()) {
          count_void();
          return false;
        }
        return true;
      }
    }
    return false;
  }

  // A or AAAA of `name` by the client's family. `is_term`: the term's own
  // lookup (counts as void when empty), not an MX host's.
  std::vector<std::string> lookup_addresses(const std::string& name, bool is_term) {
    if (!valid_domain(name)) return {};
    auto type = client_.v6 ? dns::Type::AAAA : dns::Type::A;
    auto a = dns_.query(name, type);
    if (failed(a)) temp(std::string("DNS failure looking up ") + dns::type_name(type) + " " + name);
    if (a.addresses.empty() && is_term) count_void();
    return a.addresses;
  }

  bool any_address_matches(const std::vector<std::string>& addresses, const spf::Directive& d) {
    for (const auto& text : addresses) {
      if (client_.v6) {
        auto b = spf::parse_ip6(text);
        if (b && spf::prefix_match(client_.bytes.data(), b->data(), 16, d.cidr6)) return true;
      } else {
        auto b = spf::parse_ip4(text);
        if (b && spf::prefix_match(client_.bytes.data(), b->data(), 4, d.cidr4)) return true;
      }
    }
    return false;
  }

  // 5.5: the client's PTR names (at most 10) whose A/AAAA include the
  // client address. DNS errors only drop names; they never end the check.
  const std::vector<std::string>& validated_names() {
    if (validated_) return *validated_;
    validated_.emplace();
    auto ptr = dns_.query(reverse_name(client_), dns::Type::PTR);
    std::size_t n = 0;
    for (const auto& name : ptr.names) {
      if (++n > kMaxNames) break;
      if (!valid_domain(name)) continue;
      auto a = dns_.query(name, client_.v6 ? dns::Type::AAAA : dns::Type::A);
      for (const auto& text : a.addresses) {
        bool same = false;
        if (client_.v6) {
          auto b = spf::parse_ip6(text);
          same = b && *b == client_.bytes;
        } else {
          auto b = spf::parse_ip4(text);
          same = b && std::memcmp(b->data(), client_.bytes.data(), 4) == 0;
        }
        if (same) {
          validated_->push_back(name);
          break;
        }
      }
    }
    return *validated_;
  }

  // 7.3 %{p}: a validated name equal to the domain, else one under it,
  // else any, else "unknown".
  std::string validated_name_for(const std::string& domain) {
    const auto& names = validated_names();
    for (const auto& n : names)
      if (iequals(n, domain)) return n;
    for (const auto& n : names)
      if (is_subdomain_or_same(n, domain)) return n;
    return names.empty() ? "unknown" : names.front();
  }

  // 6.2: any problem with exp= means no explanation, never an error.
  std::string explain(const std::string& spec) {
    try {
      auto target = spf::expand(spec, values_, spf::MacroUse::DomainSpec);
      if (!target) return "";
      std::string name = strip_dot(*target);
      if (!valid_domain(name)) return "";
      auto a = dns_.query(name, dns::Type::TXT);
      if (a.status != dns::Answer::Status::Ok || a.txt.size() != 1) return "";
      auto text = spf::expand(a.txt.front(), values_, spf::MacroUse::Explanation);
      return text ? *text : "";
    } catch (const Abort&) {
      return "";
    }
  }

  DnsSource& dns_;
  Client client_;
  spf::MacroValues values_;
  int dns_mechanisms_ = 0;
  int void_lookups_ = 0;
  std::optional<std::vector<std::string>> validated_;
};

SpfOutcome run(DnsSource& dns, const SpfRequest& req, const std::string& local, const std::string& domain,
               const char* identity) {
  SpfOutcome out;
  out.domain = domain;
  out.identity = identity;
  auto client = parse_client(req.ip);
  if (!client) {
    out.result = SpfResult::PermError;
    out.problem = "not an IP address: " + req.ip;
    return out;
  }
  spf::MacroValues v;
  v.local_part = local;
  v.sender_domain = domain;
  v.sender = local + "@" + domain;
  v.ip = client->text;
  v.ipv6 = client->v6;
  v.helo = req.helo;
  v.receiver = req.receiver;
  v.now = req.now;
  Evaluator e(dns, *client, std::move(v));
  auto r = e.check(domain);
  out.result = r.result;
  out.explanation = std::move(r.explanation);
  out.problem = std::move(r.problem);
  return out;
}

bool is_address_literal(const std::string& helo) {
  if (!helo.empty() && helo.front() == '[') return true;
  return spf::parse_ip4(helo) || spf::parse_ip6(helo);
}

}  // namespace

const char* spf_result_name(SpfResult r) {
  switch (r) {
    case SpfResult::None:
      return "none";
    case SpfResult::Neutral:
      return "neutral";
    case SpfResult::Pass:
      return "pass";
    case SpfResult::Fail:
      return "fail";
    case SpfResult::SoftFail:
      return "softfail";
    case SpfResult::TempError:
      return "temperror";
    case SpfResult::PermError:
      return "permerror";
  }
  return "none";
}

SpfOutcome check_mail_from(DnsSource& dns, const SpfRequest& request) {
  if (request.sender.empty()) {
    SpfOutcome out = check_helo(dns, request);
    out.identity = "mailfrom";
    return out;
  }
  std::string local = "postmaster", domain = request.sender;
  auto at = request.sender.rfind('@');
  if (at != std::string::npos) {
    if (at > 0) local = request.sender.substr(0, at);
    domain = request.sender.substr(at + 1);
  }
  return run(dns, request, local, strip_dot(domain), "mailfrom");
}

SpfOutcome check_helo(DnsSource& dns, const SpfRequest& request) {
  if (is_address_literal(request.helo) || !valid_domain(request.helo)) {
    SpfOutcome out;
    out.domain = request.helo;
    out.identity = "helo";
    out.problem = "HELO is not a domain name";
    return out;
  }
  return run(dns, request, "postmaster", strip_dot(request.helo), "helo");
}

}  // namespace mailfort::auth
