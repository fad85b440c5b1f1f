// OpenSSL 3 EVP only.
#include "dkim/verify_crypto.h"

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>

namespace mailfort::dkim {
namespace {

struct PkeyFree {
  void operator()(EVP_PKEY* p) const { EVP_PKEY_free(p); }
};
struct MdCtxFree {
  void operator()(EVP_MD_CTX* c) const { EVP_MD_CTX_free(c); }
};
using Pkey = std::unique_ptr<EVP_PKEY, PkeyFree>;

const EVP_MD* md_of(Digest d) {
  return d == Digest::Sha1 ? EVP_sha1() : EVP_sha256();
}

Pkey read_rsa(std::string_view der) {
  auto* p = reinterpret_cast<const unsigned char*>(der.data());
  Pkey k(d2i_PUBKEY(nullptr, &p, static_cast<long>(der.size())));
  if (k && p != reinterpret_cast<const unsigned char*>(der.data()) + der.size()) k.reset();  // trailing junk
  if (!k) {
    // Some publishers put the bare PKCS#1 RSAPublicKey in p=.
    p = reinterpret_cast<const unsigned char*>(der.data());
    k.reset(d2i_PublicKey(EVP_PKEY_RSA, nullptr, &p, static_cast<long>(der.size())));
  }
  if (k && !EVP_PKEY_is_a(k.get(), "RSA")) k.reset();
  return k;
}

}  // namespace

struct Hasher::Impl {
  std::unique_ptr<EVP_MD_CTX, MdCtxFree> ctx{EVP_MD_CTX_new()};
};

Hasher::Hasher(Digest d) : impl_(std::make_unique<Impl>()) {
  EVP_DigestInit_ex(impl_->ctx.get(), md_of(d), nullptr);
}
Hasher::~Hasher() = default;
Hasher::Hasher(Hasher&&) noexcept = default;
Hasher& Hasher::operator=(Hasher&&) noexcept = default;

void Hasher::update(std::string_view data) {
  if (!data.empty()) EVP_DigestUpdate(impl_->ctx.get(), data.data(), data.size());
}

std::string Hasher::finish() {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  EVP_DigestFinal_ex(impl_->ctx.get(), md, &len);
  return std::string(reinterpret_cast<char*>(md), len);
}

std::string digest(Digest d, std::string_view data) {
  Hasher h(d);
  h.update(data);
  return h.finish();
}

namespace {

VerifyOutcome verify_with_openssl(PublicKeyType type, Digest d, std::string_view public_key,
                                  std::string_view data, std::string_view signature) {
  VerifyOutcome out;
  Pkey key;
  std::string message;
  const EVP_MD* md = nullptr;
  if (type == PublicKeyType::Rsa) {
    key = read_rsa(public_key);
    if (!key) return out;
    out.key_bits = EVP_PKEY_get_bits(key.get());
    if (out.key_bits < 1024) {
      out.status = VerifyOutcome::Status::KeyTooShort;
      return out;
    }
    message = std::string(data);
    md = md_of(d);
  } else {
    if (public_key.size() != 32 || d != Digest::Sha256) return out;
    key.reset(EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, nullptr,
                                          reinterpret_cast<const unsigned char*>(public_key.data()), 32));
    if (!key) return out;
    message = digest(Digest::Sha256, data);
  }
  std::unique_ptr<EVP_MD_CTX, MdCtxFree> ctx(EVP_MD_CTX_new());
  if (!ctx || EVP_DigestVerifyInit(ctx.get(), nullptr, md, nullptr, key.get()) != 1) return out;
  int rc =
      EVP_DigestVerify(ctx.get(), reinterpret_cast<const unsigned char*>(signature.data()), signature.size(),
                       reinterpret_cast<const unsigned char*>(message.data()), message.size());
  out.status = rc == 1 ? VerifyOutcome::Status::Ok : VerifyOutcome::Status::BadSignature;
  return out;
}

}  // namespace

VerifyOutcome verify_signature(PublicKeyType type, Digest d, std::string_view public_key,
                               std::string_view data, std::string_view signature) {
  VerifyOutcome out = verify_with_openssl(type, d, public_key, data, signature);
  // A rejected key or signature leaves errors on this thread's OpenSSL
  // queue, where a later TLS call on the same worker would read them.
  ERR_clear_error();
  return out;
}

}  // namespace mailfort::dkim
