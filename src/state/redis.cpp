// The Redis client: see redis.h.
//
// hiredis 0.14 (Debian 12) has no TLS and only coarse timeouts, so the
// transport is ours: a blocking socket driven by poll() with a deadline on
// the whole connect and on each round trip, and OpenSSL for rediss://.
// hiredis only encodes commands (redisFormatCommandArgv) and parses replies
// (redisReader); there is no hand-written RESP here (docs/decisions.md).
//
// Faces Redis, a trusted peer; replies are still bounded by the reader's
// own limits and every read by the deadline.
#include "state/redis.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <hiredis/hiredis.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <condition_variable>
#include <cstring>
#include <mutex>

#include "base/log.h"

namespace mailfort::state {
namespace {

using SteadyClock = std::chrono::steady_clock;
constexpr auto kFirstBackoff = std::chrono::milliseconds(250);
constexpr auto kMaxBackoff = std::chrono::milliseconds(5000);

bool parse_int(std::string_view s, int64_t lo, int64_t hi, int64_t& out) {
  if (s.empty()) return false;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
  return ec == std::errc() && p == s.data() + s.size() && out >= lo && out <= hi;
}

bool is_ip_literal(const std::string& host) {
  unsigned char b[16];
  return inet_pton(AF_INET, host.c_str(), b) == 1 || inet_pton(AF_INET6, host.c_str(), b) == 1;
}

std::string openssl_error() {
  unsigned long e = ERR_get_error();
  if (e == 0) return "tls error";
  char buf[256];
  ERR_error_string_n(e, buf, sizeof buf);
  ERR_clear_error();
  return buf;
}

RedisReply convert(const redisReply* r) {
  RedisReply out;
  switch (r->type) {
    case REDIS_REPLY_INTEGER:
      out.type = RedisReply::Type::Integer;
      out.integer = r->integer;
      break;
    case REDIS_REPLY_STRING:
      out.type = RedisReply::Type::String;
      out.str.assign(r->str, r->len);
      break;
    case REDIS_REPLY_STATUS:
      out.type = RedisReply::Type::Status;
      out.str.assign(r->str, r->len);
      break;
    case REDIS_REPLY_ERROR:
      out.type = RedisReply::Type::Error;
      out.str.assign(r->str, r->len);
      break;
    case REDIS_REPLY_ARRAY:
      out.type = RedisReply::Type::Array;
      out.elements.reserve(r->elements);
      for (size_t i = 0; i < r->elements; ++i) out.elements.push_back(convert(r->element[i]));
      break;
    default:
      out.type = RedisReply::Type::Nil;
  }
  return out;
}

// One connection: a socket, optionally TLS on it, and a reply reader.
class Connection {
 public:
  ~Connection() {
    if (ssl_) SSL_free(ssl_);
    if (fd_ >= 0) ::close(fd_);
    if (reader_) redisReaderFree(reader_);
  }

  static Result<std::unique_ptr<Connection>> open(const RedisOptions& o, SSL_CTX* tls) {
    auto c = std::unique_ptr<Connection>(new Connection());
    c->deadline_ = SteadyClock::now() + o.timeout;
    if (auto r = c->connect_socket(o); !r) return r.error();
    if (tls) {
      if (auto r = c->handshake(o, tls); !r) return r.error();
    }
    c->reader_ = redisReaderCreate();
    if (!c->reader_) return make_error(Errc::Temp, "out of memory");
    // AUTH and SELECT in one round trip.
    std::vector<std::vector<std::string>> hello;
    if (!o.password.empty()) {
      if (o.user.empty()) {
        hello.push_back({"AUTH", o.password});
      } else {
        hello.push_back({"AUTH", o.user, o.password});
      }
    }
    if (o.db != 0) hello.push_back({"SELECT", std::to_string(o.db)});
    if (!hello.empty()) {
      auto replies = c->round_trip(hello, o.timeout);
      if (!replies) return replies.error();
      for (const auto& r : replies.value()) {
        // A refused AUTH or SELECT is configuration: not worth a fast retry,
        // but the node keeps serving from local state, so it is Temp too.
        if (r.type == RedisReply::Type::Error) return make_error(Errc::Temp, "redis refused: " + r.str);
      }
    }
    return c;
  }

