// DeliveryEngine: delivers the durable outbound queue (Q2-Q4). Every second
// it looks for due messages, groups their pending recipients by domain,
// resolves the route (MX with preference order, implicit MX, null MX, all
// through the DNSSEC-validating resolver) and the TLS policy (tlspolicies
// row or [delivery] default_tls_policy; DANE from secure TLSA answers),
// talks SMTP to the remote, and records per-recipient results in the queue
// file before anything else happens. Temporary failures retry with
// exponential backoff between [queue] minimal and maximal backoff until the
// lifetime ends; permanent failures and expiry produce one DSN (RFC 3464)
// to the envelope sender, never to the null sender.
#pragma once
#include <asio/awaitable.hpp>
#include <asio/io_context.hpp>

#include <atomic>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>

namespace mailfort::tls {
class ClientContext;
}

namespace mailfort::server {

struct Services;

class DeliveryEngine {
 public:
  DeliveryEngine(Services& services, asio::io_context& io, std::shared_ptr<tls::ClientContext> tls);
  void start();
  void stop() { stopping_ = true; }

 private:
  asio::awaitable<void> loop();
  asio::awaitable<void> attempt(std::string id);

  Services& svc_;
  asio::io_context& io_;
  std::shared_ptr<tls::ClientContext> tls_;
  std::atomic<bool> stopping_{false};
  std::set<std::string> in_flight_;             // message ids being attempted (io thread only)
  std::map<std::string, uint32_t> per_domain_;  // connections per destination domain
  uint32_t connections_ = 0;
};

// RFC 3464 delivery status notification for the failed recipients of one
// message (exposed for tests).
struct FailedRecipient {
  std::string address;
  std::string status;  // "5.1.1"
  std::string diagnostic;
};
std::string make_dsn(const std::string& hostname, const std::string& sender, const std::string& original,
                     const std::vector<FailedRecipient>& failed, int64_t arrival);

}  // namespace mailfort::server
