// Which names LIST and LSUB answer, with which attributes (RFC 9051 6.3.9,
// RFC 3501 6.3.9 LSUB, RFC 5258 LIST-EXTENDED, RFC 6154 SPECIAL-USE): the
// folders that exist, the subscriptions (which may name folders that no
// longer exist) and the parents of both, matched against the patterns. Pure:
// the session renders what this returns. Work is linear in the number of
// folders and subscriptions times the patterns (at most 100, the parser's
// limit) and the depth of the names.
#pragma once
#include <string>
#include <vector>

namespace mailfort::imap {

struct ListFolder {
  std::string name;         // UTF-8, '/' separated, "INBOX"
  std::string special_use;  // "\\Sent" or ""
};

struct ListQuery {
  std::vector<std::string> patterns;  // reference + pattern, UTF-8
  bool lsub = false;
  bool select_subscribed = false, select_special_use = false, recursive_match = false;
};

struct ListEntry {
  std::string name;
  bool exists = false;        // a folder (else \NonExistent / \Noselect)
  bool subscribed = false;    // \Subscribed
  bool has_children = false;  // an existing folder below it
  bool selected = false;      // meets the selection (false: returned for its children only)
  bool child_subscribed = false, child_special_use = false;  // CHILDINFO
  std::string special_use;
  std::size_t folder = 0;  // index in the folders given, when `exists`
};

// Whether `name` matches a LIST pattern; INBOX (and "INBOX/...") in any case.
bool list_pattern_matches(std::string_view pattern, std::string_view name);

// The entries in name order. Plain LIST: the folders and their parents (a
// parent that does not exist is returned for its children). SUBSCRIBED /
// SPECIAL-USE select among those and the subscribed names; RECURSIVEMATCH
// adds, with CHILDINFO, the matching parents of selected names that no
// pattern matches (RFC 5258 3). LSUB: the subscribed names, and as
// \Noselect the matching parents of subscribed names the pattern does not
// reach ("%", RFC 3501 6.3.9).
std::vector<ListEntry> list_entries(const std::vector<ListFolder>& folders,
                                    const std::vector<std::string>& subscriptions, const ListQuery& q);

}  // namespace mailfort::imap
