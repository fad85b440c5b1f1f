// One milter conversation per message at end of data ([[milter]]): option
// negotiation, connect, HELO, MAIL, RCPT, DATA, the header fields, EOH,
// the body in chunks, end of body; then the milter's verdict and the
// modifications it asked for. Blocking with per-reply timeouts (worker
// pool). Milters that skip stages (SMFIP_NO*) are respected; a reject or
// tempfail at any stage ends the conversation with that verdict.
#pragma once
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/config.h"
#include "proto/milter/milter.h"

namespace mailfort::filter {

struct MilterInput {
  std::string client_ip;  // "" = unknown
  uint16_t client_port = 0;
  std::string client_hostname;  // "[ip]" when there is no verified name
  std::string helo;
  std::string sender;  // "" = null sender
  std::vector<std::string> rcpts;
  std::string auth_user;
  std::string queue_id;
  std::string our_hostname;  // macro j
  std::string listener;      // macro {daemon_name}
  bool tls = false;
  std::string tls_version, tls_cipher;
  std::string_view message;  // header and body, CRLF
};

struct MilterOutcome {
  enum class Verdict { Accept, Reject, Tempfail, Discard, Quarantine };
  Verdict verdict = Verdict::Accept;
  int code = 0;          // from SMFIR_REPLYCODE (else 550 / 451 defaults)
  std::string enhanced;  // "5.7.1"
  std::string text;
  std::string quarantine_reason;
  std::vector<proto::milter::HeaderChange> header_changes;  // in the order received
  std::optional<std::string> new_body;
  bool failed = false;  // unreachable, timed out, protocol error: the caller applies default_action
  std::string error;
};

MilterOutcome run_milter(const config::Milter& milter, const MilterInput& in);

// The message with a milter's header changes and new body applied
// (ADDHEADER appends at the end of the header, INSHEADER inserts at the
// index, CHGHEADER replaces or deletes the index-th field of that name).
std::string apply_milter_changes(std::string_view message, const MilterOutcome& outcome);

}  // namespace mailfort::filter
