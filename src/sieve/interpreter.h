// Running compiled Sieve scripts on one message for one user. Pure: what
// the scripts decide comes back as an Outcome (actions in order, implicit
// keep, flags, the edited message); the caller (smtp/sieve_delivery.cpp,
// `mailfort sieve test`) carries it out. Everything that needs the world
// (folders, duplicate state, included scripts) goes through Host, which
// may block: call run() on the worker pool.
//
// A chain runs scripts as Pigeonhole's sieve_before/sieve_after do: each
// script runs only while the previous one kept the message (its implicit
// keep is still in effect or it executed `keep`); a script that files,
// redirects without :copy, discards or rejects ends the chain. A kept
// message's keep is decided by the last script that ran.
//
// Every run is bounded (Limits): steps (commands and tests evaluated),
// actions, redirects, include depth, header edits, variable sizes. A
// script that exceeds a limit or fails at run time gives an Outcome with
// `errors` set and only the implicit keep (RFC 5228 2.10.6), so mail is
// never lost to a bad script.
#pragma once
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "sieve/compile.h"

namespace mailfort::sieve {

struct Limits {
  uint32_t max_steps = 100000;
  uint32_t max_actions = 32;
  uint32_t max_redirects = 4;
  uint32_t max_include_depth = 10;
  uint32_t max_header_edits = 64;        // addheader + deleteheader per run
  std::size_t max_variable_size = 4096;  // bytes of one variable's value
  uint32_t max_variables = 255;          // per scope
  // vacation (RFC 5230 :days, RFC 6131 :seconds): defaults and bounds.
  uint64_t vacation_default_seconds = 7 * 86400;
  uint64_t vacation_min_seconds = 86400;
  uint64_t vacation_max_seconds = 90 * 86400;
  // duplicate (RFC 7352 :seconds).
  uint64_t duplicate_default_seconds = 7 * 86400;
  uint64_t duplicate_max_seconds = 7 * 86400;
};

struct MessageInput {
  std::string_view message;  // the whole message as it will be stored (CRLF)
  // The envelope (RFC 5228 5.4 / envelope extension).
  std::string envelope_from;  // "" = null sender
  std::string envelope_to;    // the recipient as given at RCPT TO (alias, +detail)
  std::string envelope_auth;  // the authenticated sender's login, "" when none
  std::string user;           // the mailbox ("user@domain") whose scripts run
  // spamtest / virustest (RFC 5235). nullopt: not tested ("0").
  std::optional<double> spam_score;
  double spam_threshold = 6.0;  // the score that means spam ([spam] add_header_score) -> spamtest value 6+
  double spam_max = 15.0;       // the score that means certain spam ([spam] reject_score) -> 10 / 100 %
  std::optional<int> virus;     // RFC 5235 virustest value 1..5 (1 clean, 5 infected)
  // environment (RFC 5183): "domain", "host", "location", "name", "phase",
  // "remote-host", "remote-ip", "version" and any others the caller knows.
  std::map<std::string, std::string> environment;
  int64_t now = 0;               // unix time (currentdate, duplicate, vacation)
  int local_zone_minutes = 0;    // the server's zone (currentdate, :originalzone absent)
};

// Things the interpreter asks the world. Defaults: every folder exists, no
// duplicates seen, no scripts to include.
class Host {
 public:
  virtual ~Host() = default;
  virtual bool mailbox_exists(const std::string& folder) { return true; }
  // duplicate (RFC 7352): was `id` (handle + the tracked value, as the
  // interpreter builds it) seen for this user within `seconds`? Seeing it
  // does not record it: Outcome::duplicate_marks lists what to record once
  // the delivery has succeeded.
  virtual bool duplicate_seen(const std::string& id, uint64_t seconds) { return false; }
  // include (RFC 6609): the compiled script `name` from the user's scripts
  // (global = false) or the global directory; a string is the reason it
  // cannot be loaded (a run-time error).
  virtual std::variant<std::shared_ptr<const CompiledScript>, std::string> load_include(const std::string& name,
                                                                                      bool global) {
    return std::string("include is not available");
  }
};

struct VacationReply {
  std::string reason;                  // the body text, or a MIME entity when `mime`
  bool mime = false;
  std::string subject;                 // :subject, else "Auto: " + the original Subject (RFC 5230 5.4)
  std::string from;                    // :from ("" = the recipient)
  std::vector<std::string> addresses;  // :addresses (the user's other addresses)
  uint64_t period_seconds = 0;         // :days / :seconds within the Limits' bounds
  std::string handle;                  // :handle, else derived from the arguments (RFC 5230 4.2)
};

struct Action {
  enum class Kind { Keep, FileInto, Redirect, Discard, Reject, EReject, Vacation };
  Kind kind = Kind::Keep;
  std::string folder;               // Keep: "INBOX"; FileInto: the folder name as written
  std::vector<std::string> flags;   // Keep/FileInto: imap4flags to set ("\\Seen", keywords)
  bool flags_given = false;         // :flags or setflag/addflag was used (else no flags)
  bool create = false;              // FileInto :create (RFC 5490)
  bool copy = false;                // :copy (RFC 3894): informational, did not cancel keep
  std::string address;              // Redirect: the target address
  std::string reason;               // Reject/EReject: the text
  VacationReply vacation;           // Vacation
  // The message this action stores or sends when editheader changed it
  // before the action; null = the original message.
  std::shared_ptr<const std::string> message;
  std::string script;               // the script that executed it (logs, `sieve test`)
};

struct DuplicateMark {
  std::string id;
  uint64_t seconds = 0;
};

struct Outcome {
  std::vector<Action> actions;  // explicit actions, in order, duplicates merged (RFC 5228 2.10.3)
  bool implicit_keep = true;    // no action cancelled the keep: store into INBOX
  std::vector<std::string> implicit_keep_flags;  // imap4flags' internal variable at the end
  bool implicit_keep_flags_given = false;
  std::shared_ptr<const std::string> final_message;  // editheader's result for the implicit keep; null = original
  std::vector<DuplicateMark> duplicate_marks;
  std::vector<std::string> errors;  // run-time errors ("script:line: message"); then only the implicit keep
  uint32_t steps = 0;
};

struct ScriptRef {
  std::string name;  // for logs and errors ("before:spam-global", "personal:main")
  std::shared_ptr<const CompiledScript> script;
  bool global = false;  // a global (before/after) script: include :personal is refused
};

Outcome run(const std::vector<ScriptRef>& chain, const MessageInput& input, Host& host, const Limits& limits);

}  // namespace mailfort::sieve
