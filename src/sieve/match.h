// Matching strings as Sieve tests do: comparators (RFC 4790's i;octet and
// i;ascii-casemap, RFC 2244 i;ascii-numeric), match types :is, :contains,
// :matches (with match variables, RFC 5229 section 3.2), :regex
// (draft-ietf-sieve-regex, evaluated with RE2: linear time, so no pattern
// stalls delivery) and the relational :value/:count (RFC 5231). Pure.
#pragma once
#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace mailfort::sieve {

enum class MatchType { Is, Contains, Matches, Regex, Value, Count };
enum class RelOp { Gt, Ge, Lt, Le, Eq, Ne };
enum class Comparator { Octet, AsciiCasemap, AsciiNumeric };

std::optional<Comparator> comparator_from_name(std::string_view name);  // "i;octet", ...
std::optional<RelOp> relop_from_name(std::string_view name);            // "gt", "ge", ... (case-insensitive)

struct MatchSpec {
  MatchType type = MatchType::Is;
  RelOp rel = RelOp::Eq;  // :value / :count
  Comparator comparator = Comparator::AsciiCasemap;
};

// Does `value` match any of `keys`? For :matches and :regex, when
// `captures` is not null and a key matched, it receives the match
// variables of the first matching key: [0] the whole value (:matches) or
// the text the whole pattern matched (:regex, as draft-ietf-sieve-regex and
// Pigeonhole have it), then each `*` and `?` (:matches, every `*` but the
// last matching as little as it can) or each group (:regex; "" for a group
// that took no part), at most 10 in all.
// :count is not a value match: use match_count.
bool match_value(const MatchSpec& spec, std::string_view value, const std::vector<std::string>& keys,
                 std::vector<std::string>* captures = nullptr);

// :count: the number of values against the keys, compared as the
// comparator says (RFC 5231: with i;ascii-numeric the count is a number).
bool match_count(const MatchSpec& spec, std::size_t count, const std::vector<std::string>& keys);

// Compile-time check of a :regex key: "" when RE2 accepts it (POSIX ERE
// as the draft asks, with RE2's syntax), else the problem.
std::string check_regex(std::string_view pattern);

}  // namespace mailfort::sieve
