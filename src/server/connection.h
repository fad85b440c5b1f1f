// Connection: the I/O half of every protocol session. Owns the stream (plain
// or TLS), a bounded line reader and a deadline timer: every read and the TLS
// handshake have a deadline, after which the socket is closed and the read
// fails with Timeout. Faces untrusted input.
#pragma once
#include <asio/awaitable.hpp>
#include <asio/ip/tcp.hpp>
#include <asio/steady_timer.hpp>

#include <array>
#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "base/line_reader.h"
#include "tls/stream.h"

namespace mailfort::tls {
class ServerContext;
class ClientContext;
struct ClientParams;
struct ClientOutcome;
}

namespace mailfort::server {

class Connection : public std::enable_shared_from_this<Connection> {
 public:
  enum class ReadStatus { Line, TooLong, BareLf, BareCr, Closed, Timeout };

  Connection(asio::ip::tcp::socket socket, std::size_t max_line, uint64_t id);

  // Next CRLF line (without CRLF) into `line`.
  asio::awaitable<ReadStatus> read_line(std::string& line, std::chrono::seconds timeout);
  // Raw bytes (DATA/BDAT content): first what the line reader buffered,
  // then from the socket. Empty result with status Closed/Timeout on failure.
  asio::awaitable<ReadStatus> read_raw(std::string& out, std::size_t max, std::chrono::seconds timeout);
  // Returns bytes read by read_raw but not consumed (pipelined commands after
  // the end of DATA or of a BDAT chunk) to the line reader.
  void unread(std::string_view bytes);
  // Writes all of `data`; false when the peer is gone.
  asio::awaitable<bool> write(std::string_view data);
  // TLS handshake in place. Drops every byte the line reader still buffers
  // first (CVE-2011-0411) and returns how many were dropped via `discarded`.
  asio::awaitable<bool> start_tls(std::shared_ptr<tls::ServerContext> ctx, std::chrono::seconds timeout,
                                  std::size_t& discarded);
  // Client-side TLS (outbound SMTP): `outcome` says whether `params` were met.
  asio::awaitable<bool> start_tls_client(std::shared_ptr<tls::ClientContext> ctx, const tls::ClientParams& params,
                                         tls::ClientOutcome& outcome, std::chrono::seconds timeout);
  asio::awaitable<void> shutdown();
  // Thread-safe: closes the socket on the connection's own executor, which
  // ends any pending read (graceful server stop).
  void abort();

  bool is_tls() const { return stream_.is_tls(); }
  tls::TlsInfo tls_info() const { return stream_.tls_info(); }
  const std::string& peer_ip() const { return peer_ip_; }
  uint16_t peer_port() const { return peer_port_; }
  uint64_t id() const { return id_; }
  // Bytes waiting in the kernel (early-talker check before the greeting).
  std::size_t socket_available();
  // Bytes received but not yet consumed (pipelined input).
  std::size_t buffered() const { return reader_.buffered(); }

 private:
  void arm(std::chrono::seconds timeout);
  void disarm();

  tls::Stream stream_;
  LineReader reader_;
  asio::steady_timer deadline_;
  bool timed_out_ = false;
  std::string peer_ip_;
  uint16_t peer_port_ = 0;
  uint64_t id_;
};

// Canonical text of a peer address (IPv4-mapped IPv6 shown as IPv4).
std::string canonical_ip(const asio::ip::address& a);

}  // namespace mailfort::server
