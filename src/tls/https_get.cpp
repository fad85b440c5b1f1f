#include "tls/https_get.h"

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509_vfy.h>
#include <openssl/x509v3.h>

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <memory>

#include "base/text.h"

namespace mailfort::tls {
namespace {

using Clock = std::chrono::steady_clock;
constexpr std::size_t kMaxHeader = 16 * 1024;

struct Fd {
  int fd = -1;
  ~Fd() {
    if (fd >= 0) ::close(fd);
  }
};

// Non-blocking connect bounded by `timeout`, then back to blocking with
// send/receive timeouts.
int connect_to(const std::string& ip, uint16_t port, std::chrono::seconds timeout,
               std::chrono::seconds io_timeout, std::string& why) {
  sockaddr_storage ss{};
  socklen_t len = 0;
  auto* v4 = reinterpret_cast<sockaddr_in*>(&ss);
  auto* v6 = reinterpret_cast<sockaddr_in6*>(&ss);
  if (::inet_pton(AF_INET, ip.c_str(), &v4->sin_addr) == 1) {
    v4->sin_family = AF_INET;
    v4->sin_port = htons(port);
    len = sizeof(*v4);
  } else if (::inet_pton(AF_INET6, ip.c_str(), &v6->sin6_addr) == 1) {
    v6->sin6_family = AF_INET6;
    v6->sin6_port = htons(port);
    len = sizeof(*v6);
  } else {
    why = "bad address " + ip;
    return -1;
  }
  int fd = ::socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  if (fd < 0) {
    why = std::string("socket: ") + std::strerror(errno);
    return -1;
  }
  int rc = ::connect(fd, reinterpret_cast<sockaddr*>(&ss), len);
  if (rc != 0 && errno == EINPROGRESS) {
    pollfd p{fd, POLLOUT, 0};
    rc = ::poll(&p, 1, static_cast<int>(std::chrono::milliseconds(timeout).count()));
    int err = 0;
    socklen_t el = sizeof(err);
    if (rc == 1 && ::getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &el) == 0 && err == 0) {
      rc = 0;
    } else {
      why = rc == 0 ? "connect timed out" : std::string("connect: ") + std::strerror(err ? err : errno);
      rc = -1;
    }
  } else if (rc != 0) {
    why = std::string("connect: ") + std::strerror(errno);
  }
  if (rc != 0) {
    ::close(fd);
    return -1;
  }
  ::fcntl(fd, F_SETFL, ::fcntl(fd, F_GETFL) & ~O_NONBLOCK);
  timeval tv{static_cast<time_t>(io_timeout.count()), 0};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
  ::setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
  return fd;
}

std::string ssl_error() {
  unsigned long e = ERR_get_error();
  if (!e) return "connection closed or timed out";
  char buf[256];
  ERR_error_string_n(e, buf, sizeof(buf));
  ERR_clear_error();
  return buf;
}

// Decodes a chunked body; false on malformed input or more than `max`.
bool dechunk(std::string_view in, std::size_t max, std::string& out, std::string& why) {
  std::size_t pos = 0;
  while (true) {
    auto eol = in.find("\r\n", pos);
    if (eol == std::string_view::npos) {
      why = "truncated chunked body";
      return false;
    }
    std::string_view size_line = in.substr(pos, eol - pos);
    size_line = size_line.substr(0, size_line.find(';'));
    if (size_line.empty() || size_line.size() > 8) {
      why = "bad chunk size";
      return false;
    }
    std::size_t n = 0;
    for (char c : size_line) {
      int v = (c >= '0' && c <= '9')   ? c - '0'
              : (c >= 'a' && c <= 'f') ? c - 'a' + 10
              : (c >= 'A' && c <= 'F') ? c - 'A' + 10
                                       : -1;
      if (v < 0) {
        why = "bad chunk size";
        return false;
      }
      n = n * 16 + static_cast<std::size_t>(v);
    }
    pos = eol + 2;
    if (n == 0) return true;  // trailers are ignored
    if (out.size() + n > max) {
      why = "body larger than " + std::to_string(max) + " bytes";
      return false;
    }
    if (pos + n + 2 > in.size() || in.substr(pos + n, 2) != "\r\n") {
      why = "truncated chunked body";
      return false;
    }
    out.append(in.substr(pos, n));
    pos += n + 2;
  }
}

}  // namespace

