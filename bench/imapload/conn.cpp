#include "conn.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/err.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace imapload {

namespace {

std::string ssl_error(const char* what) {
  char buf[256];
  unsigned long e = ERR_get_error();
  ERR_clear_error();
  if (e == 0) return std::string(what) + ": " + std::strerror(errno);
  ERR_error_string_n(e, buf, sizeof buf);
  return std::string(what) + ": " + buf;
}

}  // namespace

bool Conn::start(uint32_t source, uint32_t dest, uint16_t port, SSL_CTX* tls, std::string& err) {
  close();
  fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd_ < 0) {
    err = std::string("socket: ") + std::strerror(errno);
    return false;
  }
  int one = 1;
  ::setsockopt(fd_, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  if (source != 0) {
    // The port is chosen at connect() time, per destination, so several
    // source addresses multiply the connections one can open.
    ::setsockopt(fd_, IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, &one, sizeof one);
    sockaddr_in src{};
    src.sin_family = AF_INET;
    src.sin_addr.s_addr = source;
    if (::bind(fd_, reinterpret_cast<sockaddr*>(&src), sizeof src) != 0) {
      err = std::string("bind: ") + std::strerror(errno);
      close();
      return false;
    }
  }
  sockaddr_in dst{};
  dst.sin_family = AF_INET;
  dst.sin_addr.s_addr = dest;
  dst.sin_port = htons(port);
  if (::connect(fd_, reinterpret_cast<sockaddr*>(&dst), sizeof dst) != 0 && errno != EINPROGRESS) {
    err = std::string("connect: ") + std::strerror(errno);
    close();
    return false;
  }
  if (tls) {
    ssl_ = SSL_new(tls);
    if (!ssl_ || SSL_set_fd(ssl_, fd_) != 1) {
      err = ssl_error("SSL_new");
      close();
      return false;
    }
    SSL_set_connect_state(ssl_);
  }
  phase_ = Phase::Connecting;
  return true;
}

void Conn::close() {
  if (ssl_) {
    SSL_free(ssl_);
    ssl_ = nullptr;
  }
  if (fd_ >= 0) ::close(fd_);
  fd_ = -1;
  phase_ = Phase::Idle;
  out_.clear();
  out_off_ = 0;
  in_.clear();
  start_ = scan_ = end_ = 0;
}

bool Conn::handshake(std::string& err) {
  ERR_clear_error();
  int r = SSL_do_handshake(ssl_);
  if (r == 1) {
    phase_ = Phase::Ready;
    return true;
  }
  int e = SSL_get_error(ssl_, r);
  if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) return true;
  err = ssl_error("TLS handshake");
  return false;
}

bool Conn::pump(std::string& err) {
  if (fd_ < 0) {
    err = "not connected";
    return false;
  }
  if (phase_ == Phase::Connecting) {
    int soerr = 0;
    socklen_t len = sizeof soerr;
    if (::getsockopt(fd_, SOL_SOCKET, SO_ERROR, &soerr, &len) != 0 || soerr != 0) {
      err = std::string("connect: ") + std::strerror(soerr ? soerr : errno);
      return false;
    }
    // Readiness for writing says the connect finished; before that SO_ERROR is 0 too.
    sockaddr_in peer{};
    socklen_t plen = sizeof peer;
    if (::getpeername(fd_, reinterpret_cast<sockaddr*>(&peer), &plen) != 0) return true;  // still connecting
    phase_ = ssl_ ? Phase::Handshake : Phase::Ready;
  }
  if (phase_ == Phase::Handshake) {
    if (!handshake(err)) return false;
    if (phase_ != Phase::Ready) return true;
  }
  if (!flush(err)) return false;
  return read_some(err);
}

bool Conn::send(std::string_view data, std::string& err) {
  if (out_off_ == out_.size()) {
    out_.clear();
    out_off_ = 0;
  }
  out_.append(data);
  if (phase_ != Phase::Ready) return true;  // written once the handshake is done
  return flush(err);
}

bool Conn::flush(std::string& err) {
  while (out_off_ < out_.size()) {
    const char* p = out_.data() + out_off_;
    std::size_t n = out_.size() - out_off_;
    if (ssl_) {
      ERR_clear_error();
      int w = SSL_write(ssl_, p, static_cast<int>(n > (1 << 20) ? (1 << 20) : n));
      if (w <= 0) {
        int e = SSL_get_error(ssl_, w);
        if (e == SSL_ERROR_WANT_WRITE || e == SSL_ERROR_WANT_READ) return true;
        err = ssl_error("TLS write");
        return false;
      }
      out_off_ += static_cast<std::size_t>(w);
    } else {
      ssize_t w = ::send(fd_, p, n, MSG_NOSIGNAL);
      if (w < 0) {
        if (errno == EAGAIN || errno == EINTR) return true;
        err = std::string("write: ") + std::strerror(errno);
        return false;
      }
      out_off_ += static_cast<std::size_t>(w);
    }
  }
  out_.clear();
  out_off_ = 0;
  return true;
}

bool Conn::read_some(std::string& err) {
  char buf[65536];
  for (;;) {
    if (ssl_) {
      ERR_clear_error();
      int r = SSL_read(ssl_, buf, sizeof buf);
      if (r > 0) {
        in_.append(buf, static_cast<std::size_t>(r));
        continue;
      }
      int e = SSL_get_error(ssl_, r);
      if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) return true;
      err = e == SSL_ERROR_ZERO_RETURN ? "closed by server" : ssl_error("TLS read");
      if (e == SSL_ERROR_SYSCALL && ERR_peek_error() == 0) err = "closed by server";
      return false;
    }
    ssize_t r = ::recv(fd_, buf, sizeof buf, 0);
    if (r > 0) {
      in_.append(buf, static_cast<std::size_t>(r));
      continue;
    }
    if (r < 0 && (errno == EAGAIN || errno == EINTR)) return true;
    err = r == 0 ? "closed by server" : std::string("read: ") + std::strerror(errno);
    return false;
  }
}

bool Conn::next_response(std::string_view& resp) {
  for (;;) {
    std::size_t crlf = in_.find("\r\n", scan_);
    if (crlf == std::string::npos) {
      // Keep scanning from near the end next time (a CR may end this chunk).
      return false;
    }
    // A line ending in {n} or {n+} announces n bytes of literal after the CRLF.
    std::size_t lit = 0;
    bool literal = false;
    if (crlf > start_ && in_[crlf - 1] == '}') {
      std::size_t open = in_.rfind('{', crlf - 1);
      if (open != std::string::npos && open >= scan_ && open + 1 < crlf - 1) {
        std::size_t i = open + 1, stop = crlf - 1;
        if (in_[stop - 1] == '+') --stop;
        literal = i < stop;
        for (; i < stop && literal; ++i) {
          if (in_[i] < '0' || in_[i] > '9') literal = false;
          else lit = lit * 10 + static_cast<std::size_t>(in_[i] - '0');
        }
      }
    }
    if (literal) {
      if (in_.size() < crlf + 2 + lit) return false;  // rescans this line later: it is short
      scan_ = crlf + 2 + lit;
      continue;
    }
    end_ = crlf + 2;
    resp = std::string_view(in_).substr(start_, crlf - start_);
    return true;
  }
}

void Conn::consume() {
  start_ = scan_ = end_;
  if (start_ == in_.size()) {
    in_.clear();
    start_ = scan_ = end_ = 0;
  } else if (start_ > (1u << 20)) {
    in_.erase(0, start_);
    start_ = scan_ = end_ = 0;
  }
}

}  // namespace imapload
