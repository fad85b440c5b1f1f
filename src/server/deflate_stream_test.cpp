#include "server/deflate_stream.h"

#include <gtest/gtest.h>
#include <zlib.h>

#include <asio/co_spawn.hpp>
#include <asio/detached.hpp>
#include <asio/io_context.hpp>

#include <random>

#include "server/connection.h"
#include "testing/memory_stream.h"

namespace mailfort::server {
namespace {

// The client's side of RFC 4978: raw deflate, a sync flush per message.
class Peer {
 public:
  Peer() {
    deflateInit2(&d_, Z_BEST_COMPRESSION, Z_DEFLATED, -15, 8, Z_DEFAULT_STRATEGY);
    inflateInit2(&i_, -15);
  }
  ~Peer() {
    deflateEnd(&d_);
    inflateEnd(&i_);
  }
  std::string compress(std::string_view s, int flush = Z_SYNC_FLUSH) {
    std::string out;
    char buf[16384];
    d_.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(s.data()));
    d_.avail_in = static_cast<uInt>(s.size());
    do {
      d_.next_out = reinterpret_cast<Bytef*>(buf);
      d_.avail_out = sizeof buf;
      EXPECT_NE(deflate(&d_, flush), Z_STREAM_ERROR);
      out.append(buf, sizeof buf - d_.avail_out);
    } while (d_.avail_out == 0 || d_.avail_in > 0);
    return out;
  }
  // Inflates everything; false on corrupt data.
  bool decompress(std::string_view s, std::string& out) {
    i_.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(s.data()));
    i_.avail_in = static_cast<uInt>(s.size());
    char buf[4096];
    do {
      i_.next_out = reinterpret_cast<Bytef*>(buf);
      i_.avail_out = sizeof buf;
      int rc = inflate(&i_, Z_SYNC_FLUSH);
      if (rc != Z_OK && rc != Z_BUF_ERROR && rc != Z_STREAM_END) return false;
      out.append(buf, sizeof buf - i_.avail_out);
    } while (i_.avail_in > 0 || i_.avail_out == 0);
    return true;
  }

 private:
  z_stream d_{}, i_{};
};

struct Fixture {
  asio::io_context io;
  std::shared_ptr<testing::Transcript> t = std::make_shared<testing::Transcript>();
  std::unique_ptr<ByteStream> stream(std::string pending = {}) {
    return make_deflate_stream(std::make_unique<testing::MemoryStream>(io.get_executor(), t),
                               std::move(pending));
  }
  template <class F>
  void run(F f) {
    bool done = false;
    asio::co_spawn(
        io,
        [&]() -> asio::awaitable<void> {
          co_await f();
          done = true;
        },
        asio::detached);
    io.run();
    io.restart();
    ASSERT_TRUE(done);
  }
};

// Reads everything until EOF or error, `max` bytes at a time.
asio::awaitable<std::string> drain(ByteStream& s, std::size_t max, std::error_code* last = nullptr) {
  std::string all, buf(max, '\0');
  while (true) {
    auto [ec, n] = co_await s.read_some(asio::buffer(buf));
    if (ec || n == 0) {
      if (last) *last = ec;
      co_return all;
    }
    EXPECT_LE(n, max);
    all.append(buf.data(), n);
  }
}

TEST(DeflateStream, WritesAreFlushedAndDecodable) {
  Fixture f;
  auto s = f.stream();
  Peer peer;
  std::string seen;
  f.run([&]() -> asio::awaitable<void> {
    EXPECT_FALSE(co_await s->write(asio::buffer(std::string_view("* OK [CAPABILITY IMAP4rev1]\r\n"))));
    // Each write is complete on the wire: the client decodes it without
    // waiting for more.
    EXPECT_TRUE(peer.decompress(f.t->output, seen));
    EXPECT_EQ(seen, "* OK [CAPABILITY IMAP4rev1]\r\n");
    std::string big;
    for (int i = 0; i < 20000; ++i) big += "* " + std::to_string(i) + " FETCH (FLAGS (\\Seen))\r\n";
    f.t->output.clear();
    seen.clear();
    EXPECT_FALSE(co_await s->write(asio::buffer(big)));
    EXPECT_TRUE(peer.decompress(f.t->output, seen));
    EXPECT_EQ(seen, big);
    EXPECT_LT(f.t->output.size(), big.size() / 4);
  });
}

