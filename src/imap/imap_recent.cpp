#include "imap/imap_session_impl.h"

// What a session must have told the client before a FETCH may show it:
// IMAP4rev1's \Recent (RFC 3501 2.3.2; dropped by IMAP4rev2, RFC 9051),
// the keywords of the selected folder in untagged FLAGS and PERMANENTFLAGS
// (RFC 9051 7.3.5; clients build their keyword lists from them), and the
// HIGHESTMODSEQ that the first CONDSTORE-enabling command brings (RFC 7162
// 3.1). Who owns a recent message is decided by the store
// (UserMailbox::take_recent); the session keeps the UIDs it got.
namespace mailfort::imap {

std::string ImapSession::session_flags(Selected& s, uint32_t uid, uint32_t flags,
                                       const std::vector<std::string>& keywords) {
  announce_keywords(s, keywords);
  std::string text = flags_text(flags, keywords);
  if (!rev2_ && s.recent.count(uid)) text.insert(1, text.size() > 2 ? "\\Recent " : "\\Recent");
  return text;
}

void ImapSession::announce_keywords(Selected& s, const std::vector<std::string>& keywords) {
  bool fresh = false;
  for (const auto& k : keywords) fresh = s.keywords.insert(k).second || fresh;
  if (fresh) announce_flags(s);
}

void ImapSession::announce_flags(const Selected& s) {
  std::string kw;
  for (const auto& k : s.keywords) kw += " " + k;
  untagged("FLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft" + kw + ")");
  // Read-only: nothing can be changed for good (as Dovecot answers EXAMINE).
  untagged(s.read_only ? "OK [PERMANENTFLAGS ()] Read-only mailbox"
                       : "OK [PERMANENTFLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft" + kw +
                             " \\*)] Flags permitted");
}

uint32_t ImapSession::recent_count(Selected& s) {
  for (auto it = s.recent.begin(); it != s.recent.end();)
    it = s.view.seq_of_uid(*it) ? std::next(it) : s.recent.erase(it);
  return static_cast<uint32_t>(s.recent.size());
}

void ImapSession::enable_condstore() {
  if (condstore_) return;
  condstore_ = true;
  if (auto* s = selected()) untagged("OK [HIGHESTMODSEQ " + std::to_string(s->modseq_seen) + "] Highest");
}

}  // namespace mailfort::imap