  // Sends every command and reads as many replies, all within `timeout`.
  Result<std::vector<RedisReply>> round_trip(const std::vector<std::vector<std::string>>& commands,
                                             std::chrono::milliseconds timeout) {
    deadline_ = SteadyClock::now() + timeout;
    std::string out;
    for (const auto& argv : commands) {
      std::vector<const char*> ptrs;
      std::vector<size_t> lens;
      ptrs.reserve(argv.size());
      lens.reserve(argv.size());
      for (const auto& a : argv) {
        ptrs.push_back(a.data());
        lens.push_back(a.size());
      }
      char* cmd = nullptr;
      int n = redisFormatCommandArgv(&cmd, static_cast<int>(argv.size()), ptrs.data(), lens.data());
      if (n < 0 || !cmd) return make_error(Errc::Invalid, "cannot encode redis command");
      out.append(cmd, static_cast<size_t>(n));
      redisFreeCommand(cmd);
    }
    if (auto r = write_all(out); !r) return r.error();
    std::vector<RedisReply> replies;
    replies.reserve(commands.size());
    char buf[16384];
    while (replies.size() < commands.size()) {
      void* reply = nullptr;
      if (redisReaderGetReply(reader_, &reply) != REDIS_OK) {
        broken_ = true;
        return make_error(Errc::Temp, std::string("redis protocol error: ") + reader_->errstr);
      }
      if (reply) {
        replies.push_back(convert(static_cast<redisReply*>(reply)));
        freeReplyObject(reply);
        continue;
      }
      auto n = read_some(buf, sizeof buf);
      if (!n) return n.error();
      if (redisReaderFeed(reader_, buf, n.value()) != REDIS_OK) {
        broken_ = true;
        return make_error(Errc::Temp, "redis protocol error");
      }
    }
    return replies;
  }

  bool broken() const { return broken_; }

  // An idle connection with something to read has been closed by the
  // server (a restart, an idle timeout): Redis sends nothing unasked.
  bool stale() {
    pollfd p{fd_, POLLIN, 0};
    if (::poll(&p, 1, 0) == 0) return false;
    if (!ssl_) return true;
    // TLS 1.3 sends session tickets after the handshake: readable, yet
    // alive. A peek consumes them; only application data or a close is stale.
    char b;
    size_t got = 0;
    int r = SSL_peek_ex(ssl_, &b, 1, &got);
    bool alive = r != 1 && SSL_get_error(ssl_, r) == SSL_ERROR_WANT_READ;
    ERR_clear_error();
    return !alive;
  }

 private:
  Connection() = default;

  int remaining_ms() const {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline_ - SteadyClock::now());
    return static_cast<int>(std::max<int64_t>(0, left.count()));
  }

  Result<void> wait(short events) {
    pollfd p{fd_, events, 0};
    for (;;) {
      int ms = remaining_ms();
      if (ms <= 0) {
        broken_ = true;
        return make_error(Errc::Temp, "redis timed out");
      }
      int r = ::poll(&p, 1, ms);
      if (r > 0) return {};
      if (r < 0 && errno != EINTR) {
        broken_ = true;
        return make_error(Errc::Temp, std::string("poll: ") + std::strerror(errno));
      }
    }
  }

