// mailfort ban list|remove: the brute-force bans in <data_dir>/state.sqlite
// and, with [state] backend = "redis", in Redis (a running server re-reads
// them every second).
#include <CLI/CLI.hpp>

#include <cstdio>
#include <memory>

#include "cli/commands.h"
#include "policy/ban_service.h"
#include "state/open.h"

namespace mailfort::cli {
namespace {

// Opens the ban store, then runs `use` on it.
template <typename Use>
int with_bans(const AdminContext& admin, Use use) {
  const auto& l = admin.cfg.limits;
  auto redis = state::open_redis(admin.cfg.state);
  if (!redis) return fail(redis.error().message);
  auto bans = policy::BanService::open(
      admin.cfg.state_db_path(),
      {l.auth_failures_before_ban, l.ban_window_seconds, l.ban_duration_seconds, l.ipv6_prefix_length}, {},
      redis.value());
  if (!bans) return fail(bans.error().message);
  return use(*bans.value());
}

int list_bans(policy::BanService& bans) {
  auto list = bans.list();
  if (!list) return fail(list.error().message);
  std::printf("%-40s  %-20s  %s\n", "IP", "UNTIL", "REASON");
  for (const auto& b : list.value()) {
    std::printf("%-40s  %-20s  %s\n", b.ip.c_str(), iso_time(b.until).c_str(), b.reason.c_str());
  }
  return 0;
}

}  // namespace

void add_ban_commands(CLI::App& app, CliContext& ctx) {
  auto ip = std::make_shared<std::string>();
  auto* ban_cmd = app.add_subcommand("ban", "Brute-force bans");
  ban_cmd->require_subcommand(1);

  auto* list = ban_cmd->add_subcommand("list", "List active bans");
  on_admin(list, ctx, [](AdminContext& admin) { return with_bans(admin, list_bans); });

  auto* remove = ban_cmd->add_subcommand("remove", "Lift a ban");
  remove->add_option("IP", *ip)->required();
  on_admin(remove, ctx, [ip](AdminContext& admin) {
    return with_bans(
        admin, [&](policy::BanService& bans) { return done(bans.remove(*ip), "lifted ban on " + *ip); });
  });
}

}  // namespace mailfort::cli
