// mailfort sieve check|test|list|get|put|activate|deactivate|remove: the
// administrator's view of Sieve. `check` compiles a file as PUTSCRIPT
// would; `test` runs one script on one message without delivering and
// prints the actions in the layout of Pigeonhole's `sieve-test`, so the
// two outputs compare line by line (tests/integration/
// test_sieve_differential.py); the rest manage an account's stored scripts
// through SieveService::scripts(), as ManageSieve does.
#include <CLI/CLI.hpp>

#include <algorithm>
#include <cstdio>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iostream>
#include <iterator>
#include <memory>
#include <optional>
#include <sstream>

#include "base/text.h"
#include "cli/commands.h"
#include "cli/message_file.h"
#include "sieve/compile.h"
#include "sieve/interpreter.h"
#include "sieve/sieve_service.h"
#include "sieve/vacation.h"

namespace mailfort::cli {
namespace {

namespace fs = std::filesystem;

// Script files are read whole but never beyond this (the compiler refuses
// larger ones with a clear message: max_script_size is far below it).
constexpr std::uintmax_t kMaxScriptFile = 16u << 20;

std::optional<std::string> read_text_file(const std::string& path) {
  if (path == "-") {
    std::string text;
    char buf[65536];
    std::size_t n;
    while ((n = std::fread(buf, 1, sizeof buf, stdin)) > 0) {
      text.append(buf, n);
      if (text.size() > kMaxScriptFile) return std::nullopt;
    }
    return text;
  }
  std::error_code ec;
  auto size = fs::file_size(path, ec);
  if (ec || size > kMaxScriptFile) return std::nullopt;
  std::ifstream in(path, std::ios::binary);
  if (!in) return std::nullopt;
  return std::string(std::istreambuf_iterator<char>(in), {});
}

// "SCRIPT:line:column: message" lines on stderr; exit code 1.
int print_compile_errors(const std::string& name, const sieve::CompileResult& r) {
  for (const auto& e : r.errors) std::fprintf(stderr, "%s\n", sieve::format_error(name, e).c_str());
  return 1;
}

Result<std::shared_ptr<sieve::SieveService>> open_sieve(const config::Config& cfg) {
  return sieve::SieveService::open(cfg);
}

int check(AdminContext& ctx, const std::string& path) {
  auto svc = open_sieve(ctx.cfg);
  if (!svc) return fail(svc.error().message);
  auto text = read_text_file(path);
  if (!text) return fail("cannot read " + path);
  auto r = svc.value()->check(*text);
  if (!r.ok()) return print_compile_errors(path, r);
  for (const auto& w : r.script->warnings) std::fprintf(stderr, "%s: warning: %s\n", path.c_str(), w.c_str());
  std::printf("%s: ok\n", path.c_str());
  return 0;
}

// --- sieve test --------------------------------------------------------

struct TestArgs {
  std::string script;
  std::string message;
  std::string from;
  std::string to;
  std::string user;
  std::string global_dir;  // include :global without --user ("" = [sieve] global_dir)
  std::optional<double> spam_score;
  std::optional<int> virus;
  std::vector<std::string> missing_folders;  // mailboxexists answers false for these
};

// Includes without --user: personal scripts beside SCRIPT, global ones in
// the global directory, as Pigeonhole's sieve-test finds them with
// `sieve = file:DIR` and `sieve_global = DIR`.
class TestHost : public sieve::Host {
 public:
  TestHost(sieve::SieveService& svc, std::string user, std::string personal_dir, std::string global_dir,
           std::vector<std::string> missing)
      : svc_(svc),
        user_(std::move(user)),
        personal_dir_(std::move(personal_dir)),
        global_dir_(std::move(global_dir)),
        missing_(std::move(missing)) {}

  bool mailbox_exists(const std::string& folder) override {
    return std::find(missing_.begin(), missing_.end(), folder) == missing_.end();
  }

  std::variant<std::shared_ptr<const sieve::CompiledScript>, std::string> load_include(
      const std::string& name, bool global) override {
    if (!user_.empty() && !(global && !global_dir_.empty())) return svc_.load_include(user_, name, global);
    if (!sieve::ScriptStore::valid_name(name)) return std::string("invalid script name '" + name + "'");
    std::string path = (global ? global_dir_ : personal_dir_) + "/" + name + ".sieve";
    auto r = svc_.load(path);
    if (!r) return r.error().message;
    return r.value();
  }