  Result<void> connect_socket(const RedisOptions& o) {
    if (!o.socket.empty()) {
      sockaddr_un sun{};
      sun.sun_family = AF_UNIX;
      if (o.socket.size() >= sizeof sun.sun_path) return make_error(Errc::Invalid, "socket path too long");
      std::memcpy(sun.sun_path, o.socket.c_str(), o.socket.size() + 1);
      return connect_addr(AF_UNIX, reinterpret_cast<sockaddr*>(&sun), sizeof sun);
    }
    addrinfo hints{};
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_NUMERICSERV;
    addrinfo* res = nullptr;
    std::string port = std::to_string(o.port);
    if (int rc = ::getaddrinfo(o.host.c_str(), port.c_str(), &hints, &res); rc != 0)
      return make_error(Errc::Temp, "resolve " + o.host + ": " + gai_strerror(rc));
    Result<void> last = make_error(Errc::Temp, "no address for " + o.host);
    for (auto* ai = res; ai; ai = ai->ai_next) {
      last = connect_addr(ai->ai_family, ai->ai_addr, ai->ai_addrlen);
      if (last) break;
      if (fd_ >= 0) ::close(fd_);
      fd_ = -1;
    }
    ::freeaddrinfo(res);
    if (last) {
      int one = 1;
      ::setsockopt(fd_, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    }
    return last;
  }

  Result<void> connect_addr(int family, const sockaddr* addr, socklen_t len) {
    fd_ = ::socket(family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd_ < 0) return make_error(Errc::Temp, std::string("socket: ") + std::strerror(errno));
    if (::connect(fd_, addr, len) == 0) return {};
    if (errno != EINPROGRESS && errno != EAGAIN)
      return make_error(Errc::Temp, std::string("connect: ") + std::strerror(errno));
    if (auto r = wait(POLLOUT); !r) return r;
    int err = 0;
    socklen_t el = sizeof err;
    ::getsockopt(fd_, SOL_SOCKET, SO_ERROR, &err, &el);
    if (err != 0) return make_error(Errc::Temp, std::string("connect: ") + std::strerror(err));
    return {};
  }

  Result<void> handshake(const RedisOptions& o, SSL_CTX* ctx) {
    ssl_ = SSL_new(ctx);
    if (!ssl_) return make_error(Errc::Temp, openssl_error());
    SSL_set_fd(ssl_, fd_);
    if (!o.host.empty() && !is_ip_literal(o.host)) SSL_set_tlsext_host_name(ssl_, o.host.c_str());
    if (is_ip_literal(o.host)) {
      X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl_), o.host.c_str());
    } else {
      SSL_set1_host(ssl_, o.host.c_str());
    }
    for (;;) {
      int r = SSL_connect(ssl_);
      if (r == 1) return {};
      int e = SSL_get_error(ssl_, r);
      if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) {
        if (auto w = wait(e == SSL_ERROR_WANT_READ ? POLLIN : POLLOUT); !w) return w;
        continue;
      }
      long verify = SSL_get_verify_result(ssl_);
      if (verify != X509_V_OK)
        return make_error(Errc::Temp, std::string("tls: ") + X509_verify_cert_error_string(verify));
      return make_error(Errc::Temp, "tls handshake: " + openssl_error());
    }
  }

  Result<void> write_all(std::string_view data) {
    while (!data.empty()) {
      ssize_t n;
      if (ssl_) {
        size_t written = 0;
        int r = SSL_write_ex(ssl_, data.data(), data.size(), &written);
        if (r == 1) {
          data.remove_prefix(written);
          continue;
        }
        int e = SSL_get_error(ssl_, r);
        if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) {
          if (auto w = wait(e == SSL_ERROR_WANT_READ ? POLLIN : POLLOUT); !w) return w;
          continue;
        }
        broken_ = true;
        return make_error(Errc::Temp, "tls write: " + openssl_error());
      }
      n = ::send(fd_, data.data(), data.size(), MSG_NOSIGNAL);
      if (n > 0) {
        data.remove_prefix(static_cast<size_t>(n));
      } else if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
        if (auto w = wait(POLLOUT); !w) return w;
      } else if (n < 0 && errno == EINTR) {
        continue;
      } else {
        broken_ = true;
        return make_error(Errc::Temp, std::string("redis write: ") + std::strerror(errno));
      }
    }
    return {};
  }

  Result<size_t> read_some(char* buf, size_t cap) {
    for (;;) {
      if (ssl_) {
        size_t got = 0;
        int r = SSL_read_ex(ssl_, buf, cap, &got);
        if (r == 1) return got;
        int e = SSL_get_error(ssl_, r);
        if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) {
          if (auto w = wait(e == SSL_ERROR_WANT_READ ? POLLIN : POLLOUT); !w) return w.error();
          continue;
        }
        broken_ = true;
        return make_error(Errc::Temp, "redis closed the connection");
      }
      ssize_t n = ::recv(fd_, buf, cap, 0);
      if (n > 0) return static_cast<size_t>(n);
      if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
        if (auto w = wait(POLLIN); !w) return w.error();
        continue;
      }
      if (n < 0 && errno == EINTR) continue;
      broken_ = true;
      return make_error(Errc::Temp, n == 0 ? std::string("redis closed the connection")
                                           : std::string("redis read: ") + std::strerror(errno));
    }
  }

  int fd_ = -1;
  SSL* ssl_ = nullptr;
  redisReader* reader_ = nullptr;
  SteadyClock::time_point deadline_;
  bool broken_ = false;
};

}  // namespace

