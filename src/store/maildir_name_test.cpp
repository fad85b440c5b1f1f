#include "store/maildir_name.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <mutex>
#include <regex>
#include <set>
#include <thread>
#include <vector>

using namespace mailfort::store;

TEST(MaildirName, DovecotForm) {
  std::string n = maildir_unique_name("mx.example.org", 1234);
  std::smatch m;
  ASSERT_TRUE(
      std::regex_match(n, m, std::regex(R"(([0-9]+)\.M([0-9]+)P([0-9]+)Q([0-9]+)\.mx\.example\.org,S=1234)")))
      << n;
  EXPECT_LT(std::stoul(m[2]), 1000000u);
  EXPECT_EQ(std::stol(m[3]), static_cast<long>(::getpid()));
  long now = static_cast<long>(::time(nullptr));
  EXPECT_LE(std::abs(std::stol(m[1]) - now), 5);
}

TEST(MaildirName, HostCannotBreakTheName) {
  EXPECT_EQ(maildir_host("mx.example.org"), "mx.example.org");
  EXPECT_EQ(maildir_host("a/b:c"), "a_b_c");
  std::string n = maildir_unique_name(maildir_host("h:1/x"), 0);
  EXPECT_EQ(n.find(':'), std::string::npos);
  EXPECT_EQ(n.find('/'), std::string::npos);
  EXPECT_TRUE(n.ends_with(".h_1_x,S=0")) << n;
}

TEST(MaildirName, UniqueAcrossThreads) {
  std::mutex mu;
  std::set<std::string> names;
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t)
    threads.emplace_back([&] {
      std::vector<std::string> mine;
      for (int i = 0; i < 2000; ++i) mine.push_back(maildir_unique_name("h", 10));
      std::lock_guard lock(mu);
      names.insert(mine.begin(), mine.end());
    });
  for (auto& th : threads) th.join();
  EXPECT_EQ(names.size(), 8000u);
}
