// binary_parts_to_base64(): what APPEND of a literal8 stores.
#include <gtest/gtest.h>

#include "base/base64.h"
#include "proto/mime/mime.h"

using namespace std::literals;

namespace mailfort::proto::mime {
namespace {

TEST(BinaryToBase64, SinglePartKeepsItsExactBytes) {
  // imaptest's append-binary message.
  std::string body = "\0-\xe4\n\r\n\n"s;
  std::string msg =
      "From: user@domain.org\r\nMime-Version: 1.0\r\nContent-Type: application/octet-stream\r\n"
      "Content-Transfer-Encoding: binary\r\n\r\n" +
      body;
  std::string out = binary_parts_to_base64(msg);
  EXPECT_EQ(out,
            "From: user@domain.org\r\nMime-Version: 1.0\r\nContent-Type: application/octet-stream\r\n"
            "Content-Transfer-Encoding: base64\r\n\r\n" +
                base64::encode(body) + "\r\n");
  Part root = parse(out);
  bool unknown = false;
  auto decoded = binary(out, root, {1}, unknown);
  ASSERT_TRUE(decoded);
  EXPECT_EQ(*decoded, body);
}

TEST(BinaryToBase64, OnlyBinaryLeavesOfAMultipartAndLongBodiesInLines) {
  std::string big(100, '\0');
  std::string msg =
      "Content-Type: multipart/mixed; boundary=b\r\nContent-Transfer-Encoding: binary\r\n\r\n"
      "--b\r\nContent-Type: text/plain\r\n\r\nplain\r\n"
      "--b\r\nContent-Transfer-Encoding: BINARY (comment)\r\n\r\n" +
      big + "\r\n--b--\r\n";
  std::string out = binary_parts_to_base64(msg);
  std::string enc = base64::encode(big);
  EXPECT_EQ(out,
            "Content-Type: multipart/mixed; boundary=b\r\nContent-Transfer-Encoding: binary\r\n\r\n"
            "--b\r\nContent-Type: text/plain\r\n\r\nplain\r\n"
            "--b\r\nContent-Transfer-Encoding: base64\r\n\r\n" +
                enc.substr(0, 76) + "\r\n" + enc.substr(76) + "\r\n--b--\r\n");
  Part root = parse(out);
  bool unknown = false;
  EXPECT_EQ(binary(out, root, {2}, unknown).value_or("?"), big);
}

TEST(BinaryToBase64, OtherMessagesUnchanged) {
  for (std::string m : {"Subject: x\r\n\r\nbody\r\n"s, "Content-Transfer-Encoding: 8bit\r\n\r\n\xe4\r\n"s,
                        ""s, "Content-Transfer-Encoding: binary\r\n"s})
    EXPECT_EQ(binary_parts_to_base64(m), m);
}

}  // namespace
}  // namespace mailfort::proto::mime
