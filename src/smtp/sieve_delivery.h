// Sieve at local delivery (issue 14): the SMTP side. At the commit of a
// message (BasePolicy::commit's worker hop) each local mailbox's script
// chain (global before, the user's active script, global after) runs on
// the final message, and its Outcome is carried out: a plain keep joins
// the group-commit fast path (hard links, as without Sieve); flags, an
// edited message or fileinto append through UserMailbox; redirect, the
// vacation reply and the reject MDN become queue files committed with the
// local copies; reject of a message with one local recipient becomes the
// DATA reply. Blocking: call on the worker pool.
#pragma once
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/config.h"
#include "base/result.h"
#include "sieve/interpreter.h"
#include "smtp/smtp_policy.h"
#include "store/group_commit.h"

namespace mailfort::server {
struct Services;
}

namespace mailfort::smtp {

struct SievePlan {
  // The mailboxes whose copy is a plain INBOX keep (or that run no
  // script): the caller stores them on the fast path.
  std::vector<std::string> inbox;
  // Spam-flagged mail whose global scripts could not run (a before script
  // that does not compile, a run-time error): to the Junk folder as without
  // Sieve, so a broken spam script does not flood the inbox.
  std::vector<std::string> junk;
  // The reply that refuses the whole message (reject with one local
  // recipient and no forwards, RFC 5429 2.1): nothing is stored.
  std::optional<SmtpReply> reject;
  struct Box {
    std::string mailbox;
    std::string rcpt;  // the RCPT address that resolved to it
    sieve::Outcome outcome;
  };
  std::vector<Box> boxes;  // mailboxes whose scripts did something else
};

// Whether Sieve runs at all for this delivery (enabled service).
bool sieve_applies(const server::Services& services);

// Runs the chains. `message` is the final message (our trace fields on).
SievePlan plan_sieve(server::Services& services, const config::Config& cfg, const SmtpClient& c,
                     const SmtpTransaction& txn, const std::string& id, const std::string& message);

struct SieveExecution {
  std::vector<store::RenameStep> steps;  // queue files (redirect, vacation, MDN) for the caller's commit
  std::vector<std::string> queue_ids;    // to notify once committed
  struct Mark {
    std::string user;
    sieve::DuplicateMark mark;
  };
  std::vector<Mark> marks;         // duplicate ids to record once committed
  std::vector<std::string> inbox;  // more plain-INBOX copies (a script's explicit keep)
};

// Carries out plan.boxes: appends now (UserMailbox commits them), queue
// files prepared for the caller's commit.
Result<SieveExecution> execute_sieve(server::Services& services, const config::Config& cfg,
                                     const SmtpClient& c, const SmtpTransaction& txn, const std::string& id,
                                     const std::string& message, const SievePlan& plan,
                                     bool sender_is_outside);

// After the commit: duplicate marks recorded, the delivery engine told.
void sieve_committed(server::Services& services, const SieveExecution& ex);

// The RFC 5429 2.2 / RFC 3798 MDN refusing `original` for `user`.
std::string make_reject_mdn(const std::string& user, const std::string& to, const std::string& reason,
                            std::string_view original, const std::string& hostname, const std::string& unique,
                            int64_t now);

// The "sieve:" flags of an action mapped to the store's encoding: system
// flags as bits, the rest keywords (atoms only; others dropped).
void sieve_flags(const std::vector<std::string>& in, uint32_t& flags, std::vector<std::string>& keywords);

}  // namespace mailfort::smtp
