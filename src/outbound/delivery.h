// DeliveryEngine: the outbound queue's scheduler (Q2-Q4), in the manner of
// Postfix's qmgr + smtp with its connection cache.
//
// - The queue directory is read once at start (a restart resumes every
//   message where its file says it was), then only every 60 s and on
//   `mailfort queue flush` to pick up CLI changes (hold, release, delete).
//   New messages are announced by the queue (Queue::notify) and posted
//   here, so they are attempted at once. A DueSchedule keeps every queued
//   message ordered by its next attempt.
// - A due message is loaded (envelope, message, DKIM signatures) and split
//   into one job per destination (recipient domain, or the relay host of
//   [delivery] relay_host). Jobs wait in their destination's queue; each
//   destination has at most max_connections_per_destination connections,
//   all together at most max_connections.
// - A connection (delivery_connection.cpp) resolves the route
//   (delivery_route.h), sets up a session and then delivers job after job
//   over it; it stays idle for connection_reuse_seconds and carries at
//   most max_messages_per_connection. A reused connection that broke before
//   MAIL was accepted is replaced and the job retried, not counted.
// - After each transaction the message's per-recipient results are written
//   to its queue file (fsync'd) before the next transaction on that
//   connection: a crash never delivers a confirmed recipient again. When
//   every destination of a message is done it is removed (durably), or
//   rescheduled with backoff between [queue] minimal and maximal backoff
//   until its lifetime ends; permanent failures and expiry produce one DSN
//   (RFC 3464) to the envelope sender, never to the null sender; an
//   optional delay notice goes out once.
#pragma once
#include <asio/awaitable.hpp>
#include <asio/io_context.hpp>
#include <asio/steady_timer.hpp>

#include <optional>

#include <atomic>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "outbound/delivery_dsn.h"
#include "outbound/delivery_route.h"
#include "outbound/delivery_schedule.h"
#include "outbound/smtp_client.h"
#include "queue/queue.h"

namespace mailfort::tls {
class ClientContext;
}
namespace mailfort::server {
struct Services;
}

namespace mailfort::outbound {

class DeliveryEngine {
 public:
  DeliveryEngine(server::Services& services, asio::io_context& io, std::shared_ptr<tls::ClientContext> tls);
  ~DeliveryEngine();
  void start();
  void stop();
  // After the I/O threads have returned and before the io_context is
  // destroyed: drops the engine's own I/O objects, which must not outlive
  // the context's services (the engine itself must, for the coroutine
  // frames the context destroys).
  void release_io();

 private:
  struct Message {
    queue::Envelope env;
    std::string message;                      // as queued (DSNs quote its header)
    std::shared_ptr<const std::string> wire;  // as sent (DKIM signatures + message)
    std::size_t outstanding = 0;              // destination jobs not finished
    // Queue file writes of this message run on the worker pool; the newest
    // version must win and two writes must not overlap (same tmp name).
    struct Gate {
      std::mutex mu;
      uint64_t written = 0;
    };
    std::shared_ptr<Gate> gate = std::make_shared<Gate>();
    uint64_t version = 0;
  };
  struct Job {
    std::string id;
    std::string dest;
    std::vector<std::size_t> rcpts;  // indexes into the envelope's recipients
  };
  struct Destination {
    std::deque<Job> jobs;
    uint32_t starting = 0;                  // connections not yet taking jobs
    std::vector<asio::steady_timer*> idle;  // idle connections' timers (cancel = wake)
  };

  // Scheduling (delivery.cpp): due messages are loaded and split into jobs
  // per destination; jobs get connections under the caps.
  asio::awaitable<void> loop();
  asio::awaitable<void> rescan(bool flush);
  asio::awaitable<void> activate(std::string id);
  void on_enqueued(const std::string& id);
  void add_job(Job job);
  void kick(const std::string& dest);
  void spawn(asio::awaitable<void> work, std::string what);

  // Results (delivery.cpp): per-recipient results into the queue file; a
  // finished message removed or rescheduled, with its DSN or delay notice.
  asio::awaitable<void> record(Job job, std::vector<RecipientOutcome> results);
  asio::awaitable<void> write_progress(std::shared_ptr<Message> m);
  asio::awaitable<void> finish(std::shared_ptr<Message> m);

  // TLS reports (RFC 8460; delivery.cpp): counts session attempts; sends
  // yesterday's reports.
  asio::awaitable<void> count_tls(std::vector<TlsSessionRecord> sessions);
  asio::awaitable<void> daily_tls_reports();
  asio::awaitable<void> daily_dmarc_reports();

  // Connections (delivery_connection.cpp): connection() carries a
  // destination's jobs; the rest are its steps.
  struct ConnectionState;
  asio::awaitable<void> connection(std::string dest);
  asio::awaitable<void> start_connection(ConnectionState& c, std::string dest);
  asio::awaitable<Route> route_for(std::string dest);
  void stop_starting(ConnectionState& c);
  asio::awaitable<bool> wait_for_more_mail(ConnectionState& c);
  asio::awaitable<void> recheck_route(ConnectionState& c);
  std::optional<std::pair<Job, std::shared_ptr<Message>>> take_job(const std::string& dest);
  asio::awaitable<std::optional<RecipientOutcome>> open_session(ConnectionState& c);
  asio::awaitable<void> fail_destination(std::string dest, Job job, RecipientOutcome why);
  asio::awaitable<void> deliver(ConnectionState& c, Job job, std::shared_ptr<Message> m);
  asio::awaitable<void> close_session(ConnectionState& c);
  asio::awaitable<void> end_connection(ConnectionState& c);
  void release_slot(const std::string& dest);

  server::Services& svc_;
  asio::io_context& io_;
  std::shared_ptr<tls::ClientContext> tls_;
  std::atomic<bool> stopping_{false};
  std::optional<asio::steady_timer> wake_;
  // All below: on io_'s thread only.
  DueSchedule schedule_;
  std::unordered_map<std::string, std::shared_ptr<Message>> active_;
  std::map<std::string, Destination> dests_;
  ConnectionSlots slots_;
  std::set<std::string> waiting_;  // destinations held back by max_connections
};

}  // namespace mailfort::outbound
