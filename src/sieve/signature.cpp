// Signatures as data: one table row per command or test, built from the
// shared tag sets (COMPARATOR, MATCH-TYPE, ADDRESS-PART, :index/:last) the
// RFCs define once and reuse.
#include "sieve/signature.h"

#include <algorithm>
#include <cctype>
#include <cstdint>
#include <initializer_list>

#include "base/text.h"

namespace mailfort::sieve {
namespace {

enum class Arg : uint8_t { None, Number, String, StringList };

// Tags in the same non-zero group exclude each other.
enum Group : uint8_t {
  kNoGroup,
  kMatchType,
  kAddressPart,
  kComparator,
  kBodyTransform,
  kZone,
  kIncludeLocation,
  kSizeRelation,
  kPeriod,
  kDuplicateId,
  kSetCase,   // RFC 5229 modifier precedence 40
  kSetFirst,  // precedence 30
  kSetQuote,  // precedence 20
  kSetLength  // precedence 10
};

struct Tag {
  const char* name;
  Arg arg;
  Group group;
  const char* extension;  // nullptr: part of the command's own extension
};

struct Signature {
  const char* name;
  bool is_test;
  std::vector<Tag> tags;
  std::vector<Arg> positional;
  bool optional_leading = false;   // the first positional may be left out
  bool optional_trailing = false;  // the last positional may be left out
  Group required_group = kNoGroup;
};

using Tags = std::vector<Tag>;

Tags join(std::initializer_list<Tags> parts) {
  Tags out;
  for (const auto& p : parts) out.insert(out.end(), p.begin(), p.end());
  return out;
}

const Tags kComparatorTag = {{"comparator", Arg::String, kComparator, nullptr}};
const Tags kMatchTags = {
    {"is", Arg::None, kMatchType, nullptr},           {"contains", Arg::None, kMatchType, nullptr},
    {"matches", Arg::None, kMatchType, nullptr},      {"regex", Arg::None, kMatchType, "regex"},
    {"count", Arg::String, kMatchType, "relational"}, {"value", Arg::String, kMatchType, "relational"}};
const Tags kAddressPartTags = {{"all", Arg::None, kAddressPart, nullptr},
                               {"localpart", Arg::None, kAddressPart, nullptr},
                               {"domain", Arg::None, kAddressPart, nullptr},
                               {"user", Arg::None, kAddressPart, "subaddress"},
                               {"detail", Arg::None, kAddressPart, "subaddress"}};
const Tags kIndexTags = {{"index", Arg::Number, kNoGroup, "index"}, {"last", Arg::None, kNoGroup, "index"}};

const std::vector<Signature>& signatures() {
  static const std::vector<Signature> table = [] {
    const Arg S = Arg::String, L = Arg::StringList, N = Arg::Number;
    const Tags match = join({kComparatorTag, kMatchTags});
    std::vector<Signature> t;
    // Commands.
    for (const char* name : {"if", "elsif", "else", "stop", "discard", "return"})
      t.push_back({name, false, {}, {}});
    t.push_back({"keep", false, {{"flags", L, kNoGroup, "imap4flags"}}, {}});
    t.push_back({"fileinto",
                 false,
                 {{"copy", Arg::None, kNoGroup, "copy"},
                  {"flags", L, kNoGroup, "imap4flags"},
                  {"create", Arg::None, kNoGroup, "mailbox"}},
                 {S}});
    t.push_back({"redirect", false, {{"copy", Arg::None, kNoGroup, "copy"}}, {S}});
    t.push_back({"reject", false, {}, {S}});
    t.push_back({"ereject", false, {}, {S}});
    for (const char* name : {"setflag", "addflag", "removeflag"})
      t.push_back({name, false, {}, {S, L}, /*optional_leading=*/true});
    t.push_back({"set",
                 false,
                 {{"lower", Arg::None, kSetCase, nullptr},
                  {"upper", Arg::None, kSetCase, nullptr},
                  {"lowerfirst", Arg::None, kSetFirst, nullptr},
                  {"upperfirst", Arg::None, kSetFirst, nullptr},
                  {"quotewildcard", Arg::None, kSetQuote, nullptr},
                  {"quoteregex", Arg::None, kSetQuote, "regex"},
                  {"length", Arg::None, kSetLength, nullptr}},
                 {S, S}});
    t.push_back({"vacation",
                 false,
                 {{"days", N, kPeriod, nullptr},
                  {"seconds", N, kPeriod, "vacation-seconds"},
                  {"subject", S, kNoGroup, nullptr},
                  {"from", S, kNoGroup, nullptr},
                  {"addresses", L, kNoGroup, nullptr},
                  {"mime", Arg::None, kNoGroup, nullptr},
                  {"handle", S, kNoGroup, nullptr}},
                 {S}});
    t.push_back({"addheader", false, {{"last", Arg::None, kNoGroup, nullptr}}, {S, S}});
    t.push_back(
        {"deleteheader", false, join({kIndexTags, match}), {S, L}, false, /*optional_trailing=*/true});
    t.push_back({"include",
                 false,
                 {{"personal", Arg::None, kIncludeLocation, nullptr},
                  {"global", Arg::None, kIncludeLocation, nullptr},
                  {"once", Arg::None, kNoGroup, nullptr},
                  {"optional", Arg::None, kNoGroup, nullptr}},
                 {S}});
    t.push_back({"global", false, {}, {L}});
    t.push_back({"error", false, {}, {S}});
    // Tests.
    for (const char* name : {"true", "false", "not", "allof", "anyof"}) t.push_back({name, true, {}, {}});
    t.push_back({"address", true, join({match, kAddressPartTags, kIndexTags}), {L, L}});
    t.push_back({"envelope", true, join({match, kAddressPartTags}), {L, L}});
    t.push_back({"header", true, join({match, kIndexTags}), {L, L}});
    t.push_back({"exists", true, {}, {L}});
    t.push_back({"size",
                 true,
                 {{"over", Arg::None, kSizeRelation, nullptr}, {"under", Arg::None, kSizeRelation, nullptr}},
                 {N},
                 false,
                 false,
                 kSizeRelation});
    t.push_back({"body",
                 true,
                 join({match,
                       {{"raw", Arg::None, kBodyTransform, nullptr},
                        {"content", L, kBodyTransform, nullptr},
                        {"text", Arg::None, kBodyTransform, nullptr}}}),
                 {L}});
    const Tags zone = {{"zone", S, kZone, nullptr}, {"originalzone", Arg::None, kZone, nullptr}};
    t.push_back({"date", true, join({match, zone, kIndexTags}), {S, S, L}});
    t.push_back({"currentdate", true, join({match, {{"zone", S, kZone, nullptr}}}), {S, L}});
    t.push_back({"string", true, match, {L, L}});
    t.push_back({"hasflag", true, match, {L, L}, /*optional_leading=*/true});
    t.push_back({"mailboxexists", true, {}, {L}});
    t.push_back({"duplicate",
                 true,
                 {{"handle", S, kNoGroup, nullptr},
                  {"header", S, kDuplicateId, nullptr},
                  {"uniqueid", S, kDuplicateId, nullptr},
                  {"seconds", N, kNoGroup, nullptr},
                  {"last", Arg::None, kNoGroup, nullptr}},
                 {}});
    t.push_back({"spamtest", true, join({match, {{"percent", Arg::None, kNoGroup, "spamtestplus"}}}), {S}});
    t.push_back({"virustest", true, match, {S}});
    t.push_back({"environment", true, match, {S, L}});
    t.push_back({"ihave", true, {}, {L}});
    return t;
  }();
  return table;
}

const char* describe(Arg a) {
  switch (a) {
    case Arg::Number:
      return "a number";
    case Arg::String:
      return "a string";
    case Arg::StringList:
      return "a string list";
    case Arg::None:
      break;
  }
  return "nothing";
}

bool fits(Arg want, const Argument& got) {
  switch (want) {
    case Arg::Number:
      return got.kind == Argument::Kind::Number;
    case Arg::String:
      return got.kind == Argument::Kind::String;
    case Arg::StringList:
      return got.is_list();
    case Arg::None:
      break;
  }
  return false;
}

// RFC 5260 section 4.
bool is_date_part(std::string_view s) {
  static const char* const kParts[] = {"year",   "month", "day",     "date",  "julian", "hour",   "minute",
                                       "second", "time",  "iso8601", "std11", "zone",   "weekday"};
  std::string l = to_lower(s);
  return std::any_of(std::begin(kParts), std::end(kParts), [&](const char* p) { return l == p; });
}

class Checker {
 public:
  Checker(const Signature& sig, Position where, const std::vector<Argument>& args, const HasExtension& has,
          std::vector<SignatureIssue>& out)
      : sig_(sig), where_(where), args_(args), has_(has), out_(out) {}

