// DeliveryEngine's connections (delivery.h): one coroutine per connection
// to a destination carries that destination's jobs one after another,
// step by step: the route, a session with the first host that takes one,
// each message's transaction and results, the connection cached while
// idle and rechecked before reuse, the slot given back at the end.
#include "outbound/delivery.h"

#include <spdlog/spdlog.h>
#include <asio/experimental/as_tuple.hpp>
#include <asio/steady_timer.hpp>
#include <asio/use_awaitable.hpp>

#include <algorithm>

#include "base/log.h"
#include "base/use_tuple.h"
#include "outbound/delivery_route.h"
#include "server/blocking.h"
#include "server/services.h"

namespace mailfort::outbound {

using server::run_blocking;

namespace {

using queue::Envelope;


// Every recipient of a job gets the route's error when there is no route.
std::vector<RecipientOutcome> route_failure(const Route& route, std::size_t recipients) {
  return std::vector<RecipientOutcome>(recipients, RecipientOutcome::failure(route.permanent, route.error));
}

// The transaction for a job: the envelope's sender and flags, the job's
// recipients, the message as sent.
ClientTransaction transaction_of(const Envelope& env, const std::vector<std::size_t>& rcpts,
                                 std::shared_ptr<const std::string> wire) {
  ClientTransaction tx;
  tx.sender = env.sender;
  for (auto i : rcpts) tx.recipients.push_back(env.recipients[i].address);
  tx.message = std::move(wire);
  tx.smtputf8 = env.smtputf8;
  tx.eight_bit = env.eight_bit;
  return tx;
}

// A transaction's per-recipient results: the remote's answers when it got
// that far (a delivered recipient's says where it went and with which
// TLS), else the transaction's error for each of the `recipients`.
std::vector<RecipientOutcome> transaction_results(const HostOutcome& out, const Target& target,
                                                  std::size_t recipients) {
  if (!out.session_ok)
    return std::vector<RecipientOutcome>(recipients, RecipientOutcome::failure(out.permanent, out.error));
  std::vector<RecipientOutcome> results = out.recipients;
  for (auto& r : results)
    if (r.kind == RecipientOutcome::Kind::Delivered)
      r.reply = "delivered via " + target.host + "[" + target.ip + "]" +
                (out.tls.empty() ? "" : " with " + out.tls) + ": " + r.reply;
  return results;
}

}  // namespace

// One connection to a destination, as connection() and its steps see it:
// the route, the session once one is set up and what it has carried.
struct DeliveryEngine::ConnectionState {
  std::string dest;
  std::shared_ptr<const config::Config> cfg;  // as when the connection started
  ClientSettings settings;
  Route route;
  uint16_t port = 0;                     // the route's, else [delivery] remote_port
  bool report_tls = false;               // TLS sessions count for TLS reports (not via relay_host)
  std::unique_ptr<SmtpSession> session;  // null: none set up (yet, or any more)
  const Target* target = nullptr;        // the entry of route.targets the session went to
  std::size_t on_session = 0;            // messages the session carried
  bool starting = true;                  // still counted in Destination::starting

