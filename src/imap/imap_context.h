// SORT/THREAD facts and the SEARCH/SORT result contexts of RFC 5267 that
// the selected state keeps: a context remembers its result (UIDs, and for
// SORT the facts that order it) so that later changes are reported as
// ESEARCH ADDTO / REMOVEFROM. Internal to the IMAP session.
#pragma once
#include <cstdint>
#include <set>
#include <string>
#include <vector>

#include "imap/imap_view.h"
#include "proto/imap/command.h"
#include "store/mailbox.h"

namespace mailfort::imap {

// One SEARCH/SORT RETURN (UPDATE): what the client asked and what it knows.
struct SearchContext {
  std::string tag;
  bool uid = false;
  proto::imap::SearchKey key;
  std::vector<proto::imap::SortCriterion> sort;  // empty: a SEARCH context
  std::vector<proto::imap::SortFacts> facts;     // SORT: the result in order (id and seq = UID)
  std::set<uint32_t> uids;                       // the result
  uint64_t checked_modseq = 0;                   // view messages with a higher MODSEQ are evaluated again
};

struct SearchContexts {
  std::vector<SearchContext> list;
};

// Which header facts a SORT or THREAD needs.
enum class NeedFacts : uint8_t { None, Sort, Thread };

struct EvaluatedMessage {
  uint32_t seq = 0, uid = 0;
  bool matched = false;
  proto::imap::SortFacts sort;      // with NeedFacts::Sort (and size, dates always)
  proto::imap::ThreadFacts thread;  // with NeedFacts::Thread
};

// Blocking (worker pool). Matches `key` against the view's messages (the
// 1-based positions `seqs`, ascending; all when null) with the index's
// flags, sizes and dates, reading a message file only when the key needs
// its text; the facts come from the matching messages' header blocks (read
// in one batch, at most `max_header` bytes each). Returns the matching
// messages with their facts, and with `keep_unmatched` the others too
// (matched = false). `recent`: the session's \Recent UIDs (null in
// IMAP4rev2 sessions), for the RECENT/NEW/OLD keys.
std::vector<EvaluatedMessage> evaluate_messages(store::UserMailbox& mb, int64_t folder,
                                                const std::vector<ImapView::Entry>& view,
                                                const proto::imap::SearchKey& key, NeedFacts need,
                                                const std::vector<uint32_t>* seqs, bool keep_unmatched,
                                                std::size_t max_header,
                                                const std::set<uint32_t>* recent = nullptr);

// "1:3,7" keeping the order given: runs of consecutive ascending numbers
// become ranges (ESORT ALL and PARTIAL, RFC 5267).
std::string ordered_set_text(const std::vector<uint32_t>& ids);

}  // namespace mailfort::imap
