#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <cctype>

#include "tls/client.h"

namespace mailfort::tls {

std::string hex_to_bytes(const std::string& hex) {
  std::string out;
  int hi = -1;
  for (char c : hex) {
    if (c == ':') continue;
    int v = std::isdigit(static_cast<unsigned char>(c)) ? c - '0'
            : (c >= 'a' && c <= 'f')                    ? c - 'a' + 10
            : (c >= 'A' && c <= 'F')                    ? c - 'A' + 10
                                                        : -1;
    if (v < 0) return {};
    if (hi < 0) {
      hi = v;
    } else {
      out.push_back(static_cast<char>(hi * 16 + v));
      hi = -1;
    }
  }
  return hi < 0 ? out : std::string();
}

Result<std::shared_ptr<ClientContext>> ClientContext::create(const std::string& ca_file) {
  SSL_CTX* ctx = SSL_CTX_new(TLS_client_method());
  if (!ctx) return make_error(Errc::Temp, "cannot create TLS client context");
  std::shared_ptr<ClientContext> c(new ClientContext());
  c->ctx_ = ctx;
  SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
  SSL_CTX_set_options(ctx, SSL_OP_NO_COMPRESSION | SSL_OP_NO_RENEGOTIATION);
  SSL_CTX_set_mode(ctx, SSL_MODE_RELEASE_BUFFERS);
  if (ca_file.empty())
    SSL_CTX_set_default_verify_paths(ctx);
  else if (SSL_CTX_load_verify_locations(ctx, ca_file.c_str(), nullptr) != 1)
    return make_error(Errc::Invalid, "cannot load CA file " + ca_file);
  // DANE (RFC 7671/7672) through OpenSSL's API.
  if (SSL_CTX_dane_enable(ctx) <= 0) return make_error(Errc::Temp, "OpenSSL without DANE support");
  // Verification result is inspected after the handshake, per policy.
  SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, nullptr);
  ERR_clear_error();
  return c;
}

ClientContext::~ClientContext() {
  if (ctx_) SSL_CTX_free(static_cast<SSL_CTX*>(ctx_));
}

void* ClientContext::native() const {
  return ctx_;
}

}  // namespace mailfort::tls
