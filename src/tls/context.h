// Server TLS contexts. The only module (with the later DKIM/crypto module)
// that includes OpenSSL; everything else sees these opaque types.
//
// Policy (RFC 8996, BSI TR-02102-2): TLS 1.2 minimum (1.3 preferred), AEAD +
// forward-secret ciphers only for 1.2, no compression, no renegotiation,
// server cipher preference, session tickets on. A context is immutable once
// built; reload builds a new one and swaps it in for new connections, so
// established sessions keep theirs (certificate renewal without drops).
#pragma once
#include <memory>
#include <mutex>
#include <string>

#include "base/result.h"

namespace mailfort::tls {

struct ServerSettings {
  std::string cert_file;
  std::string key_file;
  std::string min_version = "1.2";  // "1.2" | "1.3"
  std::string ciphers;              // empty = built-in AEAD+ECDHE list
  std::string ciphersuites;         // empty = OpenSSL's TLS 1.3 default
};

class ServerContext {
 public:
  // Loads chain and key, checks they match, applies the policy.
  static Result<std::shared_ptr<ServerContext>> create(const ServerSettings& settings);
  ~ServerContext();
  ServerContext(const ServerContext&) = delete;
  ServerContext& operator=(const ServerContext&) = delete;

  // Opaque handle for tls::Stream (an asio::ssl::context*).
  void* native() const;
  // Subject CN / first SAN of the leaf, and its SHA-256 fingerprint (hex), for logs.
  std::string describe() const;

 private:
  struct Impl;
  explicit ServerContext(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// Holds the current context; reload() swaps atomically for new connections.
class ContextHolder {
 public:
  explicit ContextHolder(std::shared_ptr<ServerContext> initial) : current_(std::move(initial)) {}
  std::shared_ptr<ServerContext> current() const {
    std::lock_guard lock(mu_);
    return current_;
  }
  // On failure the old context stays in place.
  Result<void> reload(const ServerSettings& settings);

 private:
  mutable std::mutex mu_;
  std::shared_ptr<ServerContext> current_;
};

}  // namespace mailfort::tls
