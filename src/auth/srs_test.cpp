#include "auth/srs.h"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

namespace mailfort::auth {
namespace {

constexpr int64_t kDay = 86400;
// 2026-12-03 12:00 UTC: day 20790, 20790 % 1024 = 310 = 9*32 + 22 -> "JW".
constexpr int64_t kNow = 20790 * kDay + 12 * 3600;

Srs srs() {
  return Srs({"test-secret"});
}

TEST(Srs, TimestampIsTheDayNumberMod1024InBase32) {
  EXPECT_EQ(srs_timestamp(kNow), "JW");
  EXPECT_EQ(srs_timestamp(0), "AA");
  EXPECT_EQ(srs_timestamp(1023 * kDay), "77");
  EXPECT_EQ(srs_timestamp(1024 * kDay), "AA");
}

// Known answer computed outside this code: Python's
//   base64.b64encode(hmac.new(b"test-secret", b"jwsender.example.orgalice",
//                             hashlib.sha1).digest())[:4]
// libsrs2 hashes the lower-cased stamp, domain and local part in that order.
TEST(Srs, ForwardMatchesLibsrs2Format) {
  EXPECT_EQ(srs().forward("Alice@sender.example.org", "fwd.test", kNow),
            "SRS0=f44F=JW=sender.example.org=Alice@fwd.test");
}

TEST(Srs, NullSenderAndOwnDomainStayAsTheyAre) {
  EXPECT_EQ(srs().forward("", "fwd.test", kNow), "");
  EXPECT_EQ(srs().forward("bob@FWD.test", "fwd.test", kNow), "bob@FWD.test");
}

TEST(Srs, RoundTrip) {
  std::string fwd = srs().forward("alice@sender.example.org", "fwd.test", kNow);
  std::string local = fwd.substr(0, fwd.rfind('@'));
  auto r = srs().reverse(local, kNow + 3 * kDay);
  EXPECT_EQ(r.status, SrsStatus::Valid) << r.reason;
  EXPECT_EQ(r.address, "alice@sender.example.org");
}

TEST(Srs, LocalPartWithSeparatorsRoundTrips) {
  std::string fwd = srs().forward("a=b+c-d@sender.example.org", "fwd.test", kNow);
  auto r = srs().reverse(fwd.substr(0, fwd.rfind('@')), kNow);
  EXPECT_EQ(r.status, SrsStatus::Valid) << r.reason;
  EXPECT_EQ(r.address, "a=b+c-d@sender.example.org");
}

TEST(Srs, CaseChangesByRelaysDoNotBreakTheHash) {
  std::string fwd = srs().forward("Alice@Sender.Example.org", "fwd.test", kNow);
  std::string local = fwd.substr(0, fwd.rfind('@'));
  std::string lower, upper;
  for (char c : local) {
    lower.push_back(static_cast<char>(std::tolower(static_cast<unsigned char>(c))));
    upper.push_back(static_cast<char>(std::toupper(static_cast<unsigned char>(c))));
  }
  for (const auto& l : {lower, upper}) {
    auto r = srs().reverse(l, kNow);
    EXPECT_EQ(r.status, SrsStatus::Valid) << l << ": " << r.reason;
  }
  EXPECT_EQ(srs().reverse(upper, kNow).address, "ALICE@SENDER.EXAMPLE.ORG");
}

TEST(Srs, WrongHashOrSecretIsForged) {
  std::string fwd = srs().forward("alice@sender.example.org", "fwd.test", kNow);
  std::string local = fwd.substr(0, fwd.rfind('@'));
  std::string bad = local;
  bad[5] = bad[5] == 'A' ? 'B' : 'A';
  EXPECT_EQ(srs().reverse(bad, kNow).status, SrsStatus::Forged);
  EXPECT_EQ(Srs({"other"}).reverse(local, kNow).status, SrsStatus::Forged);
  // A changed domain or local part breaks the hash too.
  std::string moved = local;
  moved.replace(moved.find("sender"), 6, "evil00");
  EXPECT_EQ(srs().reverse(moved, kNow).status, SrsStatus::Forged);
}

TEST(Srs, OldSecretsStillVerify) {
  std::string fwd = srs().forward("alice@sender.example.org", "fwd.test", kNow);
  Srs rotated({"new-secret", "test-secret"});
  EXPECT_EQ(rotated.reverse(fwd.substr(0, fwd.rfind('@')), kNow).status, SrsStatus::Valid);
}

TEST(Srs, AgeLimitAndFuture) {
  std::string fwd = srs().forward("alice@sender.example.org", "fwd.test", kNow);
  std::string local = fwd.substr(0, fwd.rfind('@'));
  EXPECT_EQ(srs().reverse(local, kNow + 21 * kDay).status, SrsStatus::Valid);
  EXPECT_EQ(srs().reverse(local, kNow + 22 * kDay).status, SrsStatus::Expired);
  EXPECT_EQ(srs().reverse(local, kNow - kDay).status, SrsStatus::Expired);  // stamped tomorrow
  EXPECT_EQ(Srs({"test-secret"}, 2).reverse(local, kNow + 3 * kDay).status, SrsStatus::Expired);
}

TEST(Srs, Srs1ForReforwardingAndItsReverse) {
  // fwd1.test forwarded first; we (fwd2.test) forward its SRS0 address.
  Srs first({"first-secret"});
  std::string srs0 = first.forward("alice@sender.example.org", "fwd1.test", kNow);
  std::string srs1 = srs().forward(srs0, "fwd2.test", kNow);
  std::string srs0_local = srs0.substr(0, srs0.rfind('@'));
  ASSERT_EQ(srs1.rfind("SRS1=", 0), 0u) << srs1;
  EXPECT_EQ(srs1.substr(9), "=fwd1.test=" + srs0_local.substr(4) + "@fwd2.test");
  // The bounce comes back to us and goes on to the first forwarder.
  auto back = srs().reverse(srs1.substr(0, srs1.rfind('@')), kNow);
  ASSERT_EQ(back.status, SrsStatus::Valid) << back.reason;
  EXPECT_EQ(back.address, srs0);
  auto orig = first.reverse(srs0_local, kNow);
  EXPECT_EQ(orig.address, "alice@sender.example.org");
  // A third forwarder keeps the first forwarder's part, rehashed.
  std::string again = Srs({"third"}).forward(srs1, "fwd3.test", kNow);
  EXPECT_EQ(again.substr(9), srs1.substr(9, srs1.rfind('@') - 9) + "@fwd3.test");
  EXPECT_EQ(Srs({"third"}).reverse(again.substr(0, again.rfind('@')), kNow).address, srs0);
  // A tampered SRS1 hash is forged.
  std::string bad = srs1.substr(0, srs1.rfind('@'));
  bad[6] = bad[6] == 'x' ? 'y' : 'x';
  EXPECT_EQ(srs().reverse(bad, kNow).status, SrsStatus::Forged);
}

TEST(Srs, MalformedAddressesAreForgedNotCrashes) {
  for (const char* l : {"SRS0=", "SRS0==", "SRS0=abcd", "SRS0=abcd=JW", "SRS0=abcd=JW=dom",
                        "SRS0=abcd=JW=dom=", "SRS0=abcd=J!=dom=x", "SRS0=abcd=JWX=dom=x", "SRS0=abcd==dom=x",
                        "SRS1=", "SRS1=abcd", "SRS1=abcd=host", "SRS1=abcd==x",
                        "SRS1=abcd=host=", "srs2=abcd=JW=dom=x", "alice"}) {
    auto r = srs().reverse(l, kNow);
    EXPECT_EQ(r.status, SrsStatus::Forged) << l;
    EXPECT_TRUE(r.address.empty()) << l;
  }
}

TEST(Srs, LooksLikeSrs) {
  EXPECT_TRUE(looks_like_srs("SRS0=x"));
  EXPECT_TRUE(looks_like_srs("srs1+x"));
  EXPECT_TRUE(looks_like_srs("Srs0-x"));
  EXPECT_FALSE(looks_like_srs("SRS0"));
  EXPECT_FALSE(looks_like_srs("SRS2=x"));
  EXPECT_FALSE(looks_like_srs("srsfan"));
  EXPECT_FALSE(looks_like_srs("alice"));
}

TEST(Srs, SecretFileCreatedOnceWithMode0600) {
  auto dir = std::filesystem::temp_directory_path() / ("mf-srs-" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  std::string path = (dir / "srs.key").string();
  auto first = load_or_create_srs_secrets(path);
  ASSERT_TRUE(first.ok()) << first.error().message;
  ASSERT_EQ(first->size(), 1u);
  EXPECT_GE(first->front().size(), 43u);  // base64 of 32 random bytes
  struct stat st {};
  ASSERT_EQ(::stat(path.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  auto again = load_or_create_srs_secrets(path);
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(again.value(), first.value());
  { std::ofstream(path, std::ios::app) << "\nold-secret\n"; }
  auto rotated = load_or_create_srs_secrets(path);
  ASSERT_TRUE(rotated.ok());
  EXPECT_EQ(rotated->size(), 2u);
  { std::ofstream(path, std::ios::trunc) << "\n \n"; }
  EXPECT_FALSE(load_or_create_srs_secrets(path).ok());
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace mailfort::auth
