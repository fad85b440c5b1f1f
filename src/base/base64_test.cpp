#include "base/base64.h"

#include <gtest/gtest.h>

#include <string>
#include <utility>

using namespace mailfort;

namespace {

std::string lenient(std::string_view in) {
  std::string out;
  base64::decode_lenient(in, out);
  return out;
}

}  // namespace

// RFC 4648 section 10.
TEST(Base64, Rfc4648Vectors) {
  const std::pair<const char*, const char*> v[] = {{"", ""},
                                                   {"f", "Zg=="},
                                                   {"fo", "Zm8="},
                                                   {"foo", "Zm9v"},
                                                   {"foob", "Zm9vYg=="},
                                                   {"fooba", "Zm9vYmE="},
                                                   {"foobar", "Zm9vYmFy"}};
  for (auto [plain, enc] : v) {
    EXPECT_EQ(base64::encode(plain), enc);
    auto d = base64::decode(enc);
    ASSERT_TRUE(d) << enc;
    EXPECT_EQ(*d, plain);
    EXPECT_EQ(lenient(enc), plain);
  }
}

TEST(Base64, BinaryRoundTrip) {
  std::string all;
  for (int i = 0; i < 256; ++i) all.push_back(static_cast<char>(i));
  for (std::size_t n = 0; n <= all.size(); n += 37) {
    std::string in = all.substr(0, n);
    std::string enc = base64::encode(in);
    EXPECT_EQ(enc.size(), (n + 2) / 3 * 4);
    EXPECT_EQ(base64::decode(enc), in);
    EXPECT_EQ(lenient(enc), in);
  }
  EXPECT_EQ(base64::encode(std::string("\xff\xfe\xfd", 3)), "//79");
  EXPECT_EQ(base64::encode(std::string("\xfb\xff", 2)), "+/8=");
  EXPECT_EQ(base64::encode(std::string("\0", 1)), "AA==");
}

TEST(Base64, StrictDecodeRejects) {
  for (const char* bad : {"Zg=", "Z===", "FRO=", "Zh==", "Zm9v Yg==", "Zg==Zg==", "Zm9\n", "Zm=v", "****",
                          "Zm9vYg", "Zm9vYg=\r\n", "=Zm9", "Zm9v\r\n", "Zm-_", "Zg=a"}) {
    EXPECT_FALSE(base64::decode(bad)) << bad;
  }
  // Non-canonical: the bits padding drops must be zero (RFC 4648 3.5).
  EXPECT_TRUE(base64::decode("Zg=="));
  EXPECT_FALSE(base64::decode("Zh=="));
  EXPECT_TRUE(base64::decode("Zm8="));
  EXPECT_FALSE(base64::decode("Zm9="));
}

TEST(Base64, LenientMimeDecode) {
  EXPECT_EQ(lenient("aGVs\r\nbG8=\r\n"), "hello");  // line breaks skipped
  EXPECT_EQ(lenient("aGk=aGk="), "hihi");           // concatenated encodings decode on
  EXPECT_EQ(lenient(" a G k = "), "hi");            // whitespace anywhere
  EXPECT_EQ(lenient("aG!k*"), "hi");                // junk skipped
  EXPECT_EQ(lenient("aGVsbG8"), "hello");           // missing padding: the whole bytes
  EXPECT_EQ(lenient("Zh=="), "f");                  // non-canonical bits ignored
  EXPECT_EQ(lenient("===="), "");
  EXPECT_EQ(lenient(""), "");
  std::string out = "x";
  base64::decode_lenient("eQ==", out);  // appends
  EXPECT_EQ(out, "xy");
}