Result<HttpsResponse> parse_https_response(const std::string& raw, std::size_t max_body) {
  auto end = raw.find("\r\n\r\n");
  if (end == std::string::npos) return make_error(Errc::Temp, "no complete HTTP header");
  std::string_view head(raw.data(), end);
  std::string_view rest(raw.data() + end + 4, raw.size() - end - 4);
  auto eol = head.find("\r\n");
  std::string_view status_line = head.substr(0, eol);
  // "HTTP/1.1 200 OK"
  if (status_line.substr(0, 7) != "HTTP/1." || status_line.size() < 12 || status_line[8] != ' ')
    return make_error(Errc::Temp, "bad HTTP status line");
  HttpsResponse r;
  for (int i = 9; i < 12; ++i) {
    char c = status_line[static_cast<std::size_t>(i)];
    if (c < '0' || c > '9') return make_error(Errc::Temp, "bad HTTP status line");
    r.status = r.status * 10 + (c - '0');
  }
  bool chunked = false;
  long long length = -1;
  std::size_t pos = eol == std::string_view::npos ? head.size() : eol + 2;
  while (pos < head.size()) {
    auto e = head.find("\r\n", pos);
    std::string_view line = head.substr(pos, e == std::string_view::npos ? head.npos : e - pos);
    pos = e == std::string_view::npos ? head.size() : e + 2;
    auto colon = line.find(':');
    if (colon == std::string_view::npos) continue;
    std::string name = to_lower(line.substr(0, colon));
    std::string_view value = line.substr(colon + 1);
    while (!value.empty() && (value.front() == ' ' || value.front() == '\t')) value.remove_prefix(1);
    while (!value.empty() && (value.back() == ' ' || value.back() == '\t')) value.remove_suffix(1);
    if (name == "content-type") {
      r.content_type = std::string(value);
    } else if (name == "transfer-encoding") {
      chunked = to_lower(value).find("chunked") != std::string::npos;
    } else if (name == "content-length") {
      if (value.empty() || value.size() > 12) return make_error(Errc::Temp, "bad Content-Length");
      length = 0;
      for (char c : value) {
        if (c < '0' || c > '9') return make_error(Errc::Temp, "bad Content-Length");
        length = length * 10 + (c - '0');
      }
    }
  }
  if (r.status >= 300 && r.status < 400)
    return make_error(Errc::Temp, "HTTP " + std::to_string(r.status) + " redirect (not followed)");
  if (chunked) {
    std::string why;
    if (!dechunk(rest, max_body, r.body, why)) return make_error(Errc::Temp, why);
  } else if (length >= 0) {
    if (static_cast<unsigned long long>(length) > max_body)
      return make_error(Errc::Temp, "body larger than " + std::to_string(max_body) + " bytes");
    if (rest.size() < static_cast<std::size_t>(length)) return make_error(Errc::Temp, "truncated body");
    r.body = std::string(rest.substr(0, static_cast<std::size_t>(length)));
  } else {
    r.body = std::string(rest);  // ends at close
  }
  return r;
}

