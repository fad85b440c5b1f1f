// Spam and virus filtering in the SMTP session (issue 13) at end of data,
// after mail authentication and before the message is committed: spam
// headers from outside removed, clamd, the listener's milters, then the
// spam engine; all blocking work in one worker-pool hop. What it decides
// goes into the SmtpTransaction (Junk folder, queue id) and the message
// (headers, milter changes); a refusal comes back as the DATA reply.
//
// MX listeners get the whole treatment. Submission gets clamd and milters;
// the spam engine scores it for the log and the history but never refuses
// it and adds no headers (a stolen account is stopped by the sending
// limits, S7/Q7).
#pragma once
#include <asio/awaitable.hpp>

#include <memory>
#include <optional>
#include <string>

#include "base/config.h"
#include "smtp/smtp_policy.h"

namespace mailfort::server {
struct Services;
}  // namespace mailfort::server

namespace mailfort::smtp {

class InboundFilter {
 public:
  InboundFilter(server::Services& services, std::shared_ptr<const config::Config> cfg,
                const config::Listener& listener, bool mx);

  // txn.queue_id is set (the scanners and the history name it). nullopt:
  // go on and commit `message`;
  // otherwise the reply to send (a refusal, or 250 for a milter's discard,
  // with nothing stored).
  asio::awaitable<std::optional<SmtpReply>> at_end_of_data(const SmtpClient& c, SmtpTransaction& txn,
                                                           std::string& message);

 private:
  server::Services& services_;
  std::shared_ptr<const config::Config> cfg_;
  config::Listener listener_;
  bool mx_;
};

}  // namespace mailfort::smtp