  void set_route(Route r) {
    route = std::move(r);
    port = route.port ? route.port : static_cast<uint16_t>(cfg->delivery.remote_port);
  }
};

// A connection to `dest` carries that destination's jobs one after another
// while they come, then closes.
asio::awaitable<void> DeliveryEngine::connection(std::string dest) {
  ConnectionState c;
  co_await start_connection(c, dest);
  while (!stopping_) {
    if (dests_[dest].jobs.empty()) {
      stop_starting(c);
      bool more = co_await wait_for_more_mail(c);
      if (!more) break;
      continue;
    }
    stop_starting(c);
    auto next = take_job(dest);
    if (!next) continue;
    Job& job = next->first;
    if (!c.route.ok) {
      auto results = route_failure(c.route, job.rcpts.size());
      co_await record(std::move(job), std::move(results));
      continue;
    }
    if (!c.session) {
      auto failure = co_await open_session(c);
      if (failure) {
        co_await fail_destination(dest, std::move(job), *failure);
        break;
      }
    }
    co_await deliver(c, std::move(job), next->second);
  }
  co_await end_connection(c);
}

// Settings from the config and the route; the TLS policy failures the
// route found count once per connection for the TLS reports.
asio::awaitable<void> DeliveryEngine::start_connection(ConnectionState& c, std::string dest) {
  c.dest = dest;
  c.cfg = svc_.config();
  c.settings.connect_timeout = std::chrono::seconds(c.cfg->delivery.connect_timeout_seconds);
  c.settings.command_timeout = std::chrono::seconds(c.cfg->delivery.command_timeout_seconds);
  c.settings.source_address = c.cfg->delivery.source_address;
  Route route = co_await route_for(dest);
  c.set_route(std::move(route));
  c.report_tls = c.cfg->delivery.tls_reports && svc_.tlsrpt && !is_relay_destination(dest);
  if (c.report_tls && !c.route.tls_failures.empty()) co_await count_tls(c.route.tls_failures);
}

// The connection takes jobs now: kick() no longer counts it as starting.
void DeliveryEngine::stop_starting(ConnectionState& c) {
  if (c.starting) --dests_[c.dest].starting;
  c.starting = false;
}

// No job waits: a session stays open as a cached connection for
// connection_reuse_seconds (new mail wakes it, and so does kick() when
// another destination needs its slot). True when there is mail for it
// again (the route checked afresh), false when it is to close.
asio::awaitable<bool> DeliveryEngine::wait_for_more_mail(ConnectionState& c) {
  if (!c.session || c.cfg->delivery.connection_reuse_seconds == 0) co_return false;
  asio::steady_timer idle(io_, std::chrono::seconds(c.cfg->delivery.connection_reuse_seconds));
  dests_[c.dest].idle.push_back(&idle);
  co_await idle.async_wait(use_tuple);
  auto& list = dests_[c.dest].idle;
  list.erase(std::remove(list.begin(), list.end(), &idle), list.end());
  if (dests_[c.dest].jobs.empty()) co_return false;
  co_await recheck_route(c);
  co_return true;
}

// Before reusing a cached connection after a pause: it must still be one a
// fresh lookup would choose (same host and address, same TLS requirement;
// tlspolicies or DNS may have changed meanwhile), else it is closed. The
// connection goes on with the fresh route.
asio::awaitable<void> DeliveryEngine::recheck_route(ConnectionState& c) {
  Route fresh = co_await route_for(c.dest);
  std::size_t same = fresh.targets.size();
  for (std::size_t i = 0; i < fresh.targets.size() && fresh.ok && c.target; ++i) {
    auto& t = fresh.targets[i];
    if (t.host == c.target->host && t.ip == c.target->ip && tls_key(t.tls) == tls_key(c.target->tls))
      same = i;
  }
  if (same == fresh.targets.size() && c.session) {
    spdlog::info("delivery cached-connection-dropped dest={} reason=route-or-tls-policy-changed", c.dest);
    co_await close_session(c);
  }
  c.set_route(std::move(fresh));
  c.target = same < c.route.targets.size() ? &c.route.targets[same] : nullptr;
}

// Takes the next job of `dest` from its queue; nullopt (the job dropped)
// when its message is no longer active.
std::optional<std::pair<DeliveryEngine::Job, std::shared_ptr<DeliveryEngine::Message>>>
DeliveryEngine::take_job(const std::string& dest) {
  Job job = std::move(dests_[dest].jobs.front());
  dests_[dest].jobs.pop_front();
  auto it = active_.find(job.id);
  if (it == active_.end()) return std::nullopt;
  return std::make_pair(std::move(job), it->second);
}

// Sets up a session with the first host of the route, in its order, that
// takes one (smtp_open: connect, greeting, EHLO, STARTTLS as the host's TLS
// requirement demands); a permanent refusal ends the search. The TLS
// session attempts count for the TLS reports. nullopt when a session is up,
// else the answer for the jobs waiting for this destination.
asio::awaitable<std::optional<RecipientOutcome>> DeliveryEngine::open_session(ConnectionState& c) {
  std::string error;
  bool permanent = false;
  std::vector<TlsSessionRecord> tls_sessions;
  for (auto& t : c.route.targets) {
    asio::error_code ec;
    auto addr = asio::ip::make_address(t.ip, ec);
    if (ec) continue;
    asio::ip::tcp::endpoint ep(addr, c.port);
    spdlog::debug("delivery connecting dest={} relay={}[{}]:{}", c.dest, t.host, t.ip, c.port);
    auto opened = co_await smtp_open(ep, t.host, t.tls, tls_, c.cfg->hostname, c.settings);
    if (c.report_tls && opened.tls_attempted)
      tls_sessions.push_back({c.dest, t.tls.report, t.host, t.ip, opened.tls_result});
    if (opened.session) {
      c.session = std::move(opened.session);
      c.target = &t;
      break;
    }
    error = opened.error;
    permanent = opened.permanent;
    spdlog::info("delivery deferred-host dest={} relay={}[{}] error={}", c.dest, t.host, t.ip,
                 log::quote(error));
    if (permanent) break;
  }
  if (!tls_sessions.empty()) co_await count_tls(std::move(tls_sessions));
  if (c.session) {
    c.on_session = 0;
    co_return std::nullopt;
  }
  if (error.empty()) error = "no usable address for " + c.dest;
  co_return RecipientOutcome::failure(permanent, error);
}

// The destination is unreachable now: this job and every job waiting for
// it get the same answer (Postfix marks it dead).
asio::awaitable<void> DeliveryEngine::fail_destination(std::string dest, Job job, RecipientOutcome why) {
  std::vector<RecipientOutcome> results(job.rcpts.size(), why);
  co_await record(job, results);
  while (!dests_[dest].jobs.empty()) {
    Job next = std::move(dests_[dest].jobs.front());
    dests_[dest].jobs.pop_front();
    if (!active_.count(next.id)) continue;
    std::vector<RecipientOutcome> same(next.rcpts.size(), why);
    co_await record(next, same);
  }
}

// One message over the session: the transaction, then its per-recipient
// results, durable before the next transaction on this connection. The
// session closes when it broke or carried max_messages_per_connection. A
// cached session that went stale before MAIL was accepted reached nothing
// remote: it is closed and the job goes back first in line, not counted
// as an attempt.
asio::awaitable<void> DeliveryEngine::deliver(ConnectionState& c, Job job, std::shared_ptr<Message> m) {
  ClientTransaction tx = transaction_of(m->env, job.rcpts, m->wire);
  auto out = co_await c.session->transaction(tx);
  if (out.lost_before_mail && c.session->transactions() > 1) {
    spdlog::info("delivery stale-connection dest={} id={}", c.dest, job.id);
    co_await close_session(c);
    dests_[c.dest].jobs.push_front(std::move(job));
    co_return;
  }
  auto results = transaction_results(out, *c.target, job.rcpts.size());
  if (out.session_ok)
    spdlog::info("delivery id={} dest={} relay={}[{}] tls={} results={} conn_use={}", job.id, c.dest,
                 c.target->host, c.target->ip, log::quote(out.tls.empty() ? "none" : out.tls), results.size(),
                 c.session->transactions());
  co_await record(job, results);
  ++c.on_session;
  if (!c.session->usable() || c.on_session >= c.cfg->delivery.max_messages_per_connection)
    co_await close_session(c);
}

asio::awaitable<void> DeliveryEngine::close_session(ConnectionState& c) {
  co_await c.session->quit();
  c.session.reset();
}

// The connection ends: its session closed, its slot given back.
asio::awaitable<void> DeliveryEngine::end_connection(ConnectionState& c) {
  stop_starting(c);
  if (c.session) co_await close_session(c);
  release_slot(c.dest);
}

// A slot is free: destinations held back by max_connections, and `dest`
// if mail arrived while its connection was closing, get connections; a
// destination with nothing left is forgotten.
void DeliveryEngine::release_slot(const std::string& dest) {
  slots_.close(dest);
  std::set<std::string> again;
  again.swap(waiting_);
  again.insert(dest);
  for (auto& d : again) {
    auto it = dests_.find(d);
    if (it != dests_.end() && !it->second.jobs.empty()) kick(d);
  }
  auto it = dests_.find(dest);
  if (it != dests_.end() && it->second.jobs.empty() && it->second.idle.empty() && it->second.starting == 0 &&
      slots_.count(dest) == 0)
    dests_.erase(it);
}
asio::awaitable<Route> DeliveryEngine::route_for(std::string dest) {
  auto cfg = svc_.config();
  Route route = co_await run_blocking(*svc_.workers, [&] { return resolve_destination(svc_, *cfg, dest); });
  co_return route;
}

}  // namespace mailfort::outbound
