// SMTP policies: what each kind of listener accepts. One SMTP engine
// (smtp_session.cpp) owns transaction order and the wire; it asks the
// listener's policy at HELO, MAIL, RCPT and end of data (Dovecot lib-smtp's
// server callbacks). MxPolicy is the port-25 MX (S2-S5, Q5); SubmissionPolicy
// is 587/465 (L2, L3, S6, S8). Both apply the sending limits (Q7) at MAIL.
#pragma once
#include <asio/awaitable.hpp>

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "auth/inbound_message.h"
#include "auth/message_auth.h"
#include "base/config.h"
#include "policy/send_limiter.h"
#include "proto/smtp/path.h"
#include "proto/smtp/reply.h"

namespace mailfort::server {
struct Services;
}  // namespace mailfort::server

namespace mailfort::smtp {

// The replies the engine sends and the policies decide (code, enhanced
// status code, text).
using SmtpReply = proto::smtp::Reply;

// What the engine knows about the client; policies read it.
struct SmtpClient {
  uint64_t session = 0;
  std::string ip;
  std::string helo;
  bool esmtp = false;
  bool tls = false;
  std::string tls_version, tls_cipher;
  int tls_bits = 0;
  std::string auth_user;  // "" = not authenticated
  std::string listener;
};

struct SmtpTransaction {
  std::string sender;  // "" = null sender
  bool smtputf8 = false;
  bool eight_bit = false;
  std::vector<std::string> rcpts;      // accepted, as given (for logs)
  std::vector<std::string> mailboxes;  // local delivery, deduplicated
  std::vector<std::string> forwards;   // remote (queue), deduplicated
  // A forward that an alias or SRS address of ours sends on -> that local
  // domain (the one SRS rewrites the sender to; smtp_forwarding.h).
  std::map<std::string, std::string> forwarded_by;
  // Q7: this message counted against the sending limits since MAIL FROM;
  // released with the transaction unless the message is accepted.
  policy::SendLimiter::Reservation send_quota;
  // Inbound authentication (MX, inbound_auth.h): SPF found at MAIL FROM,
  // the message as it streams in (null when the checks do not apply), and
  // the verdict at end of data, which later steps (SRS, ARC sealing, DMARC
  // reports) read.
  std::optional<auth::SpfOutcome> spf, spf_helo;
  std::unique_ptr<auth::InboundMessage> inbound;
  std::optional<auth::Verdict> verdict;
  // Filtering (inbound_filter.h): the queue id chosen at end of data (the
  // scanners log it), and whether local copies go to the Junk folder.
  std::string queue_id;
  bool junk = false;
  // What the spam engine and the virus scanner found (Sieve's spamtest and
  // virustest, RFC 5235): the engine's score when it scanned, and 1 (clean,
  // scanned) when the antivirus passed the message; nullopt = not tested.
  // `spam_flagged`: the engine or a milter called it spam (X-Spam-Flag);
  // the global Sieve script files it, this is the fallback without Sieve.
  std::optional<double> spam_score;
  std::optional<int> virus;
  bool spam_flagged = false;
  // Sieve's envelope "to" (RFC 5228 5.4): the RCPT address as given (an
  // alias, a +detail address) that first resolved to each local mailbox.
  std::map<std::string, std::string> rcpt_of;
};

class SmtpPolicy {
 public:
  virtual ~SmtpPolicy() = default;
  // Before the greeting (MX: postscreen, smtp/mx_screen.h): nullopt greets
  // the client, a reply is sent instead and the session ends.
  virtual asio::awaitable<std::optional<SmtpReply>> on_connect(const SmtpClient& c) {
    co_return std::nullopt;
  }
  virtual asio::awaitable<SmtpReply> on_helo(const SmtpClient& c, const std::string& name) = 0;
  // May attach state to `txn` (the sending-limit reservation) when accepted.
  virtual asio::awaitable<SmtpReply> on_mail(const SmtpClient& c, const proto::smtp::PathArgs& from,
                                             SmtpTransaction& txn) = 0;
  // Adds the resolved destinations to `txn` when accepted.
  virtual asio::awaitable<SmtpReply> on_rcpt(const SmtpClient& c, const proto::smtp::PathArgs& to,
                                             SmtpTransaction& txn) = 0;
  // Header processing and durable delivery; the reply is the DATA/BDAT
  // reply. May set `txn.verdict` (MX).
  virtual asio::awaitable<SmtpReply> on_message(const SmtpClient& c, SmtpTransaction& txn,
                                                std::string message) = 0;
};

std::unique_ptr<SmtpPolicy> make_smtp_policy(server::Services& services,
                                             std::shared_ptr<const config::Config> cfg,
                                             const config::Listener& listener);

}  // namespace mailfort::smtp
