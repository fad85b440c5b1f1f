// Conn: one client connection of the IMAP load generator. A non-blocking
// TCP socket (optionally bound to a 127.0.0.x source address), optional
// implicit TLS through OpenSSL (no certificate check: a loopback benchmark
// against self-signed servers), an output buffer, and the framing of server
// responses: a line plus any literals {n} inside it, returned whole.
//
// Written for the benchmark alone: it shares nothing with the server's
// src/ code, so a bug in the server's IMAP code cannot hide behind the same
// bug in the client. Edge-triggered epoll: on every readiness event the
// owner calls pump(), which finishes connect and handshake, writes what is
// queued and reads until the socket would block.
#pragma once
#include <openssl/ssl.h>

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace imapload {

class Conn {
 public:
  Conn() = default;
  ~Conn() { close(); }
  Conn(const Conn&) = delete;
  Conn& operator=(const Conn&) = delete;

  // Starts a non-blocking connect. `source` is a network-order IPv4 address
  // to bind first (0: let the kernel choose). `tls` may be null (plaintext).
  bool start(uint32_t source, uint32_t dest, uint16_t port, SSL_CTX* tls, std::string& err);
  int fd() const { return fd_; }
  bool open() const { return fd_ >= 0; }
  bool established() const { return phase_ == Phase::Ready; }

  // Makes progress on a readiness event (connect, handshake, write, read).
  // False when the connection failed or the server closed it (err says why).
  bool pump(std::string& err);
  // Queues bytes and tries to write them at once.
  bool send(std::string_view data, std::string& err);

  // The next complete response (its first line without CRLF, with any
  // literals and the lines after them), or false if it has not arrived yet.
  // consume() drops it before the next call.
  bool next_response(std::string_view& resp);
  void consume();

  void close();

 private:
  enum class Phase { Idle, Connecting, Handshake, Ready };
  bool flush(std::string& err);
  bool read_some(std::string& err);
  bool handshake(std::string& err);

  int fd_ = -1;
  SSL* ssl_ = nullptr;
  Phase phase_ = Phase::Idle;
  std::string out_;
  std::size_t out_off_ = 0;
  std::string in_;
  std::size_t start_ = 0;  // first byte of the response being framed
  std::size_t scan_ = 0;   // where framing resumes (after literals already complete)
  std::size_t end_ = 0;    // one past the CRLF of the response returned last
};

}  // namespace imapload
