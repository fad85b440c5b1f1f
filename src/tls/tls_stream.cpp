#include <openssl/ssl.h>

#include <asio/experimental/as_tuple.hpp>
#include <asio/ssl/context.hpp>
#include <asio/ssl/stream.hpp>
#include <asio/steady_timer.hpp>
#include <asio/use_awaitable.hpp>
#include <asio/write.hpp>
#include <optional>

#include "tls/context.h"
#include "tls/stream.h"

namespace mailfort::tls {
namespace {
constexpr auto use_tuple = asio::experimental::as_tuple(asio::use_awaitable);
}

struct Stream::Impl {
  explicit Impl(asio::ip::tcp::socket s) : socket(std::move(s)) {}
  asio::ip::tcp::socket socket;
  std::shared_ptr<ServerContext> ctx;  // keeps the SSL_CTX alive
  std::optional<asio::ssl::stream<asio::ip::tcp::socket&>> ssl;
  bool tls = false;
};

Stream::Stream(asio::ip::tcp::socket socket) : impl_(std::make_unique<Impl>(std::move(socket))) {}
Stream::~Stream() = default;

asio::awaitable<std::tuple<std::error_code, std::size_t>> Stream::read_some(asio::mutable_buffer buf) {
  if (impl_->tls) {
    auto [ec, n] = co_await impl_->ssl->async_read_some(buf, use_tuple);
    co_return std::make_tuple(std::error_code(ec), n);
  }
  auto [ec, n] = co_await impl_->socket.async_read_some(buf, use_tuple);
  co_return std::make_tuple(std::error_code(ec), n);
}

asio::awaitable<std::error_code> Stream::write(asio::const_buffer buf) {
  if (impl_->tls) {
    auto [ec, n] = co_await asio::async_write(*impl_->ssl, buf, use_tuple);
    co_return ec;
  }
  auto [ec, n] = co_await asio::async_write(impl_->socket, buf, use_tuple);
  co_return ec;
}

asio::awaitable<std::error_code> Stream::start_tls(std::shared_ptr<ServerContext> ctx) {
  impl_->ctx = std::move(ctx);
  auto* native = static_cast<asio::ssl::context*>(impl_->ctx->native());
  impl_->ssl.emplace(impl_->socket, *native);
  auto [ec] = co_await impl_->ssl->async_handshake(asio::ssl::stream_base::server, use_tuple);
  if (!ec) impl_->tls = true;
  co_return ec;
}

asio::awaitable<void> Stream::shutdown() {
  if (impl_->tls && impl_->socket.is_open()) {
    // close_notify, bounded: a peer that never answers must not hold the
    // session (the timer closes the socket, which ends the shutdown).
    asio::steady_timer guard(impl_->socket.get_executor(), std::chrono::seconds(2));
    guard.async_wait([sock = &impl_->socket](std::error_code ec) {
      if (!ec) {
        std::error_code ignored;
        sock->close(ignored);
      }
    });
    auto [ec] = co_await impl_->ssl->async_shutdown(use_tuple);
    (void)ec;
    guard.cancel();
  }
  close();
}

void Stream::close() {
  std::error_code ec;
  impl_->socket.shutdown(asio::ip::tcp::socket::shutdown_both, ec);
  impl_->socket.close(ec);
}

bool Stream::is_tls() const {
  return impl_->tls;
}

TlsInfo Stream::tls_info() const {
  TlsInfo info;
  if (!impl_->tls) return info;
  SSL* ssl = impl_->ssl->native_handle();
  info.version = SSL_get_version(ssl);
  const SSL_CIPHER* c = SSL_get_current_cipher(ssl);
  if (c) {
    info.cipher = SSL_CIPHER_get_name(c);
    info.bits = SSL_CIPHER_get_bits(c, nullptr);
  }
  return info;
}

asio::ip::tcp::socket& Stream::socket() {
  return impl_->socket;
}

}  // namespace mailfort::tls
