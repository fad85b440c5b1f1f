// ClamAV through clamd: one INSTREAM per message, on its own connection.
//
// Why no kept-open connections: clamd closes the connection after each
// INSTREAM reply unless the client opens an IDSESSION, and a session ends on
// clamd's IdleTimeout and on any error reply, so reusing one needs a
// reconnect-and-resend path whose failure cases (did the stream die half
// sent?) cost more than what it saves: a connect over a unix socket or
// loopback takes tens of microseconds, a scan milliseconds. The pool is the
// bound: at most max_connections scans talk to clamd at once (clamd's
// MaxThreads is small), the others wait for a slot within the same deadline.
//
// One deadline (timeout_seconds) covers the wait for a slot, the connect,
// every write and the reply; the socket is non-blocking and each step polls
// for what is left of it. Nothing here throws: every failure is a
// VirusScan::Status::Error with a short reason.
#include "filter/clamd.h"

#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <poll.h>
#include <spdlog/spdlog.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <condition_variable>
#include <cstring>
#include <mutex>

#include "base/log.h"
#include "filter/clamd_protocol.h"

namespace mailfort::filter {
namespace {

using Clock = std::chrono::steady_clock;

class Fd {
 public:
  explicit Fd(int fd = -1) : fd_(fd) {}
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  Fd(Fd&& o) noexcept : fd_(std::exchange(o.fd_, -1)) {}
  Fd& operator=(Fd&& o) noexcept {
    std::swap(fd_, o.fd_);
    return *this;
  }
  ~Fd() {
    if (fd_ >= 0) ::close(fd_);
  }
  int get() const { return fd_; }
  explicit operator bool() const { return fd_ >= 0; }

