// Greylisting: see greylist.h.
#include "postscreen/greylist.h"

#include <arpa/inet.h>

#include "state/redis.h"

namespace mailfort::postscreen {
namespace {

constexpr const char* kSchema = R"sql(
CREATE TABLE IF NOT EXISTS greylist (
  network TEXT NOT NULL,
  sender TEXT NOT NULL,
  rcpt TEXT NOT NULL,
  first_seen INTEGER NOT NULL,
  last_seen INTEGER NOT NULL,
  passed INTEGER NOT NULL DEFAULT 0,
  PRIMARY KEY (network, sender, rcpt)
);
CREATE TABLE IF NOT EXISTS greylist_domains (
  domain TEXT PRIMARY KEY,
  last_verified INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS greylist_clients (
  network TEXT PRIMARY KEY,
  passes INTEGER NOT NULL,
  last_pass INTEGER NOT NULL
);
)sql";

constexpr int64_t kPruneEverySeconds = 3600;

int64_t to_i64(const state::RedisReply& r) {
  return std::strtoll(r.str.c_str(), nullptr, 10);
}

}  // namespace

GreylistDecision greylist_decide(const std::optional<GreylistTriplet>& triplet,
                                 const std::optional<GreylistClient>& client,
                                 const GreylistSettings& settings, int64_t now) {
  const int64_t allow_seconds = int64_t{settings.allow_days} * 86400;
  GreylistDecision d;
  d.known_client = client && client->passes >= settings.pass_count && client->last_pass > now - allow_seconds;
  bool exists = false, passed = false;
  int64_t first_seen = now;
  if (triplet) {
    first_seen = triplet->first_seen;
    passed = triplet->passed;
    // An unpassed triplet not retried in time starts over, a passed one not
    // used for allow_days too.
    exists =
        passed ? triplet->last_seen > now - allow_seconds : first_seen > now - Greylist::kRetryWindowSeconds;
  }
  if (!exists) first_seen = now;
  auto& v = d.verdict;
  if (d.known_client) {
    v = {GreylistVerdict::Kind::Pass, "known-client", 0};
  } else if (exists && passed) {
    v = {GreylistVerdict::Kind::Pass, "known-triplet", 0};
  } else if (now - first_seen >= settings.delay_seconds) {
    v = {GreylistVerdict::Kind::Pass, "passed", 0};
    d.newly_passed = true;
  } else {
    v = {GreylistVerdict::Kind::Defer, exists ? "waiting" : "new", first_seen + settings.delay_seconds - now};
  }
  d.store = {first_seen, now, (passed && exists) || v.kind == GreylistVerdict::Kind::Pass};
  return d;
}

std::string greylist_network(std::string_view ip) {
  std::string text(ip);
  if (auto pct = text.find('%'); pct != std::string::npos) text.resize(pct);
  unsigned char b[16];
  char out[INET6_ADDRSTRLEN];
  if (inet_pton(AF_INET, text.c_str(), b) == 1) {
    b[3] = 0;
    inet_ntop(AF_INET, b, out, sizeof out);
    return std::string(out) + "/24";
  }
  if (inet_pton(AF_INET6, text.c_str(), b) == 1) {
    for (int i = 8; i < 16; ++i) b[i] = 0;
    inet_ntop(AF_INET6, b, out, sizeof out);
    return std::string(out) + "/64";
  }
  return std::string(ip);
}

Result<std::shared_ptr<Greylist>> Greylist::open(const std::string& path,
                                                 std::shared_ptr<state::Redis> redis) {
  sqlite::Database::Options o;
  o.wal = true;
  o.synchronous_normal = true;
  auto db = sqlite::Database::open(path, o);
  if (!db) return make_error(db.error().code, "greylist: cannot open " + path + ": " + db.error().message);
  if (auto r = db.value().exec(kSchema); !r) {
    return make_error(r.error().code,
                      "greylist: cannot create the tables in " + path + ": " + r.error().message);
  }
  auto g = std::shared_ptr<Greylist>(new Greylist(std::move(db.value())));
  g->redis_ = std::move(redis);
  return g;
}

Result<GreylistVerdict> Greylist::check(const std::string& network, const std::string& sender,
                                        const std::string& rcpt, const GreylistSettings& settings,
                                        int64_t now) {
  if (redis_) {
    if (auto v = check_redis(network, sender, rcpt, settings, now)) return *v;
    redis_->count_fallback();
  }
  std::lock_guard lock(mu_);
  if (now - last_prune_ >= kPruneEverySeconds) {
    last_prune_ = now;
    (void)prune_locked(settings, now);  // a failed prune is retried next hour; the check goes on
  }
  return check_locked(network, sender, rcpt, settings, now);
}

Result<GreylistVerdict> Greylist::check_locked(const std::string& network, const std::string& sender,
                                               const std::string& rcpt, const GreylistSettings& settings,
                                               int64_t now) {
  sqlite::Transaction txn(db_);
  if (!txn.ok()) return db_.error("greylist");

  auto client = db_.cached("SELECT passes, last_pass FROM greylist_clients WHERE network = ?");
  client.bind(1, network);
  std::optional<GreylistClient> known;
  if (client.step()) {
    known = GreylistClient{client.i64(0), client.i64(1)};
  } else if (!client.done()) {
    return client.error("greylist");
  }

  auto row = db_.cached(
      "SELECT first_seen, last_seen, passed FROM greylist WHERE network = ? AND sender = ? AND rcpt = ?");
  row.bind(1, network).bind(2, sender).bind(3, rcpt);
  std::optional<GreylistTriplet> triplet;
  if (row.step()) {
    triplet = GreylistTriplet{row.i64(0), row.i64(1), row.i64(2) != 0};
  } else if (!row.done()) {
    return row.error("greylist");
  }
  row.reset();
  const GreylistDecision d = greylist_decide(triplet, known, settings, now);

  auto upsert = db_.cached(
      "INSERT INTO greylist (network, sender, rcpt, first_seen, last_seen, passed) VALUES (?1, ?2, ?3, ?4, "
      "?5, ?6) "
      "ON CONFLICT (network, sender, rcpt) DO UPDATE SET first_seen = ?4, last_seen = ?5, passed = ?6");
  upsert.bind(1, network)
      .bind(2, sender)
      .bind(3, rcpt)
      .bind(4, d.store.first_seen)
      .bind(5, d.store.last_seen);
  upsert.bind(6, int64_t{d.store.passed});
  if (!upsert.run()) return upsert.error("greylist");
  if (d.newly_passed) {
    auto count = db_.cached(
        "INSERT INTO greylist_clients (network, passes, last_pass) VALUES (?1, 1, ?2) "
        "ON CONFLICT (network) DO UPDATE SET passes = passes + 1, last_pass = ?2");
    count.bind(1, network).bind(2, now);
    if (!count.run()) return count.error("greylist");
  } else if (d.known_client) {
    auto touch = db_.cached("UPDATE greylist_clients SET last_pass = ? WHERE network = ?");
    touch.bind(1, now).bind(2, network);
    if (!touch.run()) return touch.error("greylist");
  }
  if (!txn.commit()) return db_.error("greylist commit");
  return d.verdict;
}

// Keys: grey:t:<network>\n<sender>\n<rcpt> (a newline is in no address),
// grey:c:<network>, grey:d:<domain>; each expires with its window, which
// replaces the SQLite prune. Two round trips: a read, then the writes (two
// nodes deciding the same triplet at once write the same verdict).
std::optional<GreylistVerdict> Greylist::check_redis(const std::string& network, const std::string& sender,
                                                     const std::string& rcpt,
                                                     const GreylistSettings& settings, int64_t now) {
  const std::string tkey = redis_->key("grey:t:" + network + "\n" + sender + "\n" + rcpt);
  const std::string ckey = redis_->key("grey:c:" + network);
  auto read = redis_->pipeline(
      {{"HMGET", tkey, "first_seen", "last_seen", "passed"}, {"HMGET", ckey, "passes", "last_pass"}});
  if (!read) return std::nullopt;
  const auto& t = read.value()[0];
  const auto& c = read.value()[1];
  if (t.elements.size() != 3 || c.elements.size() != 2) return std::nullopt;
  std::optional<GreylistTriplet> triplet;
  if (t.elements[0].type == state::RedisReply::Type::String)
    triplet = GreylistTriplet{to_i64(t.elements[0]), to_i64(t.elements[1]), to_i64(t.elements[2]) != 0};
  std::optional<GreylistClient> client;
  if (c.elements[0].type == state::RedisReply::Type::String)
    client = GreylistClient{to_i64(c.elements[0]), to_i64(c.elements[1])};
  const GreylistDecision d = greylist_decide(triplet, client, settings, now);

  const std::string allow = std::to_string(int64_t{settings.allow_days} * 86400);
  std::vector<std::vector<std::string>> writes{
      {"HSET", tkey, "first_seen", std::to_string(d.store.first_seen), "last_seen",
       std::to_string(d.store.last_seen), "passed", d.store.passed ? "1" : "0"},
      {"EXPIRE", tkey, d.store.passed ? allow : std::to_string(kRetryWindowSeconds)}};
  if (d.newly_passed) {
    writes.push_back({"HINCRBY", ckey, "passes", "1"});
    writes.push_back({"HSET", ckey, "last_pass", std::to_string(now)});
    writes.push_back({"EXPIRE", ckey, allow});
  } else if (d.known_client) {
    writes.push_back({"HSET", ckey, "last_pass", std::to_string(now)});
    writes.push_back({"EXPIRE", ckey, allow});
  }
  // The verdict stands even if the writes are lost: the next retry decides again.
  (void)redis_->pipeline(writes);
  return d.verdict;
}

Result<void> Greylist::remember_verified_domain(const std::string& domain, int64_t now) {
  if (redis_) {
    // No allow_days here: kept for the longest greylist_allow_days allows
    // (3650 days; the setting in force is applied when read).
    if (redis_->command({"SET", redis_->key("grey:d:" + domain), std::to_string(now), "EX",
                         std::to_string(int64_t{3650} * 86400)}))
      return {};
    redis_->count_fallback();
  }
  std::lock_guard lock(mu_);
  auto q = db_.cached(
      "INSERT INTO greylist_domains (domain, last_verified) VALUES (?1, ?2) "
      "ON CONFLICT (domain) DO UPDATE SET last_verified = ?2");
  q.bind(1, domain).bind(2, now);
  if (!q.run()) return q.error("greylist remember domain");
  return {};
}

Result<bool> Greylist::is_verified_domain(const std::string& domain, const GreylistSettings& settings,
                                          int64_t now) {
  const int64_t allow_seconds = int64_t{settings.allow_days} * 86400;
  if (redis_) {
    auto r = redis_->command({"GET", redis_->key("grey:d:" + domain)});
    if (r && r->type == state::RedisReply::Type::String) return to_i64(r.value()) > now - allow_seconds;
    if (r) return false;  // not in Redis (a domain remembered only locally during an outage is missed)
    redis_->count_fallback();
  }
  std::lock_guard lock(mu_);
  auto q = db_.cached("SELECT last_verified FROM greylist_domains WHERE domain = ?");
  q.bind(1, domain);
  if (q.step()) return q.i64(0) > now - int64_t{settings.allow_days} * 86400;
  if (!q.done()) return q.error("greylist domain");
  return false;
}

Result<void> Greylist::prune(const GreylistSettings& settings, int64_t now) {
  std::lock_guard lock(mu_);
  return prune_locked(settings, now);
}

Result<void> Greylist::prune_locked(const GreylistSettings& settings, int64_t now) {
  const int64_t allow_seconds = int64_t{settings.allow_days} * 86400;
  auto triplets = db_.cached(
      "DELETE FROM greylist WHERE (passed = 0 AND first_seen <= ?1) OR (passed != 0 AND last_seen <= ?2)");
  triplets.bind(1, now - kRetryWindowSeconds).bind(2, now - allow_seconds);
  if (!triplets.run()) return triplets.error("greylist prune");
  auto clients = db_.cached("DELETE FROM greylist_clients WHERE last_pass <= ?");
  clients.bind(1, now - allow_seconds);
  if (!clients.run()) return clients.error("greylist prune");
  auto domains = db_.cached("DELETE FROM greylist_domains WHERE last_verified <= ?");
  domains.bind(1, now - allow_seconds);
  if (!domains.run()) return domains.error("greylist prune");
  return {};
}

}  // namespace mailfort::postscreen
