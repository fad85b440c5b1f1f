#include "server/services.h"

#include <asio/post.hpp>
#include <asio/thread_pool.hpp>

#include "base/log.h"
#include "directory/auth_cache.h"
#include "directory/directory.h"
#include "directory/open.h"
#include "dns/resolver.h"
#include "policy/ban_service.h"
#include "policy/connection_limiter.h"
#include "policy/send_limiter.h"
#include "postscreen/postscreen.h"
#include "queue/queue.h"
#include "state/open.h"
#include "state/redis.h"
#include "store/group_commit.h"
#include "store/mail_store.h"
#include "store/mailbox.h"

namespace mailfort::server {
namespace {

policy::SendLimiter::Limits send_limits(const config::Config& c) {
  return {c.limits.send_per_hour_server, c.limits.send_per_hour_domain, c.limits.send_per_hour_mailbox,
          c.limits.send_recipients_per_hour_mailbox};
}

policy::ConnectionLimiter::Limits limiter_limits(const config::Config& c) {
  return {c.limits.max_connections, c.limits.max_connections_per_ip, c.limits.ipv6_prefix_length};
}

policy::BanService::Settings ban_settings(const config::Config& c) {
  return {c.limits.auth_failures_before_ban, c.limits.ban_window_seconds, c.limits.ban_duration_seconds,
          c.limits.ipv6_prefix_length};
}

void configure_auth_cache(directory::AuthCache& cache, const config::Config& c) {
  cache.configure(std::chrono::seconds(c.directory.auth_cache_seconds), c.directory.auth_cache_entries);
}

}  // namespace

void create_limits(const config::Config& cfg, Services& services) {
  services.auth_cache = std::make_shared<directory::AuthCache>();
  configure_auth_cache(*services.auth_cache, cfg);
  services.limiter = policy::ConnectionLimiter::create(limiter_limits(cfg));
  services.send_limiter = policy::SendLimiter::create(send_limits(cfg));
}

void apply_limits(const config::Config& cfg, Services& services) {
  services.limiter->set_limits(limiter_limits(cfg));
  services.send_limiter->set_limits(send_limits(cfg));
  if (services.bans) services.bans->set_settings(ban_settings(cfg));
  configure_auth_cache(*services.auth_cache, cfg);
}

Result<void> open_local_services(const config::Config& cfg, Services& services,
                                 std::function<std::string(std::string_view message)> imap_cache) {
  auto dir = directory::open_directory(cfg);
  if (!dir) return Error{dir.error().code, "directory: " + dir.error().message};
  services.directory = std::move(dir.value());
  auto redis = state::open_redis(cfg.state);
  if (!redis) return redis.error();
  services.redis = redis.value();
  if (services.redis) {
    spdlog::info("state backend=redis url={} prefix={}", services.redis->display(),
                 log::quote(cfg.state.redis_key_prefix));
  } else {
    spdlog::info("state backend=local");
  }
  if (services.redis && services.send_limiter) {
    asio::thread_pool* pool = services.workers;
    services.send_limiter->set_redis(services.redis, [pool](std::function<void()> fn) {
      if (pool) {
        asio::post(*pool, std::move(fn));
      } else {
        fn();
      }
    });
  }
  auto bans = policy::BanService::open(cfg.state_db_path(), ban_settings(cfg), {}, services.redis);
  if (!bans) return Error{bans.error().code, "bans: " + bans.error().message};
  services.bans = bans.value();

  auto resolver = dns::Resolver::create({cfg.dns.resolvers, cfg.dns.recursion, cfg.dns.trust_anchor});
  if (!resolver) return resolver.error();
  services.resolver = resolver.value();
  auto screen = postscreen::Postscreen::open(cfg, services.resolver, services.redis);
  if (!screen) return Error{screen.error().code, "postscreen: " + screen.error().message};
  services.postscreen = screen.value();

  auto commit = store::GroupCommit::start(cfg.data_dir);
  if (!commit) return Error{commit.error().code, "store: " + commit.error().message};
  services.commit = std::move(commit.value());
  services.store = std::make_shared<store::MailStore>(cfg.data_dir, cfg.hostname, *services.commit);
  services.queue = std::make_shared<queue::Queue>(cfg.data_dir, *services.commit);
  std::vector<store::SpecialFolder> special{{cfg.imap.drafts_folder, "\\Drafts"},
                                            {cfg.imap.sent_folder, "\\Sent"},
                                            {cfg.imap.junk_folder, "\\Junk"},
                                            {cfg.imap.trash_folder, "\\Trash"}};
  services.mailboxes = std::make_shared<store::MailboxRegistry>(
      cfg.hostname, *services.commit, *services.store, std::move(special), std::move(imap_cache));
  services.store->set_on_delivered(
      [reg = services.mailboxes.get()](const std::string& user) { reg->delivered(user); });
  // Only tmp/ can hold half-written files after a crash: nothing there was
  // ever acknowledged.
  services.store->cleanup_tmp();
  services.queue->cleanup_tmp();
  return {};
}

}  // namespace mailfort::server
