// mailfort user add|passwd|enable|disable|remove|limit|allow-any-from|list
#include <CLI/CLI.hpp>

#include <cstdio>
#include <iostream>
#include <memory>
#include <vector>

#include "cli/commands.h"
#include "directory/password.h"

namespace mailfort::cli {
namespace {

struct UserArgs {
  std::string address;
  std::string list_domain;
  std::string state;  // on|off
  std::string limit;  // N|default
  uint64_t quota = 0;
  bool send_only = false;
  bool password_stdin = false;
};

std::string read_password_stdin() {
  std::string pw;
  std::getline(std::cin, pw);
  while (!pw.empty() && (pw.back() == '\r' || pw.back() == '\n')) pw.pop_back();
  return pw;
}

// The password to set: from standard input, or generated (then `generated`).
std::string new_password(const UserArgs& a, bool& generated) {
  generated = !a.password_stdin;
  return generated ? directory::generate_password() : read_password_stdin();
}

int add_user(directory::Directory& d, const UserArgs& a) {
  bool generated = false;
  std::string pw = new_password(a, generated);
  auto addr = directory::parse_new_address(a.address);
  if (!addr) return fail(addr.error().message);
  directory::Account acct{addr->local, addr->domain, "", a.quota, true, a.send_only};
  auto r = d.add_account(acct, pw);
  if (r && generated) std::printf("password for %s: %s\n", a.address.c_str(), pw.c_str());
  if (!r) return fail(r.error().message);
  std::printf("added account %s\n", a.address.c_str());
  // The domain's postmaster, and with the instance's first account the
  // postmaster of every domain added before any account existed.
  auto all = d.list_accounts("");
  if (!all) return fail(all.error().message);
  std::vector<std::string> domains{addr->domain};
  if (all->size() == 1) {
    auto l = d.list_domains();
    if (!l) return fail(l.error().message);
    domains = l.value();
  }
  for (const auto& dom : domains)
    if (int rc = report_postmaster(d, dom, false); rc != 0) return rc;
  return 0;
}

int change_password(directory::Directory& d, const UserArgs& a) {
  bool generated = false;
  std::string pw = new_password(a, generated);
  auto r = d.set_password(a.address, pw);
  if (r && generated) std::printf("password for %s: %s\n", a.address.c_str(), pw.c_str());
  return done(r, "changed the password of " + a.address);
}

int list_users(directory::Directory& d, const std::string& domain) {
  auto l = d.list_accounts(domain);
  if (!l) return fail(l.error().message);
  // SEND_PER_HOUR stays the last column: scripts read it there.
  std::printf("%-40s  %8s  %-7s  %-9s  %-8s  %s\n", "ADDRESS", "QUOTA_MB", "ENABLED", "SEND_ONLY", "ANY_FROM",
              "SEND_PER_HOUR");
  for (const auto& acct : l.value()) {
    auto limit = d.send_limit(acct.address());
    if (!limit) return fail(limit.error().message);
    auto any = d.allows_any_from(acct.address());
    if (!any) return fail(any.error().message);
    std::printf("%-40s  %8llu  %-7s  %-9s  %-8s  %s\n", acct.address().c_str(),
                static_cast<unsigned long long>(acct.quota_mb), acct.enabled ? "yes" : "no",
                acct.send_only ? "yes" : "no", any.value() ? "yes" : "no",
                send_limit_column(limit.value()).c_str());
  }
  return 0;
}

}  // namespace

void add_user_commands(CLI::App& app, CliContext& ctx) {
  auto a = std::make_shared<UserArgs>();
  auto* user_cmd = app.add_subcommand("user", "Manage accounts");
  user_cmd->require_subcommand(1);

  auto* add = user_cmd->add_subcommand(
      "add",
      "Add an account (prints a generated password once). ADDRESS: a dot-atom local part (letters, digits, "
      "single dots and !#$%&'*+-=?^_`{|}~; UTF-8 allowed) @ a local domain. The domain's postmaster alias "
      "points here when the domain had none");
  add->add_option("ADDRESS", a->address)->required();
  add->add_option("--quota", a->quota, "Mailbox quota in MB (0 = unlimited)");
  add->add_flag("--send-only", a->send_only, "May log in and send, receives nothing");
  add->add_flag("--password-stdin", a->password_stdin, "Read the password from standard input");
  on_directory(add, ctx, [a](AdminContext& admin) { return add_user(*admin.dir, *a); });

  auto* passwd = user_cmd->add_subcommand("passwd", "Set a new password");
  passwd->add_option("ADDRESS", a->address)->required();
  passwd->add_flag("--password-stdin", a->password_stdin, "Read the password from standard input");
  on_directory(passwd, ctx, [a](AdminContext& admin) { return change_password(*admin.dir, *a); });

  auto* enable = user_cmd->add_subcommand("enable", "Enable an account");
  enable->add_option("ADDRESS", a->address)->required();
  on_directory(enable, ctx, [a](AdminContext& admin) {
    return done(admin.dir->set_enabled(a->address, true), "enabled " + a->address);
  });

  auto* disable = user_cmd->add_subcommand("disable", "Disable an account (no login, no mail)");
  disable->add_option("ADDRESS", a->address)->required();
  on_directory(disable, ctx, [a](AdminContext& admin) {
    return done(admin.dir->set_enabled(a->address, false), "disabled " + a->address);
  });

  auto* remove = user_cmd->add_subcommand("remove", "Remove an account (its mailbox stays on disk)");
  remove->add_option("ADDRESS", a->address)->required();
  on_directory(remove, ctx, [a](AdminContext& admin) {
    return done(admin.dir->remove_account(a->address), "removed account " + a->address);
  });

  auto* limit = user_cmd->add_subcommand(
      "limit",
      "Messages per hour ADDRESS may send (overrides [limits] send_per_hour_mailbox; "
      "0 = unlimited, default = the config's)");
  limit->add_option("ADDRESS", a->address)->required();
  limit->add_option("LIMIT", a->limit, "N or default")->required()->check(send_limit_validator());
  on_directory(limit, ctx, [a](AdminContext& admin) {
    auto per_hour = parse_send_limit(a->limit);
    return done(admin.dir->set_send_limit(a->address, per_hour),
                "sending limit of " + a->address + ": " + send_limit_set_text(per_hour));
  });

  auto* any_from = user_cmd->add_subcommand(
      "allow-any-from",
      "Let ADDRESS write any address in the header From/Sender, e.g. a newsletter or shared sender "
      "(default off: only addresses the login owns; [smtp] enforce_header_from)");
  any_from->add_option("ADDRESS", a->address)->required();
  any_from->add_option("STATE", a->state, "on or off")->required()->check(CLI::IsMember({"on", "off"}));
  on_directory(any_from, ctx, [a](AdminContext& admin) {
    return done(admin.dir->set_allow_any_from(a->address, a->state == "on"),
                "header From of " + a->address + ": " +
                    (a->state == "on" ? "any address" : "addresses the login owns"));
  });

  auto* list = user_cmd->add_subcommand("list", "List accounts");
  list->add_option("DOMAIN", a->list_domain);
  on_directory(list, ctx, [a](AdminContext& admin) { return list_users(*admin.dir, a->list_domain); });
}

}  // namespace mailfort::cli
