// Connection: the I/O half of every protocol session. Owns the stream (plain
// or TLS), a bounded line reader and the deadlines. A deadline bounds a whole
// command line or a whole transfer, never the gap between two reads, so a
// client trickling a byte now and then cannot hold a connection (slowloris):
// - read_line: the complete line within the timeout given;
// - read_raw with a Transfer (DATA, BDAT, literals): a minimum rate, as
//   Postfix's smtpd_min_data_rate;
// - before login, everything within the session's login deadline.
// A read deadline cancels the read (Timeout) and leaves the socket usable
// for a goodbye; a write or TLS handshake deadline closes the socket.
// Faces untrusted input.
#pragma once
#include <asio/awaitable.hpp>
#include <asio/ip/tcp.hpp>
#include <asio/steady_timer.hpp>

#include <array>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <system_error>
#include <tuple>

#include "base/line_reader.h"
#include "server/byte_stream.h"

namespace mailfort::tls {
class ServerContext;
class ClientContext;
struct ClientParams;
struct ClientOutcome;
}  // namespace mailfort::tls

namespace mailfort::server {

class Connection : public std::enable_shared_from_this<Connection> {
 public:
  enum class ReadStatus { Line, TooLong, BareLf, BareCr, Closed, Timeout };

  using Clock = std::chrono::steady_clock;

  // The deadline of one raw transfer (an SMTP DATA or BDAT chunk, an IMAP
  // literal). It starts `timeout` ahead; every read of n bytes moves it
  // n / min_rate seconds later, but never more than `timeout` ahead of now
  // (Postfix smtpd_min_data_rate). min_rate 0: each read gets `timeout`.
  struct Transfer {
    Clock::time_point deadline;
    std::chrono::seconds timeout;
    uint32_t min_rate = 0;  // bytes per second
    void credit(std::size_t bytes, Clock::time_point now);
  };

  // A TCP connection (plain; TLS comes with start_tls).
  Connection(asio::ip::tcp::socket socket, std::size_t max_line, uint64_t id);
  // Any byte stream, e.g. an in-memory script in session unit tests.
  Connection(std::unique_ptr<ByteStream> stream, std::string peer_ip, uint16_t peer_port,
             std::size_t max_line, uint64_t id);

  // Next CRLF line (without CRLF) into `line`. The whole line must arrive
  // within `timeout` (one deadline per line, not per read).
  asio::awaitable<ReadStatus> read_line(std::string& line, std::chrono::seconds timeout);
  // Starts a raw transfer: pass the result to every read_raw of it.
  static Transfer begin_transfer(std::chrono::seconds timeout, uint32_t min_rate_bytes_per_second);
  // Raw bytes (DATA/BDAT content, literals): first what the line reader
  // buffered, then from the socket, within `transfer`'s deadline (which each
  // read extends by its bytes). Empty result with status Closed/Timeout on
  // failure.
  asio::awaitable<ReadStatus> read_raw(std::string& out, std::size_t max, Transfer& transfer);
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
  asio::awaitable<bool> start_tls_client(std::shared_ptr<tls::ClientContext> ctx,
                                         const tls::ClientParams& params, tls::ClientOutcome& outcome,
                                         std::chrono::seconds timeout);
  asio::awaitable<void> shutdown();
  // Thread-safe: closes the socket on the connection's own executor, which
  // ends any pending read (graceful server stop, a ban on the client).
  void abort();

  // Sessions that must log in: every read after now + `limit` times out
  // until mark_authenticated(). login_expired() tells that this, not an
  // idle line, ended a read (the session says goodbye accordingly).
  void limit_unauthenticated(std::chrono::seconds limit);
  // The session logged in: no login deadline, and a ban on its address
  // leaves it open (SessionRegistry::close_unauthenticated). Called on the
  // connection's executor; authenticated() may be read from any thread.
  void mark_authenticated();
  bool authenticated() const { return authenticated_.load(); }
  // Back to before login (IMAP UNAUTHENTICATE): a ban closes the session
  // again; the caller sets a new login deadline with limit_unauthenticated.
  void mark_unauthenticated() { authenticated_ = false; }
  // Puts a layer over the stream (IMAP COMPRESS=DEFLATE). `wrap` gets the
  // stream and the bytes the line reader holds but has not returned: they
  // came after the command that switched and belong to the new layer.
  using StreamWrapper = std::function<std::unique_ptr<ByteStream>(std::unique_ptr<ByteStream>, std::string)>;
  void wrap_stream(const StreamWrapper& wrap);
  bool login_expired() const;

  bool is_tls() const { return stream_->is_tls(); }
  tls::TlsInfo tls_info() const { return stream_->tls_info(); }
  const std::string& peer_ip() const { return peer_ip_; }
  uint16_t peer_port() const { return peer_port_; }
  uint64_t id() const { return id_; }
  // Bytes waiting in the kernel (early-talker check before the greeting).
  std::size_t socket_available();
  // Bytes received but not yet consumed (pipelined input).
  std::size_t buffered() const { return reader_.buffered(); }

 private:
  struct Peer {
    std::string ip;
    uint16_t port = 0;
  };
  static Peer remote_of(const asio::ip::tcp::socket& socket);
  Connection(asio::ip::tcp::socket&& socket, Peer peer, std::size_t max_line, uint64_t id);

  // Write / handshake deadline: on expiry the socket is closed.
  void arm(std::chrono::seconds timeout);
  void disarm();
  // One read from the socket that ends by `deadline` (or the login
  // deadline, if sooner); on expiry the read is cancelled and the
  // connection stays in Timeout for every later read.
  asio::awaitable<std::tuple<std::error_code, std::size_t>> read_some_by(asio::mutable_buffer buf,
                                                                         Clock::time_point deadline);

  std::unique_ptr<ByteStream> stream_;
  LineReader reader_;
  asio::steady_timer deadline_;       // writes, TLS handshakes
  asio::steady_timer read_deadline_;  // reads
  uint64_t read_generation_ = 0;      // a stale read-deadline handler does nothing
  bool timed_out_ = false;            // a write/handshake deadline closed the socket
  bool read_timed_out_ = false;       // a read deadline passed: reads fail, writes still work
  std::optional<Clock::time_point> login_deadline_;
  std::atomic<bool> authenticated_{false};
  std::string peer_ip_;
  uint16_t peer_port_ = 0;
  uint64_t id_;
};

// Canonical text of a peer address (IPv4-mapped IPv6 shown as IPv4).
std::string canonical_ip(const asio::ip::address& a);

}  // namespace mailfort::server
