// ByteStream: what a protocol session reads from and writes to. In
// production a TCP socket that is plain or TLS (make_socket_stream, over
// tls::Stream); in session unit tests an in-memory script (src/testing), so
// SMTP, IMAP and POP3 state machines run without sockets or OpenSSL.
// Connection adds the line reader, the deadlines and the login limit on top.
#pragma once
#include <asio/any_io_executor.hpp>
#include <asio/awaitable.hpp>
#include <asio/buffer.hpp>

#include <cstddef>
#include <memory>
#include <system_error>
#include <tuple>

#include "tls/stream.h"

namespace asio::ip {
class tcp;
}

namespace mailfort::server {

class ByteStream {
 public:
  virtual ~ByteStream() = default;

  // The executor timers of this stream's connection run on.
  virtual asio::any_io_executor executor() = 0;
  // Reads at most buf.size() bytes. Returns (error, n); n == 0 or an error
  // means the peer is gone.
  virtual asio::awaitable<std::tuple<std::error_code, std::size_t>> read_some(asio::mutable_buffer buf) = 0;
  // Writes everything.
  virtual asio::awaitable<std::error_code> write(asio::const_buffer buf) = 0;
  // Server-side handshake in place (STARTTLS, implicit TLS).
  virtual asio::awaitable<std::error_code> start_tls(std::shared_ptr<tls::ServerContext> ctx) = 0;
  // Client-side handshake (outbound SMTP); `outcome` says whether the peer
  // met `params`.
  virtual asio::awaitable<std::error_code> start_tls_client(std::shared_ptr<tls::ClientContext> ctx,
                                                            const tls::ClientParams& params,
                                                            tls::ClientOutcome& outcome) = 0;
  // close_notify when in TLS (best effort), then close.
  virtual asio::awaitable<void> shutdown() = 0;
  // Closes now; pending operations complete with an error.
  virtual void close() = 0;
  // Ends a pending read with an error but keeps the stream usable (a read
  // deadline passed; the session still says goodbye).
  virtual void cancel_read() = 0;
  // Bytes that arrived and were not read yet (early-talker check).
  virtual std::size_t available() = 0;

  virtual bool is_tls() const = 0;
  virtual tls::TlsInfo tls_info() const = 0;
};

}  // namespace mailfort::server
