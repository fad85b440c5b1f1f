// The Bayes statistics in Redis ([state] backend = "redis"), shared by every
// node. Per scope (g = global, u:<user>):
//   bayes:<scope>:learns   hash spam, ham            messages learned
//   bayes:<scope>:tokens   hash <token> -> "spam:ham" messages of each class with the token
//   bayes:<scope>:spam / :ham  sets of message digests learned as that class
// A learn is one Lua script per scope (the same rule as the SQLite store:
// learned once, relearned moves the counts), both scopes in one round
// trip. While Redis is unreachable the node's SQLite store answers.
#include <algorithm>

#include "filter/bayes.h"
#include "state/redis.h"

namespace mailfort::filter {
namespace {

// KEYS: learns, tokens, spam set, ham set. ARGV: digest, "1" spam / "0" ham,
// tokens. Returns 0 already learned, 1 learned, 2 relearned.
constexpr const char* kLearnScript = R"lua(
local spam = ARGV[2] == '1'
local in_spam = redis.call('SISMEMBER', KEYS[3], ARGV[1]) == 1
local in_ham = redis.call('SISMEMBER', KEYS[4], ARGV[1]) == 1
if (spam and in_spam) or ((not spam) and in_ham) then return 0 end
local was = in_spam or in_ham
local ds, dh
if spam then
  ds = 1; dh = was and -1 or 0
  redis.call('SREM', KEYS[4], ARGV[1]); redis.call('SADD', KEYS[3], ARGV[1])
else
  ds = was and -1 or 0; dh = 1
  redis.call('SREM', KEYS[3], ARGV[1]); redis.call('SADD', KEYS[4], ARGV[1])
end
local function clamp(v) if v < 0 then return 0 end return v end
local ls = tonumber(redis.call('HGET', KEYS[1], 'spam') or '0')
local lh = tonumber(redis.call('HGET', KEYS[1], 'ham') or '0')
redis.call('HSET', KEYS[1], 'spam', clamp(ls + ds), 'ham', clamp(lh + dh))
for i = 3, #ARGV do
  local v = redis.call('HGET', KEYS[2], ARGV[i])
  local s, h = 0, 0
  if v then
    local p = string.find(v, ':', 1, true)
    s = tonumber(string.sub(v, 1, p - 1)); h = tonumber(string.sub(v, p + 1))
  end
  redis.call('HSET', KEYS[2], ARGV[i], string.format('%d:%d', clamp(s + ds), clamp(h + dh)))
end
if was then return 2 end
return 1
)lua";

uint64_t to_u64(const state::RedisReply& r) {
  if (r.type != state::RedisReply::Type::String) return 0;
  return std::strtoull(r.str.c_str(), nullptr, 10);
}

class RedisBayes : public BayesStore {
 public:
  RedisBayes(std::shared_ptr<state::Redis> redis, std::unique_ptr<BayesStore> local, uint32_t min_learns)
      : redis_(std::move(redis)), local_(std::move(local)), min_learns_(std::max<uint32_t>(min_learns, 1)) {}

  Result<LearnOutcome> learn(const std::vector<Token>& tokens, bool spam, const std::string& user) override {
    if (tokens.empty()) return LearnOutcome::Skipped;
    const std::string digest = bayes_digest(tokens);
    const std::string name = bayes_user_name(user);
    std::vector<std::vector<std::string>> cmds{learn_command("g", digest, tokens, spam)};
    if (!name.empty()) cmds.insert(cmds.begin(), learn_command("u:" + name, digest, tokens, spam));
    auto r = redis_->pipeline(cmds);
    if (!r) return fallback([&] { return local_->learn(tokens, spam, user); });
    const auto& mine = r.value().front();
    if (mine.type != state::RedisReply::Type::Integer)
      return make_error(Errc::Perm, "bayes redis: " + mine.str);
    switch (mine.integer) {
      case 0:
        return LearnOutcome::AlreadyLearned;
      case 2:
        return LearnOutcome::Relearned;
      default:
        return LearnOutcome::Learned;
    }
  }

