// mailfort auth check [--ip IP] [--helo NAME] [--sender ADDR] [--rcpt ADDR]
// [--json] MESSAGE|-: SPF, DKIM, DMARC and ARC on a message file as if it
// had arrived on the MX from IP with that HELO and envelope; prints the
// Authentication-Results header the server would add and the disposition
// (the admin's deliverability debugging tool, like rspamc for Rspamd).
#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include <cstdio>
#include <ctime>
#include <memory>

#include "auth/dns_source.h"
#include "auth/inbound_message.h"
#include "auth/message_auth.h"
#include "cli/auth_commands.h"
#include "cli/commands.h"
#include "cli/message_file.h"
#include "dns/resolver.h"
#include "smtp/inbound_auth.h"

namespace mailfort::cli {
namespace {

struct CheckArgs {
  std::string ip = "127.0.0.1";
  std::string helo;  // default: the config's hostname
  std::string sender;
  std::string rcpt;
  bool json = false;
  std::string message;  // path or "-"
};

nlohmann::json spf_json(const auth::SpfOutcome& s) {
  return {{"result", auth::spf_result_name(s.result)},
          {"domain", s.domain},
          {"identity", s.identity},
          {"explanation", s.explanation},
          {"problem", s.problem}};
}

nlohmann::json verdict_json(const auth::Verdict& v, const CheckArgs& a) {
  nlohmann::json j;
  j["ip"] = a.ip;
  j["helo"] = a.helo;
  j["sender"] = a.sender;
  j["rcpt"] = a.rcpt;
  j["authentication_results"] = v.header.substr(0, v.header.size() - 2);
  j["results"] = v.results;
  j["spf"] = v.spf ? spf_json(*v.spf) : nlohmann::json(nullptr);
  j["spf_helo"] = v.spf_helo ? spf_json(*v.spf_helo) : nlohmann::json(nullptr);
  j["dkim"] = nlohmann::json::array();
  for (const auto& d : v.dkim) {
    j["dkim"].push_back({{"result", auth::dkim_status_name(d.status)},
                         {"domain", d.domain},
                         {"selector", d.selector},
                         {"algorithm", d.algorithm},
                         {"identity", d.identity},
                         {"b", d.b},
                         {"reason", d.reason},
                         {"length_limited", d.length_limited},
                         {"testing", d.testing}});
  }
  j["dmarc"] = {{"result", auth::dmarc_result_name(v.dmarc.result)},
                {"from_domain", v.dmarc.from_domain},
                {"policy_domain", v.dmarc.policy_domain},
                {"org_domain", v.dmarc.org_domain},
                {"policy", auth::dmarc_policy_name(v.dmarc.policy)},
                {"spf_aligned", v.dmarc.spf_aligned},
                {"dkim_aligned", v.dmarc.dkim_aligned},
                {"sampled_out", v.dmarc.sampled_out},
                {"rua", v.dmarc.rua},
                {"reason", v.dmarc.reason}};
  j["arc"] = {{"result", auth::arc_chain_name(v.arc.chain)},
              {"instances", v.arc.instances},
              {"newest_domain", v.arc.newest_domain},
              {"reason", v.arc.reason}};
  j["arc_override"] = v.arc_override;
  j["disposition"] = auth::disposition_name(v.disposition);
  j["reason"] = v.reason;
  return j;
}

int check(const std::string& config_path, CheckArgs a) {
  auto cfg = load_config(config_path);
  if (!cfg) return 1;
  auto read = read_message_file(a.message);
  if (!read) return fail("cannot read " + a.message);
  std::string message = std::move(*read);
  if (a.helo.empty()) a.helo = cfg->hostname;
  auto resolver = open_resolver(*cfg);
  if (!resolver) return fail(resolver.error().message);
  auto dns = auth::resolver_source(resolver.value());

  auth::Verdict v = mx_verdict(*cfg, *dns, message, a.ip, a.helo, a.sender);
  if (a.json) {
    std::printf("%s\n", verdict_json(v, a).dump(2).c_str());
    return 0;
  }
  std::string header = v.header;
  std::string out;
  for (char c : header) {
    if (c != '\r') out.push_back(c);
  }
  std::fputs(out.c_str(), stdout);
  std::printf("disposition: %s", auth::disposition_name(v.disposition));
  if (!v.reason.empty()) std::printf(" (%s)", v.reason.c_str());
  std::printf("\n");
  return 0;
}

}  // namespace

void add_auth_check_command(CLI::App& auth, CliContext& ctx) {
  auto a = std::make_shared<CheckArgs>();
  auto* cmd =
      auth.add_subcommand("check",
                          "Run SPF, DKIM, DMARC and ARC on MESSAGE as if received on the MX; print the "
                          "Authentication-Results header and the disposition");
  cmd->add_option("--ip", a->ip, "client IP address (default 127.0.0.1)");
  cmd->add_option("--helo", a->helo, "EHLO name (default: the configured hostname)");
  cmd->add_option("--sender", a->sender, "envelope sender (MAIL FROM); none: SPF is not checked");
  cmd->add_option("--rcpt", a->rcpt, "envelope recipient");
  cmd->add_flag("--json", a->json, "print everything as JSON");
  cmd->add_option("MESSAGE", a->message, "message file, or - for standard input")->required();
  on_parsed(cmd, ctx, [&ctx, a] { return check(ctx.config_path, *a); });
}

}  // namespace mailfort::cli
