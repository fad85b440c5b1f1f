#include "server/server.h"

#include <malloc.h>
#include <signal.h>
#include <spdlog/spdlog.h>
#include <sys/resource.h>
#include <unistd.h>
#include <asio/co_spawn.hpp>
#include <asio/detached.hpp>
#include <asio/experimental/as_tuple.hpp>
#include <asio/io_context.hpp>
#include <asio/signal_set.hpp>
#include <asio/steady_timer.hpp>
#include <asio/thread_pool.hpp>
#include <asio/use_awaitable.hpp>

#include <algorithm>
#include <cstdio>
#include <thread>

#include "auth/dmarc_report_store.h"
#include "auth/srs.h"
#include "base/config.h"
#include "base/log.h"
#include "base/privileges.h"
#include "base/use_tuple.h"
#include "filter/filter_service.h"
#include "imap/imap_render.h"
#include "outbound/delivery.h"
#include "outbound/mta_sts.h"
#include "outbound/tlsrpt.h"
#include "policy/ban_service.h"
#include "policy/connection_limiter.h"
#include "server/blocking.h"
#include "server/listener.h"
#include "server/services.h"
#include "server/session_registry.h"
#include "server/sessions.h"
#include "sieve/sieve_service.h"
#include "tls/client.h"
#include "tls/context.h"

namespace mailfort::server {
namespace {

// How often a running server re-reads the bans table, so `mailfort ban
// remove` takes effect without a restart.
constexpr auto kBanRefreshInterval =
    std::chrono::seconds(1);  // bans made on other nodes (Redis) reach this one within it
// Graceful stop: how long live sessions get before the process exits.
constexpr auto kDrainTimeout = std::chrono::seconds(5);

tls::ServerSettings tls_settings(const config::Config& c) {
  return tls::ServerSettings{c.tls.cert, c.tls.key, c.tls.min_version, c.tls.ciphers, c.tls.ciphersuites};
}

bool needs_tls(const config::Config& c) {
  return std::any_of(c.listeners.begin(), c.listeners.end(),
                     [](const auto& l) { return l.tls != config::TlsMode::none; });
}

void raise_fd_limit() {
  rlimit rl{};
  if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
    rl.rlim_cur = rl.rlim_max;
    setrlimit(RLIMIT_NOFILE, &rl);
  }
}

class Runtime {
 public:
  Runtime(std::string config_path, std::shared_ptr<const config::Config> cfg)
      : config_path_(std::move(config_path)),
        // The worker pool does CPU work (FETCH rendering, SQLite) but also
        // waits: an APPEND holds its worker through the group commit's two
        // syncfs calls. With one thread per core, two APPENDs waiting for
        // the disk stalled every other session's commands behind them, and
        // a commit batch never held more than two transactions. Waiting
        // threads cost no CPU, so the pool is sized for the waits.
        workers_(std::max(32u, 8 * std::thread::hardware_concurrency())),
        auth_workers_(std::max(1u, std::thread::hardware_concurrency() / 2)) {
    unsigned n = std::max(1u, std::thread::hardware_concurrency());
    // One io_context per core, each run by exactly one thread.
    for (unsigned i = 0; i < n; ++i) contexts_.push_back(std::make_unique<asio::io_context>(1));
    services_.set_config(cfg);
    services_.workers = &workers_;
    services_.auth_workers = &auth_workers_;
    services_.sessions = &registry_;
    create_limits(*cfg, services_);
  }