  void run() {
    std::size_t i = tags();
    positional(i);
  }

 private:
  void issue(Position p, std::string msg, bool warning = false) {
    out_.push_back({p, std::move(msg), warning});
  }
  std::string who() const { return std::string(sig_.is_test ? "test '" : "command '") + sig_.name + "'"; }
  // A string the interpreter expands at run time: its value is unknown now.
  bool expands(const std::string& s) const { return has_("variables") && s.find("${") != std::string::npos; }

  // The tagged arguments, which come first; returns where the positional
  // ones start.
  std::size_t tags() {
    std::vector<std::string> seen;
    std::vector<std::pair<Group, std::string>> groups;
    std::size_t i = 0;
    for (; i < args_.size() && args_[i].kind == Argument::Kind::Tag; ++i) {
      const Argument& a = args_[i];
      const Tag* tag = nullptr;
      for (const auto& t : sig_.tags)
        if (a.tag == t.name) tag = &t;
      if (tag == nullptr) {
        issue(a.pos, "unknown tag ':" + a.tag + "' for " + who());
        continue;
      }
      if (tag->extension != nullptr && !has_(tag->extension))
        issue(a.pos, "tag ':" + a.tag + "' requires the extension \"" + tag->extension + "\"");
      if (std::find(seen.begin(), seen.end(), a.tag) != seen.end())
        issue(a.pos, "tag ':" + a.tag + "' given twice");
      seen.push_back(a.tag);
      if (tag->group != kNoGroup) {
        for (const auto& [g, other] : groups)
          if (g == tag->group && other != a.tag)
            issue(a.pos, "tag ':" + a.tag + "' conflicts with ':" + other + "'");
        groups.emplace_back(tag->group, a.tag);
      }
      if (tag->arg != Arg::None) {
        if (i + 1 >= args_.size() || !fits(tag->arg, args_[i + 1])) {
          issue(a.pos, "tag ':" + a.tag + "' needs " + describe(tag->arg) + " after it");
          continue;
        }
        ++i;
      }
    }
    if (sig_.required_group != kNoGroup && std::none_of(groups.begin(), groups.end(), [&](const auto& g) {
          return g.first == sig_.required_group;
        }))
      issue(where_, who() + " needs :over or :under");
    bool index_tags = std::any_of(sig_.tags.begin(), sig_.tags.end(),
                                  [](const Tag& t) { return std::string_view(t.name) == "index"; });
    if (index_tags && std::find(seen.begin(), seen.end(), "last") != seen.end() &&
        std::find(seen.begin(), seen.end(), "index") == seen.end())
      issue(args_[0].pos, "tag ':last' needs ':index'");
    return i;
  }