  Result<std::optional<double>> classify(const std::vector<Token>& tokens, const std::string& user) override {
    const std::string name = bayes_user_name(user);
    std::vector<std::string> scopes;
    if (!name.empty()) scopes.push_back("u:" + name);
    scopes.push_back("g");
    std::vector<std::vector<std::string>> cmds;
    for (const auto& s : scopes) cmds.push_back({"HMGET", key(s, "learns"), "spam", "ham"});
    auto learns = redis_->pipeline(cmds);
    if (!learns) return fallback([&] { return local_->classify(tokens, user); });
    for (std::size_t i = 0; i < scopes.size(); ++i) {
      const auto& l = learns.value()[i];
      if (l.elements.size() != 2) continue;
      uint64_t spam_learns = to_u64(l.elements[0]), ham_learns = to_u64(l.elements[1]);
      if (spam_learns < min_learns_ || ham_learns < min_learns_) continue;
      if (tokens.empty()) return std::optional<double>(combine_interesting({}));
      std::vector<std::string> hmget{"HMGET", key(scopes[i], "tokens")};
      for (Token t : tokens) hmget.push_back(std::to_string(t));
      auto counts = redis_->command(hmget);
      if (!counts) return fallback([&] { return local_->classify(tokens, user); });
      std::vector<double> probabilities;
      for (const auto& c : counts->elements) {
        if (c.type != state::RedisReply::Type::String) continue;
        auto colon = c.str.find(':');
        if (colon == std::string::npos) continue;
        uint64_t s = std::strtoull(c.str.c_str(), nullptr, 10);
        uint64_t h = std::strtoull(c.str.c_str() + colon + 1, nullptr, 10);
        if (s + h >= kBayesMinTokenSightings)
          probabilities.push_back(token_probability(s, h, spam_learns, ham_learns));
      }
      return std::optional<double>(combine_interesting(std::move(probabilities)));
    }
    return std::optional<double>();
  }

  Result<BayesCounts> counts(const std::string& user) override {
    const std::string name = bayes_user_name(user);
    const std::string scope = name.empty() ? "g" : "u:" + name;
    auto r =
        redis_->pipeline({{"HMGET", key(scope, "learns"), "spam", "ham"}, {"HLEN", key(scope, "tokens")}});
    if (!r) return fallback([&] { return local_->counts(user); });
    BayesCounts out;
    const auto& l = r.value()[0];
    if (l.elements.size() == 2) {
      out.spam_learns = to_u64(l.elements[0]);
      out.ham_learns = to_u64(l.elements[1]);
    }
    out.tokens = static_cast<uint64_t>(std::max<int64_t>(0, r.value()[1].integer));
    return out;
  }

 private:
  std::string key(const std::string& scope, const char* what) const {
    return redis_->key("bayes:" + scope + ":" + what);
  }

  std::vector<std::string> learn_command(const std::string& scope, const std::string& digest,
                                         const std::vector<Token>& tokens, bool spam) const {
    std::vector<std::string> argv{"EVAL",
                                  kLearnScript,
                                  "4",
                                  key(scope, "learns"),
                                  key(scope, "tokens"),
                                  key(scope, "spam"),
                                  key(scope, "ham"),
                                  digest,
                                  spam ? "1" : "0"};
    argv.reserve(argv.size() + tokens.size());
    for (Token t : tokens) argv.push_back(std::to_string(t));
    return argv;
  }

  template <class F>
  auto fallback(F local_call) -> decltype(local_call()) {
    redis_->count_fallback();
    if (!local_) return make_error(Errc::Temp, "bayes: redis unreachable: " + redis_->last_error());
    return local_call();
  }

  std::shared_ptr<state::Redis> redis_;
  std::unique_ptr<BayesStore> local_;
  uint32_t min_learns_;
};

}  // namespace

std::unique_ptr<BayesStore> open_redis_bayes(std::shared_ptr<state::Redis> redis,
                                             std::unique_ptr<BayesStore> local, uint32_t min_learns) {
  return std::make_unique<RedisBayes>(std::move(redis), std::move(local), min_learns);
}

}  // namespace mailfort::filter
