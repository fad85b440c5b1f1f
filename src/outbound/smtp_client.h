// Outbound SMTP client (RFC 5321), in two halves like Postfix's smtp(8)
// with its connection cache: smtp_open() sets a session up (connect,
// greeting, EHLO with HELO fallback, STARTTLS as the TLS policy demands,
// EHLO again) and SmtpSession::transaction() runs one MAIL/RCPT/DATA
// (pipelined when offered) with per-recipient results, so one connection
// can carry several messages one after another (RSET after an aborted
// transaction). Faces untrusted input (remote replies, bounded).
#pragma once
#include <asio/awaitable.hpp>
#include <asio/ip/tcp.hpp>

#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "outbound/tlsrpt_report.h"
#include "tls/client.h"

namespace mailfort::server {
class Connection;
}

namespace mailfort::outbound {

struct TlsRequirement {
  bool attempt = true;     // use STARTTLS when offered (not for policy "none")
  bool mandatory = false;  // no STARTTLS or failed handshake -> defer, never plaintext
  tls::ClientParams params;
  std::string policy;  // for logs: "dane", "may", ...
  // For TLS reports (RFC 8460): the policy that applied ("sts", "tlsa",
  // else "no-policy-found") and its strings.
  TlsReportPolicy report{"no-policy-found", {}, {}};
};

struct ClientTransaction {
  std::string sender;
  std::vector<std::string> recipients;
  std::shared_ptr<const std::string> message;  // CRLF lines
  bool smtputf8 = false, eight_bit = false;
};

struct RecipientOutcome {
  enum class Kind { Delivered, Temp, Perm } kind = Kind::Temp;
  std::string reply;  // remote reply summary or our reason

  // Not delivered: Perm when `permanent`, else Temp.
  static RecipientOutcome failure(bool permanent, std::string reply) {
    return {permanent ? Kind::Perm : Kind::Temp, std::move(reply)};
  }
};

struct HostOutcome {
  bool session_ok = false;  // reached the point where recipients got answers
  bool permanent = false;   // the whole transaction failed permanently (5xx at MAIL/DATA, SMTPUTF8...)
  // The connection broke before MAIL was accepted: nothing reached the
  // remote, so the message may be retried on a fresh connection at once.
  bool lost_before_mail = false;
  std::string error;                         // why the host failed (connect, TLS policy, greeting...)
  std::string tls;                           // "TLSv1.3 TLS_AES_256_GCM_SHA384 verified" or ""
  std::vector<RecipientOutcome> recipients;  // parallel to ClientTransaction::recipients
};

struct ClientSettings {
  std::chrono::seconds connect_timeout{30};
  std::chrono::seconds command_timeout{300};
  std::string source_address;
};

// An established session, ready for MAIL. Used by one coroutine at a time.
class SmtpSession {
 public:
  SmtpSession(std::shared_ptr<server::Connection> conn, ClientSettings settings, std::string remote_name);
  ~SmtpSession();

  // One transaction. Afterwards usable() tells whether another may follow.
  asio::awaitable<HostOutcome> transaction(ClientTransaction tx);
  // QUIT and close (also fine on a broken session).
  asio::awaitable<void> quit();

  bool usable() const { return usable_; }
  std::size_t transactions() const { return transactions_; }
  const std::string& tls() const { return tls_; }
  const std::string& remote_name() const { return remote_name_; }

 private:
  friend class SessionSetup;
  // Ends a transaction that delivers nothing: the message's end at once
  // when DATA was already accepted (`in_data`), then RSET; the session
  // stays usable only if RSET is accepted.
  asio::awaitable<void> abandon(bool in_data);

  std::shared_ptr<server::Connection> conn_;
  ClientSettings settings_;
  std::string remote_name_;
  std::string tls_;
  bool esmtp_ = false, pipelining_ = false, smtputf8_ = false, eightbitmime_ = false, has_size_ = false;
  uint64_t size_limit_ = 0;
  bool usable_ = true;
  std::size_t transactions_ = 0;
};

struct SessionOpen {
  std::unique_ptr<SmtpSession> session;  // null on failure
  bool permanent = false;                // 5xx greeting
  std::string error;
  // TLS reports (RFC 8460): a TLS session was wanted (STARTTLS attempted
  // or missing where the policy asked for it) and how it ended.
  bool tls_attempted = false;
  TlsResult tls_result = TlsResult::Success;
};

// Connects and sets up a session (never a plaintext fallback when the
// policy needs TLS).
asio::awaitable<SessionOpen> smtp_open(asio::ip::tcp::endpoint remote, std::string remote_name,
                                       TlsRequirement tls, std::shared_ptr<tls::ClientContext> tls_ctx,
                                       std::string helo, ClientSettings settings);

}  // namespace mailfort::outbound
