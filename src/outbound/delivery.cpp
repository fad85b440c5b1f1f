#include "outbound/delivery.h"

#include <spdlog/spdlog.h>
#include <asio/co_spawn.hpp>
#include <asio/detached.hpp>
#include <asio/experimental/as_tuple.hpp>
#include <asio/post.hpp>
#include <asio/use_awaitable.hpp>

#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <ctime>
#include <mutex>

#include "auth/srs.h"
#include "auth/dmarc_report_store.h"
#include "base/log.h"
#include "base/use_tuple.h"
#include "directory/directory.h"
#include "outbound/delivery_route.h"
#include "outbound/dkim_outbound.h"
#include "outbound/dmarc_reports.h"
#include "outbound/tlsrpt.h"
#include "queue/queue.h"
#include "server/blocking.h"
#include "server/services.h"
#include "store/mail_store.h"
#include "tls/client.h"

namespace mailfort::outbound {

using server::run_blocking;
using server::Services;

namespace {

using queue::Envelope;
using queue::Recipient;

// Messages loaded in memory at once (Postfix qmgr_message_active_limit);
// the rest wait in the schedule, on disk.
constexpr std::size_t kMaxActive = 5000;
constexpr int64_t kRescanSeconds = 60;
constexpr int64_t kTlsReportCheckSeconds = 3600;  // yesterday's reports go out within an hour

int64_t now() {
  return static_cast<int64_t>(::time(nullptr));
}

uint32_t lifetime_of(const Envelope& env, const config::Config& cfg) {
  return env.sender.empty() ? cfg.queue.bounce_lifetime_seconds : cfg.queue.maximal_lifetime_seconds;
}

// The recipients in `state` as a DSN lists them (Failed ones with a
// permanent status code).
std::vector<DsnRecipient> dsn_recipients(const Envelope& env, Recipient::State state) {
  std::vector<DsnRecipient> out;
  for (auto& r : env.recipients)
    if (r.state == state)
      out.push_back(
          {r.address, dsn_status_of(r.last_error, state == Recipient::State::Failed), r.last_error});
  return out;
}

// A notice about mail an alias of ours forwarded goes to its SRS sender:
// straight back to the original sender, not out and in through our own MX
// (where the SRS address would be reversed the same way). Blocking.
std::string notice_destination(Services& svc, const std::string& to) {
  auto at = to.rfind('@');
  if (!svc.srs || at == std::string::npos || !auth::looks_like_srs(std::string_view(to).substr(0, at)))
    return to;
  auto local = svc.directory->is_local_domain(to.substr(at + 1));
  if (!local.ok() || !local.value()) return to;
  auto reversed = svc.srs->reverse(std::string_view(to).substr(0, at), std::time(nullptr));
  return reversed.status == auth::SrsStatus::Valid ? reversed.address : to;
}

// A notice to `to`: into the local mailbox when `to` is ours, else queued
// with the null sender. Blocking.
void send_notice(Services& svc, const std::string& original_to, const std::string& dsn) {
  std::string to = notice_destination(svc, original_to);
  auto res = svc.directory->resolve_recipient(to);
  if (res && res->kind == directory::Resolution::Kind::Deliver && !res->mailboxes.empty()) {
    if (svc.store->deliver(res->mailboxes, dsn).ok()) return;
  }
  Envelope bounce;
  queue::Recipient r;
  r.address = to;
  bounce.recipients.push_back(r);
  auto q = svc.queue->enqueue(bounce, dsn);
  if (!q) spdlog::error("notice enqueue-failed to={} error={}", to, log::quote(q.error().message));
}

}  // namespace

DeliveryEngine::DeliveryEngine(Services& services, asio::io_context& io,
                               std::shared_ptr<tls::ClientContext> tls)
    : svc_(services), io_(io), tls_(std::move(tls)) {
  wake_.emplace(io);
}

DeliveryEngine::~DeliveryEngine() {
  if (svc_.queue) svc_.queue->set_listener(nullptr);
}

void DeliveryEngine::release_io() {
  if (svc_.queue) svc_.queue->set_listener(nullptr);
  wake_.reset();
}

void DeliveryEngine::start() {
  svc_.queue->set_listener(
      [this](const std::string& id) { asio::post(io_, [this, id] { on_enqueued(id); }); });
  spawn(loop(), "loop");
}

void DeliveryEngine::stop() {
  stopping_ = true;
  svc_.queue->set_listener(nullptr);
  asio::post(io_, [this] {
    if (wake_) wake_->cancel();
  });
}

void DeliveryEngine::spawn(asio::awaitable<void> work, std::string what) {
  asio::co_spawn(io_, std::move(work), [what](std::exception_ptr e) {
    if (!e) return;
    try {
      std::rethrow_exception(e);
    } catch (const std::exception& ex) {
      spdlog::error("delivery error in={} error={}", what, ex.what());
    }
  });
}

void DeliveryEngine::on_enqueued(const std::string& id) {
  if (stopping_ || active_.count(id) || schedule_.contains(id)) return;
  schedule_.set(id, 0);  // due now
  if (wake_) wake_->cancel();
}

asio::awaitable<void> DeliveryEngine::loop() {
  co_await rescan(false);
  int64_t last_scan = now(), last_flush_check = 0;
  int64_t last_report_check = now() - kTlsReportCheckSeconds + 120;  // first two minutes after start
  while (!stopping_) {
    auto cfg = svc_.config();
    int64_t t = now();
    if (t != last_flush_check) {
      last_flush_check = t;
      // `mailfort queue flush` leaves this file: everything is due once,
      // and the directory is read again for held/released/deleted ones.
      std::string flush_request = cfg->data_dir + "/queue/flush-request";
      bool flush = co_await run_blocking(*svc_.workers, [&] { return ::unlink(flush_request.c_str()) == 0; });
      if (flush || t - last_scan >= kRescanSeconds) {
        co_await rescan(flush);
        last_scan = now();
      }
      if (t - last_report_check >= kTlsReportCheckSeconds) {
        last_report_check = t;
        spawn(daily_tls_reports(), "tlsrpt");
        spawn(daily_dmarc_reports(), "dmarc-report");
      }
    }
    if (cfg->delivery.enabled && active_.size() < kMaxActive) {
      for (auto& id : schedule_.take_due(now(), kMaxActive - active_.size())) {
        active_.emplace(id, std::make_shared<Message>());
        spawn(activate(id), "activate");
      }
    }
    auto wait = std::chrono::milliseconds(1000);
    if (auto due = schedule_.next_due(); due && cfg->delivery.enabled && active_.size() < kMaxActive) {
      if (*due <= now()) wait = std::chrono::milliseconds(200);  // capacity-bound: look again soon
    }
    if (!wake_) co_return;
    wake_->expires_after(wait);
    co_await wake_->async_wait(use_tuple);
  }
}

asio::awaitable<void> DeliveryEngine::rescan(bool flush) {
  std::set<std::string> known;
  for (auto& id : schedule_.ids()) known.insert(id);
  for (auto& [id, m] : active_) known.insert(id);
  struct Scan {
    bool ok = false;
    std::set<std::string> present;
    std::vector<std::pair<std::string, int64_t>> found;
  };
  auto* q = svc_.queue.get();
  Scan scan = co_await run_blocking(*svc_.workers, [&] {
    Scan s;
    auto ids = q->list();
    if (!ids) return s;
    s.ok = true;
    for (auto& id : *ids) {
      s.present.insert(id);
      if (known.count(id)) continue;
      if (auto env = q->read_envelope(id)) s.found.emplace_back(id, env->next_attempt);
    }
    return s;
  });
  if (!scan.ok) co_return;
  // Held or deleted by the CLI: forget them (a release brings them back).
  for (auto& id : schedule_.ids())
    if (!scan.present.count(id)) schedule_.erase(id);
  for (auto& [id, due] : scan.found)
    if (!active_.count(id)) schedule_.set(id, due);
  if (flush) schedule_.make_all_due(now());
  spdlog::debug("delivery rescan flush={} queued={} new={}", flush, schedule_.size(), scan.found.size());
}

asio::awaitable<void> DeliveryEngine::activate(std::string id) {
  auto cfg = svc_.config();
  auto m = active_.at(id);
  auto* q = svc_.queue.get();
  auto* dir = svc_.directory.get();
  bool loaded = co_await run_blocking(*svc_.workers, [&] {
    auto env = q->read_envelope(id);
    if (!env) return false;
    auto msg = q->read_message(id);
    if (!msg) return false;
    m->env = std::move(*env);
    m->message = std::move(*msg);
    return true;
  });
  if (!loaded) {  // held or deleted meanwhile
    active_.erase(id);
    co_return;
  }
  Envelope& env = m->env;
  uint32_t lifetime = lifetime_of(env, *cfg);
  bool expired = now() - env.arrival >= static_cast<int64_t>(lifetime);
  std::map<std::string, std::vector<std::size_t>> by_dest;
  for (std::size_t i = 0; i < env.recipients.size(); ++i) {
    auto& r = env.recipients[i];
    if (r.state != Recipient::State::Pending) continue;
    if (expired) {
      r.state = Recipient::State::Failed;
      r.last_error = "message expired after " + std::to_string(lifetime) + " s in the queue" +
                     (r.last_error.empty() ? "" : "; last error: " + r.last_error);
      continue;
    }
    by_dest[destination_of(r.address, cfg->delivery.relay_host)].push_back(i);
  }
  if (by_dest.empty()) {
    co_await finish(m);
    co_return;
  }
  // DKIM: signed once per attempt, on the worker pool (RSA is slow); the
  // queue file keeps the unsigned message.
  m->wire = co_await run_blocking(*svc_.workers, [&] {
    return std::make_shared<const std::string>(
        dkim_signatures(*dir, cfg->data_dir, env.sender, env.authenticated_user, m->message, now()) +
        m->message);
  });
  m->outstanding = by_dest.size();
  for (auto& [dest, idx] : by_dest) add_job(Job{id, dest, idx});
}

void DeliveryEngine::add_job(Job job) {
  std::string dest = job.dest;
  dests_[dest].jobs.push_back(std::move(job));
  kick(dest);
}

void DeliveryEngine::kick(const std::string& dest) {
  auto cfg = svc_.config();
  auto& d = dests_[dest];
  // Idle connections first: they are set up already.
  std::size_t covered = d.starting;
  for (auto* t : d.idle) t->cancel();
  covered += d.idle.size();
  while (d.jobs.size() > covered && !stopping_) {
    if (!slots_.can_open(dest, cfg->delivery.max_connections_per_destination,
                         cfg->delivery.max_connections)) {
      if (slots_.total() >= cfg->delivery.max_connections) {
        waiting_.insert(dest);
        // Idle cached connections elsewhere give their slots up now (woken
        // with nothing to do, they close; closing kicks `waiting_`).
        for (auto& [name, other] : dests_)
          if (name != dest && other.jobs.empty())
            for (auto* t : other.idle) t->cancel();
      }
      break;
    }
    slots_.open(dest);
    ++d.starting;
    ++covered;
    spawn(connection(dest), "connection");
  }
}

asio::awaitable<void> DeliveryEngine::count_tls(std::vector<TlsSessionRecord> sessions) {
  auto* store = svc_.tlsrpt.get();
  co_await run_blocking(*svc_.workers, [&] {
    if (auto r = store->add(sessions, now()); !r)
      spdlog::warn("tlsrpt count-failed error={}", log::quote(r.error().message));
    return 0;
  });
}

asio::awaitable<void> DeliveryEngine::daily_tls_reports() {
  auto cfg = svc_.config();
  if (!cfg->delivery.tls_reports || !svc_.tlsrpt || stopping_) co_return;
  auto* store = svc_.tlsrpt.get();
  co_await run_blocking(*svc_.workers, [&] {
    int64_t t = now();
    // Yesterday (UTC) is complete; the sent marks make this idempotent.
    auto run = send_tls_reports(*store, *svc_.resolver, *svc_.queue, cfg->hostname, utc_day(t - 86400), t);
    if (run.domains) spdlog::info("tlsrpt sent domains={} messages={}", run.domains, run.messages);
    if (auto r = store->prune(t); !r)
      spdlog::warn("tlsrpt prune-failed error={}", log::quote(r.error().message));
    return 0;
  });
}

asio::awaitable<void> DeliveryEngine::record(Job job, std::vector<RecipientOutcome> results) {
  auto it = active_.find(job.id);
  if (it == active_.end()) co_return;
  auto m = it->second;
  for (std::size_t k = 0; k < job.rcpts.size() && k < results.size(); ++k) {
    auto& r = m->env.recipients[job.rcpts[k]];
    r.attempts++;
    r.last_error = results[k].reply;
    if (results[k].kind == RecipientOutcome::Kind::Delivered)
      r.state = Recipient::State::Delivered;
    else if (results[k].kind == RecipientOutcome::Kind::Perm)
      r.state = Recipient::State::Failed;
    spdlog::info("delivery id={} to={} status={} detail={}", job.id, r.address,
                 r.state == Recipient::State::Delivered ? "sent"
                 : r.state == Recipient::State::Failed  ? "bounced"
                                                        : "deferred",
                 log::quote(r.last_error));
  }
  if (--m->outstanding == 0)
    co_await finish(m);
  else
    co_await write_progress(m);
}

asio::awaitable<void> DeliveryEngine::write_progress(std::shared_ptr<Message> m) {
  Envelope copy = m->env;
  uint64_t version = ++m->version;
  auto gate = m->gate;
  auto* q = svc_.queue.get();
  co_await run_blocking(*svc_.workers, [&] {
    std::lock_guard lock(gate->mu);
    if (version <= gate->written) return 0;
    gate->written = version;
    if (auto r = q->update(copy); !r)
      spdlog::error("queue update-failed id={} error={}", copy.id, log::quote(r.error().message));
    return 0;
  });
}

asio::awaitable<void> DeliveryEngine::finish(std::shared_ptr<Message> m) {
  auto cfg = svc_.config();
  Envelope& env = m->env;
  std::string id = env.id;
  bool pending = false;
  uint32_t max_attempts = 0;
  for (auto& r : env.recipients) {
    if (r.state == Recipient::State::Pending) {
      pending = true;
      max_attempts = std::max(max_attempts, r.attempts);
    }
  }
  uint32_t lifetime = lifetime_of(env, *cfg);
  std::string delay_notice;
  if (pending) {
    env.next_attempt = next_attempt_time(now(), env.arrival, max_attempts, cfg->queue.minimal_backoff_seconds,
                                         cfg->queue.maximal_backoff_seconds, lifetime);
    uint32_t warn = cfg->queue.delay_warning_seconds;
    if (warn > 0 && !env.delay_warned && !env.sender.empty() && now() - env.arrival >= warn) {
      auto delayed = dsn_recipients(env, Recipient::State::Pending);
      delay_notice = make_dsn(cfg->hostname, env.sender, m->message, delayed, env.arrival, DsnAction::Delayed,
                              env.arrival + lifetime);
      env.delay_warned = true;
    }
  }
  Envelope copy = env;
  uint64_t version = ++m->version;
  auto gate = m->gate;
  std::string hostname = cfg->hostname;
  bool keep = co_await run_blocking(*svc_.workers, [&] {
    std::lock_guard lock(gate->mu);
    gate->written = version;
    auto* q = svc_.queue.get();
    if (pending) {
      // Recorded first: the notice goes out at most once.
      if (auto r = q->update(copy); !r) {
        spdlog::info("queue update-failed id={} error={}", id, log::quote(r.error().message));
        return false;  // held or deleted meanwhile: the CLI owns it now
      }
      if (!delay_notice.empty()) {
        send_notice(svc_, copy.sender, delay_notice);
        spdlog::info("delivery delay-notice id={} to={}", id, copy.sender);
      }
      return true;
    }
    // Every recipient is final: one DSN for the failed ones, then remove.
    auto failures = dsn_recipients(copy, Recipient::State::Failed);
    if (!failures.empty() && !copy.sender.empty()) {
      send_notice(svc_, copy.sender, make_dsn(hostname, copy.sender, m->message, failures, copy.arrival));
      spdlog::info("delivery bounce id={} to={} failed={}", id, copy.sender, failures.size());
    } else if (!failures.empty()) {
      spdlog::info("delivery bounce-dropped id={} reason=null-sender failed={}", id, failures.size());
    }
    if (auto r = q->complete(id); !r)
      spdlog::info("queue remove-failed id={} error={}", id, log::quote(r.error().message));
    return false;
  });
  active_.erase(id);
  if (keep && pending && !stopping_) {
    schedule_.set(id, env.next_attempt);
    if (wake_) wake_->cancel();
  }
}

asio::awaitable<void> DeliveryEngine::daily_dmarc_reports() {
  auto cfg = svc_.config();
  if (!cfg->inbound.dmarc_reports || !svc_.dmarc_reports || stopping_) co_return;
  co_await run_blocking(*svc_.workers, [&] {
    int64_t t = now();
    // Yesterday (UTC) is complete; the sent marks make this idempotent.
    DmarcReportContext ctx{*svc_.dmarc_reports, *svc_.resolver, *svc_.queue,
                           *svc_.directory,     cfg->data_dir,  cfg->hostname};
    auto run = send_dmarc_reports(ctx, utc_day(t - 86400), t);
    if (run.domains) spdlog::info("dmarc-report sent domains={} messages={}", run.domains, run.messages);
    if (auto r = svc_.dmarc_reports->prune(t); !r)
      spdlog::warn("dmarc-report prune-failed error={}", log::quote(r.error().message));
    return 0;
  });
}

}  // namespace mailfort::outbound
