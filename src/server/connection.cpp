#include "server/connection.h"

#include "server/socket_stream.h"
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

Connection::Peer Connection::remote_of(const asio::ip::tcp::socket& socket) {
  std::error_code ec;
  auto ep = socket.remote_endpoint(ec);
  if (ec) return {};
  return {canonical_ip(ep.address()), ep.port()};
}

Connection::Connection(asio::ip::tcp::socket socket, std::size_t max_line, uint64_t id)
    : Connection(std::move(socket), remote_of(socket), max_line, id) {}

// `socket` is moved from only here, after remote_of() above has read it.
Connection::Connection(asio::ip::tcp::socket&& socket, Peer peer, std::size_t max_line, uint64_t id)
    : Connection(make_socket_stream(std::move(socket)), std::move(peer.ip), peer.port, max_line, id) {}

Connection::Connection(std::unique_ptr<ByteStream> stream, std::string peer_ip, uint16_t peer_port,
                       std::size_t max_line, uint64_t id)
    : stream_(std::move(stream)),
      reader_(max_line),
      deadline_(stream_->executor()),
      read_deadline_(stream_->executor()),
      peer_ip_(std::move(peer_ip)),
      peer_port_(peer_port),
      id_(id) {}

void Connection::arm(std::chrono::seconds timeout) {
  deadline_.expires_after(timeout);
  // The handler holds the connection alive; a cancelled wait does nothing.
  deadline_.async_wait([self = shared_from_this()](std::error_code ec) {
    if (ec) return;
    self->timed_out_ = true;
    self->stream_->close();
  });
}

void Connection::disarm() {
  deadline_.cancel();
}

void Connection::Transfer::credit(std::size_t bytes, Clock::time_point now) {
  auto cap = now + timeout;
  if (min_rate == 0) {
    deadline = cap;
    return;
  }
  auto earned = std::chrono::duration_cast<Clock::duration>(
      std::chrono::duration<double>(static_cast<double>(bytes) / static_cast<double>(min_rate)));
  deadline = std::min(cap, deadline + earned);
}

Connection::Transfer Connection::begin_transfer(std::chrono::seconds timeout, uint32_t min_rate) {
  return Transfer{Clock::now() + timeout, timeout, min_rate};
}

void Connection::limit_unauthenticated(std::chrono::seconds limit) {
  if (!authenticated_) login_deadline_ = Clock::now() + limit;
}

void Connection::mark_authenticated() {
  authenticated_ = true;
  login_deadline_.reset();
}

bool Connection::login_expired() const {
  return login_deadline_ && Clock::now() >= *login_deadline_;
}

asio::awaitable<std::tuple<std::error_code, std::size_t>> Connection::read_some_by(
    asio::mutable_buffer buf, Clock::time_point deadline) {
  if (login_deadline_) deadline = std::min(deadline, *login_deadline_);
  if (read_timed_out_ || timed_out_ || Clock::now() >= deadline) {
    read_timed_out_ = true;
    co_return std::make_tuple(std::error_code(asio::error::timed_out), std::size_t{0});
  }
  uint64_t generation = ++read_generation_;
  read_deadline_.expires_at(deadline);
  // Cancelling (not closing) the read keeps the socket open for the
  // protocol's goodbye; a TLS session is still consistent after it.
  read_deadline_.async_wait([self = shared_from_this(), generation](std::error_code ec) {
    if (ec || generation != self->read_generation_) return;
    self->read_timed_out_ = true;
    self->stream_->cancel_read();
  });
  auto result = co_await stream_->read_some(buf);
  ++read_generation_;
  read_deadline_.cancel();
  if (read_timed_out_) co_return std::make_tuple(std::error_code(asio::error::timed_out), std::size_t{0});
  co_return result;
}

asio::awaitable<Connection::ReadStatus> Connection::read_line(std::string& line,
                                                              std::chrono::seconds timeout) {
  std::array<char, 4096> buf;
  const auto deadline = Clock::now() + timeout;  // for the whole line
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
    auto [ec, n] = co_await read_some_by(asio::buffer(buf), deadline);
    if (read_timed_out_) co_return ReadStatus::Timeout;
    if (ec || n == 0) co_return ReadStatus::Closed;
    reader_.feed(std::string_view(buf.data(), n));
  }
}

asio::awaitable<Connection::ReadStatus> Connection::read_raw(std::string& out, std::size_t max,
                                                             Transfer& transfer) {
  out.clear();
  if (reader_.buffered() > 0) {
    out = reader_.take_buffered();
    if (out.size() > max) {
      reader_.feed(std::string_view(out).substr(max));
      out.resize(max);
    }
    transfer.credit(out.size(), Clock::now());
    co_return ReadStatus::Line;
  }
  out.resize(std::min<std::size_t>(max, 65536));
  auto [ec, n] = co_await read_some_by(asio::buffer(out), transfer.deadline);
  if (read_timed_out_) {
    out.clear();
    co_return ReadStatus::Timeout;
  }
  if (ec || n == 0) {
    out.clear();
    co_return ReadStatus::Closed;
  }
  out.resize(n);
  transfer.credit(n, Clock::now());
  co_return ReadStatus::Line;
}

std::size_t Connection::socket_available() {
  return stream_->available();
}

void Connection::unread(std::string_view bytes) {
  if (!bytes.empty()) reader_.feed(bytes);
}

asio::awaitable<bool> Connection::write(std::string_view data) {
  if (timed_out_) co_return false;
  // A client that stops reading must not hold a session forever.
  arm(std::chrono::seconds(60));
  auto ec = co_await stream_->write(asio::buffer(data.data(), data.size()));
  disarm();
  co_return !ec && !timed_out_;
}

asio::awaitable<bool> Connection::start_tls(std::shared_ptr<tls::ServerContext> ctx,
                                            std::chrono::seconds timeout, std::size_t& discarded) {
  discarded = reader_.buffered();
  reader_.clear();
  arm(timeout);
  auto ec = co_await stream_->start_tls(std::move(ctx));
  disarm();
  co_return !ec && !timed_out_;
}

asio::awaitable<bool> Connection::start_tls_client(std::shared_ptr<tls::ClientContext> ctx,
                                                   const tls::ClientParams& params,
                                                   tls::ClientOutcome& outcome,
                                                   std::chrono::seconds timeout) {
  reader_.clear();  // a server talking before the handshake is ignored
  arm(timeout);
  auto ec = co_await stream_->start_tls_client(std::move(ctx), params, outcome);
  disarm();
  co_return !ec && !timed_out_;
}

void Connection::wrap_stream(const StreamWrapper& wrap) {
  std::string buffered = reader_.take_buffered();
  stream_ = wrap(std::move(stream_), std::move(buffered));
}

void Connection::abort() {
  asio::post(stream_->executor(), [self = shared_from_this()] { self->stream_->close(); });
}

asio::awaitable<void> Connection::shutdown() {
  disarm();
  ++read_generation_;
  read_deadline_.cancel();
  if (!timed_out_) co_await stream_->shutdown();
  stream_->close();
}

}  // namespace mailfort::server
