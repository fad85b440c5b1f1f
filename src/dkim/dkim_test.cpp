#include <gtest/gtest.h>

#include <unistd.h>

#include <algorithm>

#include <sys/stat.h>
#include <filesystem>

#include "dkim/canon.h"
#include "dkim/dkim.h"

using namespace mailfort::dkim;

TEST(DkimCanon, RelaxedHeader) {
  EXPECT_EQ(relaxed_header("Subject", " hello"), "subject:hello");
  EXPECT_EQ(relaxed_header("SUBJECT ", "  a \t b  "), "subject:a b");
  EXPECT_EQ(relaxed_header("To", " a@b.test,\r\n\tc@d.test \r\n  e@f.test\t"),
            "to:a@b.test, c@d.test e@f.test");
  EXPECT_EQ(relaxed_header("X-Empty", ""), "x-empty:");
  EXPECT_EQ(relaxed_header("X-Empty", " \t "), "x-empty:");
  // RFC 6376 3.4.5 example
  EXPECT_EQ(relaxed_header("A", " X"), "a:X");
  EXPECT_EQ(relaxed_header("B ", " Y\t\r\n\tZ  "), "b:Y Z");
}

TEST(DkimCanon, RelaxedBody) {
  EXPECT_EQ(relaxed_body(""), "");
  EXPECT_EQ(relaxed_body("\r\n"), "");
  EXPECT_EQ(relaxed_body("\r\n\r\n \t\r\n"), "");
  EXPECT_EQ(relaxed_body("a"), "a\r\n");
  EXPECT_EQ(relaxed_body("a  b \t\r\n"), "a b\r\n");
  EXPECT_EQ(relaxed_body(" C \r\nD \t E\r\n\r\n\r\n"), " C\r\nD E\r\n");    // RFC 6376 3.4.5
  EXPECT_EQ(relaxed_body("a\r\n\r\n\r\nb\r\n\r\n"), "a\r\n\r\n\r\nb\r\n");  // inner empty lines stay
  EXPECT_EQ(relaxed_body("a\nb\n"), "a\r\nb\r\n");                          // LF-only input
  EXPECT_EQ(relaxed_body("x \r\n \r\n"), "x\r\n");
}

TEST(DkimCanon, SplitMessage) {
  std::string m = "From: a@b.test\r\nSubject: one\r\n\ttwo\r\nX: y\r\n\r\nbody\r\n";
  auto s = split_message(m);
  ASSERT_EQ(s.fields.size(), 3u);
  EXPECT_EQ(s.fields[0].name, "From");
  EXPECT_EQ(s.fields[0].value, " a@b.test");
  EXPECT_EQ(s.fields[1].value, " one\r\n\ttwo");
  EXPECT_EQ(s.fields[2].name, "X");
  EXPECT_EQ(s.body, "body\r\n");
  auto none = split_message("From: a@b.test\r\n");
  EXPECT_EQ(none.fields.size(), 1u);
  EXPECT_EQ(none.body, "");
}

namespace {
std::string tag(const std::string& header, const std::string& name) {
  // Unfolded value of tag `name` (whitespace removed).
  std::string h;
  for (char c : header)
    if (c != '\r' && c != '\n' && c != '\t' && c != ' ') h.push_back(c);
  auto p = h.find(";" + name + "=");
  if (p == std::string::npos) p = h.find(":" + name + "=");
  if (p == std::string::npos) return "<none>";
  p += name.size() + 2;
  return h.substr(p, h.find(';', p) - p);
}
}  // namespace

TEST(DkimSign, FormatAndFolding) {
  for (auto a : {Algorithm::Ed25519, Algorithm::Rsa2048}) {
    auto pem = generate_key_pem(a);
    ASSERT_TRUE(pem) << pem.error().message;
    auto ka = key_algorithm(*pem);
    ASSERT_TRUE(ka);
    EXPECT_EQ(*ka, a);
    Key k{"example.test", "sel", a, *pem};
    std::string msg =
        "From: Alice <alice@example.test>\r\nTo: bob@b.test\r\nSubject: hi\r\nX-Other: no\r\n"
        "Date: Mon, 1 Jan 2024 00:00:00 +0000\r\n\r\nhello\r\n";
    auto h = sign(msg, k, 1700000000);
    ASSERT_TRUE(h) << h.error().message;
    EXPECT_EQ(h->rfind("DKIM-Signature: v=1; a=", 0), 0u);
    ASSERT_GE(h->size(), 2u);
    EXPECT_EQ(h->substr(h->size() - 2), "\r\n");
    // Every line at most 78 characters; continuation lines start with a tab.
    std::size_t pos = 0;
    bool first = true;
    while (pos < h->size()) {
      auto e = h->find("\r\n", pos);
      ASSERT_NE(e, std::string::npos);
      EXPECT_LE(e - pos, 78u) << *h;
      if (!first) {
        EXPECT_EQ((*h)[pos], '\t');
      }
      first = false;
      pos = e + 2;
    }
    EXPECT_EQ(tag(*h, "a"), a == Algorithm::Ed25519 ? "ed25519-sha256" : "rsa-sha256");
    EXPECT_EQ(tag(*h, "c"), "relaxed/relaxed");
    EXPECT_EQ(tag(*h, "d"), "example.test");
    EXPECT_EQ(tag(*h, "s"), "sel");
    EXPECT_EQ(tag(*h, "t"), "1700000000");
    EXPECT_EQ(tag(*h, "h"), "from:from:to:subject:date");
    // sha256 of "hello\r\n"
    EXPECT_EQ(tag(*h, "bh"), "zS7KNTV0HyeorkDDGwxB1AV6enuRKzO5rthkhdHIRnY=");
    EXPECT_EQ(tag(*h, "b").size(), a == Algorithm::Ed25519 ? 88u : 344u);
    auto txt = txt_record(k);
    ASSERT_TRUE(txt);
    EXPECT_EQ(txt->rfind(std::string("v=DKIM1; k=") + key_type(a) + "; p=", 0), 0u);
    auto zone = zone_record(k);
    ASSERT_TRUE(zone);
    EXPECT_EQ(zone->rfind("sel._domainkey.example.test. IN TXT \"v=DKIM1; k=", 0), 0u);
    // rsa2048: 392+ octets, two character-strings; ed25519: one.
    EXPECT_EQ(std::count(zone->begin(), zone->end(), '"'), a == Algorithm::Ed25519 ? 2 : 4);
    if (a == Algorithm::Ed25519) {
      EXPECT_EQ(txt->size(), std::string("v=DKIM1; k=ed25519; p=").size() + 44);
    }
  }
  auto bad = key_algorithm("not a key");
  EXPECT_FALSE(bad);
}

