#include <gtest/gtest.h>

#include "tls/https_get.h"

namespace mailfort::tls {
namespace {

TEST(HttpsResponse, ContentLength) {
  auto r = parse_https_response(
      "HTTP/1.1 200 OK\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: 5\r\n\r\nhello", 64);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(r->content_type, "text/plain; charset=utf-8");
  EXPECT_EQ(r->body, "hello");
  EXPECT_FALSE(parse_https_response("HTTP/1.1 200 OK\r\nContent-Length: 9\r\n\r\nhello", 64));  // truncated
  EXPECT_FALSE(parse_https_response("HTTP/1.1 200 OK\r\nContent-Length: 65\r\n\r\n", 64));  // over the cap
  EXPECT_FALSE(parse_https_response("HTTP/1.1 200 OK\r\nContent-Length: 1x\r\n\r\nh", 64));
}

TEST(HttpsResponse, UntilCloseAndNoReasonPhrase) {
  auto r = parse_https_response("HTTP/1.0 200\r\ncontent-type: text/plain\r\n\r\nbody", 64);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->body, "body");
  EXPECT_EQ(r->content_type, "text/plain");
}

TEST(HttpsResponse, Chunked) {
  auto r = parse_https_response(
      "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5;ext=1\r\nhello\r\n1\r\n!\r\n0\r\n\r\n", 64);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->body, "hello!");
  EXPECT_FALSE(parse_https_response("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhel", 64));
  EXPECT_FALSE(parse_https_response("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n", 64));
  EXPECT_FALSE(parse_https_response(
      "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nffffffff\r\nx\r\n0\r\n\r\n", 64));
  EXPECT_FALSE(parse_https_response(
      "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n3\r\nabc\r\n0\r\n\r\n", 5));  // cap
}

TEST(HttpsResponse, RedirectsAndGarbageAreErrors) {
  auto r = parse_https_response("HTTP/1.1 301 Moved\r\nLocation: https://elsewhere/\r\n\r\n", 64);
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message.find("redirect"), std::string::npos);
  EXPECT_FALSE(parse_https_response("HTTP/1.1 302 Found\r\n\r\n", 64));
  EXPECT_FALSE(parse_https_response("", 64));
  EXPECT_FALSE(parse_https_response("SMTP/1.1 200 OK\r\n\r\n", 64));
  EXPECT_FALSE(parse_https_response("HTTP/1.1 2x0 OK\r\n\r\n", 64));
  EXPECT_FALSE(parse_https_response("HTTP/1.1 200 OK\r\nContent-Length: 0\r\n", 64));  // no header end
  auto nf = parse_https_response("HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n", 64);
  ASSERT_TRUE(nf);
  EXPECT_EQ(nf->status, 404);
}

}  // namespace
}  // namespace mailfort::tls
