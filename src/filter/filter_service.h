// The filtering subsystem as the rest of the server sees it: the spam
// engine chosen by [spam] engine, clamd, the milters, the scan history, and
// a background learner for IMAP moves into and out of Junk. One instance
// in server::Services; engine() is null with [spam] engine = "off", antivirus()
// without [antivirus] clamd.
// Everything but learn_in_background() blocks: use it on the worker pool.
#pragma once
#include <condition_variable>
#include <deque>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "base/config.h"
#include "base/result.h"
#include "filter/history.h"
#include "filter/scan.h"

namespace mailfort::dns {
class Resolver;
}
namespace mailfort::postscreen {
class Postscreen;
}
namespace mailfort::state {
class Redis;
}

namespace mailfort::filter {

class FilterService {
 public:
  // `postscreen` may be null (the DNSBL symbols then do their own lookups
  // without the shared cache; tests and the CLI). `redis` ([state] backend
  // = "redis"): the Bayes statistics live there, the local SQLite ones
  // answering while it is unreachable.
  static Result<std::shared_ptr<FilterService>> open(const config::Config& cfg,
                                                     std::shared_ptr<dns::Resolver> resolver,
                                                     std::shared_ptr<postscreen::Postscreen> postscreen,
                                                     std::shared_ptr<state::Redis> redis = {});
  ~FilterService();

  SpamEngine* engine() const { return engine_.get(); }       // null: [spam] engine = "off"
  Antivirus* antivirus() const { return antivirus_.get(); }  // null: no [antivirus] clamd
  ScanHistory* history() const { return history_.get(); }    // null when its database cannot be opened
  const config::Spam& spam_config() const { return spam_; }

  // The [[milter]] entries that apply to a listener (by name, or "mx" /
  // "submission" for every listener of that protocol), in config order.
  std::vector<config::Milter> milters_for(const config::Listener& listener) const;

  // Learns one message now (counted in the history's daily learns).
  Result<LearnOutcome> learn(std::string_view message, bool spam, const std::string& user);

  // IMAP moves: the message files are read and learned on the learner
  // thread; returns at once. A bounded queue: jobs beyond it are dropped
  // with a log line (a user's mass move must not grow memory).
  void learn_in_background(std::string user, std::vector<std::string> message_files, bool spam);
  // Tests and shutdown: waits until the queue is empty.
  void drain();

 private:
  FilterService() = default;
  void learner_loop();

  config::Config cfg_;
  config::Spam spam_;
  std::vector<config::Milter> milters_;
  std::unique_ptr<SpamEngine> engine_;
  std::unique_ptr<Antivirus> antivirus_;
  std::unique_ptr<ScanHistory> history_;

  struct LearnJob {
    std::string user;
    std::vector<std::string> files;
    bool spam = false;
  };
  static constexpr std::size_t kMaxQueuedJobs = 10000;
  std::mutex mu_;
  std::condition_variable cv_, idle_cv_;
  std::deque<LearnJob> jobs_;
  bool busy_ = false, stop_ = false;
  std::thread learner_;
};

}  // namespace mailfort::filter
