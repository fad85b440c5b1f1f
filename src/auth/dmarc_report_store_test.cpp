#include "auth/dmarc_report_store.h"

#include <gtest/gtest.h>

#include <unistd.h>

#include <filesystem>

namespace mailfort::auth {
namespace {

constexpr int64_t kDay1 = 1796083200;  // 2026-12-01T00:00:00Z

Verdict verdict(const std::string& from, DmarcResult result = DmarcResult::Pass) {
  Verdict v;
  v.dmarc.result = result;
  v.dmarc.from_domain = from;
  v.dmarc.policy_domain = from;
  v.dmarc.org_domain = from;
  v.dmarc.policy = DmarcPolicy::Reject;
  v.dmarc.dkim_aligned = result == DmarcResult::Pass;
  v.dmarc.rua = {"mailto:dmarc@" + from};
  DkimResult d;
  d.status = result == DmarcResult::Pass ? DkimStatus::Pass : DkimStatus::Fail;
  d.domain = from;
  d.selector = "s1";
  v.dkim.push_back(d);
  SpfOutcome spf;
  spf.result = SpfResult::SoftFail;
  spf.domain = "bounce." + from;
  spf.identity = "mailfrom";
  v.spf = spf;
  if (result == DmarcResult::Fail) v.disposition = Disposition::Reject;
  return v;
}

class DmarcReportStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/mf-dmarc-report-XXXXXX";
    dir = ::mkdtemp(tmpl);
    auto s = DmarcReportStore::open(dir + "/r.sqlite");
    ASSERT_TRUE(s) << s.error().message;
    store = s.value();
  }
  void TearDown() override { std::filesystem::remove_all(dir); }
  std::string dir;
  std::shared_ptr<DmarcReportStore> store;
};

TEST(DmarcReportRow, FromVerdict) {
  auto v = verdict("a.example");
  v.dmarc.sampled_out = true;
  auto row = report_row(v, "192.0.2.1", "Bob@Bounce.A.Example");
  ASSERT_TRUE(row);
  EXPECT_EQ(row->source_ip, "192.0.2.1");
  EXPECT_EQ(row->disposition, "none");
  EXPECT_EQ(row->dkim_eval, "pass");
  EXPECT_EQ(row->spf_eval, "fail");
  EXPECT_EQ(row->reason, "sampled_out");
  EXPECT_EQ(row->header_from, "a.example");
  EXPECT_EQ(row->envelope_from, "bounce.a.example");
  ASSERT_EQ(row->dkim.size(), 1u);
  EXPECT_EQ(row->dkim[0], (DkimReportResult{"a.example", "s1", "pass"}));
  EXPECT_EQ(row->spf_domain, "bounce.a.example");
  EXPECT_EQ(row->spf_scope, "mfrom");
  EXPECT_EQ(row->spf_result, "softfail");

  auto f = report_row(verdict("a.example", DmarcResult::Fail), "192.0.2.1", "");
  ASSERT_TRUE(f);
  EXPECT_EQ(f->disposition, "reject");
  EXPECT_EQ(f->dkim_eval, "fail");
  EXPECT_EQ(f->envelope_from, "");
  EXPECT_EQ(f->dkim[0].result, "fail");

  auto o = verdict("a.example", DmarcResult::Fail);
  o.arc_override = true;
  EXPECT_EQ(report_row(o, "192.0.2.1", "")->reason, "trusted_forwarder");
}

TEST(DmarcReportRow, NotReported) {
  auto no_rua = verdict("a.example");
  no_rua.dmarc.rua.clear();
  EXPECT_FALSE(report_row(no_rua, "192.0.2.1", "x@a.example"));
  EXPECT_FALSE(report_row(verdict("a.example", DmarcResult::None), "192.0.2.1", "x@a.example"));
  // A From domain with a space cannot break the row encoding: not counted.
  EXPECT_FALSE(report_row(verdict("a example"), "192.0.2.1", "x@a.example"));
  // An unparseable signature (no d=) is left out, the rest is kept.
  auto bad_sig = verdict("a.example");
  bad_sig.dkim.push_back(DkimResult{});
  EXPECT_EQ(report_row(bad_sig, "192.0.2.1", "")->dkim.size(), 1u);
}