  int run() {
    auto cfg = services_.config();
    if (needs_tls(*cfg)) {
      auto ctx = tls::ServerContext::create(tls_settings(*cfg));
      if (!ctx) return fail(ctx.error().message);
      spdlog::info("tls certificate {}", ctx.value()->describe());
      services_.tls = std::make_shared<tls::ContextHolder>(ctx.value());
    }
    // Signals are registered before any port accepts: a SIGHUP or SIGTERM
    // sent as soon as the ports answer is queued, not fatal.
    signal_set_ = std::make_unique<asio::signal_set>(*contexts_[0], SIGHUP, SIGTERM, SIGINT);
    raise_fd_limit();
    for (const auto& l : cfg->listeners) {
      auto bound = bind_listener(*contexts_[0], l);
      if (!bound) return fail(bound.error().message);
      listeners_.push_back(std::move(bound.value()));
    }
    // Bound as root if we were; from here on never root again.
    if (auto dropped = drop_privileges(cfg->run_as); !dropped) return fail(dropped.error().message);

    if (auto opened = open_local_services(*cfg, services_, imap::build_cache); !opened)
      return fail(opened.error().message);
    // SRS secret: made here (as run_as) when `mailfort init` did not.
    auto srs_secrets = auth::load_or_create_srs_secrets(cfg->srs_secret_path());
    if (!srs_secrets) return fail(srs_secrets.error().message);
    services_.srs = std::make_shared<const auth::Srs>(std::move(srs_secrets.value()));
    services_.mta_sts = std::make_shared<outbound::MtaStsCache>(cfg->data_dir + "/mta-sts");
    services_.mta_sts->set_redis(services_.redis);
    if (auto rpt = outbound::TlsReportStore::open(cfg->data_dir + "/tlsrpt.sqlite"); rpt)
      services_.tlsrpt = rpt.value();
    else
      spdlog::warn("tlsrpt disabled error={}", log::quote(rpt.error().message));
    if (cfg->inbound.dmarc_reports) {
      if (auto rpt = auth::DmarcReportStore::open(cfg->data_dir + "/dmarc-reports.sqlite"); rpt)
        services_.dmarc_reports = rpt.value();
      else
        spdlog::warn("dmarc-report disabled error={}", log::quote(rpt.error().message));
    }

    // Spam and virus filtering (clamd, Rspamd, milters are reached lazily,
    // so a scanner that is down at start-up does not stop the server).
    auto filter =
        filter::FilterService::open(*cfg, services_.resolver, services_.postscreen, services_.redis);
    if (!filter) return fail(filter.error().message);
    services_.filter = filter.value();

    // Sieve: scripts, the compiled-script cache, vacation/duplicate state.
    auto sieve = sieve::SieveService::open(*cfg);
    if (!sieve) return fail(sieve.error().message);
    services_.sieve = sieve.value();

    std::vector<asio::io_context*> ctx_ptrs;
    for (auto& c : contexts_) ctx_ptrs.push_back(c.get());
    for (auto& l : listeners_) {
      asio::co_spawn(*contexts_[0], accept_loop(*l, services_, registry_, ctx_ptrs, &run_session),
                     asio::detached);
      spdlog::info("listening listener={} protocol={} address={} tls={}", l->cfg.name,
                   config::to_string(l->cfg.protocol), l->cfg.address, config::to_string(l->cfg.tls));
    }
    asio::co_spawn(*contexts_[0], signals(), asio::detached);
    asio::co_spawn(*contexts_[0], refresh_bans(), asio::detached);
    auto client_tls = tls::ClientContext::create(cfg->delivery.ca_file);
    if (!client_tls) return fail("delivery: " + client_tls.error().message);
    delivery_ = std::make_unique<outbound::DeliveryEngine>(services_, *contexts_[0], client_tls.value());
    delivery_->start();

    std::vector<std::thread> threads;
    for (std::size_t i = 1; i < contexts_.size(); ++i) {
      threads.emplace_back([this, i] { run_context(*contexts_[i]); });
    }
    spdlog::info("mailfort ready hostname={} listeners={} io_threads={}", cfg->hostname, listeners_.size(),
                 contexts_.size());
    run_context(*contexts_[0]);
    for (auto& t : threads) t.join();
    workers_.join();
    auth_workers_.join();
    // Destroy pending session frames while the services they reference live;
    // acceptors before the context that owns them.
    listeners_.clear();
    signal_set_.reset();
    if (delivery_) delivery_->release_io();
    contexts_.clear();
    spdlog::info("mailfort stopped");
    return 0;
  }

 private:
  // Keeps a context running until stop() even when it has no work yet.
  void run_context(asio::io_context& ctx) {
    auto guard = asio::make_work_guard(ctx);
    ctx.run();
  }

  int fail(const std::string& msg) {
    spdlog::critical("startup failed: {}", msg);
    std::fprintf(stderr, "mailfort: %s\n", msg.c_str());
    return 1;
  }

  asio::awaitable<void> signals() {
    auto& set = *signal_set_;
    while (true) {
      auto [ec, sig] = co_await set.async_wait(use_tuple);
      if (ec) co_return;
      if (sig == SIGHUP) {
        co_await reload();
        continue;
      }
      spdlog::info("stopping signal={} sessions={}", sig == SIGTERM ? "TERM" : "INT", registry_.size());
      co_await stop();
      co_return;
    }
  }

