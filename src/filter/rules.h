// Local rules: one rule a line in files named by [spam] rules, evaluated
// with RE2 (linear time: no pattern can stall the server).
//
//   # comment
//   header SYMBOL_NAME Subject =~ /pattern/flags  weight  [description]
//   body   SYMBOL_NAME /pattern/flags               weight  [description]
//   uri    SYMBOL_NAME /pattern/flags               weight  [description]
//   rawbody / full / meta forms as documented in docs/spam-rules.md
//
// The exact grammar is the rules helper's and is documented in
// docs/spam-rules.md; parse errors carry file:line.
#pragma once
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.h"
#include "filter/scan.h"

namespace mailfort::filter {

class MessageView;
struct Url;

struct RuleProblem {
  std::string file;
  int line = 0;
  std::string message;
};

class RuleSet {
 public:
  virtual ~RuleSet() = default;
  // Symbols of the rules that match.
  virtual std::vector<Symbol> match(const MessageView& view, const std::vector<Url>& urls) const = 0;
  virtual std::size_t size() const = 0;
};

// Parses rule text (`name` for messages). Rules with errors are left out
// and reported; the rest work.
std::unique_ptr<RuleSet> parse_rules(std::string_view text, const std::string& name,
                                     std::vector<RuleProblem>& problems);
// Reads and parses every file; unreadable files are problems.
std::unique_ptr<RuleSet> load_rule_files(const std::vector<std::string>& files,
                                         std::vector<RuleProblem>& problems);

}  // namespace mailfort::filter
