#include "server/deflate_stream.h"

#include <zlib.h>

#include <asio/error.hpp>

#include <algorithm>
#include <array>
#include <cstring>

namespace mailfort::server {
namespace {

constexpr std::size_t kChunk = 16 * 1024;
constexpr int kWindowBits = 14;  // deflate's window; see the head comment
constexpr int kMemLevel = 7;

class DeflateStream final : public ByteStream {
 public:
  DeflateStream(std::unique_ptr<ByteStream> inner, std::string pending) : inner_(std::move(inner)) {
    std::memset(&in_z_, 0, sizeof in_z_);
    std::memset(&out_z_, 0, sizeof out_z_);
    // Negative window bits: raw deflate. Inflate takes the largest window
    // so that any client's stream decodes.
    in_ok_ = inflateInit2(&in_z_, -15) == Z_OK;
    out_ok_ = deflateInit2(&out_z_, Z_DEFAULT_COMPRESSION, Z_DEFLATED, -kWindowBits, kMemLevel,
                           Z_DEFAULT_STRATEGY) == Z_OK;
    // Bytes that arrived with the COMPRESS command: at most what the line
    // reader buffered, which the line limit bounds.
    pending_ = std::move(pending);
    in_z_.next_in = reinterpret_cast<Bytef*>(pending_.data());
    in_z_.avail_in = static_cast<uInt>(pending_.size());
  }
  ~DeflateStream() override {
    if (in_ok_) inflateEnd(&in_z_);
    if (out_ok_) deflateEnd(&out_z_);
  }

  asio::any_io_executor executor() override { return inner_->executor(); }

  asio::awaitable<std::tuple<std::error_code, std::size_t>> read_some(asio::mutable_buffer buf) override {
    if (!in_ok_ || in_broken_ || ended_)
      co_return std::make_tuple(std::error_code(asio::error::eof), std::size_t{0});
    if (buf.size() == 0) co_return std::make_tuple(std::error_code(), std::size_t{0});
    while (true) {
      // Inflate what is buffered first: inflate may hold output from input
      // it already consumed, and the next read from the peer could block.
      in_z_.next_out = static_cast<Bytef*>(buf.data());
      in_z_.avail_out = static_cast<uInt>(std::min<std::size_t>(buf.size(), UINT32_MAX));
      std::size_t room = in_z_.avail_out;
      int rc = inflate(&in_z_, Z_SYNC_FLUSH);
      std::size_t produced = room - in_z_.avail_out;
      if (rc == Z_STREAM_END) ended_ = true;  // the client ended compression: nothing follows
      if (rc != Z_OK && rc != Z_BUF_ERROR && rc != Z_STREAM_END) {
        in_broken_ = true;  // corrupt data: every later read fails too (inflateEnd still runs)
        co_return std::make_tuple(std::error_code(asio::error::invalid_argument), std::size_t{0});
      }
      if (produced > 0) co_return std::make_tuple(std::error_code(), produced);
      if (ended_) co_return std::make_tuple(std::error_code(asio::error::eof), std::size_t{0});
      if (in_z_.avail_in > 0) continue;  // progress without output (block headers, flush markers)
      auto [ec, n] = co_await inner_->read_some(asio::buffer(in_buf_));
      if (ec || n == 0)
        co_return std::make_tuple(ec ? ec : std::error_code(asio::error::eof), std::size_t{0});
      pending_.clear();
      in_z_.next_in = in_buf_.data();
      in_z_.avail_in = static_cast<uInt>(n);
    }
  }

  asio::awaitable<std::error_code> write(asio::const_buffer buf) override {
    if (!out_ok_) co_return asio::error::invalid_argument;
    if (buf.size() == 0) co_return std::error_code();
    const auto* data = static_cast<const Bytef*>(buf.data());
    std::size_t left = buf.size();
    // Fed in pieces of at most 4 GiB (avail_in is 32 bits); each piece
    // ends with a sync flush, the last one matters.
    while (left > 0) {
      std::size_t piece = std::min<std::size_t>(left, UINT32_MAX);
      out_z_.next_in = const_cast<Bytef*>(data);
      out_z_.avail_in = static_cast<uInt>(piece);
      do {
        out_z_.next_out = out_buf_.data();
        out_z_.avail_out = static_cast<uInt>(out_buf_.size());
        int rc = deflate(&out_z_, Z_SYNC_FLUSH);
        if (rc != Z_OK && rc != Z_BUF_ERROR) {
          out_ok_ = false;
          co_return asio::error::invalid_argument;
        }
        std::size_t n = out_buf_.size() - out_z_.avail_out;
        if (n > 0) {
          auto ec = co_await inner_->write(asio::buffer(out_buf_.data(), n));
          if (ec) co_return ec;
        }
        // A full output buffer means the flush is not finished yet.
      } while (out_z_.avail_out == 0);
      data += piece;
      left -= piece;
    }
    co_return std::error_code();
  }

  asio::awaitable<std::error_code> start_tls(std::shared_ptr<tls::ServerContext>) override {
    co_return asio::error::operation_not_supported;
  }
  asio::awaitable<std::error_code> start_tls_client(std::shared_ptr<tls::ClientContext>,
                                                    const tls::ClientParams&, tls::ClientOutcome&) override {
    co_return asio::error::operation_not_supported;
  }
  asio::awaitable<void> shutdown() override { co_await inner_->shutdown(); }
  void close() override { inner_->close(); }
  void cancel_read() override { inner_->cancel_read(); }
  std::size_t available() override { return in_z_.avail_in + inner_->available(); }
  bool is_tls() const override { return inner_->is_tls(); }
  tls::TlsInfo tls_info() const override { return inner_->tls_info(); }

 private:
  std::unique_ptr<ByteStream> inner_;
  z_stream in_z_, out_z_;
  bool in_ok_ = false, out_ok_ = false, ended_ = false;
  bool in_broken_ = false;  // inflate reported corrupt input
  std::string pending_;
  std::array<Bytef, kChunk> in_buf_;
  std::array<Bytef, kChunk> out_buf_;
};

}  // namespace

std::unique_ptr<ByteStream> make_deflate_stream(std::unique_ptr<ByteStream> inner, std::string pending) {
  return std::make_unique<DeflateStream>(std::move(inner), std::move(pending));
}

}  // namespace mailfort::server
