#include "server/socket_stream.h"

namespace mailfort::server {
namespace {

class SocketStream final : public ByteStream {
 public:
  explicit SocketStream(asio::ip::tcp::socket socket) : stream_(std::move(socket)) {}

  asio::any_io_executor executor() override { return stream_.socket().get_executor(); }
  // Forwarded without a coroutine frame of their own.
  asio::awaitable<std::tuple<std::error_code, std::size_t>> read_some(asio::mutable_buffer buf) override {
    return stream_.read_some(buf);
  }
  asio::awaitable<std::error_code> write(asio::const_buffer buf) override { return stream_.write(buf); }
  asio::awaitable<std::error_code> start_tls(std::shared_ptr<tls::ServerContext> ctx) override {
    return stream_.start_tls(std::move(ctx));
  }
  asio::awaitable<std::error_code> start_tls_client(std::shared_ptr<tls::ClientContext> ctx,
                                                    const tls::ClientParams& params,
                                                    tls::ClientOutcome& outcome) override {
    return stream_.start_tls_client(std::move(ctx), params, outcome);
  }
  asio::awaitable<void> shutdown() override { return stream_.shutdown(); }
  void close() override { stream_.close(); }
  void cancel_read() override {
    std::error_code ignored;
    stream_.socket().cancel(ignored);
  }
  std::size_t available() override {
    std::error_code ec;
    std::size_t n = stream_.socket().available(ec);
    return ec ? 0 : n;
  }
  bool is_tls() const override { return stream_.is_tls(); }
  tls::TlsInfo tls_info() const override { return stream_.tls_info(); }

 private:
  tls::Stream stream_;
};

}  // namespace

std::unique_ptr<ByteStream> make_socket_stream(asio::ip::tcp::socket socket) {
  return std::make_unique<SocketStream>(std::move(socket));
}

}  // namespace mailfort::server