  void positional(std::size_t first) {
    std::vector<Arg> want = sig_.positional;
    std::size_t given = args_.size() - first;
    for (std::size_t i = first; i < args_.size(); ++i)
      if (args_[i].kind == Argument::Kind::Tag) {
        issue(args_[i].pos, "tag ':" + args_[i].tag + "' must come before the other arguments of " + who());
        return;
      }
    bool optional = sig_.optional_leading || sig_.optional_trailing;
    if (given + 1 == want.size() && optional) {
      if (sig_.optional_leading)
        want.erase(want.begin());
      else
        want.pop_back();
    }
    if (given != want.size()) {
      std::string count = std::to_string(sig_.positional.size());
      if (optional) count = std::to_string(sig_.positional.size() - 1) + " or " + count;
      Position p = given > want.size() ? args_[first + want.size()].pos : where_;
      issue(p, who() + " takes " + count + " positional argument" + (sig_.positional.size() == 1 ? "" : "s") +
                   ", not " + std::to_string(given));
      return;
    }
    for (std::size_t k = 0; k < want.size(); ++k) {
      const Argument& a = args_[first + k];
      if (!fits(want[k], a)) {
        issue(a.pos, who() + ": argument " + std::to_string(k + 1) + " must be " + describe(want[k]));
        return;
      }
    }
    values(first, want.size());
  }