 private:
  sieve::SieveService& svc_;
  std::string user_;
  std::string personal_dir_;
  std::string global_dir_;
  std::vector<std::string> missing_;
};

int local_zone_minutes(int64_t now) {
  std::time_t t = static_cast<std::time_t>(now);
  std::tm tm{};
  localtime_r(&t, &tm);
  return static_cast<int>(tm.tm_gmtoff / 60);
}

// A value on one output line: control characters (CR and LF of a
// multi-line reason included) print as '?', as sieve-test prints them.
std::string one_line(std::string_view s) {
  std::string out;
  for (char ch : s) {
    auto u = static_cast<unsigned char>(ch);
    out += (u < 0x20 || u == 0x7f) ? '?' : ch;
  }
  return out;
}

void print_store(const std::string& folder, const std::vector<std::string>& flags, bool flags_given,
                 bool create, bool copy) {
  std::printf(" * store message in folder: %s\n", folder.c_str());
  if (flags_given && !flags.empty()) {
    std::string joined;
    for (const auto& f : flags) joined += (joined.empty() ? "" : " ") + f;
    std::printf("        + add IMAP flags: %s\n", joined.c_str());
  }
  if (create) std::printf("        + create mailbox if it does not exist\n");
  if (copy) std::printf("        + preserve implicit keep\n");
}

// The layout of Pigeonhole's sieve-test: "Performed actions:" then
// "Implicit keep:", each followed by its lines or "  (none)".
void print_outcome(const sieve::Outcome& out, const sieve::MessageInput& in, const std::string& user) {
  std::printf("\nPerformed actions:\n\n");
  bool any = false;
  for (const auto& a : out.actions) {
    switch (a.kind) {
      case sieve::Action::Kind::Keep:
      case sieve::Action::Kind::FileInto:
        print_store(a.kind == sieve::Action::Kind::Keep ? "INBOX" : a.folder, a.flags, a.flags_given,
                    a.create, a.copy);
        any = true;
        break;
      case sieve::Action::Kind::Redirect:
        std::printf(" * redirect message to: <%s>\n", a.address.c_str());
        if (a.copy) std::printf("        + preserve implicit keep\n");
        any = true;
        break;
      case sieve::Action::Kind::Discard:
        std::printf(" * discard\n");
        any = true;
        break;
      case sieve::Action::Kind::Reject:
      case sieve::Action::Kind::EReject:
        std::printf(" * reject message with reason: %s\n", one_line(a.reason).c_str());
        any = true;
        break;
      case sieve::Action::Kind::Vacation: {
        // The decision delivery makes (RFC 5230 4.5/5): no reply to
        // bounces, lists, robots or mail not addressed to the user.
        sieve::VacationContext vc;
        vc.envelope_from = in.envelope_from;
        vc.user_addresses = {user};
        if (!in.envelope_to.empty() && in.envelope_to != user) vc.user_addresses.push_back(in.envelope_to);
        for (const auto& x : a.vacation.addresses) vc.user_addresses.push_back(x);
        auto d = sieve::should_reply(a.message ? *a.message : in.message, vc, a.vacation);
        std::printf(" * send vacation message:\n");
        std::printf("    => seconds : %llu\n", static_cast<unsigned long long>(a.vacation.period_seconds));
        if (!a.vacation.subject.empty())
          std::printf("    => subject : %s\n", one_line(a.vacation.subject).c_str());
        if (!a.vacation.from.empty()) std::printf("    => from    : %s\n", one_line(a.vacation.from).c_str());
        std::printf("    => handle  : %s\n", one_line(a.vacation.handle).c_str());
        // sieve-test lists the action as the script performed it; delivery
        // then decides whether a reply goes out. Say so when it would not.
        if (!d.reply) std::printf("        + no reply will be sent: %s\n", one_line(d.skipped).c_str());
        std::printf("\nSTART MESSAGE\n%s\nEND MESSAGE\n", a.vacation.reason.c_str());
        any = true;
        break;
      }
    }
  }
  if (!any) std::printf("  (none)\n");
  std::printf("\nImplicit keep:\n\n");
  if (out.implicit_keep)
    print_store("INBOX", out.implicit_keep_flags, out.implicit_keep_flags_given, false, false);
  else
    std::printf("  (none)\n");
  std::printf("\n");
}

int test(AdminContext& ctx, const TestArgs& a) {
  auto svc_r = open_sieve(ctx.cfg);
  if (!svc_r) return fail(svc_r.error().message);
  auto& svc = *svc_r.value();
  std::string user = to_lower(a.user);
  if (!user.empty()) {
    auto acct = ctx.dir->find_account(user);
    if (!acct) return fail(acct.error().message);
    if (!acct.value()) return fail("no account " + user);
  }
  auto text = read_text_file(a.script);
  if (!text) return fail("cannot read " + a.script);
  auto compiled = svc.check(*text);
  if (!compiled.ok()) return print_compile_errors(a.script, compiled);
  auto message = read_message_file(a.message);
  if (!message) return fail("cannot read " + a.message);

  sieve::MessageInput in;
  in.message = *message;
  in.envelope_from = a.from;
  in.envelope_to = !a.to.empty() ? a.to : user;
  in.user = !user.empty() ? user : in.envelope_to;
  in.spam_score = a.spam_score;
  in.spam_threshold = ctx.cfg.spam.add_header_score;
  in.spam_max = ctx.cfg.spam.reject_score;
  in.virus = a.virus;
  auto at = in.user.rfind('@');
  in.environment = {{"domain", at == std::string::npos ? "" : in.user.substr(at + 1)},
                    {"host", ctx.cfg.hostname},
                    {"location", "MDA"},
                    {"name", "Mailfort"},
                    {"phase", "during"},
                    {"version", "0.1.0"}};
  in.now = std::time(nullptr);
  in.local_zone_minutes = local_zone_minutes(in.now);

  std::string personal_dir = fs::path(a.script).parent_path().string();
  if (personal_dir.empty()) personal_dir = ".";
  std::string global_dir =
      !a.global_dir.empty() ? a.global_dir : (user.empty() ? svc.settings()->global_dir : "");
  TestHost host(svc, user, personal_dir, global_dir, a.missing_folders);
  std::vector<sieve::ScriptRef> chain{{fs::path(a.script).filename().string(), compiled.script, false}};
  sieve::Outcome out = sieve::run(chain, in, host, svc.limits());
  for (const auto& e : out.errors) std::fprintf(stderr, "%s: error: %s\n", a.script.c_str(), e.c_str());
  print_outcome(out, in, in.user);
  return 0;
}

// --- stored scripts ----------------------------------------------------

struct StoreArgs {
  std::string address;
  std::string name;
  std::string file;
};

// The account must exist: scripts of a mistyped address would never run.
std::optional<std::string> account_of(AdminContext& ctx, const std::string& address, int& rc) {
  std::string user = to_lower(address);
  auto acct = ctx.dir->find_account(user);
  if (!acct) {
    rc = fail(acct.error().message);
    return std::nullopt;
  }
  if (!acct.value()) {
    rc = fail("no account " + user);
    return std::nullopt;
  }
  return user;
}

int with_store(AdminContext& ctx, const std::string& address,
               const std::function<int(sieve::SieveService&, const std::string&)>& f) {
  int rc = 0;
  auto user = account_of(ctx, address, rc);
  if (!user) return rc;
  auto svc = open_sieve(ctx.cfg);
  if (!svc) return fail(svc.error().message);
  return f(*svc.value(), *user);
}

int list(AdminContext& ctx, const StoreArgs& a) {
  return with_store(ctx, a.address, [](sieve::SieveService& svc, const std::string& user) {
    auto r = svc.scripts().list(user);
    if (!r) return fail(r.error().message);
    for (const auto& e : r.value()) std::printf("%s%s\n", e.name.c_str(), e.active ? " ACTIVE" : "");
    return 0;
  });
}

int get(AdminContext& ctx, const StoreArgs& a) {
  return with_store(ctx, a.address, [&a](sieve::SieveService& svc, const std::string& user) {
    auto r = svc.scripts().get(user, a.name);
    if (!r) return fail(r.error().message);
    std::fwrite(r.value().data(), 1, r.value().size(), stdout);
    return 0;
  });
}

std::string space_text(sieve::Space s, const sieve::ScriptQuota& q) {
  switch (s) {
    case sieve::Space::TooBig:
      return "the script is larger than " + std::to_string(q.max_script_size) + " bytes";
    case sieve::Space::TooMany:
      return "the account has " + std::to_string(q.max_scripts) + " scripts already";
    case sieve::Space::Full:
      return "the account's scripts would exceed " + std::to_string(q.max_storage) + " bytes";
    case sieve::Space::Ok:
      break;
  }
  return "";
}

int put(AdminContext& ctx, const StoreArgs& a) {
  return with_store(ctx, a.address, [&a](sieve::SieveService& svc, const std::string& user) {
    if (!sieve::ScriptStore::valid_name(a.name)) return fail("invalid script name '" + a.name + "'");
    std::string file = a.file.empty() ? "-" : a.file;
    auto text = read_text_file(file);
    if (!text) return fail("cannot read " + file);
    auto r = svc.check(*text);
    if (!r.ok()) return print_compile_errors(file == "-" ? a.name : file, r);
    auto space = svc.scripts().have_space(user, a.name, text->size());
    if (space != sieve::Space::Ok) return fail("over quota: " + space_text(space, svc.scripts().quota()));
    return done(svc.scripts().put(user, a.name, *text), "stored " + a.name + " for " + user);
  });
}

int activate(AdminContext& ctx, const StoreArgs& a, bool on) {
  return with_store(ctx, a.address, [&a, on](sieve::SieveService& svc, const std::string& user) {
    if (on) return done(svc.scripts().activate(user, a.name), "activated " + a.name + " for " + user);
    return done(svc.scripts().activate(user, ""), "no active script for " + user);
  });
}

int remove(AdminContext& ctx, const StoreArgs& a) {
  return with_store(ctx, a.address, [&a](sieve::SieveService& svc, const std::string& user) {
    auto r = svc.scripts().remove(user, a.name);
    if (!r && r.error().code == Errc::Denied)
      return fail(a.name + " is the active script; deactivate it first");
    return done(r, "removed " + a.name + " for " + user);
  });
}

}  // namespace

void add_sieve_commands(CLI::App& app, CliContext& ctx) {
  auto* sieve = app.add_subcommand("sieve", "Sieve scripts: check, test, and manage an account's scripts");
  sieve->require_subcommand(1);

  auto check_path = std::make_shared<std::string>();
  auto* c = sieve->add_subcommand("check", "Compile SCRIPT; print errors as SCRIPT:line:column: message");
  c->add_option("SCRIPT", *check_path, "Sieve script file, or - for standard input")->required();
  on_admin(c, ctx, [check_path](AdminContext& x) { return check(x, *check_path); });

  auto t = std::make_shared<TestArgs>();
  auto* tc = sieve->add_subcommand(
      "test", "Run SCRIPT on MESSAGE without delivering; print the actions as Pigeonhole's sieve-test does");
  tc->add_option("SCRIPT", t->script, "Sieve script file")->required();
  tc->add_option("MESSAGE", t->message, "message file, or - for standard input")->required();
  tc->add_option("--from", t->from, "envelope sender (MAIL FROM; default: the null sender)");
  tc->add_option("--to", t->to, "envelope recipient (RCPT TO; default: --user)");
  tc->add_option("--user", t->user, "the account whose scripts `include` finds (it must exist)");
  tc->add_option("--global-dir", t->global_dir, "directory of `include :global` scripts");
  tc->add_option("--spam-score", t->spam_score, "the message's spam score (spamtest)");
  tc->add_option("--virus", t->virus, "virustest value: 1 clean .. 5 infected")->check(CLI::Range(1, 5));
  tc->add_option("--missing-folder", t->missing_folders, "a folder mailboxexists reports absent (repeatable)")
      ->allow_extra_args(false);
  on_directory(tc, ctx, [t](AdminContext& x) { return test(x, *t); });

  auto s = std::make_shared<StoreArgs>();
  auto* l = sieve->add_subcommand("list", "List ADDRESS's scripts (the active one marked ACTIVE)");
  l->add_option("ADDRESS", s->address, "account")->required();
  on_directory(l, ctx, [s](AdminContext& x) { return list(x, *s); });

  auto* g = sieve->add_subcommand("get", "Print ADDRESS's script NAME");
  g->add_option("ADDRESS", s->address, "account")->required();
  g->add_option("NAME", s->name, "script name")->required();
  on_directory(g, ctx, [s](AdminContext& x) { return get(x, *s); });

  auto* p = sieve->add_subcommand("put", "Compile FILE and store it as ADDRESS's script NAME");
  p->add_option("ADDRESS", s->address, "account")->required();
  p->add_option("NAME", s->name, "script name")->required();
  p->add_option("FILE", s->file, "script file, or - (the default) for standard input");
  on_directory(p, ctx, [s](AdminContext& x) { return put(x, *s); });

  auto* act = sieve->add_subcommand("activate", "Make NAME ADDRESS's active script");
  act->add_option("ADDRESS", s->address, "account")->required();
  act->add_option("NAME", s->name, "script name")->required();
  on_directory(act, ctx, [s](AdminContext& x) { return activate(x, *s, true); });

  auto* deact = sieve->add_subcommand("deactivate", "Leave ADDRESS without an active script");
  deact->add_option("ADDRESS", s->address, "account")->required();
  on_directory(deact, ctx, [s](AdminContext& x) { return activate(x, *s, false); });

  auto* rm = sieve->add_subcommand("remove", "Delete ADDRESS's script NAME (not the active one)");
  rm->add_option("ADDRESS", s->address, "account")->required();
  rm->add_option("NAME", s->name, "script name")->required();
  on_directory(rm, ctx, [s](AdminContext& x) { return remove(x, *s); });
}

}  // namespace mailfort::cli
