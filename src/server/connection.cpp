#include "server/connection.h"

#include "tls/client.h"

#include <asio/buffer.hpp>

#include <algorithm>
#include <asio/post.hpp>

namespace mailfort::server {

std::string canonical_ip(const asio::ip::address& a) {
  if (a.is_v6() && a.to_v6().is_v4_mapped()) {
    return asio::ip::make_address_v4(asio::ip::v4_mapped, a.to_v6()).to_string();
  }
  return a.to_string();
}

Connection::Connection(asio::ip::tcp::socket socket, std::size_t max_line, uint64_t id)
    : stream_(std::move(socket)), reader_(max_line), deadline_(stream_.socket().get_executor()), id_(id) {
  std::error_code ec;
  auto ep = stream_.socket().remote_endpoint(ec);
  if (!ec) {
    peer_ip_ = canonical_ip(ep.address());
    peer_port_ = ep.port();
  }
}

void Connection::arm(std::chrono::seconds timeout) {
  deadline_.expires_after(timeout);
  // The handler holds the connection alive; a cancelled wait does nothing.
  deadline_.async_wait([self = shared_from_this()](std::error_code ec) {
    if (ec) return;
    self->timed_out_ = true;
    self->stream_.close();
  });
}

void Connection::disarm() {
  deadline_.cancel();
}

asio::awaitable<Connection::ReadStatus> Connection::read_line(std::string& line,
                                                              std::chrono::seconds timeout) {
  std::array<char, 4096> buf;
  while (true) {
    switch (reader_.next(line)) {
      case LineReader::Status::Line:
        co_return ReadStatus::Line;
      case LineReader::Status::TooLong:
        co_return ReadStatus::TooLong;
      case LineReader::Status::BareLf:
        co_return ReadStatus::BareLf;
      case LineReader::Status::BareCr:
        co_return ReadStatus::BareCr;
      case LineReader::Status::NeedMore:
        break;
    }
    if (timed_out_) co_return ReadStatus::Timeout;
    arm(timeout);
    auto [ec, n] = co_await stream_.read_some(asio::buffer(buf));
    disarm();
    if (timed_out_) co_return ReadStatus::Timeout;
    if (ec || n == 0) co_return ReadStatus::Closed;
    reader_.feed(std::string_view(buf.data(), n));
  }
}

asio::awaitable<Connection::ReadStatus> Connection::read_raw(std::string& out, std::size_t max,
                                                             std::chrono::seconds timeout) {
  out.clear();
  if (reader_.buffered() > 0) {
    out = reader_.take_buffered();
    if (out.size() > max) {
      reader_.feed(std::string_view(out).substr(max));
      out.resize(max);
    }
    co_return ReadStatus::Line;
  }
  if (timed_out_) co_return ReadStatus::Timeout;
  out.resize(std::min<std::size_t>(max, 65536));
  arm(timeout);
  auto [ec, n] = co_await stream_.read_some(asio::buffer(out));
  disarm();
  if (timed_out_) co_return ReadStatus::Timeout;
  if (ec || n == 0) {
    out.clear();
    co_return ReadStatus::Closed;
  }
  out.resize(n);
  co_return ReadStatus::Line;
}

std::size_t Connection::socket_available() {
  std::error_code ec;
  std::size_t n = stream_.socket().available(ec);
  return ec ? 0 : n;
}

void Connection::unread(std::string_view bytes) {
  if (!bytes.empty()) reader_.feed(bytes);
}

asio::awaitable<bool> Connection::write(std::string_view data) {
  if (timed_out_) co_return false;
  // A client that stops reading must not hold a session forever.
  arm(std::chrono::seconds(60));
  auto ec = co_await stream_.write(asio::buffer(data.data(), data.size()));
  disarm();
  co_return !ec && !timed_out_;
}

asio::awaitable<bool> Connection::start_tls(std::shared_ptr<tls::ServerContext> ctx,
                                            std::chrono::seconds timeout, std::size_t& discarded) {
  discarded = reader_.buffered();
  reader_.clear();
  arm(timeout);
  auto ec = co_await stream_.start_tls(std::move(ctx));
  disarm();
  co_return !ec && !timed_out_;
}

asio::awaitable<bool> Connection::start_tls_client(std::shared_ptr<tls::ClientContext> ctx,
                                                   const tls::ClientParams& params,
                                                   tls::ClientOutcome& outcome,
                                                   std::chrono::seconds timeout) {
  reader_.clear();  // a server talking before the handshake is ignored
  arm(timeout);
  auto ec = co_await stream_.start_tls_client(std::move(ctx), params, outcome);
  disarm();
  co_return !ec && !timed_out_;
}

void Connection::abort() {
  asio::post(stream_.socket().get_executor(), [self = shared_from_this()] { self->stream_.close(); });
}

asio::awaitable<void> Connection::shutdown() {
  disarm();
  if (!timed_out_) co_await stream_.shutdown();
  stream_.close();
}

}  // namespace mailfort::server
