#include "testing/memory_stream.h"

#include <asio/error.hpp>

#include <algorithm>
#include <cstring>

namespace mailfort::testing {

asio::awaitable<std::tuple<std::error_code, std::size_t>> MemoryStream::read_some(asio::mutable_buffer buf) {
  ++t_->reads;
  if (t_->closed) co_return std::make_tuple(std::error_code(asio::error::bad_descriptor), std::size_t{0});
  if (t_->input.empty()) co_return std::make_tuple(std::error_code(asio::error::eof), std::size_t{0});
  auto& chunk = t_->input.front();
  std::size_t n = std::min(buf.size(), chunk.size());
  std::memcpy(buf.data(), chunk.data(), n);
  chunk.erase(0, n);
  if (chunk.empty()) t_->input.pop_front();
  co_return std::make_tuple(std::error_code(), n);
}

asio::awaitable<std::error_code> MemoryStream::write(asio::const_buffer buf) {
  if (t_->closed) co_return asio::error::bad_descriptor;
  t_->output.append(static_cast<const char*>(buf.data()), buf.size());
  co_return std::error_code();
}

asio::awaitable<std::error_code> MemoryStream::start_tls(std::shared_ptr<tls::ServerContext>) {
  if (t_->fail_handshake) co_return asio::error::connection_reset;
  t_->tls_started_at = t_->output.size();
  co_return std::error_code();
}

asio::awaitable<std::error_code> MemoryStream::start_tls_client(std::shared_ptr<tls::ClientContext>,
                                                                const tls::ClientParams&,
                                                                tls::ClientOutcome&) {
  co_return asio::error::operation_not_supported;  // sessions under test are servers
}

asio::awaitable<void> MemoryStream::shutdown() {
  t_->closed = true;
  co_return;
}

std::size_t MemoryStream::available() {
  if (!t_->early_talker || t_->reads > 0) return 0;
  std::size_t n = 0;
  for (const auto& c : t_->input) n += c.size();
  return n;
}

tls::TlsInfo MemoryStream::tls_info() const {
  if (!is_tls()) return {};
  return {"TLSv1.3", "TEST_IN_MEMORY", 256};
}

}  // namespace mailfort::testing