TEST(DkimSign, Ed25519IsDeterministic) {
  auto pem = generate_key_pem(Algorithm::Ed25519);
  ASSERT_TRUE(pem);
  Key k{"example.test", "s", Algorithm::Ed25519, *pem};
  std::string msg = "From: a@example.test\r\n\r\nx\r\n";
  auto a = sign(msg, k, 1), b = sign(msg, k, 1), c = sign(msg, k, 2);
  ASSERT_TRUE(a && b && c);
  EXPECT_EQ(*a, *b);
  EXPECT_NE(*a, *c);
  // Only a body change moves bh=.
  auto d = sign("From: a@example.test\r\n\r\ny\r\n", k, 1);
  EXPECT_NE(tag(*a, "bh"), tag(*d, "bh"));
  // Whitespace differences that relaxed canonicalization removes do not.
  auto e = sign("from:   a@example.test  \r\n\r\nx  \r\n\r\n", k, 1);
  EXPECT_EQ(*a, *e);
}

TEST(DkimSign, SignData) {
  auto ed = generate_key_pem(Algorithm::Ed25519);
  auto rsa = generate_key_pem(Algorithm::Rsa2048);
  ASSERT_TRUE(ed && rsa);
  Key e{"example.test", "e", Algorithm::Ed25519, *ed};
  Key r{"example.test", "r", Algorithm::Rsa2048, *rsa};
  auto a = sign_data(e, "data"), b = sign_data(e, "data"), c = sign_data(e, "datb");
  ASSERT_TRUE(a && b && c);
  EXPECT_EQ(a->size(), 64u);
  EXPECT_EQ(*a, *b);
  EXPECT_NE(*a, *c);
  auto s = sign_data(r, "data");
  ASSERT_TRUE(s);
  EXPECT_EQ(s->size(), 256u);  // the modulus size
  EXPECT_FALSE(sign_data(Key{"example.test", "x", Algorithm::Ed25519, "not a key"}, "data"));
}

TEST(DkimSelector, Syntax) {
  EXPECT_TRUE(valid_selector("mail"));
  EXPECT_TRUE(valid_selector("mf202611e"));
  EXPECT_TRUE(valid_selector("a.b-c"));
  EXPECT_FALSE(valid_selector(""));
  EXPECT_FALSE(valid_selector("a/b"));
  EXPECT_FALSE(valid_selector("../x"));
  EXPECT_FALSE(valid_selector("a..b"));
  EXPECT_EQ(default_selector(Algorithm::Ed25519, 1764028800), "mf202511e");
  EXPECT_EQ(default_selector(Algorithm::Rsa2048, 1764028800), "mf202511r");
}

TEST(DkimStore, CreateAndLoad) {
  auto dir = std::filesystem::temp_directory_path() / ("mf-dkim-test-" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  std::string d = dir.string();
  auto none = load_keys(d, "example.test");
  ASSERT_TRUE(none);
  EXPECT_TRUE(none->empty());
  auto e1 = create_key(d, "Example.TEST", "e1", Algorithm::Ed25519);
  ASSERT_TRUE(e1) << e1.error().message;
  EXPECT_EQ(e1->domain, "example.test");
  struct stat st {};
  ASSERT_EQ(::stat(key_path(d, "example.test", "e1").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  EXPECT_EQ(create_key(d, "example.test", "e1", Algorithm::Ed25519).error().code, mailfort::Errc::Exists);
  EXPECT_FALSE(create_key(d, "example.test", "../x", Algorithm::Ed25519));
  ASSERT_TRUE(create_key(d, "example.test", "r1", Algorithm::Rsa2048));
  auto both = load_keys(d, "example.test");
  ASSERT_TRUE(both);
  ASSERT_EQ(both->size(), 2u);
  // A new ed25519 key replaces the active ed25519 one, the rsa one stays.
  ASSERT_TRUE(create_key(d, "example.test", "e2", Algorithm::Ed25519));
  auto now = load_keys(d, "example.test");
  ASSERT_TRUE(now);
  ASSERT_EQ(now->size(), 2u);
  EXPECT_EQ((*now)[0].selector, "r1");
  EXPECT_EQ((*now)[1].selector, "e2");
  EXPECT_EQ((*now)[1].algorithm, Algorithm::Ed25519);
  EXPECT_TRUE(load_keys(d, "../etc")->empty());
  std::filesystem::remove_all(dir);
}
