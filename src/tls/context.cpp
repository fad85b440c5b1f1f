#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include <asio/ssl/context.hpp>

#include "tls/context.h"

namespace mailfort::tls {
namespace {

constexpr const char* kDefaultCiphers =
    "ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:ECDHE-ECDSA-CHACHA20-POLY1305:"
    "ECDHE-RSA-CHACHA20-POLY1305:ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256";

std::string openssl_reason() {
  unsigned long e = ERR_peek_last_error();
  ERR_clear_error();
  if (e == 0) return "unknown error";
  char buf[256];
  ERR_error_string_n(e, buf, sizeof buf);
  return buf;
}

std::string hex_fingerprint(X509* cert) {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int n = 0;
  if (!X509_digest(cert, EVP_sha256(), md, &n)) return "?";
  std::string out;
  static const char* hex = "0123456789ABCDEF";
  for (unsigned i = 0; i < n; ++i) {
    if (i) out.push_back(':');
    out.push_back(hex[md[i] >> 4]);
    out.push_back(hex[md[i] & 15]);
  }
  return out;
}

}  // namespace

struct ServerContext::Impl {
  asio::ssl::context ctx{asio::ssl::context::tls_server};
};

ServerContext::ServerContext(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
ServerContext::~ServerContext() = default;

void* ServerContext::native() const {
  return &impl_->ctx;
}

Result<std::shared_ptr<ServerContext>> ServerContext::create(const ServerSettings& s) {
  auto impl = std::make_unique<Impl>();
  auto& ctx = impl->ctx;
  SSL_CTX* native = ctx.native_handle();
  ERR_clear_error();
  ctx.set_options(asio::ssl::context::default_workarounds | asio::ssl::context::no_sslv2 |
                  asio::ssl::context::no_sslv3 | asio::ssl::context::no_tlsv1 |
                  asio::ssl::context::no_tlsv1_1 | asio::ssl::context::single_dh_use);
  SSL_CTX_set_options(native,
                      SSL_OP_NO_COMPRESSION | SSL_OP_NO_RENEGOTIATION | SSL_OP_CIPHER_SERVER_PREFERENCE);
  int min = s.min_version == "1.3" ? TLS1_3_VERSION : TLS1_2_VERSION;
  if (s.min_version != "1.2" && s.min_version != "1.3") {
    return make_error(Errc::Invalid, "tls min_version must be 1.2 or 1.3");
  }
  SSL_CTX_set_min_proto_version(native, min);
  const char* ciphers = s.ciphers.empty() ? kDefaultCiphers : s.ciphers.c_str();
  if (SSL_CTX_set_cipher_list(native, ciphers) != 1) {
    return make_error(Errc::Invalid, "tls ciphers: " + openssl_reason());
  }
  if (!s.ciphersuites.empty() && SSL_CTX_set_ciphersuites(native, s.ciphersuites.c_str()) != 1) {
    return make_error(Errc::Invalid, "tls ciphersuites: " + openssl_reason());
  }
  SSL_CTX_set1_groups_list(native, "X25519:P-256:P-384");
  // Idle connections keep no TLS buffers (memory per connection).
  SSL_CTX_set_mode(native, SSL_MODE_RELEASE_BUFFERS);
  SSL_CTX_set_session_cache_mode(native, SSL_SESS_CACHE_SERVER);
  static const unsigned char sid[] = "mailfort";
  SSL_CTX_set_session_id_context(native, sid, sizeof sid - 1);
  if (SSL_CTX_use_certificate_chain_file(native, s.cert_file.c_str()) != 1) {
    return make_error(Errc::Invalid, "tls certificate " + s.cert_file + ": " + openssl_reason());
  }
  if (SSL_CTX_use_PrivateKey_file(native, s.key_file.c_str(), SSL_FILETYPE_PEM) != 1) {
    return make_error(Errc::Invalid, "tls key " + s.key_file + ": " + openssl_reason());
  }
  if (SSL_CTX_check_private_key(native) != 1) {
    return make_error(Errc::Invalid, "tls key " + s.key_file + " does not match certificate " + s.cert_file);
  }
  return std::shared_ptr<ServerContext>(new ServerContext(std::move(impl)));
}

std::string ServerContext::describe() const {
  X509* cert = SSL_CTX_get0_certificate(impl_->ctx.native_handle());
  if (!cert) return "(no certificate)";
  char cn[256] = "?";
  X509_NAME_get_text_by_NID(X509_get_subject_name(cert), NID_commonName, cn, sizeof cn);
  return std::string("CN=") + cn + " sha256=" + hex_fingerprint(cert);
}

Result<void> ContextHolder::reload(const ServerSettings& settings) {
  auto next = ServerContext::create(settings);
  if (!next) return next.error();
  std::lock_guard lock(mu_);
  current_ = std::move(next.value());
  return {};
}

}  // namespace mailfort::tls
