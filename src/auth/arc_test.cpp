#include <gtest/gtest.h>

#include <map>

#include "auth/arc.h"
#include "auth/inbound_message.h"
#include "dkim/dkim.h"

namespace mailfort::auth {
namespace {

class MapDns final : public DnsSource {
 public:
  std::map<std::string, std::string> txt;
  int queries = 0;
  dns::Answer query(const std::string& name, dns::Type) override {
    ++queries;
    dns::Answer a;
    auto it = txt.find(name);
    if (it == txt.end()) {
      a.status = dns::Answer::Status::NxDomain;
      return a;
    }
    a.status = dns::Answer::Status::Ok;
    a.txt.push_back(it->second);
    return a;
  }
};

const std::string kMessage =
    "From: A <a@origin.example>\r\nTo: list@lists.example\r\nSubject: hello\r\n"
    "Date: Thu, 3 Dec 2026 20:00:00 +0000\r\nMessage-ID: <1@origin.example>\r\n\r\nHello,\r\nworld.\r\n";

ArcOutcome verify(const std::string& message, DnsSource& dns) {
  InboundMessage m;
  // Byte by byte for the body hashes' sake.
  for (char c : message) m.feed(std::string_view(&c, 1));
  m.finish();
  return verify_arc(m, dns, 1700000000);
}

class ArcTest : public ::testing::Test {
 protected:
  void SetUp() override {
    for (auto [alg, name] :
         {std::pair{dkim::Algorithm::Ed25519, "ed"}, std::pair{dkim::Algorithm::Rsa2048, "rsa"}}) {
      auto pem = dkim::generate_key_pem(alg);
      ASSERT_TRUE(pem);
      dkim::Key k{"lists.example", name, alg, *pem};
      auto txt = dkim::txt_record(k);
      ASSERT_TRUE(txt);
      dns.txt[dkim::txt_name(k)] = *txt;
      keys.push_back(k);
    }
  }
  std::string seal(const std::string& message, const ArcOutcome& previous, const dkim::Key& key) {
    auto set = arc_seal(message, previous, "mx.lists.example",
                        "spf=pass smtp.mailfrom=a@origin.example; dmarc=pass", key, 1700000000);
    EXPECT_TRUE(set) << set.error().message;
    return set ? *set + message : message;
  }
  MapDns dns;
  std::vector<dkim::Key> keys;
};

TEST_F(ArcTest, NoChainIsNone) {
  auto o = verify(kMessage, dns);
  EXPECT_EQ(o.chain, ArcChain::None);
  EXPECT_EQ(o.instances, 0);
  EXPECT_EQ(dns.queries, 0);
  EXPECT_STREQ(arc_chain_name(o.chain), "none");
}

TEST_F(ArcTest, SealThenVerifyTwoHops) {
  std::string one = seal(kMessage, {}, keys[0]);
  EXPECT_NE(one.find("cv=none"), std::string::npos);
  auto o1 = verify(one, dns);
  EXPECT_EQ(o1.chain, ArcChain::Pass) << o1.reason;
  EXPECT_EQ(o1.instances, 1);
  EXPECT_EQ(o1.newest_domain, "lists.example");
  EXPECT_EQ(o1.oldest_results, "spf=pass smtp.mailfrom=a@origin.example; dmarc=pass");

  std::string two = seal(one, o1, keys[1]);  // RSA this time
  EXPECT_NE(two.find("cv=pass"), std::string::npos);
  auto o2 = verify(two, dns);
  EXPECT_EQ(o2.chain, ArcChain::Pass) << o2.reason;
  EXPECT_EQ(o2.instances, 2);
  EXPECT_EQ(dns.queries, 1 + 2);  // each key once per verification: ed, then ed and rsa
}

TEST_F(ArcTest, AlteredAfterSealingFails) {
  std::string one = seal(kMessage, {}, keys[0]);
  std::string body = one;
  body.replace(body.find("world."), 6, "World.");
  EXPECT_EQ(verify(body, dns).chain, ArcChain::Fail);
  std::string header = one;
  header.replace(header.find("Subject: hello"), 14, "Subject: HELLO");
  EXPECT_EQ(verify(header, dns).chain, ArcChain::Fail);
  // An unsigned header may be added.
  EXPECT_EQ(verify("X-Added: yes\r\n" + one, dns).chain, ArcChain::Pass);
}

TEST_F(ArcTest, StructureErrors) {
  std::string one = seal(kMessage, {}, keys[0]);
  // The AAR of i=1 removed: the set is incomplete.
  auto aar = one.find("ARC-Authentication-Results:");
  auto next = one.find("\r\nFrom:", aar);
  std::string missing = one.substr(0, aar) + one.substr(next + 2);
  auto o = verify(missing, dns);
  EXPECT_EQ(o.chain, ArcChain::Fail);
  EXPECT_NE(o.reason.find("incomplete"), std::string::npos) << o.reason;
  // A duplicate set.
  std::string set = one.substr(0, one.size() - kMessage.size());
  EXPECT_EQ(verify(set + one, dns).chain, ArcChain::Fail);
  // The key is gone.
  dns.txt.clear();
  EXPECT_EQ(verify(one, dns).chain, ArcChain::Fail);
}

TEST_F(ArcTest, FailedChainIsSealedFailAndThenLeftAlone) {
  std::string one = seal(kMessage, {}, keys[0]);
  one.replace(one.find("world."), 6, "World.");
  auto o1 = verify(one, dns);
  ASSERT_EQ(o1.chain, ArcChain::Fail);
  std::string two = seal(one, o1, keys[1]);
  EXPECT_NE(two.find("cv=fail"), std::string::npos);
  auto o2 = verify(two, dns);
  EXPECT_EQ(o2.chain, ArcChain::Fail);
  auto three = arc_seal(two, o2, "mx.lists.example", "arc=fail", keys[0], 1700000000);
  ASSERT_TRUE(three);
  EXPECT_EQ(*three, "");
}

TEST_F(ArcTest, InstanceLimit) {
  ArcOutcome fifty;
  fifty.chain = ArcChain::Pass;
  fifty.instances = 50;
  EXPECT_FALSE(arc_seal(kMessage, fifty, "mx.lists.example", "", keys[0], 1));
  EXPECT_FALSE(arc_seal(kMessage, {}, "bad id", "", keys[0], 1));
}

TEST_F(ArcTest, FoldedLines) {
  std::string one = seal(kMessage, {}, keys[1]);
  std::size_t pos = 0;
  while (pos < one.size()) {
    auto end = one.find("\r\n", pos);
    std::string_view line(one.data() + pos, end - pos);
    // Only the ARC-Message-Signature's b= is never broken (see arc_seal.cpp).
    EXPECT_TRUE(line.size() <= 78 || (line.starts_with("\tb=") && line.size() <= 998)) << line;
    pos = end + 2;
  }
}

}  // namespace
}  // namespace mailfort::auth
