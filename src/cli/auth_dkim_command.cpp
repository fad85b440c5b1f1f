// mailfort auth dkim [--json] MESSAGE|-: verifies every DKIM-Signature of a
// message with the configured [dns] resolvers and prints one line per
// signature ("pass d=example.com s=sel a=rsa-sha256", a non-pass with its
// reason, "(l= used)" / "(testing)" notes), or "none" when unsigned.
// A file with bare LF line ends is read as CRLF, as it would arrive.
#include <CLI/CLI.hpp>

#include <cstdio>
#include <ctime>
#include <memory>
#include <nlohmann/json.hpp>

#include "auth/dkim_verify.h"
#include "auth/dns_source.h"
#include "auth/inbound_message.h"
#include "cli/auth_commands.h"
#include "cli/commands.h"
#include "cli/message_file.h"

namespace mailfort::cli {
namespace {

struct AuthDkimArgs {
  std::string message = "-";
  bool json = false;
};

std::string line_of(const auth::DkimResult& r) {
  std::string line = auth::dkim_status_name(r.status);
  if (!r.domain.empty()) line += " d=" + r.domain;
  if (!r.selector.empty()) line += " s=" + r.selector;
  if (!r.algorithm.empty()) line += " a=" + r.algorithm;
  if (!r.reason.empty()) line += " (" + r.reason + ")";
  if (r.length_limited) line += " (l= used)";
  if (r.testing) line += " (testing)";
  return line;
}

int run(const std::string& config_path, const AuthDkimArgs& a) {
  auto cfg = load_config(config_path);
  if (!cfg) return 1;
  auto resolver = open_resolver(*cfg);
  if (!resolver) return fail(resolver.error().message);
  auto dns = auth::resolver_source(resolver.value());
  auto read = read_message_file(a.message);
  if (!read) return fail("cannot read " + a.message);
  auth::InboundMessage message;
  message.feed(*read);
  message.finish();
  auto results = auth::verify_dkim(message, *dns, static_cast<int64_t>(std::time(nullptr)));
  if (a.json) {
    auto list = nlohmann::json::array();
    for (const auto& r : results)
      list.push_back({{"result", auth::dkim_status_name(r.status)},
                      {"domain", r.domain},
                      {"selector", r.selector},
                      {"algorithm", r.algorithm},
                      {"identity", r.identity},
                      {"b", r.b},
                      {"reason", r.reason},
                      {"length_limited", r.length_limited},
                      {"testing", r.testing}});
    std::printf("%s\n", nlohmann::json{{"dkim", list}}.dump().c_str());
    return 0;
  }
  if (results.empty()) std::printf("none\n");
  for (const auto& r : results) std::printf("%s\n", line_of(r).c_str());
  return 0;
}

}  // namespace

void add_auth_dkim_command(CLI::App& auth, CliContext& ctx) {
  auto a = std::make_shared<AuthDkimArgs>();
  auto* cmd = auth.add_subcommand("dkim", "Verify the DKIM signatures of a message (a file, or - for stdin)");
  cmd->add_option("MESSAGE", a->message, "The message file, - for stdin");
  cmd->add_flag("--json", a->json, "One JSON object with every result");
  on_parsed(cmd, ctx, [&ctx, a] { return run(ctx.config_path, *a); });
}

}  // namespace mailfort::cli
