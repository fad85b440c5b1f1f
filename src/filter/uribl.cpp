// URL blocklists: see uribl.h. The names come from untrusted messages and
// the answers from the network; both are bounded. Questions go to a small
// pool of worker threads (DNS calls block), so one message's lookups run
// in parallel and a slow list costs at most the caller's timeout.
#include "filter/uribl.h"

#include <arpa/inet.h>

#include <algorithm>
#include <condition_variable>
#include <deque>
#include <mutex>
#include <optional>
#include <thread>
#include <unordered_map>
#include <unordered_set>

#include "auth/dmarc.h"
#include "dns/resolver.h"
#include "filter/url_extract.h"

namespace mailfort::filter {
namespace {

constexpr std::size_t kWorkers = 8;
constexpr std::size_t kMaxQueued = 4096;  // questions waiting (a dead DNS must not grow memory)
constexpr std::size_t kMaxCacheEntries = 20000;
constexpr uint32_t kMaxCacheSeconds = 3600;
constexpr uint32_t kDefaultNegativeSeconds = 60;  // NXDOMAIN without an SOA TTL

// One message's questions, shared with the workers so an answer that comes
// after check() gave up lands somewhere harmless.
struct Batch {
  std::mutex mu;
  std::condition_variable done;
  std::size_t pending = 0;
  std::vector<std::optional<UriblAnswer>> answers;
};

struct Job {
  std::shared_ptr<Batch> batch;
  std::size_t index = 0;
  std::string qname;
};

bool dns_name(const std::string& host) {
  if (host.empty() || host.size() > 253) return false;
  std::size_t label = 0;
  for (char c : host) {
    if (c == '.') {
      if (label == 0) return false;
      label = 0;
      continue;
    }
    bool ok = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_';
    if (!ok || ++label > 63) return false;
  }
  return label > 0;
}

class Blocklist : public UrlBlocklist {
 public:
  Blocklist(UriblLookup lookup, std::vector<std::string> zones, std::size_t max_hosts)
      : lookup_(std::move(lookup)), zones_(std::move(zones)), max_hosts_(max_hosts) {}

  ~Blocklist() override {
    {
      std::lock_guard lock(mu_);
      stop_ = true;
    }
    work_.notify_all();
    for (auto& t : workers_) t.join();
  }

  std::vector<UriblHit> check(const std::vector<Url>& urls, std::chrono::milliseconds timeout) override {
    auto deadline = std::chrono::steady_clock::now() + timeout;
    struct Question {
      std::string zone, name;
    };
    std::vector<Question> questions;
    for (const auto& name : uribl_query_names(urls, max_hosts_))
      for (const auto& zone : zones_) questions.push_back(Question{zone, name});

    auto batch = std::make_shared<Batch>();
    batch->answers.resize(questions.size());
    std::vector<Job> jobs;
    for (std::size_t i = 0; i < questions.size(); ++i) {
      std::string qname = questions[i].name + "." + questions[i].zone;
      if (auto cached = from_cache(qname)) {
        batch->answers[i] = std::move(cached);
      } else {
        jobs.push_back(Job{batch, i, std::move(qname)});
      }
    }
    if (!jobs.empty()) {
      // Counted before the workers can see a job, so they never count below zero.
      std::size_t asked = jobs.size();
      {
        std::lock_guard lock(batch->mu);
        batch->pending = asked;
      }
      std::size_t queued = enqueue(std::move(jobs));
      std::unique_lock lock(batch->mu);
      batch->pending -= asked - queued;  // those that did not fit get no answer
      batch->done.wait_until(lock, deadline, [&] { return batch->pending == 0; });
    }

    std::vector<UriblHit> hits;
    std::lock_guard lock(batch->mu);
    for (std::size_t i = 0; i < questions.size(); ++i) {
      const auto& a = batch->answers[i];
      if (!a || a->status != UriblAnswer::Status::Found) continue;
      auto listing = std::find_if(a->addresses.begin(), a->addresses.end(), is_uribl_listing);
      if (listing == a->addresses.end()) continue;
      hits.push_back(UriblHit{questions[i].zone, questions[i].name, *listing});
    }
    return hits;
  }

 private:
  struct Cached {
    UriblAnswer answer;
    std::chrono::steady_clock::time_point expires;
  };

  std::optional<UriblAnswer> from_cache(const std::string& qname) {
    std::lock_guard lock(mu_);
    auto it = cache_.find(qname);
    if (it == cache_.end()) return std::nullopt;
    if (it->second.expires <= std::chrono::steady_clock::now()) {
      cache_.erase(it);
      return std::nullopt;
    }
    return it->second.answer;
  }

