// mailfort auth report send [--day]: DMARC aggregate reports (RFC 7489
// 7.2) of what the MX received, the same run the server makes once a day
// for yesterday when [inbound] dmarc_reports is on.
#include <CLI/CLI.hpp>

#include <cstdio>
#include <ctime>
#include <memory>

#include "auth/dmarc_report_store.h"
#include "cli/auth_commands.h"
#include "cli/commands.h"
#include "dns/resolver.h"
#include "outbound/dmarc_reports.h"
#include "outbound/tlsrpt_report.h"
#include "queue/queue.h"
#include "store/group_commit.h"

namespace mailfort::cli {
namespace {

int send_reports(const AdminContext& admin, const std::string& day_arg) {
  const auto& cfg = admin.cfg;
  int64_t now = static_cast<int64_t>(std::time(nullptr));
  std::string day = day_arg.empty() ? outbound::utc_day(now - 86400) : day_arg;
  if (!outbound::day_start(day)) return fail("invalid --day " + day + " (YYYY-MM-DD)");
  auto store = auth::DmarcReportStore::open(cfg.data_dir + "/dmarc-reports.sqlite");
  if (!store) return fail(store.error().message);
  auto resolver = open_resolver(cfg);
  if (!resolver) return fail(resolver.error().message);
  auto gc = store::GroupCommit::start(cfg.data_dir);
  if (!gc) return fail(gc.error().message);
  queue::Queue q(cfg.data_dir, *gc.value());
  outbound::DmarcReportContext ctx{*store.value(), *resolver.value(), q,
                                   *admin.dir,     cfg.data_dir,      cfg.hostname};
  auto run = outbound::send_dmarc_reports(ctx, day, now);
  if (run.messages > 0) {
    // The running server picks the new queue files up within a second.
    std::string req = cfg.data_dir + "/queue/flush-request";
    if (FILE* f = std::fopen(req.c_str(), "w")) std::fclose(f);
  }
  for (auto& s : run.skipped) std::printf("dmarc-report skipped %s\n", s.c_str());
  std::printf("dmarc-report day=%s reports=%zu messages=%zu\n", day.c_str(), run.domains, run.messages);
  return 0;
}

}  // namespace

void add_auth_report_command(CLI::App& auth, CliContext& ctx) {
  auto day = std::make_shared<std::string>();
  auto* report = auth.add_subcommand("report", "DMARC aggregate reports (RFC 7489) of received mail");
  report->require_subcommand(1);
  auto* send = report->add_subcommand(
      "send",
      "Queue the DMARC reports of a UTC day not yet reported (with [inbound] dmarc_reports on, the "
      "server does this daily for yesterday)");
  send->add_option("--day", *day, "YYYY-MM-DD (UTC; default yesterday)");
  on_directory(send, ctx, [day](AdminContext& admin) { return send_reports(admin, *day); });
}

}  // namespace mailfort::cli
