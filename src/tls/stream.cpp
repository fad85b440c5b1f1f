// TLS over the connection's own socket: OpenSSL reads and writes the
// non-blocking fd itself and the coroutine waits for readiness with Asio.
// Compared with asio::ssl::stream (two fixed 17 KiB record buffers plus a
// 2 x 17 KiB BIO pair per connection), an idle connection then holds only
// the SSL object: SSL_MODE_RELEASE_BUFFERS frees OpenSSL's record buffers
// between records, and nothing else is buffered per connection.
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include <spdlog/spdlog.h>
#include <asio/experimental/as_tuple.hpp>
#include <asio/ssl/context.hpp>
#include <asio/steady_timer.hpp>
#include <asio/use_awaitable.hpp>
#include <asio/write.hpp>

#include "base/log.h"
#include "base/use_tuple.h"
#include "tls/client.h"
#include "tls/context.h"
#include "tls/stream.h"

namespace mailfort::tls {
namespace {

// OpenSSL's verification result as a report category (RFC 8460 4.3).
VerifyError verify_error_of(long vr) {
  switch (vr) {
    case X509_V_OK:
      return VerifyError::None;
    case X509_V_ERR_HOSTNAME_MISMATCH:
      return VerifyError::HostMismatch;
    case X509_V_ERR_CERT_HAS_EXPIRED:
    case X509_V_ERR_CERT_NOT_YET_VALID:
      return VerifyError::Expired;
    case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT:
    case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY:
    case X509_V_ERR_UNABLE_TO_VERIFY_LEAF_SIGNATURE:
    case X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT:
    case X509_V_ERR_SELF_SIGNED_CERT_IN_CHAIN:
    case X509_V_ERR_CERT_UNTRUSTED:
      return VerifyError::NotTrusted;
    case X509_V_ERR_DANE_NO_MATCH:
      return VerifyError::DaneNoMatch;
    default:
      return VerifyError::Other;
  }
}
}  // namespace

struct Stream::Impl {
  explicit Impl(asio::ip::tcp::socket s) : socket(std::move(s)) {}
  ~Impl() {
    if (ssl) SSL_free(ssl);
  }
  asio::ip::tcp::socket socket;
  std::shared_ptr<ServerContext> ctx;  // keeps the SSL_CTX alive
  std::shared_ptr<ClientContext> client_ctx;
  SSL* ssl = nullptr;
  bool tls = false;

