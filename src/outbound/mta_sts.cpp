#include "outbound/mta_sts.h"

#include <spdlog/spdlog.h>
#include <nlohmann/json.hpp>

#include <ctime>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "base/log.h"
#include "base/text.h"
#include "dns/resolver.h"
#include "outbound/delivery_route.h"
#include "state/redis.h"
#include "tls/https_get.h"

namespace mailfort::outbound {
namespace {

namespace sts = proto::mtasts;

int64_t now() {
  return static_cast<int64_t>(::time(nullptr));
}

std::string join(const std::vector<std::string>& v) {
  std::string out;
  for (auto& s : v) out += (out.empty() ? "" : " ") + s;
  return out;
}

// "text/plain" with optional parameters (RFC 8461 3.3).
bool is_text_plain(const std::string& content_type) {
  std::string t = to_lower(content_type.substr(0, content_type.find(';')));
  while (!t.empty() && (t.back() == ' ' || t.back() == '\t')) t.pop_back();
  return t == "text/plain";
}

// The policy body, or an error for logs.
Result<std::string> fetch_policy(dns::Resolver& dns, const std::string& domain, const std::string& ca_file) {
  tls::HttpsRequest req;
  req.host = "mta-sts." + domain;
  req.path = "/.well-known/mta-sts.txt";
  req.ca_file = ca_file;
  req.connect_timeout = std::chrono::seconds(10);
  req.timeout = std::chrono::seconds(30);
  req.max_body = 64 * 1024;
  req.addresses = addresses_of(dns, req.host).ips;
  if (req.addresses.empty()) return make_error(Errc::Temp, "no address for " + req.host);
  auto r = tls::https_get(req);
  if (!r) return r.error();
  if (r->status != 200) return make_error(Errc::Temp, "HTTP status " + std::to_string(r->status));
  if (!is_text_plain(r->content_type))
    return make_error(Errc::Temp, "Content-Type " + log::quote(r->content_type) + " is not text/plain");
  return std::move(r->body);
}

}  // namespace

std::optional<MtaStsCache::Cached> MtaStsCache::load(const std::string& domain) const {
  std::ifstream in(dir_ + "/" + domain + ".json");
  if (!in) return std::nullopt;
  std::stringstream ss;
  ss << in.rdbuf();
  return parse_cached(ss.str());
}

std::optional<MtaStsCache::Cached> MtaStsCache::load_redis(const std::string& domain) {
  if (!redis_) return std::nullopt;
  auto r = redis_->command({"GET", redis_->key("mtasts:" + domain)});
  if (!r) {
    redis_->count_fallback();
    return std::nullopt;
  }
  if (r->type != state::RedisReply::Type::String) return std::nullopt;
  auto c = parse_cached(r->str);
  if (c) {
    std::lock_guard lock(mu_);
    write_file(domain, r->str);
  }
  return c;
}

std::optional<MtaStsCache::Cached> MtaStsCache::parse_cached(const std::string& text) {
  auto j = nlohmann::json::parse(text, nullptr, false);
  if (j.is_discarded() || !j.is_object()) return std::nullopt;
  Cached c;
  try {
    c.id = j.at("id").get<std::string>();
    c.fetched = j.at("fetched").get<int64_t>();
    auto p = sts::parse_policy(j.at("policy").get<std::string>());
    if (!p) return std::nullopt;
    c.policy = *p;
  } catch (const nlohmann::json::exception&) {
    return std::nullopt;
  }
  if (c.fetched + static_cast<int64_t>(c.policy.max_age) <= now()) return std::nullopt;  // expired
  return c;
}

void MtaStsCache::store(const std::string& domain, const std::string& id, int64_t fetched,
                        const std::string& body) const {
  nlohmann::json j = {{"id", id}, {"fetched", fetched}, {"policy", body}};
  write_file(domain, j.dump());
  if (redis_) {
    auto p = sts::parse_policy(body);
    int64_t left = p ? fetched + static_cast<int64_t>(p->max_age) - now() : 0;
    if (left > 0 &&
        !redis_->command({"SET", redis_->key("mtasts:" + domain), j.dump(), "EX", std::to_string(left)}))
      redis_->count_fallback();
  }
}

void MtaStsCache::write_file(const std::string& domain, const std::string& json) const {
  std::error_code ec;
  std::filesystem::create_directories(dir_, ec);
  std::string final_path = dir_ + "/" + domain + ".json";
  std::string tmp = final_path + ".tmp";  // callers hold mu_
  {
    std::ofstream out(tmp, std::ios::trunc);
    out << json << "\n";
    if (!out) {
      spdlog::warn("mta-sts cannot write {}", log::quote(tmp));
      return;
    }
  }
  std::filesystem::rename(tmp, final_path, ec);
  if (ec) spdlog::warn("mta-sts cannot write {}: {}", log::quote(final_path), ec.message());
}

MtaStsLookup MtaStsCache::lookup(dns::Resolver& dns, const std::string& domain_in,
                                 const std::string& ca_file) {
  MtaStsLookup out;
  std::string domain = to_lower(domain_in);
  // Also keeps the cache file name safe: letters, digits, '-' and '.'.
  if (!is_valid_domain(domain) || domain.find('.') == std::string::npos) return out;
  auto cached = load(domain);
  if (!cached) cached = load_redis(domain);
  auto use_cache = [&] {
    if (cached) {
      out.policy = cached->policy;
      out.id = cached->id;
      out.source = "cache";
    }
    return out;
  };
  auto txt = dns.query("_mta-sts." + domain, dns::Type::TXT);
  std::optional<sts::TxtRecord> rec;
  if (txt.status == dns::Answer::Status::Ok) rec = sts::select_txt(txt.txt);
  if (!rec) return use_cache();  // 5.1: a cached policy outlives its TXT record
  if (cached && cached->id == rec->id) return use_cache();
  if (redis_) {
    // The id changed: another node may have fetched the new policy already.
    if (auto shared = load_redis(domain); shared && shared->id == rec->id) {
      cached = std::move(shared);
      return use_cache();
    }
  }
  {
    std::lock_guard lock(mu_);
    auto it = failures_.find(domain);
    if (it != failures_.end() && it->second.first == rec->id && now() - it->second.second < kRetryAfter)
      return use_cache();
  }
  auto body = fetch_policy(dns, domain, ca_file);
  std::optional<sts::Policy> policy;
  std::string error;
  if (!body)
    error = body.error().message;
  else if (!(policy = sts::parse_policy(*body)))
    error = "invalid policy file";
  if (!policy) {
    if (!cached) out.failure = body ? TlsResult::StsPolicyInvalid : TlsResult::StsPolicyFetchError;
    spdlog::info("mta-sts fetch-failed domain={} id={} error={}{}", domain, rec->id, log::quote(error),
                 cached ? " using=cache" : "");
    std::lock_guard lock(mu_);
    if (failures_.size() >= kMaxFailures) {
      // Forget the ones whose retry time has come anyway.
      for (auto it = failures_.begin(); it != failures_.end();)
        it = now() - it->second.second >= kRetryAfter ? failures_.erase(it) : std::next(it);
    }
    failures_[domain] = {rec->id, now()};
    return use_cache();
  }
  {
    // Also serialises the cache writes of concurrent lookups.
    std::lock_guard lock(mu_);
    failures_.erase(domain);
    store(domain, rec->id, now(), *body);
  }
  spdlog::info("mta-sts policy domain={} id={} mode={} max_age={} mx={}", domain, rec->id,
               sts::mode_name(policy->mode), policy->max_age, log::quote(join(policy->mx)));
  out.policy = std::move(policy);
  out.id = rec->id;
  out.source = "fetched";
  return out;
}

bool apply_mta_sts(const sts::Policy& policy, const std::string& domain, const std::string& host,
                   TlsRequirement& t, std::string& why) {
  if (policy.mode == sts::Mode::None) return true;
  // RFC 8461 2: a host that DANE protects (secure usable TLSA made TLS
  // mandatory under the dane policies) keeps DANE's requirement.
  bool dane = (t.policy == "dane" || t.policy == "dane-only") && t.mandatory;
  if (!dane) t.report = sts_report_policy(policy);
  bool allowed = sts::policy_allows_mx(policy, host);
  if (policy.mode == sts::Mode::Testing) {
    if (dane) return true;
    if (!allowed)
      spdlog::info("mta-sts testing domain={} mx={} would-fail={}", domain, host,
                   log::quote("MX host not in policy mx " + join(policy.mx)));
    // The TLS layer checks the certificate as enforce would and logs a
    // failure, without failing (only when the policy itself verifies
    // nothing, and only when the host offers STARTTLS).
    else if (t.attempt && t.params.verify == tls::ClientParams::Verify::None) {
      t.params.report_names = {host};
      t.params.report_label = "mta-sts testing domain=" + domain;
    }
    return true;
  }
  if (dane) return true;
  if (!allowed) {
    why = "MX host " + host + " is not allowed by the MTA-STS policy of " + domain +
          " (enforce, mx: " + join(policy.mx) + ")";
    spdlog::info("mta-sts skip domain={} mx={} reason={}", domain, host, log::quote(why));
    return false;
  }
  t.attempt = true;
  t.mandatory = true;
  t.policy = "mta-sts";
  t.params.sni = host;
  t.params.verify = tls::ClientParams::Verify::Ca;
  t.params.match_names = {host};
  t.params.tlsa.clear();
  t.params.fingerprints.clear();
  if (t.params.min_version < "1.2") t.params.min_version = "1.2";
  return true;
}

TlsReportPolicy sts_report_policy(const sts::Policy& policy) {
  TlsReportPolicy r;
  r.type = "sts";
  r.strings.push_back("version: STSv1");
  r.strings.push_back(std::string("mode: ") + sts::mode_name(policy.mode));
  for (auto& m : policy.mx) r.strings.push_back("mx: " + m);
  r.strings.push_back("max_age: " + std::to_string(policy.max_age));
  r.mx = policy.mx;
  return r;
}

}  // namespace mailfort::outbound
