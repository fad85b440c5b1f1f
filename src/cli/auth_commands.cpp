// mailfort auth ...: mail authentication from the command line (SPF,
// message checks, DMARC reports). The subcommands live in auth_*_command.cpp.
#include "cli/auth_commands.h"

#include <CLI/CLI.hpp>

#include <ctime>
#include <optional>

#include "auth/inbound_message.h"
#include "auth/message_auth.h"
#include "cli/commands.h"
#include "smtp/inbound_auth.h"

namespace mailfort::cli {

auth::Verdict mx_verdict(const config::Config& cfg, auth::DnsSource& dns, std::string_view message,
                         const std::string& ip, const std::string& helo, const std::string& sender) {
  auth::InboundMessage inbound(cfg.smtp.max_header_size);
  constexpr std::size_t kPiece = 16384;
  for (std::size_t at = 0; at < message.size(); at += kPiece) inbound.feed(message.substr(at, kPiece));
  inbound.finish();
  auth::Arrival arrival{ip, helo, sender, cfg.hostname, static_cast<int64_t>(std::time(nullptr))};
  std::optional<auth::SpfOutcome> spf, spf_helo;
  if (sender.empty()) spf = spf_helo = auth::SpfOutcome{};  // no envelope sender: nothing to check SPF for
  return auth::evaluate(inbound, arrival, smtp::inbound_checks(cfg), dns, spf, spf_helo);
}

void add_auth_commands(CLI::App& app, CliContext& ctx) {
  auto* auth = app.add_subcommand("auth", "Mail authentication: check a message, SPF, DMARC reports");
  auth->require_subcommand(1);
  add_auth_spf_command(*auth, ctx);
  add_auth_check_command(*auth, ctx);
  add_auth_dkim_command(*auth, ctx);
  add_auth_report_command(*auth, ctx);
  add_auth_arc_command(*auth, ctx);
}

}  // namespace mailfort::cli
