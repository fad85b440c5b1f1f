// Bayes statistics and classification: token counts per class, per user
// and global, chi-square (Fisher/Robinson) combining. The statistics are
// behind the BayesStore interface (SQLite now, Redis with the shared-state
// issue). A message is identified by a digest of its tokens: learned twice
// it counts once; learned as the other class it moves.
#pragma once
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "base/result.h"
#include "filter/scan.h"
#include "filter/tokenizer.h"

namespace mailfort::state {
class Redis;
}

namespace mailfort::filter {

struct BayesCounts {
  uint64_t spam_learns = 0, ham_learns = 0;  // messages
  uint64_t tokens = 0;                       // distinct tokens stored
};

class BayesStore {
 public:
  virtual ~BayesStore() = default;
  // `user` "" = global only; otherwise counted for the user and globally.
  virtual Result<LearnOutcome> learn(const std::vector<Token>& tokens, bool spam,
                                     const std::string& user) = 0;
  // P(spam) in [0, 1] from the user's statistics when they have at least
  // min_learns of each class, else the global ones, else nullopt (no vote).
  virtual Result<std::optional<double>> classify(const std::vector<Token>& tokens,
                                                 const std::string& user) = 0;
  virtual Result<BayesCounts> counts(const std::string& user) = 0;  // "" = global
};

// <path> created when missing; thread-safe.
Result<std::unique_ptr<BayesStore>> open_sqlite_bayes(const std::string& path, uint32_t min_learns);

// [state] backend = "redis": the statistics in Redis, shared by every node
// (per scope a hash of learn counts, a hash of token counts "spam:ham",
// and sets of the learned messages' digests); `local` answers while Redis
// is unreachable. Thread-safe.
std::unique_ptr<BayesStore> open_redis_bayes(std::shared_ptr<state::Redis> redis,
                                             std::unique_ptr<BayesStore> local, uint32_t min_learns);

// A message's identity for "learned once" (128 bits over its tokens), and
// the statistics scope of a user (lower-cased; "" = global).
std::string bayes_digest(const std::vector<Token>& tokens);
std::string bayes_user_name(const std::string& user);

// Tokens seen fewer times than this (in both classes together) do not
// vote: one sighting is noise.
inline constexpr uint64_t kBayesMinTokenSightings = 2;
// The combined score of the token probabilities of one message: the 150
// most decided (f(w) furthest from 0.5) vote, chi-square combined. Every
// store scores through it.
double combine_interesting(std::vector<double> token_probabilities);

// Robinson/Fisher chi-square combining of per-token spam probabilities
// (pure; unit-tested): near 1 spam, near 0 ham, 0.5 unsure.
double chi_square_combine(const std::vector<double>& token_probabilities);

// Robinson's f(w) of one token seen `spam` times in `spam_learns` spam
// messages and `ham` times in `ham_learns` ham messages (s = 1, x = 0.5:
// a rare token stays near 0.5). Both learn counts must be > 0.
double token_probability(uint64_t spam, uint64_t ham, uint64_t spam_learns, uint64_t ham_learns);

}  // namespace mailfort::filter
