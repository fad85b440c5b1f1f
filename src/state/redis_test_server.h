// Tests only: a real redis-server on a free loopback port in a temp dir,
// with a password, no persistence. stop()/start() simulate an outage.
#pragma once
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <thread>

#include "state/redis.h"

namespace mailfort::state::testing {

class RedisServer {
 public:
  static bool installed() { return std::system("command -v redis-server >/dev/null 2>&1") == 0; }

  RedisServer() {
    char tmpl[] = "/tmp/mf-redis-XXXXXX";
    dir_ = ::mkdtemp(tmpl);
    port_ = free_port();
  }
  ~RedisServer() {
    stop();
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }

  // A self-signed certificate for localhost and 127.0.0.1 in the temp dir
  // (cert.pem, key.pem); start() then serves TLS only.
  bool make_tls_cert() {
    std::string cmd =
        "cd " + dir_ +
        " && openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout key.pem"
        " -out cert.pem -days 1 -subj /CN=localhost"
        " -addext subjectAltName=DNS:localhost,IP:127.0.0.1 >/dev/null 2>&1";
    tls_ = std::system(cmd.c_str()) == 0;
    return tls_;
  }
  std::string cert_file() const { return dir_ + "/cert.pem"; }

  bool start() {
    pid_ = ::fork();
    if (pid_ == 0) {
      if (::chdir(dir_.c_str()) != 0) _exit(127);
      std::string port = std::to_string(port_);
      if (tls_) {
        ::execlp("redis-server", "redis-server", "--port", "0", "--tls-port", port.c_str(), "--tls-cert-file",
                 "cert.pem", "--tls-key-file", "key.pem", "--tls-auth-clients", "no", "--bind", "127.0.0.1",
                 "--save", "", "--appendonly", "no", "--requirepass", "test-pass", "--logfile", "redis.log",
                 nullptr);
      }
      ::execlp("redis-server", "redis-server", "--port", port.c_str(), "--bind", "127.0.0.1", "--save", "",
               "--appendonly", "no", "--requirepass", "test-pass", "--logfile", "redis.log", nullptr);
      _exit(127);
    }
    // Ready when a connection succeeds.
    for (int i = 0; i < 200; ++i) {
      int fd = ::socket(AF_INET, SOCK_STREAM, 0);
      sockaddr_in a{};
      a.sin_family = AF_INET;
      a.sin_port = htons(port_);
      a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
      bool ok = ::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0;
      ::close(fd);
      if (ok) return true;
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    return false;
  }

  void stop() {
    if (pid_ <= 0) return;
    ::kill(pid_, SIGKILL);
    ::waitpid(pid_, nullptr, 0);
    pid_ = -1;
  }

  RedisOptions options(std::string prefix = "mftest:") const {
    RedisOptions o;
    o.host = "127.0.0.1";
    o.port = port_;
    o.password = "test-pass";
    o.key_prefix = std::move(prefix);
    o.timeout = std::chrono::milliseconds(300);
    return o;
  }
  uint16_t port() const { return port_; }

 private:
  static uint16_t free_port() {
    int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a);
    socklen_t len = sizeof a;
    ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
    ::close(fd);
    return ntohs(a.sin_port);
  }

  std::string dir_;
  uint16_t port_ = 0;
  pid_t pid_ = -1;
  bool tls_ = false;
};

}  // namespace mailfort::state::testing
