// Inbound mail authentication in the SMTP session (issue 12): SPF at MAIL
// FROM, the message streamed into an auth::InboundMessage while DATA/BDAT
// arrive, and auth::evaluate() at end of data, all blocking work on the
// worker pool. MX listeners only: authenticated sessions and
// smtp.trusted_networks skip it, and [inbound] spf/dkim/dmarc/arc turn the
// checks on and off. The verdict goes into the SmtpTransaction, where the
// MX policy applies it (refuse, Junk folder, Authentication-Results).
#pragma once
#include <asio/awaitable.hpp>

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "auth/dns_source.h"
#include "auth/message_auth.h"
#include "base/cidr.h"
#include "base/config.h"
#include "proto/smtp/path.h"
#include "smtp/smtp_policy.h"

namespace mailfort::server {
struct Services;
}  // namespace mailfort::server

namespace mailfort::smtp {

// The checks [inbound] turns on, with our authserv-id.
auth::Checks inbound_checks(const config::Config& cfg);

class InboundAuth {
 public:
  InboundAuth(server::Services& services, std::shared_ptr<const config::Config> cfg);

  // Whether a client's mail is verified at all: not authenticated, not
  // from smtp.trusted_networks, and some check on.
  bool applies(const SmtpClient& c, const std::vector<Cidr>& trusted) const;

  // MAIL FROM: SPF of the MAIL FROM and HELO identities (stored in `txn`)
  // and the InboundMessage the session feeds. A refusal (550 5.7.23) only
  // with spf_reject_fail on an SPF fail; else an ok reply.
  asio::awaitable<SmtpReply> at_mail_from(const SmtpClient& c, const proto::smtp::PathArgs& from,
                                          SmtpTransaction& txn);

  // End of data: DKIM, ARC, DMARC and the disposition into txn.verdict,
  // and one log line. Nothing when at_mail_from() did not start the
  // transaction's InboundMessage.
  asio::awaitable<void> at_end_of_data(const SmtpClient& c, SmtpTransaction& txn);

  // The message as delivered: Authentication-Results fields claiming our
  // authserv-id removed, ours in front (the Received header goes above
  // both). Unchanged when there is no verdict.
  std::string stamp(const SmtpTransaction& txn, std::string_view message) const;

  // Greylisting exemptions from mail authentication (at RCPT, on the worker
  // pool): SPF passed for a MAIL FROM domain whose DMARC policy is reject
  // (forging it would be refused anyway), or a sender domain whose mail
  // passed DKIM before (remembered at end of data).
  struct GreylistHints {
    bool spf_pass_dmarc_reject = false;
    bool dkim_verified_known_domain = false;
  };
  asio::awaitable<GreylistHints> greylist_hints(const SmtpTransaction& txn);

 private:
  server::Services& services_;
  std::shared_ptr<const config::Config> cfg_;
  auth::Checks checks_;
  std::unique_ptr<auth::DnsSource> dns_;
};

// Blocking: delivers `message` into the Junk folder ([imap] junk_folder,
// created when missing) of each local mailbox.
Result<void> deliver_to_junk(server::Services& services, const std::string& junk_folder,
                             const std::vector<std::string>& mailboxes, std::string_view message);

}  // namespace mailfort::smtp
