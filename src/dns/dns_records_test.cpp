#include <gtest/gtest.h>

#include "dns/resolver.h"

using namespace mailfort::dns;

namespace {

std::vector<unsigned char> bytes(std::initializer_list<int> v) {
  return {v.begin(), v.end()};
}

TEST(DnsRecords, DecodesMxAndNullMx) {
  Answer a;
  auto mx = bytes({0, 10, 4, 'M', 'a', 'i', 'l', 7, 'e', 'x', 'a', 'm', 'p', 'l', 'e', 0});
  ASSERT_TRUE(decode_record(Type::MX, mx.data(), mx.size(), a));
  ASSERT_EQ(a.mx.size(), 1u);
  EXPECT_EQ(a.mx[0].preference, 10);
  EXPECT_EQ(a.mx[0].host, "mail.example");
  auto null_mx = bytes({0, 0, 0});
  ASSERT_TRUE(decode_record(Type::MX, null_mx.data(), null_mx.size(), a));
  EXPECT_EQ(a.mx[1].host, "");
  EXPECT_EQ(a.text[1], "0 .");
}

TEST(DnsRecords, DecodesAddressesTxtTlsa) {
  Answer a;
  auto v4 = bytes({127, 0, 0, 1});
  ASSERT_TRUE(decode_record(Type::A, v4.data(), v4.size(), a));
  EXPECT_EQ(a.addresses[0], "127.0.0.1");
  auto txt = bytes({3, 'v', '=', 's', 2, 'p', 'f'});
  ASSERT_TRUE(decode_record(Type::TXT, txt.data(), txt.size(), a));
  EXPECT_EQ(a.txt[0], "v=spf");
  auto tlsa = bytes({3, 1, 1, 0xab, 0xcd});
  ASSERT_TRUE(decode_record(Type::TLSA, tlsa.data(), tlsa.size(), a));
  EXPECT_EQ(a.text.back(), "3 1 1 abcd");
}

TEST(DnsRecords, RejectsMalformedData) {
  Answer a;
  auto short_a = bytes({127, 0, 0});
  EXPECT_FALSE(decode_record(Type::A, short_a.data(), short_a.size(), a));
  auto truncated_name = bytes({0, 10, 9, 'm', 'a'});
  EXPECT_FALSE(decode_record(Type::MX, truncated_name.data(), truncated_name.size(), a));
  auto pointer = bytes({0, 10, 0xC0, 0x0C});  // compression pointers are not valid here
  EXPECT_FALSE(decode_record(Type::MX, pointer.data(), pointer.size(), a));
  auto trailing = bytes({1, 'a', 0, 'x'});
  EXPECT_FALSE(decode_record(Type::PTR, trailing.data(), trailing.size(), a));
  auto long_txt = bytes({10, 'a'});
  EXPECT_FALSE(decode_record(Type::TXT, long_txt.data(), long_txt.size(), a));
  EXPECT_TRUE(a.text.empty());
}

TEST(DnsRecords, TypeNames) {
  EXPECT_EQ(parse_type("mx").value(), Type::MX);
  EXPECT_STREQ(type_name(Type::TLSA), "TLSA");
  EXPECT_FALSE(parse_type("SRV").ok());
}

}  // namespace