  // Static values the signature can already judge.
  void values(std::size_t first, std::size_t count) {
    std::string_view name = sig_.name;
    auto at = [&](std::size_t k) -> const Argument& { return args_[first + k]; };
    bool leading_variable =
        (name == "setflag" || name == "addflag" || name == "removeflag" || name == "hasflag") && count == 2;
    if (name == "set" || leading_variable) {
      for (const auto& v : at(0).strings)
        if (!expands(v) && !is_variable_name(v)) issue(at(0).pos, "invalid variable name '" + v + "'");
    }
    if (name == "envelope") {
      for (const auto& part : at(0).strings) {
        std::string l = to_lower(part);
        if (!expands(part) && l != "from" && l != "to" && l != "auth")
          issue(at(0).pos, "unknown envelope part '" + part + "'");
      }
    }
    if (name == "addheader" || name == "deleteheader" || name == "date") {
      const std::string& field = at(0).strings[0];
      if (!expands(field) && !is_field_name(field)) issue(at(0).pos, "invalid header name '" + field + "'");
    }
    if (name == "date" || name == "currentdate") {
      const Argument& part = at(name == "date" ? 1 : 0);
      if (!expands(part.strings[0]) && !is_date_part(part.strings[0]))
        issue(part.pos, "unknown date part '" + part.strings[0] + "'", /*warning=*/true);
    }
  }

  const Signature& sig_;
  Position where_;
  const std::vector<Argument>& args_;
  const HasExtension& has_;
  std::vector<SignatureIssue>& out_;
};

}  // namespace

void check_signature(const std::string& name, bool is_test, Position where, const std::vector<Argument>& args,
                     const HasExtension& has, std::vector<SignatureIssue>& out) {
  for (const auto& sig : signatures())
    if (sig.is_test == is_test && name == sig.name) {
      Checker(sig, where, args, has, out).run();
      return;
    }
}

bool is_field_name(std::string_view s) {
  return !s.empty() &&
         std::all_of(s.begin(), s.end(), [](char c) { return c >= 33 && c <= 126 && c != ':'; });
}

bool is_variable_name(std::string_view s) {
  if (s.empty()) return false;
  std::size_t start = 0;
  while (start <= s.size()) {
    std::size_t end = s.find('.', start);
    if (end == std::string_view::npos) end = s.size();
    std::string_view part = s.substr(start, end - start);
    if (part.empty()) return false;
    auto alpha_ = [](char c) { return std::isalpha(static_cast<unsigned char>(c)) || c == '_'; };
    if (!alpha_(part[0])) return false;
    for (char c : part)
      if (!alpha_(c) && !std::isdigit(static_cast<unsigned char>(c))) return false;
    start = end + 1;
  }
  return true;
}

}  // namespace mailfort::sieve
