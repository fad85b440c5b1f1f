// Forwarded mail that still authenticates (issue 12): the SMTP side of
// SRS and of ARC sealing. At RCPT, an SRS address at one of our domains
// (a bounce of mail we forwarded) is validated and routed back to the
// original sender, or refused when forged or expired. At commit, the
// remote recipients of a message are split into queue files by the
// envelope sender they need: mail an alias forwards for an outside client
// gets the SRS address of the alias's domain, so SPF passes at the
// destination. The policies (smtp_policy.cpp) only call these; all runs
// on the worker pool (directory lookups, file reads).
#pragma once
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "auth/message_auth.h"
#include "proto/smtp/path.h"
#include "smtp/smtp_policy.h"

namespace mailfort::auth {
class Srs;
}  // namespace mailfort::auth
namespace mailfort::directory {
class Directory;
}

namespace mailfort::smtp {

// The outcome of RCPT TO an SRS address of ours.
struct SrsRecipient {
  std::string original;  // where the message goes (valid address)
  SmtpReply refusal;     // when !ok(): forged or expired
};

// Blocking. nullopt when `to` is not an SRS address at one of our domains
// (or SRS is off: `srs` null); the recipient is then resolved as usual.
std::optional<SrsRecipient> srs_recipient(const auth::Srs* srs, directory::Directory& dir,
                                          const proto::smtp::Mailbox& to, int64_t now, uint64_t session);

// One queue file of a message's remote recipients.
struct ForwardCopy {
  std::string id;  // queue id (the message's id for the first copy)
  std::string sender;
  std::vector<std::string> recipients;
  std::string forwarded_by;  // our domain that rewrote the sender (SRS) and seals the copy; "" = neither
};

// Groups `txn.forwards` by envelope sender. With `rewrite` (mail from
// outside, neither authenticated nor from trusted_networks) the
// recipients an alias or SRS address of ours forwards to get
// srs->forward(sender, that domain); every other recipient keeps the
// sender as it came. Pure.
std::vector<ForwardCopy> forward_copies(const auth::Srs* srs, const SmtpTransaction& txn, bool rewrite,
                                        const std::string& id, int64_t now);

// Blocking (signing). The ARC set (RFC 8617) that `domain` prepends to
// `message` it forwards: our verification results (`verdict`) sealed with
// the domain's DKIM key, so the final receiver can trust what we saw
// before forwarding changed the envelope. RSA is preferred (what ARC
// verifiers support), else the domain's other key. "" when the domain has
// no key or sealing fails (logged): the message is forwarded unsealed.
std::string arc_set(const std::string& data_dir, const std::string& domain, const auth::Verdict& verdict,
                    const std::string& authserv_id, std::string_view message, int64_t now);

}  // namespace mailfort::smtp
