#include "auth/dkim_verify.h"

#include <gtest/gtest.h>

#include <map>

#include "dkim/dkim.h"

using namespace mailfort;
using namespace mailfort::auth;

namespace {

// The RFC 8463 appendix A.3 message (its ed25519 signature; the rsa one is
// left out).
const std::string kRfc8463 =
    "DKIM-Signature: v=1; a=ed25519-sha256; c=relaxed/relaxed;\r\n"
    " d=football.example.com; i=@football.example.com;\r\n"
    " q=dns/txt; s=brisbane; t=1528637909; h=from : to :\r\n"
    " subject : date : message-id : from : subject : date;\r\n"
    " bh=2jUSOH9NhtVGCQWNr9BrIAPreKQjO6Sn7XIkfJVOzv8=;\r\n"
    " b=/gCrinpcQOoIfuHNQIbq4pgh9kyIK3AQUdt9OdqQehSwhEIug4D11Bus\r\n"
    " Fa3bT3FY5OsU7ZbnKELq+eXdp1Q1Dw==\r\n"
    "From: Joe SixPack <joe@football.example.com>\r\n"
    "To: Suzie Q <suzie@shopping.example.net>\r\n"
    "Subject: Is dinner ready?\r\n"
    "Date: Fri, 11 Jul 2003 21:00:37 -0700 (PDT)\r\n"
    "Message-ID: <20030712040037.46341.5F8J@football.example.com>\r\n"
    "\r\n"
    "Hi.\r\n"
    "\r\n"
    "We lost the game.  Are you hungry yet?\r\n"
    "\r\n"
    "Joe.\r\n";
const char* kKeyName = "brisbane._domainkey.football.example.com";
const char* kKey = "v=DKIM1; k=ed25519; p=11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo=";

class MapDns : public DnsSource {
 public:
  std::map<std::string, dns::Answer> answers;
  int queries = 0;
  void txt(const std::string& name, std::vector<std::string> records) {
    dns::Answer a;
    a.status = dns::Answer::Status::Ok;
    a.txt = std::move(records);
    answers[name] = a;
  }
  void status(const std::string& name, dns::Answer::Status s) {
    dns::Answer a;
    a.status = s;
    answers[name] = a;
  }
  dns::Answer query(const std::string& name, dns::Type) override {
    ++queries;
    auto it = answers.find(name);
    if (it != answers.end()) return it->second;
    dns::Answer nx;
    nx.status = dns::Answer::Status::NxDomain;
    return nx;
  }
};

std::vector<DkimResult> verify(const std::string& msg, MapDns& dns, int64_t now = 1700000000) {
  InboundMessage m;
  m.feed(msg);
  m.finish();
  return verify_dkim(m, dns, now);
}

DkimResult one(const std::string& msg, MapDns& dns) {
  auto r = verify(msg, dns);
  EXPECT_EQ(r.size(), 1u);
  return r.empty() ? DkimResult{} : r[0];
}

std::string replace(std::string s, const std::string& from, const std::string& to) {
  auto p = s.find(from);
  EXPECT_NE(p, std::string::npos) << from;
  return s.replace(p, from.size(), to);
}

}  // namespace

TEST(DkimVerify, Rfc8463Passes) {
  MapDns dns;
  dns.txt(kKeyName, {kKey});
  auto r = one(kRfc8463, dns);
  EXPECT_EQ(r.status, DkimStatus::Pass) << r.reason;
  EXPECT_EQ(r.domain, "football.example.com");
  EXPECT_EQ(r.selector, "brisbane");
  EXPECT_EQ(r.algorithm, "ed25519-sha256");
  EXPECT_EQ(r.identity, "@football.example.com");
  EXPECT_EQ(r.b, "/gCrinpc");
  EXPECT_FALSE(r.testing);
  EXPECT_FALSE(r.length_limited);
}

TEST(DkimVerify, AlteredBodyAndHeaderFail) {
  MapDns dns;
  dns.txt(kKeyName, {kKey});
  auto body = one(replace(kRfc8463, "Joe.", "Jim."), dns);
  EXPECT_EQ(body.status, DkimStatus::Fail);
  EXPECT_EQ(body.reason, "body hash mismatch");
  auto header = one(replace(kRfc8463, "dinner ready", "lunch ready"), dns);
  EXPECT_EQ(header.status, DkimStatus::Fail);
  EXPECT_EQ(header.reason, "signature did not verify");
  // A second From (over-signed null instance now taken) breaks it too.
  auto extra = one(kRfc8463.substr(0, kRfc8463.find("\r\n\r\n") + 2) + "From: evil@x.test\r\n" +
                       kRfc8463.substr(kRfc8463.find("\r\n\r\n") + 2),
                   dns);
  EXPECT_EQ(extra.status, DkimStatus::Fail);
  // Relaxed canonicalization tolerates whitespace changes.
  auto ws = one(replace(kRfc8463, "Subject: Is dinner ready?", "Subject:   Is  dinner\r\n\tready?  "), dns);
  EXPECT_EQ(ws.status, DkimStatus::Pass) << ws.reason;
}

