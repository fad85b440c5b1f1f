// Stream: a TCP connection that is plain or TLS, and can switch to TLS in
// place (STARTTLS) or start in TLS (implicit). Sessions read and write through
// it and never see OpenSSL. Faces untrusted input.
//
// After start_tls() the caller must have discarded every plaintext byte it
// buffered (CVE-2011-0411: plaintext command injection into the TLS session).
#pragma once
#include <asio/awaitable.hpp>
#include <asio/buffer.hpp>
#include <asio/ip/tcp.hpp>

#include <cstddef>
#include <memory>
#include <string>
#include <system_error>
#include <tuple>

namespace mailfort::tls {

class ServerContext;
class ClientContext;
struct ClientParams;
struct ClientOutcome;

struct TlsInfo {
  std::string version;  // "TLSv1.3"
  std::string cipher;   // "TLS_AES_256_GCM_SHA384"
  int bits = 0;
};

class Stream {
 public:
  explicit Stream(asio::ip::tcp::socket socket);
  ~Stream();
  Stream(const Stream&) = delete;
  Stream& operator=(const Stream&) = delete;

  // Reads at most buf.size() bytes. Returns (error, n).
  asio::awaitable<std::tuple<std::error_code, std::size_t>> read_some(asio::mutable_buffer buf);
  // Writes everything.
  asio::awaitable<std::error_code> write(asio::const_buffer buf);
  // Server-side handshake; keeps `ctx` alive for the connection's lifetime.
  asio::awaitable<std::error_code> start_tls(std::shared_ptr<ServerContext> ctx);
  // Client-side handshake (outbound SMTP STARTTLS). The handshake succeeds
  // whatever the verification result; `outcome` says whether the peer met
  // `params` (the caller decides to continue or to quit).
  asio::awaitable<std::error_code> start_tls_client(std::shared_ptr<ClientContext> ctx, const ClientParams& params,
                                                    ClientOutcome& outcome);
  // Sends close_notify when in TLS (best effort), then closes the socket.
  asio::awaitable<void> shutdown();
  // Closes the socket now; pending operations complete with an error.
  void close();

  bool is_tls() const;
  TlsInfo tls_info() const;
  asio::ip::tcp::socket& socket();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace mailfort::tls
