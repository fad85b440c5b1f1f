// mailfort queue list|flush|hold|release|delete: the outbound queue files.
// The running server owns them; flush only asks it (queue/flush-request).
#include <CLI/CLI.hpp>

#include <cstdio>
#include <memory>

#include "cli/commands.h"
#include "queue/queue.h"
#include "store/group_commit.h"

namespace mailfort::cli {
namespace {

// Opens the queue, then runs `use` on it. Reading needs no commit machinery;
// the queue only writes through it.
template <typename Use>
int with_queue(const AdminContext& admin, Use use) {
  auto gc = store::GroupCommit::start(admin.cfg.data_dir);
  if (!gc) return fail(gc.error().message);
  queue::Queue q(admin.cfg.data_dir, *gc.value());
  return use(q);
}

int list_queue(queue::Queue& q) {
  auto ids = q.list();
  if (!ids) return fail(ids.error().message);
  auto held = q.list_held();
  std::printf("%-26s  %-8s  %-20s  %-20s  %-30s  %s\n", "ID", "STATE", "ARRIVAL", "NEXT ATTEMPT", "SENDER",
              "RECIPIENT STATE ATTEMPTS LAST-ERROR");
  auto show = [&](const std::string& id, bool is_held) {
    auto e = is_held ? q.read_held_envelope(id) : q.read_envelope(id);
    if (!e) return;
    std::printf("%-26s  %-8s  %-20s  %-20s  %-30s\n", id.c_str(), is_held ? "held" : "active",
                iso_time(e->arrival).c_str(), iso_time(e->next_attempt).c_str(),
                e->sender.empty() ? "<>" : e->sender.c_str());
    for (const auto& r : e->recipients) {
      const char* st = r.state == queue::Recipient::State::Pending     ? "pending"
                       : r.state == queue::Recipient::State::Delivered ? "delivered"
                                                                       : "failed";
      std::printf("    %s %s %u %s\n", r.address.c_str(), st, r.attempts,
                  r.last_error.empty() ? "-" : r.last_error.c_str());
    }
  };
  for (const auto& id : ids.value()) show(id, false);
  if (held)
    for (const auto& id : held.value()) show(id, true);
  return 0;
}

int request_flush(const AdminContext& admin) {
  // The running server owns the queue files; it sees the request within
  // a second and attempts everything.
  std::string req = admin.cfg.data_dir + "/queue/flush-request";
  FILE* f = std::fopen(req.c_str(), "w");
  if (!f) return fail("cannot write " + req);
  std::fclose(f);
  std::printf("flush requested\n");
  return 0;
}

}  // namespace

void add_queue_commands(CLI::App& app, CliContext& ctx) {
  auto* queue_cmd = app.add_subcommand("queue", "Outbound queue");
  queue_cmd->require_subcommand(1);

  auto* list = queue_cmd->add_subcommand("list", "List queued messages");
  on_admin(list, ctx, [](AdminContext& admin) { return with_queue(admin, list_queue); });

  auto* flush = queue_cmd->add_subcommand("flush", "Attempt every queued message now");
  on_admin(flush, ctx, [](AdminContext& admin) {
    return with_queue(admin, [&](queue::Queue&) { return request_flush(admin); });
  });

  auto id = std::make_shared<std::string>();
  auto* hold = queue_cmd->add_subcommand("hold", "Keep a message from being delivered");
  hold->add_option("ID", *id, "Queue id")->required();
  on_admin(hold, ctx, [id](AdminContext& admin) {
    return with_queue(admin, [&](queue::Queue& q) { return done(q.hold(*id), "held " + *id); });
  });

  auto* release = queue_cmd->add_subcommand("release", "Release a held message");
  release->add_option("ID", *id, "Queue id")->required();
  on_admin(release, ctx, [id](AdminContext& admin) {
    return with_queue(admin, [&](queue::Queue& q) { return done(q.release(*id), "released " + *id); });
  });

  auto* remove = queue_cmd->add_subcommand("delete", "Delete a queued message (no bounce)");
  remove->add_option("ID", *id, "Queue id")->required();
  on_admin(remove, ctx, [id](AdminContext& admin) {
    return with_queue(admin, [&](queue::Queue& q) { return done(q.remove(*id), "deleted " + *id); });
  });
}

}  // namespace mailfort::cli