TEST(DkimVerify, KeyProblems) {
  MapDns dns;
  EXPECT_EQ(one(kRfc8463, dns).status, DkimStatus::PermError);
  EXPECT_EQ(one(kRfc8463, dns).reason, "no key");
  dns.status(kKeyName, dns::Answer::Status::ServFail);
  EXPECT_EQ(one(kRfc8463, dns).status, DkimStatus::TempError);
  dns.txt(kKeyName, {"v=DKIM1; k=ed25519; p="});
  EXPECT_EQ(one(kRfc8463, dns).reason, "key revoked");
  dns.txt(kKeyName, {"v=DKIM1; k=rsa; p=YWJj"});
  EXPECT_EQ(one(kRfc8463, dns).reason, "key type does not match a=");
  dns.txt(kKeyName, {"v=DKIM1; k=ed25519; h=sha1; p=11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo="});
  EXPECT_EQ(one(kRfc8463, dns).reason, "key h= does not allow the hash");
  dns.txt(kKeyName, {"v=DKIM1; k=ed25519; s=other; p=11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo="});
  EXPECT_EQ(one(kRfc8463, dns).status, DkimStatus::PermError);
  dns.txt(kKeyName, {"garbage", std::string(kKey) + "; t=y"});
  auto testing = one(kRfc8463, dns);
  EXPECT_EQ(testing.status, DkimStatus::Pass);
  EXPECT_TRUE(testing.testing);
  dns.txt(kKeyName, {"garbage"});
  EXPECT_EQ(one(kRfc8463, dns).status, DkimStatus::PermError);
}

TEST(DkimVerify, StrictIdentityKey) {
  MapDns dns;
  dns.txt(kKeyName, {std::string(kKey) + "; t=s"});
  EXPECT_EQ(one(kRfc8463, dns).status, DkimStatus::Pass);  // i= domain is d=
}

TEST(DkimVerify, UnsignedAndUnparseable) {
  MapDns dns;
  EXPECT_TRUE(verify("From: a@b.test\r\n\r\nhi\r\n", dns).empty());
  auto r =
      one("DKIM-Signature: v=1; a=rsa-sha256; d=b.test; s=s; h=to; bh=YWJj; b=YWJj\r\nFrom: a@b.test\r\n\r\n",
          dns);
  EXPECT_EQ(r.status, DkimStatus::PermError);
  EXPECT_EQ(r.domain, "b.test");
  EXPECT_EQ(r.reason, "bad signature: h= does not sign From");
  EXPECT_EQ(dns.queries, 0);
}

TEST(DkimVerify, OwnSignerRoundTripAndLimits) {
  auto pem = dkim::generate_key_pem(dkim::Algorithm::Rsa2048);
  ASSERT_TRUE(pem);
  dkim::Key key{"a.test", "r1", dkim::Algorithm::Rsa2048, *pem};
  auto record = dkim::txt_record(key);
  ASSERT_TRUE(record);
  MapDns dns;
  dns.txt("r1._domainkey.a.test", {*record});
  std::string msg = "From: x@a.test\r\nTo: y@b.test\r\nSubject: s\r\n\r\nbody\r\n";
  auto sig = dkim::sign(msg, key, 1700000000);
  ASSERT_TRUE(sig);
  auto r = one(*sig + msg, dns);
  EXPECT_EQ(r.status, DkimStatus::Pass) << r.reason;
  // Three signatures, a limit of two: the third is permerror without DNS.
  std::string three = *sig + *sig + *sig + msg;
  InboundMessage m;
  m.feed(three);
  m.finish();
  dns.queries = 0;
  auto results = verify_dkim(m, dns, 1700000000, DkimLimits{2});
  ASSERT_EQ(results.size(), 3u);
  EXPECT_EQ(results[0].status, DkimStatus::Pass);
  EXPECT_EQ(results[1].status, DkimStatus::Pass);
  EXPECT_EQ(results[2].status, DkimStatus::PermError);
  EXPECT_EQ(results[2].reason, "too many signatures");
  EXPECT_EQ(dns.queries, 2);
}
