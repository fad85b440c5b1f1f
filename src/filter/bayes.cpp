// The arithmetic of the Bayes classifier (pure): Robinson's per-token
// probability and Fisher's chi-square combining, as Gary Robinson
// describes them ("A Statistical Approach to the Spam Problem", Linux
// Journal 2003) and SpamBayes and Rspamd use them. The store that counts
// the tokens is bayes_sqlite.cpp.
#include "filter/bayes.h"

#include <algorithm>
#include <cmath>

namespace mailfort::filter {
namespace {

// Robinson's strength of the prior (s) and the prior itself (x): a token
// seen once says little, so f(w) starts at x and moves as it is seen.
constexpr double kStrength = 1.0;
constexpr double kPrior = 0.5;

// Keeps ln(p) and ln(1 - p) finite.
constexpr double kMinProbability = 1e-12;

// The upper tail of the chi-square distribution with `dof` (even) degrees
// of freedom at `chi2`: Q = e^-m * sum_{i < dof/2} m^i / i!, m = chi2 / 2,
// summed in log space: with 150 tokens m reaches thousands, where e^-m
// alone is 0 in a double but the sum is not always negligible.
double chi2_upper_tail(double chi2, std::size_t dof) {
  double m = chi2 / 2;
  if (!(m > 0)) return 1.0;
  std::size_t terms = dof / 2;
  double ln_m = std::log(m);
  double max_log = -INFINITY;
  std::vector<double> logs(terms);
  for (std::size_t i = 0; i < terms; ++i) {
    logs[i] = -m + static_cast<double>(i) * ln_m - std::lgamma(static_cast<double>(i) + 1);
    max_log = std::max(max_log, logs[i]);
  }
  double sum = 0;
  for (double l : logs) sum += std::exp(l - max_log);
  return std::min(1.0, std::exp(max_log + std::log(sum)));
}

}  // namespace

double chi_square_combine(const std::vector<double>& token_probabilities) {
  if (token_probabilities.empty()) return 0.5;
  double ln_spam = 0, ln_ham = 0;  // ln prod f, ln prod (1 - f)
  for (double p : token_probabilities) {
    if (std::isnan(p)) p = 0.5;
    p = std::clamp(p, kMinProbability, 1 - kMinProbability);
    ln_spam += std::log(p);
    ln_ham += std::log1p(-p);
  }
  std::size_t dof = 2 * token_probabilities.size();
  // H near 1 when the f(w) are near 1 (no sign of ham); S near 1 when they
  // are near 0 (no sign of spam).
  double h = chi2_upper_tail(-2 * ln_spam, dof);
  double s = chi2_upper_tail(-2 * ln_ham, dof);
  return std::clamp((1 + h - s) / 2, 0.0, 1.0);
}

double token_probability(uint64_t spam, uint64_t ham, uint64_t spam_learns, uint64_t ham_learns) {
  if (spam_learns == 0 || ham_learns == 0) return kPrior;
  // A token counted more often than messages were learned (a relearn race
  // or a damaged store) counts as seen in every one.
  double spam_ratio = std::min(1.0, static_cast<double>(spam) / static_cast<double>(spam_learns));
  double ham_ratio = std::min(1.0, static_cast<double>(ham) / static_cast<double>(ham_learns));
  if (spam_ratio + ham_ratio <= 0) return kPrior;
  double p = spam_ratio / (spam_ratio + ham_ratio);
  double n = static_cast<double>(spam + ham);
  return (kStrength * kPrior + n * p) / (kStrength + n);
}

// A message's identity: 128 bits over its (sorted, distinct) tokens, so
// the same message read from another copy (new Received fields, another
// folder) is the same message.
std::string bayes_digest(const std::vector<Token>& tokens) {
  uint64_t a = 0x8b72e1f30c4d5a69ULL ^ tokens.size(), b = 0x2f9a4c1d7e3b6805ULL;
  for (Token t : tokens) {
    a = (a ^ t) * 0x9e3779b97f4a7c15ULL;
    a ^= a >> 29;
    b = (b + t) * 0xc2b2ae3d27d4eb4fULL;
    b ^= b >> 31;
  }
  std::string out(16, '\0');
  for (int i = 0; i < 8; ++i) {
    out[i] = static_cast<char>(a >> (56 - 8 * i));
    out[8 + i] = static_cast<char>(b >> (56 - 8 * i));
  }
  return out;
}

std::string bayes_user_name(const std::string& user) {
  std::string out = user;
  for (char& c : out)
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c + 0x20);
  return out;
}

double combine_interesting(std::vector<double> probabilities) {
  constexpr std::size_t kInterestingTokens = 150;
  if (probabilities.size() > kInterestingTokens) {
    auto further = [](double a, double b) { return std::fabs(a - 0.5) > std::fabs(b - 0.5); };
    std::nth_element(probabilities.begin(), probabilities.begin() + kInterestingTokens, probabilities.end(),
                     further);
    probabilities.resize(kInterestingTokens);
  }
  return chi_square_combine(probabilities);
}

}  // namespace mailfort::filter
