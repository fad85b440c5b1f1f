// RFC 5322 3.4 address lists of header fields (From, Sender, To ...), read
// strictly enough to decide whose mail a message claims to be (RFC 6854
// groups allowed; RFC 6532 UTF-8 allowed in atoms and quoted strings). Pure;
// faces untrusted input (a message from the wire). The submission policy
// uses it to tie the header From and Sender to the login (S6, DMARC).
//
// Display names (atoms, quoted strings, encoded words, obs-phrase dots),
// comments (nested, with quoted-pairs), folding whitespace and groups are
// read and dropped: only the addr-specs are returned. The obsolete forms that
// no mail program writes and that parsers disagree on are refused, so the
// addresses we check are the ones a receiver's DMARC check sees: CFWS
// between the dot-separated parts of a local part or domain, local parts
// that mix quoted strings and atoms, and route addresses (<@a,@b:x@y>).
// A line break not followed by a blank is an error, as are controls.
//
// Bounds: one linear pass; at most `max_mailboxes` addresses and
// `max_comment_depth` nested comments (both parameters); the caller bounds
// the input size (smtp.max_header_size).
#pragma once
#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace mailfort::proto::mail {

struct HeaderMailbox {
  std::string local;            // unquoted: "a b" for "\"a b\"@x"; quoted-pairs resolved
  std::string domain;           // ASCII lower-cased; a domain literal keeps its brackets
  bool quoted = false;          // the local part was a quoted-string
  bool domain_literal = false;  // [192.0.2.1]
  std::string str() const { return local + "@" + domain; }
};

enum class AddressError {
  None,
  Syntax,   // not an RFC 5322 address list (or an obsolete form we refuse)
  TooMany,  // more than max_mailboxes addresses
  TooDeep,  // comments nested deeper than max_comment_depth
};

struct AddressLimits {
  std::size_t max_mailboxes = 100;
  std::size_t max_comment_depth = 16;
};

struct AddressList {
  AddressError error = AddressError::None;
  std::vector<HeaderMailbox> mailboxes;  // of every address and every group, in order
  std::size_t groups = 0;                // groups seen (possibly empty ones)
  bool ok() const { return error == AddressError::None; }
};

// `value` is a field's body after the colon, folds included; one final CRLF
// is allowed. Empty list elements ("a@b, , c@d", obs-addr-list) are skipped.
AddressList parse_address_list(std::string_view value, const AddressLimits& limits = {});

const char* address_error_name(AddressError e);

}  // namespace mailfort::proto::mail
