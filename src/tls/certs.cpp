#include <fcntl.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509v3.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <memory>

#include "tls/certs.h"

namespace mailfort::tls {
namespace {

struct FileCloser {
  void operator()(FILE* f) const {
    if (f) std::fclose(f);
  }
};
using File = std::unique_ptr<FILE, FileCloser>;
struct X509Free {
  void operator()(X509* x) const { X509_free(x); }
};
struct PkeyFree {
  void operator()(EVP_PKEY* k) const { EVP_PKEY_free(k); }
};
using X509Ptr = std::unique_ptr<X509, X509Free>;
using PkeyPtr = std::unique_ptr<EVP_PKEY, PkeyFree>;

bool add_ext(X509* cert, int nid, const char* value) {
  X509V3_CTX ctx;
  X509V3_set_ctx_nodb(&ctx);
  X509V3_set_ctx(&ctx, cert, cert, nullptr, nullptr, 0);
  X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, &ctx, nid, value);
  if (!ext) return false;
  bool ok = X509_add_ext(cert, ext, -1) == 1;
  X509_EXTENSION_free(ext);
  return ok;
}

X509Ptr read_cert(const std::string& file) {
  File f(std::fopen(file.c_str(), "r"));
  if (!f) return nullptr;
  return X509Ptr(PEM_read_X509(f.get(), nullptr, nullptr, nullptr));
}

}  // namespace

Result<void> generate_self_signed(const std::string& hostname, const std::string& cert_file,
                                  const std::string& key_file) {
  if (::access(cert_file.c_str(), F_OK) == 0 || ::access(key_file.c_str(), F_OK) == 0) {
    return make_error(Errc::Exists, "refusing to overwrite " + cert_file + " or " + key_file);
  }
  PkeyPtr key(EVP_EC_gen("P-256"));
  if (!key) return make_error(Errc::Perm, "cannot generate an EC key");
  X509Ptr cert(X509_new());
  X509_set_version(cert.get(), 2);
  unsigned char serial[16];
  RAND_bytes(serial, sizeof serial);
  serial[0] &= 0x7F;  // positive
  BIGNUM* bn = BN_bin2bn(serial, sizeof serial, nullptr);
  BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(cert.get()));
  BN_free(bn);
  X509_gmtime_adj(X509_getm_notBefore(cert.get()), -3600);
  X509_gmtime_adj(X509_getm_notAfter(cert.get()), 825L * 24 * 3600);
  X509_set_pubkey(cert.get(), key.get());
  X509_NAME* name = X509_get_subject_name(cert.get());
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
                             reinterpret_cast<const unsigned char*>(hostname.c_str()), -1, -1, 0);
  X509_set_issuer_name(cert.get(), name);
  std::string san = "DNS:" + hostname;
  if (!add_ext(cert.get(), NID_subject_alt_name, san.c_str()) ||
      !add_ext(cert.get(), NID_basic_constraints, "critical,CA:FALSE") ||
      !add_ext(cert.get(), NID_key_usage, "critical,digitalSignature") ||
      !add_ext(cert.get(), NID_ext_key_usage, "serverAuth") ||
      X509_sign(cert.get(), key.get(), EVP_sha256()) == 0) {
    return make_error(Errc::Perm, "cannot build the certificate");
  }
  int kfd = ::open(key_file.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (kfd < 0) return make_error(Errc::Perm, "cannot create " + key_file + ": " + std::strerror(errno));
  File kf(::fdopen(kfd, "w"));
  if (!kf || PEM_write_PrivateKey(kf.get(), key.get(), nullptr, nullptr, 0, nullptr, nullptr) != 1) {
    return make_error(Errc::Perm, "cannot write " + key_file);
  }
  int cfd = ::open(cert_file.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
  if (cfd < 0) return make_error(Errc::Perm, "cannot create " + cert_file + ": " + std::strerror(errno));
  File cf(::fdopen(cfd, "w"));
  if (!cf || PEM_write_X509(cf.get(), cert.get()) != 1)
    return make_error(Errc::Perm, "cannot write " + cert_file);
  return {};
}

std::vector<CertProblem> check_cert_key(const std::string& cert_file, const std::string& key_file) {
  using W = CertProblem::Which;
  std::vector<CertProblem> out;
  X509Ptr cert;
  PkeyPtr key;
  if (::access(cert_file.c_str(), R_OK) != 0) {
    out.push_back({W::Cert, "certificate " + cert_file + " is not readable: " + std::strerror(errno)});
  } else if (!(cert = read_cert(cert_file))) {
    out.push_back({W::Cert, "certificate " + cert_file + " is not a PEM certificate"});
  }
  if (::access(key_file.c_str(), R_OK) != 0) {
    out.push_back({W::Key, "key " + key_file + " is not readable: " + std::strerror(errno)});
  } else {
    File f(std::fopen(key_file.c_str(), "r"));
    if (f) key.reset(PEM_read_PrivateKey(f.get(), nullptr, nullptr, nullptr));
    if (!key) out.push_back({W::Key, "key " + key_file + " is not a PEM private key"});
  }
  ERR_clear_error();
  if (cert && key && X509_check_private_key(cert.get(), key.get()) != 1) {
    out.push_back({W::Key, "key " + key_file + " does not match certificate " + cert_file});
  }
  if (cert) {
    if (X509_cmp_current_time(X509_get0_notAfter(cert.get())) < 0) {
      out.push_back({W::Cert, "certificate " + cert_file + " has expired"});
    }
    if (X509_cmp_current_time(X509_get0_notBefore(cert.get())) > 0) {
      out.push_back({W::Cert, "certificate " + cert_file + " is not valid yet"});
    }
  }
  ERR_clear_error();
  return out;
}

Result<std::string> spki_sha256_hex(const std::string& cert_file) {
  X509Ptr cert = read_cert(cert_file);
  if (!cert) return make_error(Errc::Invalid, "cannot read certificate " + cert_file);
  unsigned char* der = nullptr;
  int len = i2d_X509_PUBKEY(X509_get_X509_PUBKEY(cert.get()), &der);
  if (len <= 0) return make_error(Errc::Invalid, "cannot encode the public key");
  unsigned char md[32];
  EVP_Digest(der, static_cast<size_t>(len), md, nullptr, EVP_sha256(), nullptr);
  OPENSSL_free(der);
  static const char* hex = "0123456789abcdef";
  std::string out;
  for (unsigned char b : md) {
    out.push_back(hex[b >> 4]);
    out.push_back(hex[b & 15]);
  }
  return out;
}

}  // namespace mailfort::tls
