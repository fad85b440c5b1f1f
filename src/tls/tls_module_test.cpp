#include <openssl/ssl.h>
#include <sys/stat.h>

#include <gtest/gtest.h>
#include <asio/co_spawn.hpp>
#include <asio/detached.hpp>
#include <asio/io_context.hpp>
#include <asio/ssl.hpp>
#include <asio/use_awaitable.hpp>
#include <asio/write.hpp>
#include <filesystem>
#include <fstream>
#include <thread>

#include "tls/certs.h"
#include "tls/context.h"
#include "tls/stream.h"

namespace fs = std::filesystem;
using namespace mailfort::tls;

namespace {

struct TlsFixture : ::testing::Test {
  fs::path dir;
  void SetUp() override {
    char tmpl[] = "/tmp/mf-tls-XXXXXX";
    dir = ::mkdtemp(tmpl);
    ASSERT_TRUE(generate_self_signed("mx.example.test", cert(), key()).ok());
  }
  void TearDown() override { fs::remove_all(dir); }
  std::string cert(const std::string& n = "a") const { return (dir / (n + ".crt")).string(); }
  std::string key(const std::string& n = "a") const { return (dir / (n + ".key")).string(); }
  ServerSettings settings(const std::string& n = "a") const { return {cert(n), key(n), "1.2", "", ""}; }
};

TEST_F(TlsFixture, GeneratedPairIsUsable) {
  EXPECT_TRUE(check_cert_key(cert(), key()).empty());
  struct stat st {};
  ASSERT_EQ(::stat(key().c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  auto ctx = ServerContext::create(settings());
  ASSERT_TRUE(ctx.ok()) << ctx.error().message;
  EXPECT_NE(ctx.value()->describe().find("CN=mx.example.test"), std::string::npos);
  auto spki = spki_sha256_hex(cert());
  ASSERT_TRUE(spki.ok());
  EXPECT_EQ(spki->size(), 64u);
  EXPECT_EQ(generate_self_signed("x.example", cert(), key()).error().code, mailfort::Errc::Exists);
}

TEST_F(TlsFixture, ProblemsAreFound) {
  ASSERT_TRUE(generate_self_signed("other.example.test", cert("b"), key("b")).ok());
  auto mismatch = check_cert_key(cert("a"), key("b"));
  ASSERT_EQ(mismatch.size(), 1u);
  EXPECT_NE(mismatch[0].message.find("does not match"), std::string::npos);
  EXPECT_FALSE(ServerContext::create({cert("a"), key("b"), "1.2", "", ""}).ok());
  std::ofstream(dir / "junk.crt") << "not pem";
  auto junk = check_cert_key((dir / "junk.crt").string(), key());
  ASSERT_EQ(junk.size(), 1u);
  EXPECT_NE(junk[0].message.find("not a PEM certificate"), std::string::npos);
  auto missing = check_cert_key((dir / "none.crt").string(), (dir / "none.key").string());
  EXPECT_EQ(missing.size(), 2u);
  auto created = ServerContext::create({(dir / "none.crt").string(), key(), "1.2", "", ""});
  ASSERT_FALSE(created.ok());
  EXPECT_NE(created.error().message.find("none.crt"), std::string::npos);
}

TEST_F(TlsFixture, ReloadSwapsOrKeepsOld) {
  ContextHolder holder(ServerContext::create(settings()).value());
  auto before = holder.current()->describe();
  ASSERT_TRUE(generate_self_signed("new.example.test", cert("n"), key("n")).ok());
  EXPECT_FALSE(holder.reload({(dir / "missing").string(), key(), "1.2", "", ""}).ok());
  EXPECT_EQ(holder.current()->describe(), before);
  ASSERT_TRUE(holder.reload(settings("n")).ok());
  EXPECT_NE(holder.current()->describe().find("new.example.test"), std::string::npos);
}

// Server: plaintext "STARTTLS" line, "220 go", handshake, echo one line.
// Returns what the client saw, or "" when the handshake failed.
std::string starttls_round_trip(std::shared_ptr<ServerContext> server_ctx, int client_min, int client_max,
                                std::string* version = nullptr, std::string* cipher = nullptr) {
  asio::io_context io;
  asio::ip::tcp::acceptor acc(io, {asio::ip::make_address("127.0.0.1"), 0});
  auto port = acc.local_endpoint().port();
  std::string seen_version, seen_cipher;
  asio::co_spawn(
      io,
      [&]() -> asio::awaitable<void> {
        auto sock = co_await acc.async_accept(asio::use_awaitable);
        Stream s(std::move(sock));
        char buf[64];
        auto [ec, n] = co_await s.read_some(asio::buffer(buf));
        if (ec) co_return;
        co_await s.write(asio::buffer(std::string_view("220 go\r\n")));
        if (co_await s.start_tls(server_ctx)) co_return;
        seen_version = s.tls_info().version;
        seen_cipher = s.tls_info().cipher;
        auto [ec2, m] = co_await s.read_some(asio::buffer(buf));
        if (ec2) co_return;
        co_await s.write(asio::buffer(buf, m));
        co_await s.shutdown();
      },
      asio::detached);
  std::string result;
  std::thread client([&] {
    asio::io_context cio;
    asio::ssl::context cctx(asio::ssl::context::tls_client);
    SSL_CTX_set_security_level(cctx.native_handle(), 0);  // the refusal must come from the server
    SSL_CTX_set_cipher_list(cctx.native_handle(), "ALL:@SECLEVEL=0");
    SSL_CTX_set_min_proto_version(cctx.native_handle(), client_min);
    SSL_CTX_set_max_proto_version(cctx.native_handle(), client_max);
    asio::ip::tcp::socket sock(cio);
    sock.connect({asio::ip::make_address("127.0.0.1"), port});
    asio::write(sock, asio::buffer(std::string_view("STARTTLS\r\n")));
    char buf[64];
    sock.read_some(asio::buffer(buf));
    asio::ssl::stream<asio::ip::tcp::socket&> tls(sock, cctx);
    std::error_code ec;
    tls.handshake(asio::ssl::stream_base::client, ec);
    if (ec) return;
    asio::write(tls, asio::buffer(std::string_view("hello\r\n")), ec);
    std::size_t n = tls.read_some(asio::buffer(buf), ec);
    if (!ec) result.assign(buf, n);
  });
  io.run_for(std::chrono::seconds(10));
  client.join();
  if (version) *version = seen_version;
  if (cipher) *cipher = seen_cipher;
  return result;
}

TEST_F(TlsFixture, StartTlsEchoesOverTls13) {
  auto ctx = ServerContext::create(settings()).value();
  std::string version;
  EXPECT_EQ(starttls_round_trip(ctx, TLS1_VERSION, TLS1_3_VERSION, &version), "hello\r\n");
  EXPECT_EQ(version, "TLSv1.3");
}

TEST_F(TlsFixture, Tls12NegotiatesEcdheAead) {
  auto ctx = ServerContext::create(settings()).value();
  std::string version, cipher;
  EXPECT_EQ(starttls_round_trip(ctx, TLS1_2_VERSION, TLS1_2_VERSION, &version, &cipher), "hello\r\n");
  EXPECT_EQ(version, "TLSv1.2");
  EXPECT_NE(cipher.find("ECDHE"), std::string::npos) << cipher;
  EXPECT_TRUE(cipher.find("GCM") != std::string::npos || cipher.find("CHACHA20") != std::string::npos)
      << cipher;
}

TEST_F(TlsFixture, OldVersionsRefused) {
  auto ctx = ServerContext::create(settings()).value();
  EXPECT_EQ(starttls_round_trip(ctx, TLS1_VERSION, TLS1_VERSION), "");
  EXPECT_EQ(starttls_round_trip(ctx, TLS1_1_VERSION, TLS1_1_VERSION), "");
  auto only13 = ServerContext::create({cert(), key(), "1.3", "", ""}).value();
  EXPECT_EQ(starttls_round_trip(only13, TLS1_2_VERSION, TLS1_2_VERSION), "");
  EXPECT_EQ(starttls_round_trip(only13, TLS1_3_VERSION, TLS1_3_VERSION), "hello\r\n");
}

}  // namespace