 private:
  int fd_;
};

int remaining_ms(Clock::time_point deadline) {
  auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
  return left <= 0 ? 0 : static_cast<int>(std::min<long long>(left, 1 << 30));
}

// Waits for `events` on fd until the deadline: the revents, 0 on timeout, -1 on error.
int wait_for(int fd, short events, Clock::time_point deadline) {
  while (true) {
    pollfd p{fd, events, 0};
    int rc = ::poll(&p, 1, remaining_ms(deadline));
    if (rc < 0 && errno == EINTR) continue;
    if (rc <= 0) return rc;
    return p.revents;
  }
}

std::string errno_text(const char* what, int err) {
  return std::string(what) + ": " + std::strerror(err);
}

// Starts a non-blocking connect and waits for it within the deadline.
Fd connect_to(const sockaddr* sa, socklen_t len, Clock::time_point deadline, std::string& why) {
  Fd fd(::socket(sa->sa_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
  if (!fd) {
    why = errno_text("socket", errno);
    return Fd();
  }
  if (::connect(fd.get(), sa, len) == 0) return fd;
  if (errno != EINPROGRESS && errno != EAGAIN) {
    why = errno_text("connect", errno);
    return Fd();
  }
  int ready = wait_for(fd.get(), POLLOUT, deadline);
  if (ready == 0) {
    why = "connect timed out";
    return Fd();
  }
  int err = 0;
  socklen_t el = sizeof(err);
  if (ready < 0 || ::getsockopt(fd.get(), SOL_SOCKET, SO_ERROR, &err, &el) != 0 || err != 0) {
    why = errno_text("connect", err ? err : errno);
    return Fd();
  }
  return fd;
}

Fd connect_clamd(const ClamdAddress& addr, Clock::time_point deadline, std::string& why) {
  if (addr.is_unix()) {
    sockaddr_un sun{};
    sun.sun_family = AF_UNIX;
    if (addr.unix_path.size() >= sizeof(sun.sun_path)) {
      why = "unix socket path too long";
      return Fd();
    }
    std::memcpy(sun.sun_path, addr.unix_path.data(), addr.unix_path.size());
    return connect_to(reinterpret_cast<sockaddr*>(&sun), sizeof(sun), deadline, why);
  }
  addrinfo hints{};
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_NUMERICSERV;
  addrinfo* list = nullptr;
  // A name is resolved on every scan (blocking, as the worker pool allows),
  // so a moved clamd is found without a restart; literals resolve at once.
  int rc = ::getaddrinfo(addr.host.c_str(), std::to_string(addr.port).c_str(), &hints, &list);
  if (rc != 0) {
    why = std::string("cannot resolve ") + addr.host + ": " + ::gai_strerror(rc);
    return Fd();
  }
  Fd fd;
  for (addrinfo* ai = list; ai && !fd && remaining_ms(deadline) > 0; ai = ai->ai_next)
    fd = connect_to(ai->ai_addr, ai->ai_addrlen, deadline, why);
  ::freeaddrinfo(list);
  if (!fd && why.empty()) why = "connect timed out";
  return fd;
}

enum class SendOutcome { Sent, PeerSpoke, Failed };

// Writes the iovecs fully. Stops early when clamd has something to say
// (it answers "INSTREAM size limit exceeded" and closes without waiting for
// the rest): PeerSpoke, and the caller reads that reply.
SendOutcome send_all(int fd, iovec* iov, int count, Clock::time_point deadline, std::string& why) {
  while (count > 0) {
    msghdr msg{};
    msg.msg_iov = iov;
    msg.msg_iovlen = static_cast<std::size_t>(count);
    ssize_t n = ::sendmsg(fd, &msg, MSG_NOSIGNAL);
    if (n < 0) {
      if (errno == EINTR) continue;
      if (errno == EPIPE || errno == ECONNRESET) return SendOutcome::PeerSpoke;
      if (errno != EAGAIN && errno != EWOULDBLOCK) {
        why = errno_text("send", errno);
        return SendOutcome::Failed;
      }
      int ready = wait_for(fd, POLLOUT | POLLIN, deadline);
      if (ready == 0) {
        why = "timed out sending to clamd";
        return SendOutcome::Failed;
      }
      if (ready < 0) {
        why = errno_text("poll", errno);
        return SendOutcome::Failed;
      }
      if (ready & (POLLIN | POLLHUP | POLLERR)) return SendOutcome::PeerSpoke;
      continue;
    }
    auto left = static_cast<std::size_t>(n);
    while (count > 0 && left >= iov->iov_len) {
      left -= iov->iov_len;
      ++iov;
      --count;
    }
    if (count > 0) {
      iov->iov_base = static_cast<char*>(iov->iov_base) + left;
      iov->iov_len -= left;
    }
  }
  return SendOutcome::Sent;
}

// Reads one NUL-terminated reply (or what came before the connection closed).
bool read_reply(int fd, Clock::time_point deadline, std::string& reply, std::string& why) {
  char buf[512];
  while (reply.find('\0') == std::string::npos) {
    if (reply.size() > kClamdMaxReply) {
      why = "reply from clamd too long";
      return false;
    }
    ssize_t n = ::recv(fd, buf, sizeof(buf), 0);
    if (n > 0) {
      reply.append(buf, static_cast<std::size_t>(n));
      continue;
    }
    if (n == 0) break;  // closed: what came is the reply, if anything
    if (errno == EINTR) continue;
    if (errno == ECONNRESET) break;
    if (errno != EAGAIN && errno != EWOULDBLOCK) {
      why = errno_text("recv", errno);
      return false;
    }
    int ready = wait_for(fd, POLLIN, deadline);
    if (ready == 0) {
      why = "timed out waiting for clamd's reply";
      return false;
    }
    if (ready < 0) {
      why = errno_text("poll", errno);
      return false;
    }
  }
  if (reply.empty()) {
    why = "clamd closed the connection without a reply";
    return false;
  }
  return true;
}

VirusScan failed(std::string why) {
  VirusScan v;
  v.status = VirusScan::Status::Error;
  v.error = std::move(why);
  return v;
}

class ClamdAntivirus : public Antivirus {
 public:
  ClamdAntivirus(ClamdAddress address, const config::Antivirus& cfg)
      : address_(std::move(address)),
        max_scan_size_(cfg.max_scan_size),
        timeout_(std::chrono::seconds(cfg.timeout_seconds)),
        slots_(std::max<uint32_t>(cfg.max_connections, 1)) {}

  VirusScan scan(std::string_view message) override {
    auto deadline = Clock::now() + timeout_;
    if (!take_slot(deadline)) return failed("timed out waiting for a clamd connection");
    VirusScan v = scan_on_new_connection(message, deadline);
    give_slot();
    return v;
  }

 private:
  bool take_slot(Clock::time_point deadline) {
    std::unique_lock lock(mu_);
    if (!cv_.wait_until(lock, deadline, [&] { return slots_ > 0; })) return false;
    --slots_;
    return true;
  }

  void give_slot() {
    {
      std::lock_guard lock(mu_);
      ++slots_;
    }
    cv_.notify_one();
  }

  VirusScan scan_on_new_connection(std::string_view message, Clock::time_point deadline) {
    std::string why;
    Fd fd = connect_clamd(address_, deadline, why);
    if (!fd) return failed(std::move(why));
    if (message.size() > max_scan_size_) {
      // clamd refuses a stream longer than its StreamMaxLength; what fits
      // is scanned (viruses sit in the first parts far more often than
      // not), and the cut is said so an operator can raise both limits.
      spdlog::info("antivirus scan-truncated size={} scanned={} (max_scan_size)", message.size(),
                   max_scan_size_);
      message = message.substr(0, max_scan_size_);
    }
    auto outcome = send_stream(fd.get(), message, deadline, why);
    if (outcome == SendOutcome::Failed) return failed(std::move(why));
    std::string reply;
    if (!read_reply(fd.get(), deadline, reply, why)) {
      // clamd closed mid-stream without a word: report the write side.
      if (outcome == SendOutcome::PeerSpoke && reply.empty())
        why = "clamd closed the connection while scanning";
      return failed(std::move(why));
    }
    auto v = parse_clamd_reply(reply.substr(0, reply.find('\0')));
    if (v.status == VirusScan::Status::Clean && outcome != SendOutcome::Sent)
      return failed("clamd answered before the end of the stream");
    return v;
  }

  static SendOutcome send_stream(int fd, std::string_view message, Clock::time_point deadline,
                                 std::string& why) {
    iovec cmd{const_cast<char*>(kClamdInstream.data()), kClamdInstream.size()};
    if (auto o = send_all(fd, &cmd, 1, deadline, why); o != SendOutcome::Sent) return o;
    std::size_t pos = 0;
    do {
      std::size_t n = std::min(kClamdChunkSize, message.size() - pos);
      auto length = clamd_chunk_length(static_cast<uint32_t>(n));
      iovec frame[2] = {{length.data(), length.size()}, {const_cast<char*>(message.data() + pos), n}};
      // A zero-length frame (n == 0) is the end of the stream.
      if (auto o = send_all(fd, frame, n ? 2 : 1, deadline, why); o != SendOutcome::Sent) return o;
      pos += n;
      if (n == 0) break;
    } while (true);
    return SendOutcome::Sent;
  }

  ClamdAddress address_;
  uint64_t max_scan_size_;
  std::chrono::seconds timeout_;
  std::mutex mu_;
  std::condition_variable cv_;
  uint32_t slots_;
};

}  // namespace

std::unique_ptr<Antivirus> make_clamd_antivirus(const config::Antivirus& cfg) {
  std::string why;
  auto address = parse_clamd_address(cfg.clamd, why);
  if (!address) {
    spdlog::error("antivirus bad-clamd-address address={} error={}", log::quote(cfg.clamd), log::quote(why));
    return nullptr;
  }
  return std::make_unique<ClamdAntivirus>(std::move(*address), cfg);
}

}  // namespace mailfort::filter
