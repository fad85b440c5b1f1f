// IMAP command parsing (RFC 9051 / RFC 3501 section 9 grammar). Pure: the
// session assembles one complete command (its lines joined with CRLF and
// every literal's bytes inline after its "{n}\r\n" marker) and parse_command()
// turns it into a typed Command or a parse error. Faces untrusted input;
// never throws on what the network sends; recursion (parenthesised lists,
// SEARCH programs) is bounded.
#pragma once
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "proto/imap/append_args.h"
#include "proto/imap/command_table.h"
#include "proto/imap/sort.h"

namespace mailfort::proto::imap {

// A sequence set: ranges of message numbers or UIDs. kStar stands for "*"
// (the largest number in use), resolved by the session; it is 0, never a
// number of a set, because 4294967295 is a valid one (`UID SEARCH UID
// 1:4294967295`). A range keeps kStar in `hi` (`*:3` is {3, kStar}) and
// numbers in ascending order.
struct SequenceSet {
  static constexpr uint32_t kStar = 0;
  struct Range {
    uint32_t lo, hi;
  };
  std::vector<Range> ranges;
  bool saved = false;  // "$" (SEARCHRES); unsupported, rejected by parser
  // Whether n is in the set when "*" means `star`; with `star` kStar, "*"
  // has no bound (4294967295), as for a set of UIDs that may not exist.
  bool contains(uint32_t n, uint32_t star) const;
};

// BODY[section] / BINARY[section] specifier.
struct Section {
  enum class Kind { Full, Header, HeaderFields, HeaderFieldsNot, Text, Mime };
  std::vector<uint32_t> part;  // "1.2.3"
  Kind kind = Kind::Full;
  std::vector<std::string> fields;  // upper-cased header names
  std::string text;                 // the section as sent, upper-cased, for the response
};

struct FetchItem {
  enum class Kind {
    Flags,
    Uid,
    InternalDate,
    Rfc822Size,
    Envelope,
    BodyStructure,
    Body,  // BODY without section
    BodySection,
    BinarySection,
    BinarySize,
    Rfc822,
    Rfc822Header,
    Rfc822Text,
    ModSeq,
    EmailId,   // RFC 8474
    ThreadId,  // RFC 8474
    SaveDate,  // RFC 8514
    Preview,   // RFC 8970
  };
  Kind kind = Kind::Flags;
  bool peek = false;  // BODY.PEEK / BINARY.PEEK
  bool lazy = false;  // PREVIEW (LAZY)
  Section section;
  std::optional<uint32_t> partial_offset, partial_length;  // <o.l>
};

// One SEARCH key; And/Or/Not carry children.
struct SearchKey {
  enum class Op {
    And,
    Or,
    Not,
    All,
    Answered,
    Deleted,
    Draft,
    Flagged,
    Seen,
    New,
    Old,
    Recent,
    Unanswered,
    Undeleted,
    Undraft,
    Unflagged,
    Unseen,
    Keyword,
    Unkeyword,
    Bcc,
    Cc,
    From,
    To,
    Subject,
    Body,
    Text,
    Header,
    Before,
    On,
    Since,
    SentBefore,
    SentOn,
    SentSince,  // dates as days since epoch
    Larger,
    Smaller,
    Uid,
    SequenceSet,
    ModSeq,
    EmailId,            // RFC 8474: text
    ThreadId,           // RFC 8474: text
    SavedBefore,        // RFC 8514: number (days)
    SavedOn,            // RFC 8514
    SavedSince,         // RFC 8514
    SaveDateSupported,  // RFC 8514
  };
  Op op = Op::All;
  std::string field;   // Header: field name; Keyword: keyword
  std::string text;    // string argument
  int64_t number = 0;  // size, date (days since 1970-01-01), modseq
  SequenceSet set;
  std::vector<SearchKey> children;
};

struct StoreArgs {
  enum class Mode { Replace, Add, Remove } mode = Mode::Replace;
  bool silent = false;
  std::vector<std::string> flags;  // as sent ("\\Seen", "$Junk")
  std::optional<uint64_t> unchanged_since;
};

struct StatusItems {
  bool messages = false, recent = false, uidnext = false, uidvalidity = false, unseen = false,
       deleted = false, size = false, highestmodseq = false;
  bool mailboxid = false;  // RFC 8474
};

struct ListArgs {
  std::string reference;
  std::vector<std::string> patterns;
  bool subscribed = false, recursive_match = false, special_use = false;  // selection options
  bool return_subscribed = false, return_children = false, return_special_use = false;
  std::optional<StatusItems> return_status;
  bool extended = false;  // any LIST-EXTENDED syntax used
};

// SELECT/EXAMINE (QRESYNC (uidvalidity modseq [known-uids [(seqs uids)]]))
// (RFC 7162 3.2.5).
struct QresyncParams {
  uint32_t uidvalidity = 0;
  uint64_t modseq = 0;
  std::optional<SequenceSet> known_uids;
  std::optional<SequenceSet> match_seqs, match_uids;  // seq-match-data
};

// NOTIFY (RFC 5465): events as bits, in the RFC's order.
enum NotifyEvent : uint32_t {
  kNotifyMessageNew = 1,
  kNotifyMessageExpunge = 2,
  kNotifyFlagChange = 4,
  kNotifyAnnotationChange = 8,
  kNotifyMailboxName = 16,
  kNotifySubscriptionChange = 32,
  kNotifyMailboxMetadataChange = 64,
  kNotifyServerMetadataChange = 128,
};
struct NotifyFilter {
  enum class Kind { Selected, SelectedDelayed, Inboxes, Personal, Subscribed, Subtree, Mailboxes };
  Kind kind = Kind::Personal;
  std::vector<std::string> mailboxes;  // Subtree, Mailboxes: the names as sent
  uint32_t events = 0;                 // NotifyEvent bits; 0 for NONE
  std::vector<FetchItem> fetch;        // MessageNew's fetch-att (selected filters only)
};
struct NotifyArgs {
  bool set = false;     // NOTIFY SET; false for NOTIFY NONE
  bool status = false;  // SET STATUS
  std::vector<NotifyFilter> filters;
};

struct Command {
  std::string tag;
  CommandKind kind = CommandKind::Noop;
  bool uid = false;  // UID FETCH/STORE/COPY/MOVE/SEARCH/EXPUNGE
  // The command's name from the table, upper case, e.g. "FETCH".
  std::string_view name() const { return command_spec(kind).name; }