  void remember(const std::string& qname, const UriblAnswer& answer) {
    if (answer.status == UriblAnswer::Status::Failed) return;  // asked again next time
    uint32_t ttl = answer.ttl;
    if (ttl == 0 && answer.status == UriblAnswer::Status::NotFound) ttl = kDefaultNegativeSeconds;
    if (ttl == 0) return;
    auto now = std::chrono::steady_clock::now();
    std::lock_guard lock(mu_);
    if (cache_.size() >= kMaxCacheEntries) {
      std::erase_if(cache_, [&](const auto& e) { return e.second.expires <= now; });
      if (cache_.size() >= kMaxCacheEntries) cache_.clear();
    }
    cache_[qname] = Cached{answer, now + std::chrono::seconds(std::min(ttl, kMaxCacheSeconds))};
  }

  // Queues what fits; returns how many were queued.
  std::size_t enqueue(std::vector<Job> jobs) {
    std::size_t queued = 0;
    {
      std::lock_guard lock(mu_);
      if (workers_.empty())
        for (std::size_t i = 0; i < kWorkers; ++i) workers_.emplace_back([this] { work(); });
      for (auto& job : jobs) {
        if (queue_.size() >= kMaxQueued) break;
        queue_.push_back(std::move(job));
        ++queued;
      }
    }
    work_.notify_all();
    return queued;
  }

  void work() {
    for (;;) {
      Job job;
      {
        std::unique_lock lock(mu_);
        work_.wait(lock, [&] { return stop_ || !queue_.empty(); });
        if (stop_) return;
        job = std::move(queue_.front());
        queue_.pop_front();
      }
      UriblAnswer answer = lookup_(job.qname);
      remember(job.qname, answer);
      {
        std::lock_guard lock(job.batch->mu);
        job.batch->answers[job.index] = std::move(answer);
        --job.batch->pending;
      }
      job.batch->done.notify_all();
    }
  }

  UriblLookup lookup_;
  std::vector<std::string> zones_;
  std::size_t max_hosts_;
  std::mutex mu_;  // cache_, queue_, workers_, stop_
  std::condition_variable work_;
  std::unordered_map<std::string, Cached> cache_;
  std::deque<Job> queue_;
  std::vector<std::thread> workers_;
  bool stop_ = false;
};

}  // namespace

std::vector<std::string> uribl_query_names(const std::vector<Url>& urls, std::size_t max_hosts) {
  std::vector<std::string> out;
  std::unordered_set<std::string> seen;
  auto add = [&](std::string name) {
    if (out.size() < max_hosts && seen.insert(name).second) out.push_back(std::move(name));
  };
  for (const auto& url : urls) {
    if (out.size() >= max_hosts) break;
    if (url.ip_host) {
      in_addr a{};
      if (inet_pton(AF_INET, url.host.c_str(), &a) != 1) continue;  // IPv6: no list takes them
      auto* b = reinterpret_cast<const unsigned char*>(&a);
      add(std::to_string(b[3]) + "." + std::to_string(b[2]) + "." + std::to_string(b[1]) + "." +
          std::to_string(b[0]));
      continue;
    }
    if (!dns_name(url.host)) continue;  // UTF-8 (no IDNA here), overlong labels
    std::string registered = auth::organizational_domain(url.host);
    if (dns_name(registered)) add(registered);
    add(url.host);
  }
  return out;
}

bool is_uribl_listing(const std::string& address) {
  in_addr a{};
  if (inet_pton(AF_INET, address.c_str(), &a) != 1) return false;
  auto* b = reinterpret_cast<const unsigned char*>(&a);
  if (b[0] != 127) return false;
  if (b[1] == 0 && b[2] == 0 && b[3] == 1) return false;
  if (b[1] == 255 && b[2] == 255) return false;
  return true;
}

std::unique_ptr<UrlBlocklist> make_url_blocklist_with_lookup(UriblLookup lookup,
                                                             std::vector<std::string> zones,
                                                             std::size_t max_hosts) {
  return std::make_unique<Blocklist>(std::move(lookup), std::move(zones), max_hosts);
}

std::unique_ptr<UrlBlocklist> make_url_blocklist(std::shared_ptr<dns::Resolver> resolver,
                                                 std::vector<std::string> zones, std::size_t max_hosts) {
  if (!resolver) return nullptr;
  auto lookup = [resolver](const std::string& name) {
    dns::Answer a = resolver->query(name, dns::Type::A);
    UriblAnswer out;
    out.ttl = a.ttl;
    switch (a.status) {
      case dns::Answer::Status::Ok:
        out.status = UriblAnswer::Status::Found;
        out.addresses = std::move(a.addresses);
        break;
      case dns::Answer::Status::NxDomain:
      case dns::Answer::Status::NoData:
        out.status = UriblAnswer::Status::NotFound;
        break;
      default:
        out.status = UriblAnswer::Status::Failed;
        break;
    }
    return out;
  };
  return make_url_blocklist_with_lookup(std::move(lookup), std::move(zones), max_hosts);
}

std::string uribl_symbol(const std::string& zone) {
  std::string out = "URIBL_";
  for (char c : zone) {
    if (c >= 'a' && c <= 'z')
      out.push_back(static_cast<char>(c - 'a' + 'A'));
    else if ((c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'))
      out.push_back(c);
    else
      out.push_back('_');
  }
  return out.substr(0, 64);
}

}  // namespace mailfort::filter