  asio::awaitable<void> stop() {
    stopping_ = true;
    if (delivery_) delivery_->stop();
    for (auto& l : listeners_) {
      std::error_code ec;
      l->acceptor.close(ec);
    }
    registry_.close_all();
    asio::steady_timer t(*contexts_[0]);
    auto deadline = std::chrono::steady_clock::now() + kDrainTimeout;
    while (services_.limiter->total() > 0 && std::chrono::steady_clock::now() < deadline) {
      t.expires_after(std::chrono::milliseconds(20));
      co_await t.async_wait(use_tuple);
    }
    for (auto& c : contexts_) c->stop();
  }

  // SIGHUP: re-read the config; swap in the certificate, limits, [sieve]
  // settings and log file.
  // Listener changes need a restart (sockets were bound as root).
  asio::awaitable<void> reload() {
    spdlog::info("reload requested");
    log::reopen();
    auto loaded = co_await run_blocking(workers_, [this] { return config::load_file(config_path_); });
    if (!loaded.config) {
      for (const auto& p : loaded.problems) spdlog::error("reload config-problem {}", p.to_string());
      spdlog::error("reload failed: keeping the running configuration");
      co_return;
    }
    auto next = std::make_shared<const config::Config>(std::move(*loaded.config));
    if (services_.tls) {
      auto settings = tls_settings(*next);
      auto r = co_await run_blocking(workers_, [&] { return services_.tls->reload(settings); });
      if (!r) {
        spdlog::error("reload tls failed: {}; keeping the old certificate", r.error().message);
      } else {
        spdlog::info("reload tls certificate {}", services_.tls->current()->describe());
      }
    }
    apply_limits(*next, services_);
    if (services_.sieve) services_.sieve->reconfigure(*next);
    services_.set_config(next);
    spdlog::info("reload done");
  }

  asio::awaitable<void> refresh_bans() {
    asio::steady_timer t(*contexts_[0]);
    while (!stopping_) {
      t.expires_after(kBanRefreshInterval);
      auto [ec] = co_await t.async_wait(use_tuple);
      if (ec || stopping_) co_return;
      auto r = co_await run_blocking(workers_, [this] { return services_.bans->refresh(); });
      if (!r) spdlog::warn("bans refresh failed: {}", r.error().message);
    }
  }

  std::string config_path_;
  std::vector<std::unique_ptr<asio::io_context>> contexts_;
  std::unique_ptr<asio::signal_set> signal_set_;  // destroyed before the contexts
  asio::thread_pool workers_;
  // Password hashing only: Argon2id (64 MiB, ~0.2 s each) never delays
  // mailbox work, and concurrent verifications (memory) are bounded.
  asio::thread_pool auth_workers_;
  Services services_;
  std::unique_ptr<outbound::DeliveryEngine> delivery_;
  SessionRegistry registry_;
  std::vector<std::unique_ptr<Listener>> listeners_;
  bool stopping_ = false;
};

}  // namespace

int serve(const std::string& config_path) {
  // Message buffers (up to max_message_size each) get their own mappings and
  // go back to the system when freed. glibc otherwise raises its mmap
  // threshold after the first large free and serves later large buffers
  // from the heap, which keeps their pages resident after they are freed:
  // the process would grow past [smtp] max_inflight_message_bytes.
  mallopt(M_MMAP_THRESHOLD, 1024 * 1024);
  auto loaded = config::load_file(config_path);
  if (!loaded.config) {
    for (const auto& p : loaded.problems) std::fprintf(stderr, "%s\n", p.to_string().c_str());
    return 1;
  }
  auto cfg = std::make_shared<const config::Config>(std::move(*loaded.config));
  std::string err;
  if (!log::init(cfg->log.file, cfg->log.level, err)) {
    std::fprintf(stderr, "mailfort: log: %s\n", err.c_str());
    return 1;
  }
  if (geteuid() == 0 && !cfg->log.file.empty()) {
    // The log file is reopened on SIGHUP after privileges are dropped.
    if (auto ids = lookup_user(cfg->run_as)) {
      if (chown(cfg->log.file.c_str(), ids->uid, ids->gid) != 0) spdlog::warn("cannot chown log file");
    }
  }
  signal(SIGPIPE, SIG_IGN);
  // Signals are handled by asio's signal_set on the first I/O context; block
  // them in every thread we start so they land there.
  Runtime runtime(config_path, cfg);
  return runtime.run();
}

}  // namespace mailfort::server
