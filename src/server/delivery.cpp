#include "server/delivery.h"

#include <spdlog/spdlog.h>
#include <asio/co_spawn.hpp>
#include <asio/detached.hpp>
#include <asio/experimental/as_tuple.hpp>
#include <asio/steady_timer.hpp>
#include <asio/use_awaitable.hpp>

#include <unistd.h>
#include <algorithm>
#include <ctime>
#include <sstream>

#include "base/log.h"
#include "base/text.h"
#include "directory/directory.h"
#include "dns/resolver.h"
#include "proto/mail/header.h"
#include "queue/queue.h"
#include "server/blocking.h"
#include "server/dkim_outbound.h"
#include "server/mta_sts.h"
#include "server/services.h"
#include "server/smtp_client.h"
#include "store/mail_store.h"
#include "tls/client.h"

namespace mailfort::server {
namespace {

using queue::Envelope;
using queue::Recipient;

struct Target {
  std::string host;
  std::string ip;
  TlsRequirement tls;
};

struct Route {
  bool ok = false;
  bool permanent = false;
  std::string error;
  bool local = false;
  std::vector<Target> targets;
};

std::string domain_of(const std::string& addr) {
  auto at = addr.rfind('@');
  return at == std::string::npos ? std::string() : to_lower(addr.substr(at + 1));
}

std::vector<std::string> split(const std::string& s, const std::string& seps) {
  std::vector<std::string> out;
  std::string cur;
  for (char c : s) {
    if (seps.find(c) != std::string::npos) {
      if (!cur.empty()) out.push_back(cur);
      cur.clear();
    } else {
      cur.push_back(c);
    }
  }
  if (!cur.empty()) out.push_back(cur);
  return out;
}

// "match=a:b" -> {a, b} (Postfix tlspolicies params; '|' also accepted for fingerprints)
std::vector<std::string> match_param(const std::string& params) {
  for (auto& p : split(params, " \t")) {
    if (p.rfind("match=", 0) == 0) return split(p.substr(6), ":|,");
  }
  return {};
}

// Builds the TLS requirement for one MX host under `policy` (blocking: DNS).
// Returns false with `error` when the policy cannot be met at all (defer).
bool tls_for_host(dns::Resolver& dns, const std::string& policy, const std::string& params,
                  const std::string& domain, const std::string& host, bool mx_secure,
                  const std::string& min_version, TlsRequirement& t, std::string& error) {
  t.policy = policy;
  t.params.sni = host;
  t.params.min_version = min_version;
  if (policy == "none") {
    t.attempt = false;
    return true;
  }
  if (policy == "may") return true;
  if (policy == "encrypt") {
    t.mandatory = true;
    return true;
  }
  if (policy == "fingerprint") {
    t.mandatory = true;
    t.params.verify = tls::ClientParams::Verify::Fingerprint;
    t.params.fingerprints = match_param(params);
    if (t.params.fingerprints.empty()) {
      error = "fingerprint policy without match= digests";
      return false;
    }
    return true;
  }
  if (policy == "verify" || policy == "secure") {
    t.mandatory = true;
    t.params.verify = tls::ClientParams::Verify::Ca;
    auto names = match_param(params);
    if (names.empty()) {
      // Postfix defaults: verify matches the MX host name; secure the
      // next-hop domain and its subdomains (an insecure MX lookup cannot
      // redirect it).
      if (policy == "verify")
        names = {host};
      else
        names = {domain, "." + domain};
    }
    t.params.match_names = names;
    return true;
  }
  // dane / dane-only (RFC 7672): TLSA only counts when the MX lookup and
  // the TLSA lookup are both DNSSEC-secure.
  bool only = policy == "dane-only";
  if (!mx_secure) {
    if (only) {
      error = "dane-only: MX lookup for " + domain + " is not DNSSEC-secure";
      return false;
    }
    return true;  // opportunistic, like "may"
  }
  auto a = dns.query("_25._tcp." + host, dns::Type::TLSA);
  // RFC 7672 2.2: anything but a (validated) answer or denial of existence
  // is a failure; treating it as "no TLSA" would let an attacker downgrade.
  if (a.status != dns::Answer::Status::Ok && a.status != dns::Answer::Status::NoData &&
      a.status != dns::Answer::Status::NxDomain) {
    error = "TLSA lookup for " + host + " failed (" + dns::status_name(a.status) +
            (a.why_bogus.empty() ? "" : ": " + a.why_bogus) + ")";
    return false;
  }
  if (a.status != dns::Answer::Status::Ok || !a.secure) {
    if (only) {
      error = "dane-only: no secure TLSA records for " + host;
      return false;
    }
    return true;
  }
  for (auto& txt : a.text) {
    auto f = split(txt, " ");
    if (f.size() != 4) continue;
    tls::Tlsa r;
    r.usage = static_cast<uint8_t>(std::stoi(f[0]));
    r.selector = static_cast<uint8_t>(std::stoi(f[1]));
    r.mtype = static_cast<uint8_t>(std::stoi(f[2]));
    r.data = tls::hex_to_bytes(f[3]);
    // RFC 7672 3.1.3: only DANE-TA(2) and DANE-EE(3) are usable for SMTP.
    if ((r.usage == 2 || r.usage == 3) && !r.data.empty()) t.params.tlsa.push_back(std::move(r));
  }
  if (t.params.tlsa.empty()) {
    // Unusable TLSA records: mandatory unauthenticated TLS (RFC 7672 2.2).
    t.mandatory = true;
    return true;
  }
  t.mandatory = true;
  t.params.verify = tls::ClientParams::Verify::Dane;
  t.params.dane_base_domain = host;
  return true;
}

Route resolve_route(Services& svc, const config::Config& cfg, const std::string& domain) {
  Route route;
  auto& dns = *svc.resolver;
  std::string policy = cfg.delivery.default_tls_policy, params;
  bool explicit_policy = false;
  if (auto row = svc.directory->find_tls_policy(domain); row && row.value()) {
    policy = row.value()->policy;
    params = row.value()->params;
    explicit_policy = true;
  }
  auto mx = dns.query(domain, dns::Type::MX);
  std::vector<std::string> hosts;
  bool mx_secure = mx.secure;
  switch (mx.status) {
    case dns::Answer::Status::Ok:
      if (mx.mx.size() == 1 && mx.mx[0].host.empty()) {
        route.permanent = true;
        route.error = "556 5.1.10 " + domain + " does not accept mail (null MX)";
        return route;
      }
      for (auto& m : mx.mx)
        if (!m.host.empty()) hosts.push_back(m.host);
      break;
    case dns::Answer::Status::NoData:
      hosts.push_back(domain);  // RFC 5321 5.1: implicit MX
      break;
    case dns::Answer::Status::NxDomain:
      route.permanent = true;
      route.error = "550 5.1.2 domain " + domain + " does not exist";
      return route;
    default:
      route.error = "MX lookup for " + domain + " failed (" + dns::status_name(mx.status) +
                    (mx.why_bogus.empty() ? "" : ": " + mx.why_bogus) + ")";
      return route;
  }
  // MTA-STS (RFC 8461) only where no tlspolicies row decides.
  std::optional<proto::mtasts::Policy> sts;
  if (!explicit_policy && cfg.delivery.mta_sts && svc.mta_sts)
    sts = svc.mta_sts->lookup(dns, domain, cfg.delivery.ca_file).policy;
  std::string last_error;
  for (auto& host : hosts) {
    std::vector<std::string> ips;
    std::string lookup_error;
    for (auto type : {dns::Type::A, dns::Type::AAAA}) {
      auto a = dns.query(host, type);
      if (a.status == dns::Answer::Status::Ok)
        for (auto& ip : a.addresses) ips.push_back(ip);
      else if (a.status == dns::Answer::Status::Bogus || a.status == dns::Answer::Status::ServFail)
        lookup_error = std::string(dns::type_name(type)) + " lookup for " + host + " failed (" +
                       dns::status_name(a.status) + (a.why_bogus.empty() ? "" : ": " + a.why_bogus) + ")";
    }
    if (ips.empty()) {
      last_error = lookup_error.empty() ? "no address for MX host " + host : lookup_error;
      continue;
    }
    TlsRequirement t;
    std::string why;
    if (!tls_for_host(dns, policy, params, domain, host, mx_secure, cfg.delivery.min_tls_version, t, why)) {
      last_error = why;
      continue;
    }
    if (sts && !apply_mta_sts(*sts, domain, host, t, why)) {
      last_error = why;
      continue;
    }
    for (auto& ip : ips) route.targets.push_back({host, ip, t});
  }
  if (route.targets.empty()) {
    route.error = last_error.empty() ? "no usable MX host for " + domain : last_error;
    return route;
  }
  route.ok = true;
  return route;
}

std::string status_of(const std::string& reply, bool permanent) {
  // "550 5.1.1 text" -> "5.1.1"
  auto f = split(reply, " ");
  if (f.size() >= 2 && f[1].size() >= 5 && f[1][1] == '.' && (f[1][0] == '4' || f[1][0] == '5')) {
    std::string s = f[1];
    s[0] = permanent ? '5' : s[0];
    return s;
  }
  return permanent ? "5.0.0" : "4.0.0";
}

int64_t now() {
  return static_cast<int64_t>(::time(nullptr));
}

}  // namespace

std::string make_dsn(const std::string& hostname, const std::string& sender, const std::string& original,
                     const std::vector<FailedRecipient>& failed, int64_t arrival) {
  std::string boundary = "mailfort-dsn-" + std::to_string(now()) + "-" + std::to_string(std::rand());
  std::string headers = original.substr(0, std::min(original.find("\r\n\r\n"), original.size()));
  if (headers.size() > 64 * 1024) headers.resize(64 * 1024);
  std::ostringstream m;
  m << "From: Mail Delivery System <MAILER-DAEMON@" << hostname << ">\r\n"
    << "To: <" << sender << ">\r\n"
    << "Subject: Undelivered Mail Returned to Sender\r\n"
    << "Date: " << proto::mail::rfc5322_date(now()) << "\r\n"
    << "Message-ID: <" << boundary << "@" << hostname << ">\r\n"
    << "Auto-Submitted: auto-replied\r\n"
    << "MIME-Version: 1.0\r\n"
    << "Content-Type: multipart/report; report-type=delivery-status; boundary=\"" << boundary << "\"\r\n\r\n"
    << "This is a MIME-encapsulated message.\r\n\r\n"
    << "--" << boundary << "\r\n"
    << "Content-Type: text/plain; charset=us-ascii\r\n\r\n"
    << "This is the mail system at host " << hostname << ".\r\n\r\n"
    << "Your message could not be delivered to one or more recipients.\r\n\r\n";
  for (auto& f : failed) m << "<" << f.address << ">: " << f.diagnostic << "\r\n";
  m << "\r\n--" << boundary << "\r\n"
    << "Content-Type: message/delivery-status\r\n\r\n"
    << "Reporting-MTA: dns; " << hostname << "\r\n"
    << "Arrival-Date: " << proto::mail::rfc5322_date(arrival) << "\r\n";
  for (auto& f : failed) {
    m << "\r\nFinal-Recipient: rfc822; " << f.address << "\r\n"
      << "Action: failed\r\n"
      << "Status: " << f.status << "\r\n"
      << "Diagnostic-Code: smtp; " << f.diagnostic << "\r\n";
  }
  m << "\r\n--" << boundary << "\r\n"
    << "Content-Type: text/rfc822-headers\r\n\r\n"
    << headers << "\r\n"
    << "\r\n--" << boundary << "--\r\n";
  return m.str();
}

DeliveryEngine::DeliveryEngine(Services& services, asio::io_context& io,
                               std::shared_ptr<tls::ClientContext> tls)
    : svc_(services), io_(io), tls_(std::move(tls)) {}

void DeliveryEngine::start() {
  asio::co_spawn(io_, loop(), asio::detached);
}

asio::awaitable<void> DeliveryEngine::loop() {
  asio::steady_timer timer(io_);
  while (!stopping_) {
    auto cfg = svc_.config();
    auto* q = svc_.queue.get();
    if (!cfg->delivery.enabled) {
      timer.expires_after(std::chrono::seconds(1));
      co_await timer.async_wait(asio::experimental::as_tuple(asio::use_awaitable));
      continue;
    }
    std::string flush_request = cfg->data_dir + "/queue/flush-request";
    auto due = co_await run_blocking(*svc_.workers, [&] {
      std::vector<std::string> out;
      // `mailfort queue flush` leaves this file: everything is due once.
      bool flush = ::unlink(flush_request.c_str()) == 0;
      auto ids = q->list();
      if (!ids) return out;
      for (auto& id : *ids) {
        auto env = q->read_envelope(id);
        if (env && (flush || env->next_attempt <= now())) out.push_back(id);
      }
      return out;
    });
    for (auto& id : due) {
      if (stopping_ || connections_ >= cfg->delivery.max_connections) break;
      if (in_flight_.count(id)) continue;
      in_flight_.insert(id);
      asio::co_spawn(io_, attempt(id), [this, id](std::exception_ptr e) {
        in_flight_.erase(id);
        if (e) {
          try {
            std::rethrow_exception(e);
          } catch (const std::exception& ex) {
            spdlog::error("delivery error id={} error={}", id, ex.what());
          }
        }
      });
    }
    timer.expires_after(std::chrono::seconds(1));
    co_await timer.async_wait(asio::experimental::as_tuple(asio::use_awaitable));
  }
}

asio::awaitable<void> DeliveryEngine::attempt(std::string id) {
  auto cfg = svc_.config();
  auto* q = svc_.queue.get();
  struct Loaded {
    Envelope env;
    std::string message;
  };
  auto loaded = co_await run_blocking(*svc_.workers, [&]() -> Result<Loaded> {
    auto env = q->read_envelope(id);
    if (!env) return env.error();
    auto msg = q->read_message(id);
    if (!msg) return msg.error();
    return Loaded{std::move(*env), std::move(*msg)};
  });
  if (!loaded) co_return;
  Envelope& env = loaded->env;
  const std::string& message = loaded->message;
  uint32_t lifetime =
      env.sender.empty() ? cfg->queue.bounce_lifetime_seconds : cfg->queue.maximal_lifetime_seconds;
  bool expired = now() - env.arrival >= static_cast<int64_t>(lifetime);

  // Pending recipients by domain.
  std::map<std::string, std::vector<std::size_t>> by_domain;
  for (std::size_t i = 0; i < env.recipients.size(); ++i)
    if (env.recipients[i].state == Recipient::State::Pending)
      by_domain[domain_of(env.recipients[i].address)].push_back(i);

  // DKIM: signed once per attempt, on the worker pool (RSA is slow); the
  // queue file keeps the unsigned message.
  std::string wire;
  if (!by_domain.empty() && !expired) {
    auto* dir = svc_.directory.get();
    wire = co_await run_blocking(*svc_.workers, [&] {
      return dkim_signatures(*dir, cfg->data_dir, env.sender, env.authenticated_user, message, now()) +
             message;
    });
  }

  ClientSettings cs;
  cs.connect_timeout = std::chrono::seconds(cfg->delivery.connect_timeout_seconds);
  cs.command_timeout = std::chrono::seconds(cfg->delivery.command_timeout_seconds);
  cs.source_address = cfg->delivery.source_address;

  for (auto& [domain, idx] : by_domain) {
    if (expired) {
      for (auto i : idx) {
        auto& r = env.recipients[i];
        r.state = Recipient::State::Failed;
        r.last_error = "message expired after " + std::to_string(lifetime) + " s in the queue" +
                       (r.last_error.empty() ? "" : "; last error: " + r.last_error);
      }
      continue;
    }
    if (per_domain_[domain] >= cfg->delivery.max_connections_per_destination) continue;
    ++per_domain_[domain];
    ++connections_;
    auto route = co_await run_blocking(*svc_.workers, [&] { return resolve_route(svc_, *cfg, domain); });
    std::vector<std::string> rcpts;
    for (auto i : idx) rcpts.push_back(env.recipients[i].address);
    std::vector<RecipientOutcome> results(idx.size(),
                                          RecipientOutcome{RecipientOutcome::Kind::Temp, route.error});
    if (route.permanent) {
      for (auto& r : results) r.kind = RecipientOutcome::Kind::Perm;
    } else if (route.ok) {
      ClientTransaction tx;
      tx.helo = cfg->hostname;
      tx.sender = env.sender;
      tx.recipients = rcpts;
      tx.message = &wire;
      tx.smtputf8 = env.smtputf8;
      tx.eight_bit = env.eight_bit;
      std::string last_error;
      for (auto& t : route.targets) {
        asio::error_code ec;
        auto addr = asio::ip::make_address(t.ip, ec);
        if (ec) continue;
        asio::ip::tcp::endpoint ep(addr, static_cast<uint16_t>(cfg->delivery.remote_port));
        spdlog::debug("delivery connecting id={} relay={}[{}]:{}", id, t.host, t.ip, ep.port());
        auto out = co_await smtp_deliver(ep, t.host, t.tls, tls_, tx, cs);
        if (out.session_ok) {
          results = out.recipients;
          spdlog::info("delivery id={} domain={} relay={}[{}] tls={} results={}", id, domain, t.host, t.ip,
                       log::quote(out.tls.empty() ? "none" : out.tls), results.size());
          for (std::size_t k = 0; k < results.size(); ++k) {
            if (results[k].kind == RecipientOutcome::Kind::Delivered)
              results[k].reply = "delivered via " + t.host + "[" + t.ip + "]" +
                                 (out.tls.empty() ? "" : " with " + out.tls) + ": " + results[k].reply;
          }
          last_error.clear();
          break;
        }
        last_error = out.error;
        spdlog::info("delivery deferred-host id={} domain={} relay={}[{}] error={}", id, domain, t.host, t.ip,
                     log::quote(out.error));
        if (out.permanent) {
          for (auto& r : results) r = {RecipientOutcome::Kind::Perm, out.error};
          last_error.clear();
          break;
        }
      }
      if (!last_error.empty())
        for (auto& r : results) r = {RecipientOutcome::Kind::Temp, last_error};
    }
    --per_domain_[domain];
    --connections_;
    for (std::size_t k = 0; k < idx.size(); ++k) {
      auto& r = env.recipients[idx[k]];
      r.attempts++;
      r.last_error = results[k].reply;
      if (results[k].kind == RecipientOutcome::Kind::Delivered)
        r.state = Recipient::State::Delivered;
      else if (results[k].kind == RecipientOutcome::Kind::Perm)
        r.state = Recipient::State::Failed;
      spdlog::info("delivery id={} to={} status={} detail={}", id, r.address,
                   r.state == Recipient::State::Delivered ? "sent"
                   : r.state == Recipient::State::Failed  ? "bounced"
                                                          : "deferred",
                   log::quote(r.last_error));
    }
  }

  // Record the results before anything else: a crash from here on must not
  // deliver a confirmed recipient again.
  bool pending = false;
  uint32_t max_attempts = 0;
  std::vector<FailedRecipient> failed;
  for (auto& r : env.recipients) {
    if (r.state == Recipient::State::Pending) {
      pending = true;
      max_attempts = std::max(max_attempts, r.attempts);
    }
  }
  if (pending) {
    uint64_t backoff = cfg->queue.minimal_backoff_seconds;
    for (uint32_t a = 1; a < max_attempts && backoff < cfg->queue.maximal_backoff_seconds; ++a) backoff *= 2;
    backoff = std::min<uint64_t>(backoff, cfg->queue.maximal_backoff_seconds);
    env.next_attempt = now() + static_cast<int64_t>(backoff);
    // Never beyond the lifetime: the expiry bounce goes out on time.
    env.next_attempt = std::min<int64_t>(env.next_attempt, env.arrival + lifetime);
  }
  auto* store = svc_.store.get();
  auto* dir = svc_.directory.get();
  std::string hostname = cfg->hostname;
  co_await run_blocking(*svc_.workers, [&] {
    if (pending) {
      if (auto r = q->update(env); !r)
        spdlog::error("queue update-failed id={} error={}", id, log::quote(r.error().message));
      return 0;
    }
    // Every recipient is final: one DSN for the failed ones, then remove.
    std::vector<FailedRecipient> failures;
    for (auto& r : env.recipients) {
      if (r.state != Recipient::State::Failed) continue;
      failures.push_back({r.address, status_of(r.last_error, true), r.last_error});
    }
    if (!failures.empty() && !env.sender.empty()) {
      std::string dsn = make_dsn(hostname, env.sender, message, failures, env.arrival);
      bool done = false;
      auto res = dir->resolve_recipient(env.sender);
      if (res && res->kind == directory::Resolution::Kind::Deliver && !res->mailboxes.empty()) {
        done = store->deliver(res->mailboxes, dsn).ok();
      }
      if (!done) {
        Envelope bounce;
        bounce.sender = "";
        queue::Recipient to;
        to.address = env.sender;
        bounce.recipients.push_back(to);
        auto r = q->enqueue(bounce, dsn);
        if (!r) spdlog::error("bounce enqueue-failed id={} error={}", id, log::quote(r.error().message));
      }
      spdlog::info("delivery bounce id={} to={} failed={}", id, env.sender, failures.size());
    } else if (!failures.empty()) {
      spdlog::info("delivery bounce-dropped id={} reason=null-sender failed={}", id, failures.size());
    }
    if (auto r = q->remove(id); !r)
      spdlog::error("queue remove-failed id={} error={}", id, log::quote(r.error().message));
    return 0;
  });
}

}  // namespace mailfort::server