std::string RedisOptions::display() const {
  if (!socket.empty()) return "unix://" + socket + "?db=" + std::to_string(db);
  std::string h = host.find(':') != std::string::npos ? "[" + host + "]" : host;
  return std::string(tls ? "rediss://" : "redis://") + h + ":" + std::to_string(port) + "/" +
         std::to_string(db);
}

Result<RedisOptions> parse_redis_url(std::string_view url) {
  RedisOptions o;
  auto bad = [&](const std::string& why) {
    // The URL itself is not echoed: it might carry a password.
    return make_error(Errc::Invalid, "redis url: " + why);
  };
  std::string_view rest;
  if (url.starts_with("unix://")) {
    rest = url.substr(7);
    auto q = rest.find('?');
    std::string_view path = rest.substr(0, q);
    if (path.empty() || path[0] != '/') return bad("expected unix:///absolute/path");
    o.socket = std::string(path);
    if (q != std::string_view::npos) {
      std::string_view query = rest.substr(q + 1);
      if (!query.starts_with("db=")) return bad("the only parameter is db=N");
      int64_t db = 0;
      if (!parse_int(query.substr(3), 0, 1000000, db)) return bad("bad db number");
      o.db = static_cast<int>(db);
    }
    return o;
  }
  if (url.starts_with("rediss://")) {
    o.tls = true;
    rest = url.substr(9);
  } else if (url.starts_with("redis://")) {
    rest = url.substr(8);
  } else {
    return bad("expected redis://, rediss:// or unix://");
  }
  auto slash = rest.find('/');
  std::string_view authority = rest.substr(0, slash);
  if (auto at = authority.rfind('@'); at != std::string_view::npos) {
    std::string_view user = authority.substr(0, at);
    if (user.find(':') != std::string_view::npos)
      return bad("a password in the URL is refused: use redis_password_file");
    o.user = std::string(user);
    authority.remove_prefix(at + 1);
  }
  std::string_view port_text;
  if (authority.starts_with("[")) {
    auto close = authority.find(']');
    if (close == std::string_view::npos) return bad("unclosed [");
    o.host = std::string(authority.substr(1, close - 1));
    std::string_view after = authority.substr(close + 1);
    if (!after.empty()) {
      if (after[0] != ':') return bad("junk after ]");
      port_text = after.substr(1);
      if (port_text.empty()) return bad("empty port");
    }
  } else {
    auto colon = authority.find(':');
    o.host = std::string(authority.substr(0, colon));
    if (colon != std::string_view::npos) {
      port_text = authority.substr(colon + 1);
      if (port_text.empty()) return bad("empty port");
    }
  }
  if (o.host.empty()) return bad("no host");
  if (!port_text.empty()) {
    int64_t port = 0;
    if (!parse_int(port_text, 1, 65535, port)) return bad("bad port");
    o.port = static_cast<uint16_t>(port);
  }
  if (slash != std::string_view::npos) {
    std::string_view db_text = rest.substr(slash + 1);
    if (!db_text.empty()) {
      int64_t db = 0;
      if (!parse_int(db_text, 0, 1000000, db)) return bad("bad db number");
      o.db = static_cast<int>(db);
    }
  }
  return o;
}

struct Redis::Impl {
  RedisOptions options;
  SSL_CTX* tls = nullptr;

  std::mutex mu;
  std::condition_variable cv;
  std::vector<std::unique_ptr<Connection>> idle;
  std::size_t open = 0;  // connections in use or idle
  SteadyClock::time_point retry_at{};
  std::chrono::milliseconds backoff{0};
  std::string last_error;
  bool down = false;  // inside an outage (logged once)

  std::atomic<bool> available{false};
  std::atomic<uint64_t> fallbacks{0};

  ~Impl() {
    idle.clear();
    if (tls) SSL_CTX_free(tls);
  }

