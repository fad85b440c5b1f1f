// mailfort spam check [--ip IP] [--helo NAME] [--sender ADDR] [--rcpt ADDR]...
// [--json] MESSAGE|-: scores a message file with the configured spam engine
// as if it had arrived on the MX, and prints the action, the score and
// every symbol the way rspamc does. With --ip the mail authentication
// (SPF, DKIM, DMARC, ARC) runs first, as on the MX, and feeds the score;
// without it those symbols are absent. Exit 0 whatever the verdict.
#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <cstdio>
#include <ctime>
#include <memory>
#include <optional>

#include "auth/dns_source.h"
#include "auth/inbound_message.h"
#include "auth/message_auth.h"
#include "base/log.h"
#include "base/text.h"
#include "cli/auth_commands.h"
#include "cli/commands.h"
#include "cli/message_file.h"
#include "cli/spam_commands.h"
#include "dns/resolver.h"
#include "filter/filter_service.h"
#include "smtp/inbound_auth.h"

namespace mailfort::cli {
namespace {

struct CheckArgs {
  std::string ip;  // "" = no authentication checks
  std::string helo;
  std::string sender;
  std::vector<std::string> rcpts;
  bool json = false;
  std::string message;
};

std::string two_decimals(double v) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.2f", v);
  return buf;
}

void print_text(const filter::ScanResult& r) {
  std::printf("Action: %s\n", std::string(filter::action_name(r.action)).c_str());
  std::printf("Spam: %s\n", r.is_spam() ? "true" : "false");
  std::printf("Score: %s / %s\n", two_decimals(r.score).c_str(), two_decimals(r.required_score).c_str());
  if (!r.reject_reason.empty()) std::printf("Reason: %s\n", r.reject_reason.c_str());
  for (const auto& s : r.symbols) {
    std::string opts;
    for (std::size_t i = 0; i < s.options.size(); ++i) opts += (i ? "," : "") + s.options[i];
    std::printf("Symbol: %s (%s)%s\n", s.name.c_str(), two_decimals(s.score).c_str(),
                opts.empty() ? "" : ("[" + opts + "]").c_str());
  }
}

void print_json(const filter::ScanResult& r) {
  nlohmann::json j;
  j["engine"] = r.engine;
  j["action"] = filter::action_name(r.action);
  j["score"] = r.score;
  j["required_score"] = r.required_score;
  j["reject_score"] = r.reject_score;
  j["is_spam"] = r.is_spam();
  j["reject_reason"] = r.reject_reason;
  j["symbols"] = nlohmann::json::array();
  for (const auto& s : r.symbols)
    j["symbols"].push_back({{"name", s.name}, {"score", s.score}, {"options", s.options}});
  // Message content (options) may hold invalid UTF-8: replace, do not throw.
  std::printf("%s\n", j.dump(2, ' ', false, nlohmann::json::error_handler_t::replace).c_str());
}

int check(AdminContext& ctx, CheckArgs a) {
  const config::Config& cfg = ctx.cfg;
  // The filter's warnings (Bayes unavailable, a rule file problem) go to
  // stderr: stdout is the result, possibly JSON for a script.
  std::string log_error;
  if (!log::init("", "warn", log_error)) return fail(log_error);
  auto read = read_message_file(a.message);
  if (!read) return fail("cannot read " + a.message);
  std::string message = std::move(*read);
  if (a.helo.empty()) a.helo = cfg.hostname;
  auto resolver = open_resolver(cfg);
  if (!resolver) return fail(resolver.error().message);
  auto service = filter::FilterService::open(cfg, resolver.value(), nullptr);
  if (!service) return fail(service.error().message);
  filter::SpamEngine* engine = service.value()->engine();
  if (!engine) return fail("spam filtering is off ([spam] engine = \"off\")");

  std::optional<auth::Verdict> verdict;
  if (!a.ip.empty()) {
    auto dns = auth::resolver_source(resolver.value());
    verdict = mx_verdict(cfg, *dns, message, a.ip, a.helo, a.sender);
  }

  filter::ScanInput in;
  in.message = message;
  in.ip = a.ip;
  in.helo = a.helo;
  in.sender = a.sender;
  in.rcpts = a.rcpts;
  in.mx = true;
  in.verdict = verdict ? &*verdict : nullptr;
  directory::Directory* dir = ctx.dir.get();
  in.is_local_domain = [dir](std::string_view domain) {
    auto r = dir->is_local_domain(to_lower(domain));
    return r && r.value();
  };
  in.bayes_user = spam_bayes_user(*dir, a.rcpts);
  filter::ScanResult r = engine->scan(in);
  if (r.failed) return fail("the " + r.engine + " engine could not scan: " + r.error);
  if (a.json)
    print_json(r);
  else
    print_text(r);
  return 0;
}

}  // namespace

void add_spam_check_command(CLI::App& spam, CliContext& ctx) {
  auto a = std::make_shared<CheckArgs>();
  auto* cmd = spam.add_subcommand(
      "check",
      "Score MESSAGE with the spam engine as if received on the MX; print the action and every symbol");
  cmd->add_option("--ip", a->ip, "client IP address; given, SPF/DKIM/DMARC/ARC and DNSBL run as on the MX");
  cmd->add_option("--helo", a->helo, "EHLO name (default: the configured hostname)");
  cmd->add_option("--sender", a->sender, "envelope sender (MAIL FROM)");
  cmd->add_option("--rcpt", a->rcpts, "envelope recipient (repeatable)")->allow_extra_args(false);
  cmd->add_flag("--json", a->json, "print the result as JSON");
  cmd->add_option("MESSAGE", a->message, "message file, or - for standard input")->required();
  on_directory(cmd, ctx, [a](AdminContext& c) { return check(c, *a); });
}

}  // namespace mailfort::cli
