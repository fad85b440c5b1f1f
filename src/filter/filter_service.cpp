#include "filter/filter_service.h"

#include <spdlog/spdlog.h>

#include <fstream>
#include <sstream>

#include "base/log.h"
#include "filter/bayes.h"
#include "filter/builtin_engine.h"
#include "filter/clamd.h"
#include "filter/rspamd.h"
#include "filter/rules.h"
#include "filter/uribl.h"
#include "postscreen/dnsbl.h"
#include "postscreen/dnsbl_site.h"
#include "postscreen/postscreen.h"

namespace mailfort::filter {
namespace {

// The client IP's listings on the [inbound] dnsbl sites, through the
// postscreen cache (on the MX the connect-time lookups already filled it).
std::function<std::vector<IpListing>(const std::string&)> ip_listings_from(
    const config::Inbound& inbound, std::shared_ptr<postscreen::Postscreen> screen,
    std::shared_ptr<dns::Resolver> resolver) {
  auto sites = postscreen::parse_dnsbl_sites(inbound.dnsbl);
  if (sites.empty() || (!screen && !resolver)) return nullptr;
  std::shared_ptr<postscreen::DnsblLookup> own;
  if (!screen) own = std::make_shared<postscreen::DnsblLookup>(resolver);
  return [sites, screen, own](const std::string& ip) {
    std::vector<IpListing> out;
    if (ip.empty()) return out;
    postscreen::DnsblLookup& lookup = screen ? screen->dnsbl() : *own;
    for (const auto& site : sites) {
      auto answer = lookup.lookup(site.domain, ip);
      if (answer.status != postscreen::DnsblAnswer::Status::Listed) continue;
      for (const auto& a : answer.addresses) {
        if (!site.matches(a)) continue;
        out.push_back(IpListing{site.domain, a, site.weight < 0, site.weight});
        break;
      }
    }
    return out;
  };
}

std::unique_ptr<SpamEngine> make_builtin(const config::Config& cfg, std::shared_ptr<dns::Resolver> resolver,
                                         std::shared_ptr<postscreen::Postscreen> screen,
                                         std::shared_ptr<state::Redis> redis) {
  BuiltinParts parts;
  if (cfg.spam.bayes) {
    auto bayes = open_sqlite_bayes(cfg.bayes_db_path(), cfg.spam.bayes_min_learns);
    if (redis) {
      // Shared in Redis; this node's SQLite statistics (when they open)
      // answer while Redis is unreachable.
      if (!bayes) spdlog::warn("spam bayes-local-unavailable error={}", log::quote(bayes.error().message));
      parts.bayes = open_redis_bayes(std::move(redis), bayes ? std::move(bayes.value()) : nullptr,
                                     cfg.spam.bayes_min_learns);
    } else if (bayes) {
      parts.bayes = std::move(bayes.value());
    } else {
      spdlog::warn("spam bayes-unavailable error={}", log::quote(bayes.error().message));
    }
  }
  if (!cfg.spam.rules.empty()) {
    std::vector<RuleProblem> problems;
    parts.rules = load_rule_files(cfg.spam.rules, problems);
    for (const auto& p : problems)
      spdlog::warn("spam rule-problem file={} line={} error={}", log::quote(p.file), p.line,
                   log::quote(p.message));
  }
  if (!cfg.spam.uribl.empty() && resolver) parts.uribl = make_url_blocklist(resolver, cfg.spam.uribl);
  parts.ip_listings = ip_listings_from(cfg.inbound, std::move(screen), std::move(resolver));
  return std::make_unique<BuiltinEngine>(cfg.spam, std::move(parts));
}

}  // namespace

Result<std::shared_ptr<FilterService>> FilterService::open(const config::Config& cfg,
                                                           std::shared_ptr<dns::Resolver> resolver,
                                                           std::shared_ptr<postscreen::Postscreen> postscreen,
                                                           std::shared_ptr<state::Redis> redis) {
  std::shared_ptr<FilterService> f(new FilterService());
  f->cfg_ = cfg;
  f->spam_ = cfg.spam;
  f->milters_ = cfg.milters;
  if (cfg.spam.engine == "builtin") {
    f->engine_ = make_builtin(cfg, resolver, postscreen, redis);
  } else if (cfg.spam.engine == "rspamd") {
    f->engine_ = make_rspamd_engine(cfg.spam);
    if (!f->engine_) return Error{Errc::Perm, "spam: the Rspamd engine could not be set up"};
  }
  if (!cfg.antivirus.clamd.empty()) {
    f->antivirus_ = make_clamd_antivirus(cfg.antivirus);
    if (!f->antivirus_) return Error{Errc::Perm, "antivirus: clamd client could not be set up"};
  }
  auto history = open_scan_history(cfg.spam_history_db_path(), {.keep_days = cfg.spam.history_days});
  if (history) {
    f->history_ = std::move(history.value());
  } else {
    spdlog::warn("spam history-unavailable error={}", log::quote(history.error().message));
  }
  f->learner_ = std::thread([raw = f.get()] { raw->learner_loop(); });
  return f;
}

FilterService::~FilterService() {
  {
    std::lock_guard lock(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  if (learner_.joinable()) learner_.join();
}

std::vector<config::Milter> FilterService::milters_for(const config::Listener& listener) const {
  std::vector<config::Milter> out;
  for (const auto& m : milters_) {
    for (const auto& name : m.listeners) {
      bool by_kind = (name == "mx" && listener.protocol == config::Protocol::smtp) ||
                     (name == "submission" && listener.protocol == config::Protocol::submission);
      if (name == listener.name || by_kind) {
        out.push_back(m);
        break;
      }
    }
  }
  return out;
}

Result<LearnOutcome> FilterService::learn(std::string_view message, bool spam, const std::string& user) {
  if (!engine_) return Error{Errc::Invalid, "spam filtering is off ([spam] engine = \"off\")"};
  auto r = engine_->learn(message, spam, user);
  if (r && history_ && (r.value() == LearnOutcome::Learned || r.value() == LearnOutcome::Relearned)) {
    (void)history_->record_learn(spam, std::time(nullptr));
  }
  return r;
}

void FilterService::learn_in_background(std::string user, std::vector<std::string> message_files, bool spam) {
  if (!engine_ || message_files.empty()) return;
  spdlog::debug("spam learn-queued user={} class={} messages={}", log::quote(user), spam ? "spam" : "ham",
                message_files.size());
  {
    std::lock_guard lock(mu_);
    if (jobs_.size() >= kMaxQueuedJobs) {
      spdlog::warn("spam learn-dropped user={} messages={} reason=queue-full", log::quote(user),
                   message_files.size());
      return;
    }
    jobs_.push_back(LearnJob{std::move(user), std::move(message_files), spam});
  }
  cv_.notify_one();
}

void FilterService::drain() {
  std::unique_lock lock(mu_);
  idle_cv_.wait(lock, [&] { return jobs_.empty() && !busy_; });
}

void FilterService::learner_loop() {
  for (;;) {
    LearnJob job;
    {
      std::unique_lock lock(mu_);
      cv_.wait(lock, [&] { return stop_ || !jobs_.empty(); });
      if (stop_) return;
      job = std::move(jobs_.front());
      jobs_.pop_front();
      busy_ = true;
    }
    std::size_t learned = 0;
    for (const auto& file : job.files) {
      std::ifstream in(file, std::ios::binary);
      if (!in) continue;  // moved again or expunged meanwhile
      std::ostringstream ss;
      ss << in.rdbuf();
      auto r = learn(ss.str(), job.spam, job.user);
      if (!r) {
        spdlog::warn("spam learn-failed user={} error={}", log::quote(job.user),
                     log::quote(r.error().message));
      } else if (r.value() == LearnOutcome::Learned || r.value() == LearnOutcome::Relearned) {
        ++learned;
      }
    }
    spdlog::info("spam learned user={} class={} messages={} counted={}", log::quote(job.user),
                 job.spam ? "spam" : "ham", job.files.size(), learned);
    {
      std::lock_guard lock(mu_);
      busy_ = false;
    }
    idle_cv_.notify_all();
  }
}

}  // namespace mailfort::filter
