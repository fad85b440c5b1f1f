#include "base/text.h"

#include <gtest/gtest.h>

using namespace mailfort;

TEST(Text, CaseFolding) {
  EXPECT_EQ(to_lower("MiXeD.Example"), "mixed.example");
  EXPECT_TRUE(iequals("Received", "RECEIVED"));
  EXPECT_FALSE(iequals("Received", "Receive"));
}

TEST(Text, DomainSyntax) {
  for (const char* good : {"example.org", "a-b.example", "x", "xn--bcher-kva.example", "1.2.3.4"}) {
    EXPECT_TRUE(is_valid_domain(good)) << good;
  }
  std::string long_label(64, 'a');
  for (std::string bad :
       {std::string(""), std::string("-a.org"), std::string("a-.org"), std::string("a..org"),
        std::string("a.org."), std::string(".a.org"), std::string("a_b.org"), long_label + ".org",
        std::string("b\xC3\xBC"
                    "cher.example")}) {
    EXPECT_FALSE(is_valid_domain(bad)) << bad;
  }
  EXPECT_TRUE(
      is_valid_domain("b\xC3\xBC"
                      "cher.example",
                      true));
  EXPECT_TRUE(is_fqdn("mail.example.org"));
  EXPECT_FALSE(is_fqdn("localhost"));
  EXPECT_FALSE(is_fqdn("1.2.3.4"));
}
