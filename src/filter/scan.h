// What a scan is, whoever does it: symbols with weights summed into a score
// (Rspamd's model), the action the score reaches, and the three kinds of
// scanner the SMTP layer calls at end of data: a spam engine (the built-in
// scorer or Rspamd), an antivirus (clamd), and milters (milter_client.h).
// Everything here blocks: callers run it on the worker pool.
#pragma once
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "base/result.h"

namespace mailfort::auth {
struct Verdict;
}

namespace mailfort::filter {

// Rspamd's actions, as far as we act on them. Greylist and "rewrite
// subject" from Rspamd map to NoAction and AddHeader.
enum class Action { NoAction, AddHeader, SoftReject, Reject };
std::string_view action_name(Action a);  // "no action", "add header", "soft reject", "reject"

struct Symbol {
  std::string name;  // "BAYES_SPAM", "R_SPF_FAIL", "URIBL_DBL_EXAMPLE"
  double score = 0;
  std::vector<std::string> options;  // details: "99.87%", "evil.example", "dbl.example"
};

struct ScanInput {
  std::string_view message;  // as received, CRLF line ends (no Received of ours yet)
  std::string ip;            // connecting client; "" = unknown (spam check without --ip)
  std::string helo;
  std::string sender;              // envelope; "" = null sender
  std::vector<std::string> rcpts;  // envelope recipients
  std::string auth_user;           // authenticated submission; "" = not
  std::string queue_id;
  bool mx = true;                          // received on an MX listener
  const auth::Verdict* verdict = nullptr;  // SPF/DKIM/DMARC/ARC results; null = not checked
  // Whether a domain is one of ours (From: our domain without authentication).
  std::function<bool(std::string_view domain)> is_local_domain;
  std::string bayes_user;  // per-user Bayes statistics: the one local mailbox, "" = global only
};

struct ScanResult {
  std::string engine;  // "builtin" | "rspamd"
  double score = 0;
  double required_score = 0;  // the add-header threshold (X-Spamd-Result's "/ 6.00")
  double reject_score = 0;
  Action action = Action::NoAction;
  std::vector<Symbol> symbols;  // sorted by name
  std::string reject_reason;    // the 554 text for Reject / 451 text for SoftReject ("Gtube pattern")
  // Header edits an external engine asks for (Rspamd's milter_headers);
  // the built-in scorer leaves them empty (spam_headers.h writes ours).
  std::vector<std::pair<std::string, std::string>> add_headers;
  std::vector<std::string> remove_headers;
  bool failed = false;  // the engine could not scan (Rspamd unreachable, timeout)
  std::string error;
  bool is_spam() const { return action == Action::AddHeader || action == Action::Reject; }
};

enum class LearnOutcome {
  Learned,         // counted as the class asked for
  AlreadyLearned,  // the same message was learned as that class before: nothing changed
  Relearned,       // it was learned as the other class: moved
  Skipped,         // nothing to learn from (no tokens)
};
std::string_view learn_outcome_name(LearnOutcome o);  // "learned", "already learned", "relearned", "skipped"

class SpamEngine {
 public:
  virtual ~SpamEngine() = default;
  virtual ScanResult scan(const ScanInput& in) = 0;
  // `user` "" = global statistics only; else the user's and the global.
  virtual Result<LearnOutcome> learn(std::string_view message, bool spam, const std::string& user) = 0;
};

struct VirusScan {
  enum class Status { Clean, Infected, Error };
  Status status = Status::Error;
  std::string virus;  // Infected: clamd's signature name ("Eicar-Test-Signature")
  std::string error;  // Error: why (unreachable, timeout, size limit...)
};

class Antivirus {
 public:
  virtual ~Antivirus() = default;
  virtual VirusScan scan(std::string_view message) = 0;
};

}  // namespace mailfort::filter