  std::vector<std::string> args;  // astrings: LOGIN user pass, mailbox names, ENABLE/ID items, AUTH mech+ir
  SequenceSet set;
  std::vector<FetchItem> fetch;
  std::optional<uint64_t> changed_since;  // FETCH (CHANGEDSINCE n)
  bool vanished = false;
  StoreArgs store;
  SearchKey search;                        // root (And)
  std::vector<std::string> search_return;  // ESEARCH RETURN (MIN MAX ALL COUNT); empty = classic SEARCH
  bool search_esearch = false;             // RETURN given
  StatusItems status;
  ListArgs list;
  bool condstore = false;                // SELECT/EXAMINE (CONDSTORE)
  std::vector<std::string> flags;        // APPEND flags
  std::optional<int64_t> append_date;    // APPEND date-time, seconds since epoch (UTC)
  std::string literal;                   // APPEND message
  std::vector<AppendMessage> appends;    // APPEND's messages (MULTIAPPEND, CATENATE)
  std::vector<UrlFetchParams> url_fetch;  // URLFETCH: one per URL in args
  std::vector<std::string> special_use;  // CREATE (USE (\Sent))
  // SORT / THREAD (RFC 5256), ESORT and CONTEXT=SEARCH/SORT (RFC 5267)
  std::vector<SortCriterion> sort;                                // SORT (criteria)
  std::string thread_algorithm;                                   // THREAD: REFERENCES / ORDEREDSUBJECT
  std::string charset;                                            // SORT/THREAD charset, upper case
  std::optional<std::pair<uint32_t, uint32_t>> search_partial;  // RETURN (PARTIAL lo:hi)
  bool search_update = false;                                     // RETURN (UPDATE)
  std::optional<QresyncParams> qresync;  // SELECT/EXAMINE (QRESYNC (...))
  NotifyArgs notify;
};

struct ParseError {
  std::string tag;  // empty when there was no usable tag: answer "* BAD"
  std::string message;
};

// Parses one complete command. Errors carry a short reason for "BAD".
struct ParseResult {
  std::optional<Command> command;
  ParseError error;
};
ParseResult parse_command(std::string_view text);

// A line that ends in a literal marker "{n}", "{n+}" or "~{n}" (without the
// CRLF): the size and whether the client waits for "+ " (synchronising).
struct LiteralMarker {
  uint64_t size;
  bool non_sync;
  bool binary;
};
std::optional<LiteralMarker> trailing_literal(std::string_view line);

// Days since 1970-01-01 of an IMAP date "1-Feb-1994"; nullopt if invalid.
std::optional<int64_t> parse_date(std::string_view text);
// Seconds since epoch of "dd-Mon-yyyy hh:mm:ss +zzzz".
std::optional<int64_t> parse_date_time(std::string_view text);
// "17-Jul-1996 02:44:25 +0000" in UTC.
std::string format_date_time(int64_t unix_seconds);

// Response helpers.
// A string as IMAP quoted string when safe, else a literal "{n}\r\n...".
std::string quote(std::string_view s);

// Modified UTF-7 mailbox names (RFC 3501 5.1.3) <-> UTF-8.
std::string mutf7_encode(std::string_view utf8);
std::optional<std::string> mutf7_decode(std::string_view mutf7);

// Whether `name` matches a LIST pattern ("*" any, "%" any but the delimiter).
bool list_match(std::string_view pattern, std::string_view name, char delimiter);

}  // namespace mailfort::proto::imap