namespace {

Result<HttpsResponse> get_from(const HttpsRequest& req, const std::string& ip) {
  std::string why;
  Fd sock;
  sock.fd = connect_to(ip, req.port, req.connect_timeout, req.timeout, why);
  if (sock.fd < 0) return make_error(Errc::Temp, why);
  std::unique_ptr<SSL_CTX, decltype(&SSL_CTX_free)> ctx(SSL_CTX_new(TLS_client_method()), SSL_CTX_free);
  if (!ctx) return make_error(Errc::Temp, "cannot create TLS context");
  SSL_CTX_set_min_proto_version(ctx.get(), TLS1_2_VERSION);
  SSL_CTX_set_options(ctx.get(),
                      SSL_OP_NO_COMPRESSION | SSL_OP_NO_RENEGOTIATION | SSL_OP_IGNORE_UNEXPECTED_EOF);
  if (req.ca_file.empty()) {
    SSL_CTX_set_default_verify_paths(ctx.get());
  } else if (SSL_CTX_load_verify_locations(ctx.get(), req.ca_file.c_str(), nullptr) != 1) {
    ERR_clear_error();
    return make_error(Errc::Temp, "cannot load CA file " + req.ca_file);
  }
  SSL_CTX_set_verify(ctx.get(), SSL_VERIFY_PEER, nullptr);
  std::unique_ptr<SSL, decltype(&SSL_free)> ssl(SSL_new(ctx.get()), SSL_free);
  if (!ssl) return make_error(Errc::Temp, "cannot create TLS session");
  SSL_set_tlsext_host_name(ssl.get(), req.host.c_str());
  SSL_set_hostflags(ssl.get(), X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
  SSL_set1_host(ssl.get(), req.host.c_str());
  SSL_set_fd(ssl.get(), sock.fd);
  if (SSL_connect(ssl.get()) != 1) {
    long v = SSL_get_verify_result(ssl.get());
    std::string reason =
        v != X509_V_OK ? std::string("certificate: ") + X509_verify_cert_error_string(v) : ssl_error();
    ERR_clear_error();
    return make_error(Errc::Temp, "TLS handshake with " + req.host + "[" + ip + "] failed: " + reason);
  }
  std::string request = "GET " + req.path + " HTTP/1.1\r\nHost: " + req.host +
                        "\r\nUser-Agent: mailfort\r\nAccept: text/plain\r\nConnection: close\r\n\r\n";
  if (SSL_write(ssl.get(), request.data(), static_cast<int>(request.size())) <= 0)
    return make_error(Errc::Temp, "sending the request failed: " + ssl_error());
  auto deadline = Clock::now() + req.timeout;
  std::string raw;
  // Header, chunk framing and body together stay under this bound.
  const std::size_t cap = kMaxHeader + req.max_body + req.max_body / 8 + 64;
  char buf[8192];
  while (true) {
    if (Clock::now() > deadline) return make_error(Errc::Temp, "timed out reading the reply");
    int n = SSL_read(ssl.get(), buf, sizeof(buf));
    if (n <= 0) {
      int err = SSL_get_error(ssl.get(), n);
      // A peer closing without close_notify still ends an HTTP/1.x reply
      // (SSL_OP_IGNORE_UNEXPECTED_EOF); parse_response checks the length.
      if (err == SSL_ERROR_ZERO_RETURN) break;
      if (err == SSL_ERROR_SYSCALL && (errno == EAGAIN || errno == EWOULDBLOCK)) {
        ERR_clear_error();
        return make_error(Errc::Temp, "timed out reading the reply");
      }
      ERR_clear_error();
      return make_error(Errc::Temp, "reading the reply failed");
    }
    raw.append(buf, static_cast<std::size_t>(n));
    if (raw.size() > cap) return make_error(Errc::Temp, "reply too large");
    auto head_end = raw.find("\r\n\r\n");
    if (head_end == std::string::npos && raw.size() > kMaxHeader)
      return make_error(Errc::Temp, "HTTP header too large");
  }
  SSL_shutdown(ssl.get());
  ERR_clear_error();
  auto r = parse_https_response(raw, req.max_body);
  if (!r) return make_error(Errc::Temp, r.error().message);
  return r;
}

}  // namespace

Result<HttpsResponse> https_get(const HttpsRequest& req) {
  if (req.addresses.empty()) return make_error(Errc::Temp, "no address for " + req.host);
  Error last{Errc::Temp, {}};
  for (const auto& ip : req.addresses) {
    auto r = get_from(req, ip);
    if (r) return r;
    last = r.error();
    // A certificate or HTTP-level answer is the server's answer; trying
    // another address only helps for connection failures.
    if (last.message.rfind("connect", 0) != 0) break;
  }
  return last;
}

}  // namespace mailfort::tls
