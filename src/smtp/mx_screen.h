// The postscreen checks of one MX session (src/postscreen does the work):
// at connect, before the greeting, the client's access-list entry, the DNS
// block/allow lists and FCrDNS; at MAIL FROM the sender's access-list
// entry; at RCPT, once the recipient is known to be valid, greylisting.
// Clients in smtp.trusted_networks, authenticated clients and access-list
// `permit` entries skip the lists, FCrDNS and greylisting. Submission
// listeners never get here. Every lookup runs on the worker pool; the
// DNSBL lookups of one client run concurrently and are awaited together,
// together at most [inbound] dnsbl_timeout_seconds (a list that has not
// answered by then counts 0). One log line per decision: `postscreen <what> ...`.
#pragma once
#include <asio/awaitable.hpp>

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "base/cidr.h"
#include "base/config.h"
#include "smtp/smtp_policy.h"

namespace mailfort::smtp {

// Greylisting exemptions the SMTP layer computes from mail authentication
// (InboundAuth::greylist_hints): SPF pass at MAIL FROM for a sender domain
// whose DMARC policy is reject; and a sender domain on Postscreen's list of
// domains whose mail passed DKIM before (InboundAuth::at_end_of_data calls
// remember_verified_domain for each passing signature).
struct GreylistExemptions {
  bool spf_pass_dmarc_reject = false;
  bool dkim_verified_known_domain = false;
};

class MxScreen {
 public:
  MxScreen(server::Services& services, std::shared_ptr<const config::Config> cfg);

  // nullopt: greet the client. Otherwise the reply to send instead of the
  // greeting, after which the session ends.
  asio::awaitable<std::optional<SmtpReply>> on_connect(const SmtpClient& c);
  // A refusal (554 5.7.1) for a rejected sender, else an ok() reply.
  asio::awaitable<SmtpReply> on_mail(const SmtpClient& c, const std::string& sender);
  // 451 4.7.1 while the triplet is greylisted, else an ok() reply.
  asio::awaitable<SmtpReply> on_rcpt(const SmtpClient& c, const std::string& sender, const std::string& rcpt,
                                     const GreylistExemptions& exempt);

 private:
  bool exempt(const SmtpClient& c) const;

  server::Services& services_;
  std::shared_ptr<const config::Config> cfg_;
  std::vector<Cidr> trusted_;
  bool client_permitted_ = false;  // access permit for the client's address
  bool sender_permitted_ = false;  // access permit for this transaction's sender
};

}  // namespace mailfort::smtp
