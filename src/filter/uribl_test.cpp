#include "filter/uribl.h"

#include <gtest/gtest.h>

#include <atomic>
#include <map>
#include <mutex>
#include <thread>

#include "filter/url_extract.h"

namespace mailfort::filter {
namespace {

using namespace std::chrono_literals;

// A DNS double: listed names answer their address, the rest NXDOMAIN;
// every question is counted.
struct FakeLists {
  std::map<std::string, std::string> listed;
  std::map<std::string, int> asked;
  std::mutex mu;
  std::chrono::milliseconds delay{0};
  std::atomic<int> in_flight{0}, max_in_flight{0};

  UriblLookup lookup() {
    return [this](const std::string& name) {
      int now = ++in_flight;
      int seen = max_in_flight.load();
      while (now > seen && !max_in_flight.compare_exchange_weak(seen, now)) {
      }
      std::this_thread::sleep_for(delay);
      UriblAnswer a;
      {
        std::lock_guard lock(mu);
        ++asked[name];
        auto it = listed.find(name);
        a.status = it == listed.end() ? UriblAnswer::Status::NotFound : UriblAnswer::Status::Found;
        if (it != listed.end()) a.addresses = {it->second};
        a.ttl = 300;
      }
      --in_flight;
      return a;
    };
  }
};

std::vector<Url> urls_of(const std::string& text) {
  return extract_urls(text);
}

TEST(Uribl, SymbolNames) {
  EXPECT_EQ(uribl_symbol("dbl.spamhaus.org"), "URIBL_DBL_SPAMHAUS_ORG");
  EXPECT_EQ(uribl_symbol("multi.uribl-test.example"), "URIBL_MULTI_URIBL_TEST_EXAMPLE");
}

TEST(Uribl, ListingCodes) {
  EXPECT_TRUE(is_uribl_listing("127.0.0.2"));
  EXPECT_TRUE(is_uribl_listing("127.0.1.2"));   // DBL's spam domain
  EXPECT_FALSE(is_uribl_listing("127.0.0.1"));  // query refused (SURBL, URIBL)
  EXPECT_FALSE(is_uribl_listing("127.255.255.254"));
  EXPECT_FALSE(is_uribl_listing("192.0.2.1"));  // a resolver's wildcard
  EXPECT_FALSE(is_uribl_listing("garbage"));
}

TEST(Uribl, QueryNamesAreHostsRegisteredDomainsAndReversedIps) {
  auto names = uribl_query_names(urls_of("http://a.b.shop.example.co.uk/x http://shop.example.co.uk/ "
                                         "http://192.0.2.10/ http://[2001:db8::1]/ http://b\xc3\xbc"
                                         "cher.example/ http://bad\xff.example/ http://example.org/"),
                                 50);
  // IPv6 and a host that is no valid UTF-8 (so no A-label) are skipped.
  EXPECT_EQ(names, (std::vector<std::string>{"example.co.uk", "a.b.shop.example.co.uk", "shop.example.co.uk",
                                             "10.2.0.192", "xn--bcher-kva.example", "example.org"}));
}

TEST(Uribl, MaxHostsBoundsTheNames) {
  std::string text;
  for (int i = 0; i < 500; ++i) text += "http://h" + std::to_string(i) + ".example.com/ ";
  auto names = uribl_query_names(urls_of(text), 50);
  EXPECT_EQ(names.size(), 50u);
}

TEST(Uribl, HitsInEveryZoneAndCachedAnswers) {
  FakeLists dns;
  dns.listed["evil.example.dbl.test"] = "127.0.1.2";
  dns.listed["evil.example.multi.test"] = "127.0.0.1";  // refused: not a listing
  dns.listed["10.2.0.192.multi.test"] = "127.0.0.4";
  auto lists = make_url_blocklist_with_lookup(dns.lookup(), {"dbl.test", "multi.test"});
  auto urls = urls_of("http://www.evil.example/ http://192.0.2.10/ http://good.example/");
  auto hits = lists->check(urls, 2s);
  ASSERT_EQ(hits.size(), 2u);
  EXPECT_EQ(hits[0].zone, "dbl.test");
  EXPECT_EQ(hits[0].name, "evil.example");
  EXPECT_EQ(hits[0].address, "127.0.1.2");
  EXPECT_EQ(hits[1].zone, "multi.test");
  EXPECT_EQ(hits[1].name, "10.2.0.192");
  // names: evil.example, www.evil.example, 10.2.0.192, good.example; 2 zones.
  EXPECT_EQ(dns.asked.size(), 8u);
  // The same URLs again: every answer (listed or not) from the cache.
  auto again = lists->check(urls, 2s);
  EXPECT_EQ(again.size(), 2u);
  for (const auto& [name, n] : dns.asked) EXPECT_EQ(n, 1) << name;
}

TEST(Uribl, ParallelAndBoundedByTheTimeout) {
  FakeLists dns;
  dns.delay = 300ms;
  auto lists = make_url_blocklist_with_lookup(dns.lookup(), {"dbl.test"});
  std::string text;
  for (int i = 0; i < 16; ++i) text += "http://h" + std::to_string(i) + ".example/ ";
  auto start = std::chrono::steady_clock::now();
  (void)lists->check(urls_of(text), 5s);  // 32 questions, 300 ms each, 8 at once: about 1.2 s
  auto took = std::chrono::steady_clock::now() - start;
  EXPECT_LT(took, 3s);
  EXPECT_LE(dns.max_in_flight.load(), 8);
  EXPECT_GE(dns.max_in_flight.load(), 2);

  dns.delay = 2s;
  start = std::chrono::steady_clock::now();
  auto hits = lists->check(urls_of("http://slow.example.net/"), 200ms);
  EXPECT_TRUE(hits.empty());
  EXPECT_LT(std::chrono::steady_clock::now() - start, 1s);
}

TEST(Uribl, FailuresAreNotCached) {
  std::atomic<int> asked{0};
  auto lists = make_url_blocklist_with_lookup(
      [&](const std::string&) {
        ++asked;
        return UriblAnswer{};  // Failed
      },
      {"dbl.test"});
  (void)lists->check(urls_of("http://x.example/"), 1s);
  (void)lists->check(urls_of("http://x.example/"), 1s);
  EXPECT_EQ(asked.load(), 2);
}

TEST(Uribl, FastAnswersNeverWaitForTheTimeout) {
  // Answers that come back before check() has queued everything must not
  // leave it waiting for the deadline.
  std::atomic<int> asked{0};
  auto lists = make_url_blocklist_with_lookup(
      [&](const std::string&) {
        ++asked;
        return UriblAnswer{UriblAnswer::Status::Failed, {}, 0};  // never cached: asked every time
      },
      {"dbl.test", "multi.test"});
  std::string text;
  for (int i = 0; i < 25; ++i) text += "http://h" + std::to_string(i) + ".example/ ";
  auto urls = urls_of(text);
  auto start = std::chrono::steady_clock::now();
  for (int i = 0; i < 100; ++i) (void)lists->check(urls, 10s);
  EXPECT_LT(std::chrono::steady_clock::now() - start, 5s);
  EXPECT_EQ(asked.load(), 100 * 25 * 2);
}

TEST(Uribl, AFullQueueDropsQuestionsWithoutWaiting) {
  std::mutex gate;
  gate.lock();  // every lookup blocks until the end of the test
  std::atomic<int> asked{0};
  auto lists = make_url_blocklist_with_lookup(
      [&](const std::string&) {
        ++asked;
        std::lock_guard open(gate);
        return UriblAnswer{};
      },
      {"dbl.test"}, 6000);
  std::string text;
  for (int i = 0; i < 6000; ++i) text += "http://h" + std::to_string(i) + ".example/ ";
  auto start = std::chrono::steady_clock::now();
  EXPECT_TRUE(lists->check(extract_urls(text, 6000), 300ms).empty());
  EXPECT_LT(std::chrono::steady_clock::now() - start, 2s);
  gate.unlock();
}

}  // namespace
}  // namespace mailfort::filter