  // A connection for one call: an idle one, a new one, or Temp. `busy`:
  // Temp because the pool stayed full, or inside the backoff (neither is
  // a new failure of Redis).
  Result<std::unique_ptr<Connection>> take(bool& busy) {
    std::unique_lock lock(mu);
    if (SteadyClock::now() < retry_at) {
      busy = true;
      return make_error(Errc::Temp, "redis unavailable: " + last_error);
    }
    auto until = SteadyClock::now() + options.timeout;
    for (;;) {
      while (!idle.empty()) {
        auto c = std::move(idle.back());
        idle.pop_back();
        if (!c->stale()) return c;
        --open;
      }
      if (open < options.pool_size) break;
      if (cv.wait_until(lock, until) == std::cv_status::timeout && idle.empty() &&
          open >= options.pool_size) {
        busy = true;
        return make_error(Errc::Temp, "redis: every pooled connection is busy");
      }
    }
    ++open;
    lock.unlock();
    auto c = Connection::open(options, tls);
    if (!c) {
      lock.lock();
      --open;
      cv.notify_one();
      return c.error();
    }
    return std::move(c.value());
  }

  void give_back(std::unique_ptr<Connection> c) {
    std::lock_guard lock(mu);
    if (c->broken()) {
      --open;
    } else {
      idle.push_back(std::move(c));
    }
    cv.notify_one();
  }

  void succeeded() {
    available = true;
    std::lock_guard lock(mu);
    backoff = std::chrono::milliseconds(0);
    if (down) {
      down = false;
      spdlog::info("redis reachable again url={}", options.display());
    }
  }

  void failed(const std::string& why) {
    available = false;
    std::lock_guard lock(mu);
    backoff =
        backoff.count() == 0 ? kFirstBackoff : std::min(backoff * 2, std::chrono::milliseconds(kMaxBackoff));
    retry_at = SteadyClock::now() + backoff;
    last_error = why;
    // Pooled connections of a failed server are most likely dead too.
    open -= idle.size();
    idle.clear();
    if (!down) {
      down = true;
      spdlog::warn("redis unreachable, using local state url={} error={}", options.display(),
                   log::quote(why));
    }
  }

  Result<std::vector<RedisReply>> run(const std::vector<std::vector<std::string>>& commands) {
    bool busy = false;
    auto conn = take(busy);
    if (!conn) {
      if (!busy) failed(conn.error().message);
      return conn.error();
    }
    auto c = std::move(conn.value());
    auto replies = c->round_trip(commands, options.timeout);
    give_back(std::move(c));
    if (!replies) {
      failed(replies.error().message);
      return replies.error();
    }
    succeeded();
    return replies;
  }
};

std::shared_ptr<Redis> Redis::create(RedisOptions options) {
  auto impl = std::make_unique<Impl>();
  if (options.pool_size == 0) options.pool_size = 1;
  if (options.tls) {
    impl->tls = SSL_CTX_new(TLS_client_method());
    if (impl->tls) {
      SSL_CTX_set_min_proto_version(impl->tls, TLS1_2_VERSION);
      SSL_CTX_set_verify(impl->tls, SSL_VERIFY_PEER, nullptr);
      int ok = options.tls_ca_file.empty()
                   ? SSL_CTX_set_default_verify_paths(impl->tls)
                   : SSL_CTX_load_verify_locations(impl->tls, options.tls_ca_file.c_str(), nullptr);
      if (ok != 1)
        spdlog::warn("redis tls: cannot load CA {} error={}",
                     options.tls_ca_file.empty() ? "system store" : options.tls_ca_file, openssl_error());
    }
  }
  impl->options = std::move(options);
  return std::shared_ptr<Redis>(new Redis(std::move(impl)));
}

Redis::Redis(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Redis::~Redis() = default;

Result<RedisReply> Redis::command(const std::vector<std::string>& argv) {
  auto r = impl_->run({argv});
  if (!r) return r.error();
  auto& reply = r.value().front();
  if (reply.type == RedisReply::Type::Error) return make_error(Errc::Perm, "redis: " + reply.str);
  return std::move(reply);
}

Result<std::vector<RedisReply>> Redis::pipeline(const std::vector<std::vector<std::string>>& commands) {
  if (commands.empty()) return std::vector<RedisReply>{};
  return impl_->run(commands);
}

std::string Redis::key(std::string_view name) const {
  return impl_->options.key_prefix + std::string(name);
}

std::string Redis::display() const {
  return impl_->options.display();
}

bool Redis::available() const {
  return impl_->available;
}

std::string Redis::last_error() const {
  std::lock_guard lock(impl_->mu);
  return impl_->last_error;
}

void Redis::count_fallback() {
  ++impl_->fallbacks;
}

uint64_t Redis::fallbacks() const {
  return impl_->fallbacks;
}

}  // namespace mailfort::state
