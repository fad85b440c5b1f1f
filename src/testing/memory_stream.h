// MemoryStream: a ByteStream over an in-memory script, for session unit
// tests. The client's bytes are a list of chunks (one chunk = what one read
// can return, like one TCP segment); everything the session writes is kept
// in the Transcript, with the offset where TLS started. STARTTLS "succeeds"
// without OpenSSL: what matters to a session test is what the session read
// and wrote before and after it.
#pragma once
#include <asio/any_io_executor.hpp>

#include <cstddef>
#include <deque>
#include <memory>
#include <string>
#include <vector>

#include "server/byte_stream.h"

namespace mailfort::testing {

struct Transcript {
  std::deque<std::string> input;                   // chunks not yet read
  std::string output;                              // every byte the session wrote
  std::size_t tls_started_at = std::string::npos;  // output offset of the handshake
  bool early_talker = false;                       // available() reports pending input before any read
  bool fail_handshake = false;
  bool closed = false;
  std::size_t reads = 0;

  // Output written before / after the TLS handshake.
  std::string before_tls() const { return output.substr(0, tls_started_at); }
  std::string after_tls() const {
    return tls_started_at == std::string::npos ? std::string() : output.substr(tls_started_at);
  }
};

class MemoryStream final : public server::ByteStream {
 public:
  MemoryStream(asio::any_io_executor executor, std::shared_ptr<Transcript> transcript)
      : executor_(std::move(executor)), t_(std::move(transcript)) {}

  asio::any_io_executor executor() override { return executor_; }
  asio::awaitable<std::tuple<std::error_code, std::size_t>> read_some(asio::mutable_buffer buf) override;
  asio::awaitable<std::error_code> write(asio::const_buffer buf) override;
  asio::awaitable<std::error_code> start_tls(std::shared_ptr<tls::ServerContext> ctx) override;
  asio::awaitable<std::error_code> start_tls_client(std::shared_ptr<tls::ClientContext> ctx,
                                                    const tls::ClientParams& params,
                                                    tls::ClientOutcome& outcome) override;
  asio::awaitable<void> shutdown() override;
  void close() override { t_->closed = true; }
  void cancel_read() override {}
  std::size_t available() override;
  bool is_tls() const override { return t_->tls_started_at != std::string::npos; }
  tls::TlsInfo tls_info() const override;

 private:
  asio::any_io_executor executor_;
  std::shared_ptr<Transcript> t_;
};

}  // namespace mailfort::testing
