// mailfort tlsrpt send [--day]: SMTP TLS Reporting (RFC 8460) of outbound
// delivery, the same run the server makes once a day for yesterday.
#include <CLI/CLI.hpp>

#include <cstdio>
#include <ctime>
#include <memory>

#include "cli/commands.h"
#include "dns/resolver.h"
#include "outbound/tlsrpt.h"
#include "queue/queue.h"
#include "store/group_commit.h"

namespace mailfort::cli {
namespace {

int send_reports(const AdminContext& admin, const std::string& day_arg) {
  const auto& cfg = admin.cfg;
  int64_t now = static_cast<int64_t>(std::time(nullptr));
  std::string day = day_arg.empty() ? outbound::utc_day(now - 86400) : day_arg;
  if (!outbound::day_start(day)) return fail("invalid --day " + day + " (YYYY-MM-DD)");
  auto store = outbound::TlsReportStore::open(cfg.data_dir + "/tlsrpt.sqlite");
  if (!store) return fail(store.error().message);
  auto resolver = open_resolver(cfg);
  if (!resolver) return fail(resolver.error().message);
  auto gc = store::GroupCommit::start(cfg.data_dir);
  if (!gc) return fail(gc.error().message);
  queue::Queue q(cfg.data_dir, *gc.value());
  auto run = outbound::send_tls_reports(*store.value(), *resolver.value(), q, cfg.hostname, day, now);
  if (run.messages > 0) {
    // The running server picks the new queue files up within a second.
    std::string req = cfg.data_dir + "/queue/flush-request";
    if (FILE* f = std::fopen(req.c_str(), "w")) std::fclose(f);
  }
  std::printf("tlsrpt day=%s reports=%zu messages=%zu\n", day.c_str(), run.domains, run.messages);
  return 0;
}

}  // namespace

void add_tlsrpt_commands(CLI::App& app, CliContext& ctx) {
  auto day = std::make_shared<std::string>();
  auto* tlsrpt_cmd = app.add_subcommand("tlsrpt", "SMTP TLS Reporting (RFC 8460) of outbound delivery");
  tlsrpt_cmd->require_subcommand(1);
  auto* send = tlsrpt_cmd->add_subcommand(
      "send",
      "Queue the TLS reports of a UTC day not yet reported (the server does this daily for yesterday)");
  send->add_option("--day", *day, "YYYY-MM-DD (UTC; default yesterday)");
  on_admin(send, ctx, [day](AdminContext& admin) { return send_reports(admin, *day); });
}

}  // namespace mailfort::cli