  // Waits until OpenSSL can make progress after `rc`; false on a real error.
  asio::awaitable<std::error_code> wait_for(int rc) {
    int err = SSL_get_error(ssl, rc);
    asio::socket_base::wait_type w;
    if (err == SSL_ERROR_WANT_READ) {
      w = asio::socket_base::wait_read;
    } else if (err == SSL_ERROR_WANT_WRITE) {
      w = asio::socket_base::wait_write;
    } else {
      ERR_clear_error();
      co_return err == SSL_ERROR_ZERO_RETURN ? std::error_code(asio::error::eof)
                                             : std::error_code(asio::error::connection_reset);
    }
    auto [ec] = co_await socket.async_wait(w, use_tuple);
    co_return ec;
  }
};

Stream::Stream(asio::ip::tcp::socket socket) : impl_(std::make_unique<Impl>(std::move(socket))) {}
Stream::~Stream() = default;

asio::awaitable<std::tuple<std::error_code, std::size_t>> Stream::read_some(asio::mutable_buffer buf) {
  if (!impl_->tls) {
    auto [ec, n] = co_await impl_->socket.async_read_some(buf, use_tuple);
    co_return std::make_tuple(std::error_code(ec), n);
  }
  while (true) {
    if (!impl_->socket.is_open()) co_return std::make_tuple(std::error_code(asio::error::bad_descriptor), 0);
    int size = static_cast<int>(std::min<std::size_t>(buf.size(), 1 << 30));
    int rc = SSL_read(impl_->ssl, buf.data(), size);
    if (rc > 0) co_return std::make_tuple(std::error_code(), static_cast<std::size_t>(rc));
    auto ec = co_await impl_->wait_for(rc);
    if (ec) co_return std::make_tuple(ec, 0);
  }
}

asio::awaitable<std::error_code> Stream::write(asio::const_buffer buf) {
  if (!impl_->tls) {
    auto [ec, n] = co_await asio::async_write(impl_->socket, buf, use_tuple);
    co_return ec;
  }
  const char* p = static_cast<const char*>(buf.data());
  std::size_t left = buf.size();
  while (left > 0) {
    if (!impl_->socket.is_open()) co_return std::error_code(asio::error::bad_descriptor);
    int n = static_cast<int>(std::min<std::size_t>(left, 1 << 30));
    int rc = SSL_write(impl_->ssl, p, n);
    if (rc > 0) {
      p += rc;
      left -= static_cast<std::size_t>(rc);
      continue;
    }
    auto ec = co_await impl_->wait_for(rc);
    if (ec) co_return ec;
  }
  co_return std::error_code();
}

asio::awaitable<std::error_code> Stream::start_tls(std::shared_ptr<ServerContext> ctx) {
  impl_->ctx = std::move(ctx);
  auto* native = static_cast<asio::ssl::context*>(impl_->ctx->native());
  impl_->ssl = SSL_new(native->native_handle());
  if (!impl_->ssl) co_return std::error_code(asio::error::no_memory);
  // A partial write must be retried with the same bytes; the buffer may move.
  SSL_set_mode(impl_->ssl, SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER | SSL_MODE_ENABLE_PARTIAL_WRITE |
                               SSL_MODE_RELEASE_BUFFERS);
  std::error_code ignored;
  impl_->socket.non_blocking(true, ignored);
  SSL_set_fd(impl_->ssl, impl_->socket.native_handle());
  SSL_set_accept_state(impl_->ssl);
  while (true) {
    if (!impl_->socket.is_open()) co_return std::error_code(asio::error::bad_descriptor);
    int rc = SSL_do_handshake(impl_->ssl);
    if (rc == 1) break;
    auto ec = co_await impl_->wait_for(rc);
    if (ec) co_return ec;
  }
  impl_->tls = true;
  co_return std::error_code();
}

asio::awaitable<std::error_code> Stream::start_tls_client(std::shared_ptr<ClientContext> ctx,
                                                          const ClientParams& p, ClientOutcome& out) {
  impl_->client_ctx = std::move(ctx);
  SSL* ssl = SSL_new(static_cast<SSL_CTX*>(impl_->client_ctx->native()));
  if (!ssl) co_return std::error_code(asio::error::no_memory);
  impl_->ssl = ssl;
  SSL_set_mode(
      ssl, SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER | SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_RELEASE_BUFFERS);
  SSL_set_min_proto_version(ssl, p.min_version == "1.3" ? TLS1_3_VERSION : TLS1_2_VERSION);
  if (!p.sni.empty()) SSL_set_tlsext_host_name(ssl, p.sni.c_str());
  int usable_tlsa = 0;
  if (p.verify == ClientParams::Verify::Dane) {
    if (SSL_dane_enable(ssl, p.dane_base_domain.c_str()) > 0) {
      // RFC 7672 3.1.1: DANE-EE(3) ignores names; DANE-TA(2) checks them
      // against the base domain set above.
      SSL_dane_set_flags(ssl, DANE_FLAG_NO_DANE_EE_NAMECHECKS);
      for (const auto& t : p.tlsa) {
        if (SSL_dane_tlsa_add(ssl, t.usage, t.selector, t.mtype,
                              reinterpret_cast<const unsigned char*>(t.data.data()), t.data.size()) > 0)
          ++usable_tlsa;
      }
    }
  } else if (p.verify == ClientParams::Verify::Ca ||
             (p.verify == ClientParams::Verify::None && !p.report_names.empty())) {
    bool first = true;
    for (const auto& n : p.verify == ClientParams::Verify::Ca ? p.match_names : p.report_names) {
      if (first)
        SSL_set1_host(ssl, n.c_str());
      else
        SSL_add1_host(ssl, n.c_str());
      first = false;
    }
  }
  std::error_code ignored;
  impl_->socket.non_blocking(true, ignored);
  SSL_set_fd(ssl, impl_->socket.native_handle());
  SSL_set_connect_state(ssl);
  while (true) {
    if (!impl_->socket.is_open()) co_return std::error_code(asio::error::bad_descriptor);
    int rc = SSL_do_handshake(ssl);
    if (rc == 1) break;
    auto ec = co_await impl_->wait_for(rc);
    if (ec) co_return ec;
  }
  impl_->tls = true;
  out.version = SSL_get_version(ssl);
  if (const SSL_CIPHER* c = SSL_get_current_cipher(ssl)) out.cipher = SSL_CIPHER_get_name(c);
  X509* peer = SSL_get1_peer_certificate(ssl);
  if (peer) {
    char buf[256];
    X509_NAME_oneline(X509_get_subject_name(peer), buf, sizeof buf);
    out.peer_subject = buf;
  }
  long vr = SSL_get_verify_result(ssl);
  switch (p.verify) {
    case ClientParams::Verify::None:
      if (!p.report_names.empty()) out.error = !peer ? VerifyError::NoPeerCertificate : verify_error_of(vr);
      if (!p.report_names.empty() && (!peer || vr != X509_V_OK))
        spdlog::info("{} mx={} would-fail={}", p.report_label, p.sni,
                     log::quote(peer ? std::string("certificate verification failed: ") +
                                           X509_verify_cert_error_string(vr)
                                     : std::string("no peer certificate")));
      break;
    case ClientParams::Verify::Dane:
      if (usable_tlsa == 0) {
        out.why = "no usable TLSA record";
        out.error = VerifyError::NoUsableTlsa;
      } else if (!peer) {
        out.why = "no peer certificate";
        out.error = VerifyError::NoPeerCertificate;
      } else if (vr != X509_V_OK || SSL_get0_dane_authority(ssl, nullptr, nullptr) < 0) {
        out.why = std::string("DANE verification failed: ") + X509_verify_cert_error_string(vr);
        out.error = vr == X509_V_OK ? VerifyError::DaneNoMatch : verify_error_of(vr);
      } else {
        out.verified = true;
      }
      break;
    case ClientParams::Verify::Ca:
      if (!peer) {
        out.why = "no peer certificate";
        out.error = VerifyError::NoPeerCertificate;
      } else if (vr != X509_V_OK) {
        out.why = std::string("certificate verification failed: ") + X509_verify_cert_error_string(vr);
        out.error = verify_error_of(vr);
      } else {
        out.verified = true;
      }
      break;
    case ClientParams::Verify::Fingerprint: {
      if (!peer) {
        out.why = "no peer certificate";
        out.error = VerifyError::NoPeerCertificate;
        break;
      }
      // Certificate or SubjectPublicKeyInfo (DER) SHA-256, as Postfix's
      // fingerprint level accepts either.
      unsigned char cert_md[EVP_MAX_MD_SIZE], key_md[EVP_MAX_MD_SIZE];
      unsigned int cn = 0, kn = 0;
      X509_digest(peer, EVP_sha256(), cert_md, &cn);
      unsigned char* spki = nullptr;
      int spki_len = i2d_X509_PUBKEY(X509_get_X509_PUBKEY(peer), &spki);
      if (spki_len > 0)
        EVP_Digest(spki, static_cast<std::size_t>(spki_len), key_md, &kn, EVP_sha256(), nullptr);
      OPENSSL_free(spki);
      std::string cert_fp(reinterpret_cast<char*>(cert_md), cn), key_fp(reinterpret_cast<char*>(key_md), kn);
      for (const auto& f : p.fingerprints) {
        std::string want = hex_to_bytes(f);
        if (!want.empty() && (want == cert_fp || want == key_fp)) out.verified = true;
      }
      if (!out.verified) {
        out.why = "certificate fingerprint does not match";
        out.error = VerifyError::FingerprintMismatch;
      }
      break;
    }
  }
  if (peer) X509_free(peer);
  ERR_clear_error();
  co_return std::error_code();
}

asio::awaitable<void> Stream::shutdown() {
  if (impl_->tls && impl_->socket.is_open()) {
    // One close_notify, without waiting for the peer's: a client that never
    // answers must not hold the session.
    SSL_shutdown(impl_->ssl);
    ERR_clear_error();
  }
  close();
  co_return;
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
  info.version = SSL_get_version(impl_->ssl);
  const SSL_CIPHER* c = SSL_get_current_cipher(impl_->ssl);
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
