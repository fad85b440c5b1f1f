// SORT and THREAD (RFC 5256) and SORT=DISPLAY (RFC 5957) over plain
// structs: base subject extraction (RFC 5256 2.1), the i;unicode-casemap
// sort key (RFC 5051: titlecased; see casemap()), the first address of an
// address header, RFC 5322 dates, message-id lists, the sort itself and the
// REFERENCES and ORDEREDSUBJECT threading algorithms. Pure; the header
// values come from messages, so every function here faces untrusted input:
// no recursion on input structure, no exceptions, linear-ish work.
#pragma once
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace mailfort::proto::imap {

enum class SortKey : uint8_t { Arrival, Cc, Date, From, Size, Subject, To, DisplayFrom, DisplayTo };
struct SortCriterion {
  SortKey key = SortKey::Arrival;
  bool reverse = false;
};
// "ARRIVAL", "DISPLAYFROM", ... (any case) -> the key.
std::optional<SortKey> sort_key_named(std::string_view name);

// The base subject of a subject whose encoded words are already decoded
// (RFC 5256 2.1 steps 2-6; step 1's blank folding is done here too).
// `reply` is set when a "Re:"/"Fwd:" leader, a "(fwd)" trailer or a
// "[fwd: ...]" wrapper was removed (the subject of a reply or forward).
std::string base_subject(std::string_view decoded, bool* reply = nullptr);

// The i;unicode-casemap comparison key of UTF-8 text: each character
// titlecased (towupper in the C.UTF-8 locale, ASCII when that locale is
// missing). Invalid UTF-8 bytes are kept as they are. Compare keys bytewise.
std::string casemap(std::string_view utf8);

// The first address of an address-list header value (raw, encoded words
// not decoded): a group's start counts as an address whose mailbox is the
// group's name (as in ENVELOPE); a comment after an addr-spec stands for
// a missing display name (as Dovecot reads it).
struct FirstAddress {
  std::string name;  // display name (raw, may hold encoded words), or the group name
  std::string mailbox, domain;
  bool group = false;
};
std::optional<FirstAddress> first_address(std::string_view value);

// Seconds since the epoch (UTC) of an RFC 5322 date-time ("Fri, 22 Feb
// 2008 00:00:00 +0200", obsolete forms and named zones included).
std::optional<int64_t> rfc5322_date_time(std::string_view value);

// The "<...>" message ids of a Message-ID, References or In-Reply-To value,
// in order, without the angle brackets; at most `max` of them.
std::vector<std::string> message_ids(std::string_view value, std::size_t max = 1000);

// What SORT needs of one message (filled by the session).
struct SortFacts {
  uint32_t id = 0;      // what the answer names: message number or UID
  uint32_t seq = 0;     // tie-breaker (RFC 5256: mailbox order)
  int64_t arrival = 0;  // internal date
  int64_t sent = 0;     // Date: in UTC, else the internal date
  uint64_t size = 0;
  // casemap()ped keys: base subject, first address mailbox of From/To/Cc,
  // display name (or addr-spec) of the first From/To address.
  std::string subject, from, to, cc, display_from, display_to;
};
// The ids in sort order (ties in mailbox order).
std::vector<uint32_t> sort_messages(std::vector<SortFacts> messages,
                                    const std::vector<SortCriterion>& criteria);

// What THREAD needs of one message, given in mailbox order.
struct ThreadFacts {
  uint32_t id = 0, seq = 0;
  int64_t sent = 0;
  std::string message_id;               // "" when there is none
  std::vector<std::string> references;  // References, else In-Reply-To's first id
  std::string subject;                  // casemap()ped base subject
  bool reply = false;                   // base_subject() removed a Re:/Fwd:
};
// The THREAD response's data ("(1 2)(3 (4)(5))") by each algorithm. The
// trees are kept flat (indexes, not nested objects) and walked without
// recursion, so a reply chain of any depth costs no stack.
std::string thread_references(const std::vector<ThreadFacts>& messages);
std::string thread_orderedsubject(const std::vector<ThreadFacts>& messages);

}  // namespace mailfort::proto::imap
