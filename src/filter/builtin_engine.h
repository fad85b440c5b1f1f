// The built-in scorer: every check of checks.h, local rules, URL
// blocklists and Bayes, summed and compared with [spam] add_header_score
// and reject_score. Its parts come in through interfaces so each is tested
// alone; filter_service.cpp wires the real ones.
#pragma once
#include <chrono>
#include <ctime>
#include <functional>
#include <memory>
#include <vector>

#include "base/config.h"
#include "filter/checks.h"
#include "filter/scan.h"

namespace mailfort::filter {

class BayesStore;
class RuleSet;
class UrlBlocklist;

struct BuiltinParts {
  std::shared_ptr<BayesStore> bayes;     // null = Bayes off
  std::shared_ptr<const RuleSet> rules;  // null = none
  std::shared_ptr<UrlBlocklist> uribl;   // null = none
  // The client IP's DNSBL/DNSWL listings ([inbound] dnsbl, cached by
  // postscreen); null = none.
  std::function<std::vector<IpListing>(const std::string& ip)> ip_listings;
  std::function<std::time_t()> clock;  // null = std::time
};

class BuiltinEngine : public SpamEngine {
 public:
  BuiltinEngine(const config::Spam& cfg, BuiltinParts parts);
  ScanResult scan(const ScanInput& in) override;
  Result<LearnOutcome> learn(std::string_view message, bool spam, const std::string& user) override;

 private:
  config::Spam cfg_;
  BuiltinParts parts_;
};

}  // namespace mailfort::filter
