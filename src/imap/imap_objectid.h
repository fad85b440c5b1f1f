// OBJECTID (RFC 8474), SAVEDATE (RFC 8514) and PREVIEW (RFC 8970) for FETCH
// and SEARCH: what the cache blob adds for them (THREADID and the preview,
// computed once when a message enters the index), loading them for a batch
// of messages (blocking: on the worker pool) and rendering the FETCH items.
//
// THREADID: the thread of a message is named after its root, the first
// message-id of References (RFC 5322 3.6.4 keeps the root first), else the
// one of In-Reply-To, else the message's own Message-ID; a message with
// none of them is a thread of its own (named after its header). The id is
// a 64-bit FNV-1a hash of that message-id, so copies and every reply that
// carries the root in References share it without any table. A reply that
// has only In-Reply-To naming another reply starts a thread of its own:
// the price of not keeping a thread table, which RFC 8474 allows (a
// THREADID only promises that messages with the same one belong together).
#pragma once
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "proto/imap/command.h"
#include "proto/mime/mime.h"

namespace mailfort::store {
class UserMailbox;
}

namespace mailfort::imap {

// What build_cache appends after the structure: THREADID '\0' preview.
std::string cache_extras(std::string_view message, const proto::mime::Part& root);
struct CacheExtras {
  std::string threadid, preview;
};
// nullopt for a blob an older version built without them.
std::optional<CacheExtras> parse_cache_extras(std::string_view blob);
std::string thread_id(std::string_view message, const proto::mime::Part& root);

// Which of these a FETCH or SEARCH asks for.
struct ExtNeeds {
  bool ids = false;           // EMAILID, SAVEDATE (index columns)
  bool thread = false;        // THREADID (cache blob)
  bool preview = false;       // PREVIEW (cache blob)
  bool preview_full = false;  // PREVIEW without LAZY: computed if the blob lacks it
  bool any() const { return ids || thread || preview; }
};
ExtNeeds ext_needs(const std::vector<proto::imap::FetchItem>& items);
ExtNeeds ext_needs(const proto::imap::SearchKey& key);

struct ExtFacts {
  bool found = false;  // the message is still there
  std::string emailid, threadid;
  std::optional<int64_t> savedate;
  std::optional<std::string> preview;  // nullopt: not computed yet (LAZY)
};
// Blocking. A blob from an older version is computed again from the
// message and stored when THREADID or a non-LAZY PREVIEW needs it.
std::vector<ExtFacts> load_ext(store::UserMailbox& mb, int64_t folder, const std::vector<uint32_t>& uids,
                               const ExtNeeds& needs);

// "EMAILID (M...)", "THREADID (T...)" / "THREADID NIL", "SAVEDATE "..."",
// "PREVIEW "..."" / "PREVIEW NIL".
std::string render_ext(const proto::imap::FetchItem& item, const ExtFacts& f);

}  // namespace mailfort::imap
