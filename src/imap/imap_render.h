// What IMAP FETCH and SEARCH need from a message, computed by the MIME
// parser: the per-message cache blob the store keeps (ENVELOPE, BODY,
// BODYSTRUCTURE, computed once when a message enters the index) and SEARCH
// matching. Used by the IMAP session; no I/O.
#pragma once
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <set>

#include "proto/imap/command.h"
#include "store/mailbox.h"

namespace mailfort::imap {

// Cache blob <-> its three IMAP strings.
std::string build_cache(std::string_view message);
struct CachedStructure {
  std::string envelope, body, bodystructure;
};
CachedStructure parse_cache(std::string_view blob);

// The bytes APPEND stores: bare LFs made CRLF, so that RFC822.SIZE, SIZE
// and quota (file sizes in the store) equal what BODY[] sends; from a
// literal8, binary parts as base64 first (their exact bytes kept for BINARY[]).
std::string append_form(std::string message, bool literal8 = false);

// BODY[section] bytes (nullopt: no such part -> the client gets "").
std::optional<std::string> body_section(std::string_view message, const proto::imap::Section& section);
// BINARY[part]: decoded part body (proto::mime::binary); "" when the part does
// not exist; nullopt with `unknown_cte` set when a Content-Transfer-Encoding
// in it is not known.
std::optional<std::string> binary_section(std::string_view message, const std::vector<uint32_t>& part,
                                          bool& unknown_cte);

// Per-message facts a SEARCH key may test.
struct SearchFacts {
  uint32_t seq = 0, uid = 0, flags = 0;
  std::vector<std::string> keywords;
  int64_t internal_date = 0;  // seconds
  uint64_t size = 0, modseq = 0;
  bool recent = false;  // \Recent in this session (IMAP4rev1)
  uint32_t max_seq = 0, max_uid = 0;
  std::string_view message;  // empty unless the program needs the text
  // OBJECTID / SAVEDATE keys (imap_objectid.h ext_needs): set only when asked.
  std::string_view emailid, threadid;
  std::optional<int64_t> savedate;
};
// The index's facts of message `seq` (UID m.uid) of a folder of `max_seq`
// messages, as SEARCH, SORT and THREAD match them; `recent`: the session's
// \Recent UIDs (null in IMAP4rev2). Text and OBJECTID facts are the caller's.
SearchFacts search_facts(const store::MessageMeta& m, uint32_t seq, uint32_t max_seq, uint32_t max_uid,
                         const std::set<uint32_t>* recent);
bool search_needs_text(const proto::imap::SearchKey& key);
bool search_matches(const proto::imap::SearchKey& key, const SearchFacts& m);

// Days since epoch of an RFC 5322 Date header value (time and zone ignored,
// as SENTBEFORE/SENTON/SENTSINCE ask).
std::optional<int64_t> rfc5322_day(std::string_view value);

}  // namespace mailfort::imap
