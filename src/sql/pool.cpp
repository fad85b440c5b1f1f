// sql::Pool: up to `size` connections to one database, opened when a call
// needs one. A call that finds every connection busy waits up to
// acquire_timeout. A connection that broke is dropped with the idle ones
// (after a server restart they are all stale) and a read is retried once on
// a fresh one. A failed connect starts a backoff (0.25 s doubling to 10 s)
// during which calls fail at once with Errc::Temp naming the last error,
// instead of every worker waiting for its own connect_timeout. A connection
// idle for a while is checked (SELECT 1) before use, so a write, which is
// not retried, does not land on one the server or a firewall dropped.
#include <condition_variable>
#include <cstdio>
#include <deque>
#include <mutex>

#include "sql/sql.h"

namespace mailfort::sql {

namespace {

using Clock = std::chrono::steady_clock;
constexpr std::chrono::milliseconds kFirstBackoff{250};
constexpr std::chrono::milliseconds kMaxBackoff{10'000};
constexpr std::chrono::seconds kIdleCheck{30};

struct Idle {
  std::unique_ptr<Connection> conn;
  Clock::time_point since;
};

}  // namespace

struct Pool::Impl {
  ConnectOptions options;
  std::size_t size;
  std::chrono::milliseconds acquire_timeout;

  mutable std::mutex mu;
  std::condition_variable cv;
  std::deque<Idle> idle;  // the most recently used at the back
  std::size_t open = 0;   // idle + in use + being opened
  std::chrono::milliseconds backoff{0};
  Clock::time_point next_connect{};
  bool healthy = true;
  std::string last_error;

  Result<std::unique_ptr<Connection>> acquire();
  void release(std::unique_ptr<Connection> c, const Result<void>& r);
  void drop(std::unique_ptr<Connection> c);
  Result<std::unique_ptr<Connection>> open_one(std::unique_lock<std::mutex>& lock);
};

Result<std::unique_ptr<Connection>> Pool::Impl::acquire() {
  std::unique_lock lock(mu);
  auto deadline = Clock::now() + acquire_timeout;
  for (;;) {
    if (!idle.empty()) {
      Idle e = std::move(idle.back());
      idle.pop_back();
      if (Clock::now() - e.since < kIdleCheck) return std::move(e.conn);
      lock.unlock();
      bool alive = e.conn->query("SELECT 1", {}).ok() && e.conn->usable();
      if (alive) return std::move(e.conn);
      e.conn.reset();
      lock.lock();
      --open;
      continue;
    }
    if (open < size) return open_one(lock);
    if (cv.wait_until(lock, deadline) == std::cv_status::timeout && idle.empty() && open >= size) {
      char secs[32];
      std::snprintf(secs, sizeof secs, "%.1f", acquire_timeout.count() / 1000.0);
      return make_error(Errc::Temp, "sql: all " + std::to_string(size) + " connections to " +
                                        options.display() + " busy for " + secs + " s");
    }
  }
}

// Called with `lock` held and a free slot; connects without the lock.
Result<std::unique_ptr<Connection>> Pool::Impl::open_one(std::unique_lock<std::mutex>& lock) {
  auto now = Clock::now();
  if (now < next_connect) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(next_connect - now);
    char secs[32];
    std::snprintf(secs, sizeof secs, "%.2f", left.count() / 1000.0);
    return make_error(Errc::Temp, last_error + " (next attempt in " + secs + " s)");
  }
  ++open;
  lock.unlock();
  auto c = connect(options);
  lock.lock();
  if (c) {
    backoff = std::chrono::milliseconds{0};
    healthy = true;
    return c;
  }
  --open;
  backoff = backoff.count() == 0 ? kFirstBackoff : std::min(backoff * 2, kMaxBackoff);
  next_connect = Clock::now() + backoff;
  healthy = false;
  last_error = c.error().message;
  cv.notify_all();  // a waiter may open the slot, or fail at once in the backoff
  return make_error(Errc::Temp, c.error().message);
}

void Pool::Impl::release(std::unique_ptr<Connection> c, const Result<void>& r) {
  std::deque<Idle> stale;  // closed after the lock is released
  std::lock_guard lock(mu);
  if (c->usable()) {
    healthy = true;
    idle.push_back({std::move(c), Clock::now()});
  } else {
    // Broken: the server restarted or went away, so the idle ones are
    // most likely broken too.
    open -= 1 + idle.size();
    stale.swap(idle);
    healthy = false;
    last_error = r ? "sql: connection to " + options.display() + " lost" : r.error().message;
  }
  cv.notify_all();
}

void Pool::Impl::drop(std::unique_ptr<Connection> c) {
  {
    std::lock_guard lock(mu);
    --open;
    cv.notify_all();
  }
  c.reset();
}

Pool::Pool(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Pool::~Pool() = default;

std::shared_ptr<Pool> Pool::create(ConnectOptions options, std::size_t size,
                                   std::chrono::milliseconds acquire_timeout) {
  auto impl = std::make_unique<Impl>();
  impl->options = std::move(options);
  impl->size = std::max<std::size_t>(size, 1);
  impl->acquire_timeout = acquire_timeout;
  return std::shared_ptr<Pool>(new Pool(std::move(impl)));
}

Result<void> Pool::with(const std::function<Result<void>(Connection&)>& fn, bool retry) {
  for (int attempt = 0;; ++attempt) {
    auto c = impl_->acquire();
    if (!c) return c.error();
    Result<void> r;
    try {
      r = fn(**c);
    } catch (...) {  // a bug in fn: the connection's state is unknown, drop it
      impl_->drop(std::move(*c));
      throw;
    }
    // An error may have left a transaction open (in PostgreSQL an aborted
    // one that refuses every later statement): end it before reuse.
    if (!r && (*c)->usable()) (void)(*c)->rollback();
    bool broke = !(*c)->usable();
    impl_->release(std::move(*c), r);
    if (r || !broke || !retry || attempt > 0 || r.error().code != Errc::Temp) return r;
  }
}

Dialect Pool::dialect() const {
  return impl_->options.dialect;
}

const ConnectOptions& Pool::options() const {
  return impl_->options;
}

bool Pool::healthy() const {
  std::lock_guard lock(impl_->mu);
  return impl_->healthy;
}

std::string Pool::last_error() const {
  std::lock_guard lock(impl_->mu);
  return impl_->healthy ? std::string() : impl_->last_error;
}

}  // namespace mailfort::sql
