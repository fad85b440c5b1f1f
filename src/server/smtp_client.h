// Outbound SMTP client: one transaction to one remote host (RFC 5321):
// greeting, EHLO (HELO fallback), STARTTLS as the TLS policy demands,
// MAIL/RCPT/DATA with PIPELINING when offered, per-recipient results.
// Faces untrusted input (remote replies).
#pragma once
#include <asio/awaitable.hpp>
#include <asio/ip/tcp.hpp>

#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "tls/client.h"

namespace mailfort::server {

struct TlsRequirement {
  bool attempt = true;     // use STARTTLS when offered (not for policy "none")
  bool mandatory = false;  // no STARTTLS or failed handshake -> defer, never plaintext
  tls::ClientParams params;
  std::string policy;  // for logs: "dane", "may", ...
};

struct ClientTransaction {
  std::string helo;  // our hostname
  std::string sender;
  std::vector<std::string> recipients;
  const std::string* message = nullptr;  // CRLF lines
  bool smtputf8 = false, eight_bit = false;
};

struct RecipientOutcome {
  enum class Kind { Delivered, Temp, Perm } kind = Kind::Temp;
  std::string reply;  // remote reply summary or our reason
};

struct HostOutcome {
  bool session_ok = false;  // reached the point where recipients got answers
  bool permanent = false;   // the whole transaction failed permanently (5xx at MAIL/DATA, SMTPUTF8...)
  std::string error;        // why the host failed (connect, TLS policy, greeting...)
  std::string tls;          // "TLSv1.3 TLS_AES_256_GCM_SHA384 verified" or ""
  std::vector<RecipientOutcome> recipients;  // parallel to ClientTransaction::recipients
};

struct ClientSettings {
  std::chrono::seconds connect_timeout{30};
  std::chrono::seconds command_timeout{300};
  std::string source_address;
};

asio::awaitable<HostOutcome> smtp_deliver(asio::ip::tcp::endpoint remote, const std::string& remote_name,
                                          const TlsRequirement& tls,
                                          std::shared_ptr<tls::ClientContext> tls_ctx,
                                          const ClientTransaction& tx, const ClientSettings& settings);

}  // namespace mailfort::server
