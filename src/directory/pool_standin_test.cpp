// THROWAWAY: a minimal sql::Pool and sql::connect (SQLite only) until
// src/sql/pool.cpp and connect.cpp (branch i15-sql) are merged. Delete then.
#include <mutex>

#include "sql/engines.h"
#include "sql/sql.h"

namespace mailfort::sql {

Result<std::unique_ptr<Connection>> connect(const ConnectOptions& options) {
  if (options.dialect == Dialect::SQLite) return connect_sqlite(options);
  return make_error(Errc::Temp, "stand-in: no server drivers");
}

struct Pool::Impl {
  ConnectOptions options;
  std::size_t size;
  std::mutex mu;
  std::vector<std::unique_ptr<Connection>> idle;
  bool healthy = true;
  std::string last_error;
};

Pool::Pool(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Pool::~Pool() = default;

std::shared_ptr<Pool> Pool::create(ConnectOptions options, std::size_t size, std::chrono::milliseconds) {
  auto impl = std::make_unique<Impl>();
  impl->options = std::move(options);
  impl->size = size;
  return std::shared_ptr<Pool>(new Pool(std::move(impl)));
}

Result<void> Pool::with(const std::function<Result<void>(Connection&)>& fn, bool) {
  std::unique_ptr<Connection> c;
  {
    std::lock_guard lock(impl_->mu);
    if (!impl_->idle.empty()) {
      c = std::move(impl_->idle.back());
      impl_->idle.pop_back();
    }
  }
  if (!c) {
    auto r = connect(impl_->options);
    std::lock_guard lock(impl_->mu);
    if (!r) {
      impl_->healthy = false;
      impl_->last_error = r.error().message;
      return make_error(Errc::Temp, r.error().message);
    }
    impl_->healthy = true;
    c = std::move(r).value();
  }
  auto out = fn(*c);
  std::lock_guard lock(impl_->mu);
  if (c->usable() && impl_->idle.size() < impl_->size) impl_->idle.push_back(std::move(c));
  return out;
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
  return impl_->last_error;
}

}  // namespace mailfort::sql