TEST_F(DmarcReportStoreTest, AggregatesIdenticalMessages) {
  for (int i = 0; i < 5; ++i)
    ASSERT_TRUE(store->record(verdict("a.example"), "192.0.2.1", "x@a.example", kDay1 + i));
  ASSERT_TRUE(
      store->record(verdict("a.example", DmarcResult::Fail), "198.51.100.7", "x@a.example", kDay1 + 10));
  ASSERT_TRUE(store->record(verdict("a.example"), "192.0.2.1", "x@a.example", kDay1 + 86400));  // next day
  ASSERT_TRUE(store->record(verdict("b.example"), "192.0.2.1", "x@b.example", kDay1 + 20));
  auto no_rua = verdict("c.example");
  no_rua.dmarc.rua.clear();
  ASSERT_TRUE(store->record(no_rua, "192.0.2.1", "x@c.example", kDay1));

  auto pending = store->pending_domains("2026-12-01");
  ASSERT_TRUE(pending);
  ASSERT_EQ(pending->size(), 2u);
  EXPECT_EQ((*pending)[0].policy_domain, "a.example");
  EXPECT_EQ((*pending)[0].policy, "reject");
  EXPECT_EQ((*pending)[0].rua, std::vector<std::string>{"mailto:dmarc@a.example"});
  EXPECT_EQ((*pending)[1].policy_domain, "b.example");

  auto rows = store->rows("2026-12-01", "a.example");
  ASSERT_TRUE(rows);
  ASSERT_EQ(rows->size(), 2u);
  EXPECT_EQ((*rows)[0].source_ip, "192.0.2.1");
  EXPECT_EQ((*rows)[0].count, 5u);
  EXPECT_EQ((*rows)[0].dkim, (std::vector<DkimReportResult>{{"a.example", "s1", "pass"}}));
  EXPECT_EQ((*rows)[1].source_ip, "198.51.100.7");
  EXPECT_EQ((*rows)[1].count, 1u);
  EXPECT_EQ((*rows)[1].disposition, "reject");
  EXPECT_EQ(store->rows("2026-12-02", "a.example")->at(0).count, 1u);

  ASSERT_TRUE(store->mark_sent("2026-12-01", "a.example", kDay1 + 86400));
  pending = store->pending_domains("2026-12-01");
  ASSERT_EQ(pending->size(), 1u);
  EXPECT_EQ((*pending)[0].policy_domain, "b.example");
}

TEST_F(DmarcReportStoreTest, DistinctRowsAreCapped) {
  for (int64_t i = 0; i < DmarcReportStore::kMaxRowsPerDomainDay + 5; ++i) {
    std::string ip = "10." + std::to_string(i / 65536) + "." + std::to_string(i / 256 % 256) + "." +
                     std::to_string(i % 256);
    ASSERT_TRUE(store->record(verdict("a.example"), ip, "x@a.example", kDay1));
  }
  // Known rows still count past the cap.
  ASSERT_TRUE(store->record(verdict("a.example"), "10.0.0.0", "x@a.example", kDay1));
  auto rows = store->rows("2026-12-01", "a.example");
  ASSERT_TRUE(rows);
  EXPECT_EQ(static_cast<int64_t>(rows->size()), DmarcReportStore::kMaxRowsPerDomainDay);
  uint64_t total = 0;
  for (auto& r : *rows) total += r.count;
  EXPECT_EQ(static_cast<int64_t>(total), DmarcReportStore::kMaxRowsPerDomainDay + 1);
}

TEST_F(DmarcReportStoreTest, PruneForgetsOldDays) {
  ASSERT_TRUE(store->record(verdict("a.example"), "192.0.2.1", "x@a.example", kDay1));
  ASSERT_TRUE(store->prune(kDay1 + 6 * 86400));
  EXPECT_EQ(store->rows("2026-12-01", "a.example")->size(), 1u);
  ASSERT_TRUE(store->prune(kDay1 + 8 * 86400));
  EXPECT_TRUE(store->rows("2026-12-01", "a.example")->empty());
  EXPECT_TRUE(store->pending_domains("2026-12-01")->empty());
}

}  // namespace
}  // namespace mailfort::auth
