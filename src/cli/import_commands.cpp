// mailfort import sieve ROOT [--domain D] [--user ADDRESS] [--dry-run]:
// takes over Pigeonhole's per-user script directories as Dovecot lays them
// out with `sieve = file:ROOT/%d/%n/scripts;active=ROOT/%d/%n/active-script.sieve`:
// ROOT/<domain>/<user>/scripts/<name>.sieve, and active-script.sieve a
// symlink to the active one. Names and the active choice are kept.
//
// Decisions: a script that does not compile is imported (the user's text
// is not lost and can be fixed over ManageSieve) but never activated, and
// the run exits 1 so the administrator notices. ROOT/global (sieve_before
// and friends) is not imported: global scripts are [sieve] before/after.
// Directories of addresses without an account are skipped. Running twice
// changes nothing (scripts with the same text and the same active choice
// are left alone).
#include <CLI/CLI.hpp>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <memory>
#include <optional>

#include "base/text.h"
#include "cli/commands.h"
#include "sieve/script_store.h"
#include "sieve/sieve_service.h"

namespace mailfort::cli {
namespace {

namespace fs = std::filesystem;

constexpr std::uintmax_t kMaxScriptFile = 16u << 20;
constexpr std::size_t kMaxEntries = 100000;  // directory entries looked at, per level

struct ImportArgs {
  std::string root;
  std::string domain;
  std::string user;
  bool dry_run = false;
};

std::optional<std::string> read_small_file(const fs::path& p) {
  std::error_code ec;
  auto size = fs::file_size(p, ec);
  if (ec || size > kMaxScriptFile) return std::nullopt;
  std::ifstream in(p, std::ios::binary);
  if (!in) return std::nullopt;
  return std::string(std::istreambuf_iterator<char>(in), {});
}

std::vector<fs::path> sorted_dirs(const fs::path& dir) {
  std::vector<fs::path> out;
  std::error_code ec;
  for (fs::directory_iterator it(dir, ec), end; !ec && it != end && out.size() < kMaxEntries;
       it.increment(ec))
    if (it->is_directory(ec)) out.push_back(it->path());
  std::sort(out.begin(), out.end());
  return out;
}

// The active script's name from active-script.sieve (a symlink to
// scripts/<name>.sieve); nullopt when there is none.
std::optional<std::string> active_name(const fs::path& user_dir) {
  std::error_code ec;
  fs::path link = user_dir / "active-script.sieve";
  if (!fs::is_symlink(fs::symlink_status(link, ec))) return std::nullopt;
  fs::path target = fs::read_symlink(link, ec);
  if (ec || target.extension() != ".sieve") return std::nullopt;
  return target.stem().string();
}

struct Counts {
  int imported = 0, unchanged = 0, failed = 0, skipped = 0;
};

void import_account(sieve::SieveService& svc, const std::string& user, const fs::path& user_dir, bool dry_run,
                    Counts& n) {
  auto& store = svc.scripts();
  std::vector<fs::path> files;
  std::error_code ec;
  for (fs::directory_iterator it(user_dir / "scripts", ec), end;
       !ec && it != end && files.size() < kMaxEntries; it.increment(ec))
    if (it->is_regular_file(ec) && it->path().extension() == ".sieve") files.push_back(it->path());
  std::sort(files.begin(), files.end());
  auto want_active = active_name(user_dir);
  bool active_ok = false;
  for (const auto& f : files) {
    std::string name = f.stem().string();
    std::string label = user + " " + name;
    if (!sieve::ScriptStore::valid_name(name)) {
      std::printf("%s: skipped: not a valid script name\n", label.c_str());
      ++n.failed;
      continue;
    }
    auto text = read_small_file(f);
    if (!text) {
      std::printf("%s: failed: cannot read %s\n", label.c_str(), f.c_str());
      ++n.failed;
      continue;
    }
    auto compiled = svc.check(*text);
    std::string note;
    if (!compiled.ok()) {
      note = " (does not compile: " + sieve::format_error(f.string(), compiled.errors.front()) + ")";
      ++n.failed;
    } else if (want_active && *want_active == name) {
      active_ok = true;
    }
    auto existing = store.get(user, name);
    if (existing && existing.value() == *text) {
      std::printf("%s: unchanged%s\n", label.c_str(), note.c_str());
      ++n.unchanged;
      continue;
    }
    if (dry_run) {
      std::printf("%s: would import%s\n", label.c_str(), note.c_str());
      continue;
    }
    auto space = store.have_space(user, name, text->size());
    if (space != sieve::Space::Ok) {
      std::printf("%s: failed: over the account's script quota\n", label.c_str());
      if (compiled.ok()) ++n.failed;
      if (want_active && *want_active == name) active_ok = false;
      continue;
    }
    auto r = store.put(user, name, *text);
    if (!r) {
      std::printf("%s: failed: %s\n", label.c_str(), r.error().message.c_str());
      if (compiled.ok()) ++n.failed;
      if (want_active && *want_active == name) active_ok = false;
      continue;
    }
    std::printf("%s: imported%s\n", label.c_str(), note.c_str());
    ++n.imported;
  }
  if (!want_active) return;
  if (!active_ok) {
    std::printf("%s %s: not activated (missing or does not compile)\n", user.c_str(), want_active->c_str());
    return;
  }
  auto cur = store.active(user);
  if (cur && cur.value() && *cur.value() == *want_active) {
    std::printf("%s %s: already active\n", user.c_str(), want_active->c_str());
    return;
  }
  if (dry_run) {
    std::printf("%s %s: would activate\n", user.c_str(), want_active->c_str());
    return;
  }
  auto r = store.activate(user, *want_active);
  if (!r) {
    std::printf("%s %s: activation failed: %s\n", user.c_str(), want_active->c_str(),
                r.error().message.c_str());
    ++n.failed;
    return;
  }
  std::printf("%s %s: activated\n", user.c_str(), want_active->c_str());
}

int import_sieve(AdminContext& ctx, const ImportArgs& a) {
  std::error_code ec;
  if (!fs::is_directory(a.root, ec)) return fail(a.root + " is not a directory");
  auto svc = sieve::SieveService::open(ctx.cfg);
  if (!svc) return fail(svc.error().message);
  std::string only_user = to_lower(a.user);
  std::string only_domain = to_lower(a.domain);
  if (!only_user.empty() && only_domain.empty() && only_user.find('@') != std::string::npos)
    only_domain = only_user.substr(only_user.find('@') + 1);
  Counts n;
  for (const auto& ddir : sorted_dirs(a.root)) {
    std::string domain = to_lower(ddir.filename().string());
    if (domain == "global") {
      std::printf(
          "global: skipped: global scripts are configured with [sieve] before/after and global_dir\n");
      continue;
    }
    if (!only_domain.empty() && domain != only_domain) continue;
    for (const auto& udir : sorted_dirs(ddir)) {
      std::string user = to_lower(udir.filename().string()) + "@" + domain;
      if (!only_user.empty() && user != only_user) continue;
      auto acct = ctx.dir->find_account(user);
      if (!acct) return fail(acct.error().message);
      if (!acct.value()) {
        std::printf("%s: skipped: no such account\n", user.c_str());
        ++n.skipped;
        continue;
      }
      import_account(*svc.value(), user, udir, a.dry_run, n);
    }
  }
  std::printf("%d imported, %d unchanged, %d skipped accounts, %d problems%s\n", n.imported, n.unchanged,
              n.skipped, n.failed, a.dry_run ? " (dry run: nothing changed)" : "");
  return n.failed ? 1 : 0;
}

}  // namespace

void add_import_commands(CLI::App& app, CliContext& ctx) {
  auto* imp = app.add_subcommand("import", "Take over another server's data");
  imp->require_subcommand(1);
  auto a = std::make_shared<ImportArgs>();
  auto* s = imp->add_subcommand(
      "sieve", "Import Pigeonhole script directories ROOT/<domain>/<user>/scripts with active-script.sieve");
  s->add_option("ROOT", a->root, "the directory holding <domain>/<user>/ (Dovecot's sieve root)")->required();
  s->add_option("--domain", a->domain, "only this domain");
  s->add_option("--user", a->user, "only this account");
  s->add_flag("--dry-run", a->dry_run, "print what would change, change nothing");
  on_directory(s, ctx, [a](AdminContext& x) { return import_sieve(x, *a); });
}

}  // namespace mailfort::cli
