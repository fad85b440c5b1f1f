#include "proto/dmarc/dmarc_record.h"

#include <gtest/gtest.h>

namespace mailfort::proto::dmarc {
namespace {

TEST(DmarcRecord, FullRecord) {
  auto r = parse_record(
      "v=DMARC1; p=reject; sp=quarantine; np=none; pct=50; adkim=s; aspf=s; "
      "rua=mailto:agg@example.test!10m, mailto:b@example.test; ruf=mailto:f@example.test; fo=1; rf=afrf; "
      "ri=3600");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r.record.p, Policy::Reject);
  EXPECT_TRUE(r.record.p_given);
  EXPECT_EQ(r.record.sp, Policy::Quarantine);
  EXPECT_EQ(r.record.np, Policy::None);
  EXPECT_EQ(r.record.pct, 50);
  EXPECT_EQ(r.record.adkim, Alignment::Strict);
  EXPECT_EQ(r.record.aspf, Alignment::Strict);
  ASSERT_EQ(r.record.rua.size(), 2u);
  EXPECT_EQ(r.record.rua[0].uri, "mailto:agg@example.test");
  EXPECT_EQ(r.record.rua[0].max_size, 10u << 20);
  EXPECT_EQ(r.record.rua[1].max_size, 0u);
  ASSERT_EQ(r.record.ruf.size(), 1u);
  EXPECT_EQ(r.record.fo, "1");
  EXPECT_EQ(r.record.ri, 3600u);
}

TEST(DmarcRecord, Defaults) {
  auto r = parse_record("v=DMARC1; p=none");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r.record.p, Policy::None);
  EXPECT_FALSE(r.record.sp.has_value());
  EXPECT_FALSE(r.record.np.has_value());
  EXPECT_EQ(r.record.pct, 100);
  EXPECT_EQ(r.record.adkim, Alignment::Relaxed);
  EXPECT_EQ(r.record.aspf, Alignment::Relaxed);
  EXPECT_EQ(r.record.ri, 86400u);
}

TEST(DmarcRecord, VersionMustBeFirst) {
  EXPECT_EQ(parse_record("p=reject; v=DMARC1").error, RecordError::NotDmarc);
  EXPECT_EQ(parse_record("v=DMARC2; p=reject").error, RecordError::NotDmarc);
  EXPECT_EQ(parse_record("v=spf1 -all").error, RecordError::NotDmarc);
  EXPECT_EQ(parse_record("").error, RecordError::NotDmarc);
  EXPECT_EQ(parse_record("v=DMARC1x; p=reject").error, RecordError::NotDmarc);
  EXPECT_TRUE(parse_record(" v = DMARC1 ;p=reject").ok());
}

TEST(DmarcRecord, MissingPolicyWithRuaIsNone) {
  auto r = parse_record("v=DMARC1; rua=mailto:a@example.test");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r.record.p, Policy::None);
  EXPECT_FALSE(r.record.p_given);
  auto bad = parse_record("v=DMARC1; p=bogus; rua=mailto:a@example.test");
  ASSERT_TRUE(bad.ok());
  EXPECT_EQ(bad.record.p, Policy::None);
  EXPECT_EQ(parse_record("v=DMARC1; p=bogus").error, RecordError::NoPolicy);
  EXPECT_EQ(parse_record("v=DMARC1").error, RecordError::NoPolicy);
  EXPECT_EQ(parse_record("v=DMARC1; rua=notauri").error, RecordError::NoPolicy);
}

TEST(DmarcRecord, InvalidOptionalTagsFallBack) {
  auto r = parse_record("v=DMARC1; p=quarantine; sp=maybe; pct=101; adkim=x; ri=abc; unknown=1; junk");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r.record.p, Policy::Quarantine);
  EXPECT_FALSE(r.record.sp.has_value());
  EXPECT_EQ(r.record.pct, 100);
  EXPECT_EQ(r.record.adkim, Alignment::Relaxed);
  EXPECT_EQ(r.record.ri, 86400u);
  EXPECT_EQ(parse_record("v=DMARC1; p=reject; pct=0").record.pct, 0);
  EXPECT_EQ(parse_record("v=DMARC1; p=reject; pct=-1").record.pct, 100);
}

TEST(DmarcRecord, CaseOfValues) {
  auto r = parse_record("v=DMARC1; P=Reject; SP=NONE");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r.record.p, Policy::Reject);
  EXPECT_EQ(r.record.sp, Policy::None);
}

TEST(DmarcRecord, Bounds) {
  RecordLimits limits;
  limits.max_uris = 2;
  auto r = parse_record("v=DMARC1; p=none; rua=mailto:a@x.test,mailto:b@x.test,mailto:c@x.test", limits);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r.record.rua.size(), 2u);
  std::string huge = "v=DMARC1; p=none; " + std::string(5000, 'a');
  EXPECT_EQ(parse_record(huge).error, RecordError::TooLong);
  EXPECT_FALSE(parse_record("v=DMARC1; p=none; rua=mailto:a@x.test!0").record.rua.size());
}

TEST(DmarcRecord, OneByteAtATimePrefixesNeverCrash) {
  std::string rec = "v=DMARC1; p=reject; rua=mailto:a@x.test!5k; pct=20";
  for (std::size_t i = 0; i <= rec.size(); ++i) (void)parse_record(rec.substr(0, i));
  EXPECT_EQ(parse_record(rec).record.rua.at(0).max_size, 5u * 1024);
}

}  // namespace
}  // namespace mailfort::proto::dmarc
