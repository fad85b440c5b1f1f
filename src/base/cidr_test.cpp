#include "base/cidr.h"

#include <gtest/gtest.h>

using mailfort::Cidr;

TEST(Cidr, ParsesAndMatches) {
  auto n = Cidr::parse("192.0.2.0/24");
  ASSERT_TRUE(n);
  EXPECT_TRUE(n->contains("192.0.2.77"));
  EXPECT_FALSE(n->contains("192.0.3.1"));
  EXPECT_FALSE(n->contains("::1"));
  auto h = Cidr::parse("127.0.0.1");
  ASSERT_TRUE(h);
  EXPECT_TRUE(h->contains("127.0.0.1"));
  EXPECT_FALSE(h->contains("127.0.0.2"));
  auto odd = Cidr::parse("10.0.0.0/13");
  EXPECT_TRUE(odd->contains("10.7.255.255"));
  EXPECT_FALSE(odd->contains("10.8.0.0"));
  auto v6 = Cidr::parse("2001:db8::/32");
  EXPECT_TRUE(v6->contains("2001:db8:1::5"));
  EXPECT_FALSE(v6->contains("2001:db9::1"));
  EXPECT_TRUE(Cidr::parse("0.0.0.0/0")->contains("8.8.8.8"));
}

TEST(Cidr, RejectsGarbage) {
  for (const char* bad : {"", "1.2.3", "1.2.3.4/33", "1.2.3.4/", "1.2.3.4/x", "::/129", "host.example/8"}) {
    EXPECT_FALSE(Cidr::parse(bad)) << bad;
  }
}