TEST(DeflateStream, ReadsWholeAndByteByByte) {
  for (bool bytewise : {false, true}) {
    Fixture f;
    Peer peer;
    std::string plain = "a1 NOOP\r\na2 SELECT INBOX\r\n";
    std::string z = peer.compress(plain);
    if (bytewise)
      for (char c : z) f.t->input.emplace_back(1, c);
    else
      f.t->input.push_back(z);
    auto s = f.stream();
    f.run([&]() -> asio::awaitable<void> { EXPECT_EQ(co_await drain(*s, 3), plain); });
  }
}

TEST(DeflateStream, PendingBytesComeFirst) {
  // Bytes the line reader had buffered after COMPRESS are compressed data.
  Fixture f;
  Peer peer;
  std::string z = peer.compress("a1 NOOP\r\n") + peer.compress("a2 LOGOUT\r\n");
  std::size_t cut = z.size() / 2;
  f.t->input.push_back(z.substr(cut));
  auto s = f.stream(z.substr(0, cut));
  f.run([&]() -> asio::awaitable<void> { EXPECT_EQ(co_await drain(*s, 4096), "a1 NOOP\r\na2 LOGOUT\r\n"); });
}

TEST(DeflateStream, BombIsInflatedInBoundedChunks) {
  // 64 MiB of zeros compress to about 64 KiB; every read returns at most
  // the caller's buffer, so the Connection's limits see every byte.
  Fixture f;
  Peer peer;
  std::string zeros(1 << 20, '\0'), z;
  for (int i = 0; i < 64; ++i) z += peer.compress(zeros, Z_NO_FLUSH);
  z += peer.compress("", Z_SYNC_FLUSH);
  ASSERT_LT(z.size(), 1u << 20);
  f.t->input.push_back(z);
  auto s = f.stream();
  f.run([&]() -> asio::awaitable<void> {
    std::array<char, 4096> buf;
    std::size_t total = 0;
    while (true) {
      auto [ec, n] = co_await s->read_some(asio::buffer(buf));
      if (ec || n == 0) break;
      EXPECT_LE(n, buf.size());
      total += n;
    }
    EXPECT_EQ(total, 64u << 20);
  });
}

TEST(DeflateStream, CorruptInputIsAnError) {
  Fixture f;
  std::mt19937 rng(7);
  std::string junk(256, '\0');
  for (auto& c : junk) c = static_cast<char>(rng());
  junk[0] = '\xff';  // BTYPE 11: reserved, always invalid
  f.t->input.push_back(junk);
  auto s = f.stream();
  f.run([&]() -> asio::awaitable<void> {
    std::error_code ec;
    co_await drain(*s, 4096, &ec);
    EXPECT_TRUE(ec);
    auto [ec2, n] = co_await s->read_some(asio::buffer(junk));
    EXPECT_TRUE(ec2);
    EXPECT_EQ(n, 0u);
  });
}

TEST(DeflateStream, ConnectionLinesAreBoundedAfterInflating) {
  // Through a Connection: an overlong inflated line is TooLong, not memory.
  Fixture f;
  Peer peer;
  std::string line(100000, 'x');
  f.t->input.push_back(peer.compress(line + "\r\na1 NOOP\r\n"));
  auto conn = std::make_shared<Connection>(std::make_unique<testing::MemoryStream>(f.io.get_executor(), f.t),
                                           "192.0.2.1", 1, 1024, 1);
  conn->wrap_stream([](std::unique_ptr<ByteStream> inner, std::string pending) {
    return make_deflate_stream(std::move(inner), std::move(pending));
  });
  f.run([&]() -> asio::awaitable<void> {
    std::string got;
    EXPECT_EQ(co_await conn->read_line(got, std::chrono::seconds(5)), Connection::ReadStatus::TooLong);
    auto st = co_await conn->read_line(got, std::chrono::seconds(5));
    while (st == Connection::ReadStatus::TooLong) st = co_await conn->read_line(got, std::chrono::seconds(5));
    EXPECT_EQ(st, Connection::ReadStatus::Line);
    EXPECT_EQ(got, "a1 NOOP");
  });
}

}  // namespace
}  // namespace mailfort::server
