// Services: what every protocol session may use, shared by all I/O threads.
// The live config is swapped on SIGHUP; a session takes one snapshot at
// connect and keeps it for its lifetime.
#pragma once
#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>

#include "base/config.h"
#include "base/result.h"
#include "server/message_memory.h"

namespace asio {
class thread_pool;
}
namespace mailfort::directory {
class AuthCache;
class Directory;
}  // namespace mailfort::directory
namespace mailfort::policy {
class BanService;
class ConnectionLimiter;
class SendLimiter;
}  // namespace mailfort::policy
namespace mailfort::tls {
class ContextHolder;
}
namespace mailfort::state {
class Redis;
}
namespace mailfort::store {
class GroupCommit;
class MailStore;
class MailboxRegistry;
}  // namespace mailfort::store
namespace mailfort::queue {
class Queue;
}
namespace mailfort::dns {
class Resolver;
}

namespace mailfort::auth {
class Srs;
class DmarcReportStore;
}  // namespace mailfort::auth
namespace mailfort::postscreen {
class Postscreen;
}
namespace mailfort::filter {
class FilterService;
}
namespace mailfort::sieve {
class SieveService;
}
namespace mailfort::outbound {
class MtaStsCache;
class TlsReportStore;
}  // namespace mailfort::outbound

namespace mailfort::server {

class SessionRegistry;

struct Services {
  std::shared_ptr<const config::Config> config() const {
    std::lock_guard lock(config_mu);
    return config_;
  }
  void set_config(std::shared_ptr<const config::Config> c) {
    std::lock_guard lock(config_mu);
    config_ = std::move(c);
  }
  uint64_t next_session_id() { return ++session_counter; }

  // Bytes of messages being received, all sessions together; bounded by
  // [smtp] max_inflight_message_bytes (IMAP APPEND by the [imap] caps below
  // it) so concurrent large messages cannot exhaust memory.
  MessageMemory message_memory;

  // IMAP+POP3 sessions per (account, IP), capped by
  // [imap] max_connections_per_user_ip.
  bool acquire_user_ip(const std::string& key, uint32_t cap) {
    std::lock_guard lock(user_ip_mu);
    auto& n = user_ip_sessions[key];
    if (n >= cap) return false;
    ++n;
    return true;
  }
  void release_user_ip(const std::string& key) {
    std::lock_guard lock(user_ip_mu);
    auto it = user_ip_sessions.find(key);
    if (it != user_ip_sessions.end() && --it->second == 0) user_ip_sessions.erase(it);
  }

  asio::thread_pool* workers = nullptr;
  asio::thread_pool* auth_workers = nullptr;  // password verification only (see check_login)
  std::shared_ptr<directory::Directory> directory;
  std::shared_ptr<directory::AuthCache> auth_cache;
  std::shared_ptr<policy::BanService> bans;
  // [state] backend = "redis": the state every node shares (bans, sending
  // limits, greylisting, caches, Bayes); null = this node's local state.
  std::shared_ptr<state::Redis> redis;
  SessionRegistry* sessions = nullptr;  // live connections (a new ban closes its client's); may be null
  std::shared_ptr<policy::ConnectionLimiter> limiter;
  std::shared_ptr<policy::SendLimiter> send_limiter;  // Q7 messages per hour; null = no limits
  std::shared_ptr<tls::ContextHolder> tls;            // null when no [tls] configured
  std::shared_ptr<store::GroupCommit> commit;
  std::shared_ptr<store::MailStore> store;
  std::shared_ptr<store::MailboxRegistry> mailboxes;  // IMAP/POP3 view of the store
  std::shared_ptr<queue::Queue> queue;
  std::shared_ptr<const auth::Srs> srs;                   // SRS secret of forwarded mail; null = no rewriting
  std::shared_ptr<dns::Resolver> resolver;                // blocking: use on the worker pool
  std::shared_ptr<outbound::MtaStsCache> mta_sts;         // blocking: use on the worker pool
  std::shared_ptr<outbound::TlsReportStore> tlsrpt;       // TLS report counters; blocking; null = off
  std::shared_ptr<auth::DmarcReportStore> dmarc_reports;  // DMARC report counts; blocking; null = off
  std::shared_ptr<postscreen::Postscreen> postscreen;     // MX defense (DNSBL cache, greylist); blocking
  std::shared_ptr<filter::FilterService> filter;          // spam/virus scanning, milters, learning; blocking
  std::shared_ptr<sieve::SieveService> sieve;             // scripts, compiled cache, vacation state; blocking

 private:
  std::mutex user_ip_mu;
  std::unordered_map<std::string, uint32_t> user_ip_sessions;
  mutable std::mutex config_mu;
  std::shared_ptr<const config::Config> config_;
  std::atomic<uint64_t> session_counter{0};
};

// The connection caps, sending limits and login cache, from `cfg`.
void create_limits(const config::Config& cfg, Services& services);
// SIGHUP: the same limits (and the ban thresholds) from a new config.
void apply_limits(const config::Config& cfg, Services& services);
// Opens what every session uses: directory, bans, DNS resolver, store, queue
// and the IMAP view (`imap_cache` builds a message's IMAP cache entry). Not
// TLS (its key is read before privileges drop) and not the outbound MTA's
// own state. Also clears tmp/ of half-written files from a crash.
Result<void> open_local_services(const config::Config& cfg, Services& services,
                                 std::function<std::string(std::string_view message)> imap_cache);

}  // namespace mailfort::server
