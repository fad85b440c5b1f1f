// mailfort auth arc [--json] MESSAGE|-     the ARC chain of a message (RFC 8617)
// mailfort auth arc-seal --key PEM ...     the ARC set we would prepend
// Debugging and test tools over auth::verify_arc and auth::arc_seal, with
// DNS through the configured resolvers. A message file may have LF line
// ends; they become CRLF as when the message arrives over SMTP.
#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include <cstdio>
#include <ctime>
#include <memory>

#include "auth/arc.h"
#include "auth/dns_source.h"
#include "auth/inbound_message.h"
#include "base/text.h"
#include "cli/auth_commands.h"
#include "cli/commands.h"
#include "cli/message_file.h"
#include "dkim/dkim.h"
#include "dns/resolver.h"

namespace mailfort::cli {
namespace {

struct ArcArgs {
  std::string message = "-";
  bool json = false;
};

struct SealArgs {
  std::string message = "-";
  std::string key_file;
  std::string domain;
  std::string selector;
  std::string authserv_id;
  std::string results;
  int64_t time = 0;
  std::string headers;  // hidden: h= names, colon separated
};

struct Verified {
  auth::ArcOutcome outcome;
  std::string message;
};

// Loads the config and the message, and verifies the chain; nullopt after
// printing why not.
std::optional<Verified> verify(const std::string& config_path, const std::string& path) {
  auto cfg = load_config(config_path);
  if (!cfg) return std::nullopt;
  auto message = read_message_file(path);
  if (!message) {
    fail("cannot read " + path);
    return std::nullopt;
  }
  auto resolver = open_resolver(*cfg);
  if (!resolver) {
    fail(resolver.error().message);
    return std::nullopt;
  }
  auto dns = auth::resolver_source(resolver.value());
  auth::InboundMessage inbound;
  // In pieces, as the SMTP session feeds it.
  constexpr std::size_t kChunk = 64 * 1024;
  for (std::size_t pos = 0; pos < message->size(); pos += kChunk)
    inbound.feed(std::string_view(*message).substr(pos, kChunk));
  inbound.finish();
  return Verified{auth::verify_arc(inbound, *dns, std::time(nullptr)), std::move(*message)};
}

int arc(const std::string& config_path, const ArcArgs& a) {
  auto v = verify(config_path, a.message);
  if (!v) return 1;
  const auth::ArcOutcome& o = v->outcome;
  if (a.json) {
    nlohmann::json j{{"arc", auth::arc_chain_name(o.chain)},
                     {"instances", o.instances},
                     {"reason", o.reason},
                     {"newest_domain", o.newest_domain},
                     {"oldest_results", o.oldest_results}};
    std::printf("%s\n", j.dump().c_str());
    return 0;
  }
  std::printf("arc=%s i=%d", auth::arc_chain_name(o.chain), o.instances);
  if (!o.newest_domain.empty()) std::printf(" d=%s", o.newest_domain.c_str());
  if (!o.reason.empty()) std::printf(" (%s)", o.reason.c_str());
  std::printf("\n");
  return 0;
}

int arc_seal(const std::string& config_path, const SealArgs& a) {
  std::ifstream kf(a.key_file, std::ios::binary);
  if (!kf) return fail("cannot read " + a.key_file);
  std::string pem((std::istreambuf_iterator<char>(kf)), std::istreambuf_iterator<char>());
  auto alg = dkim::key_algorithm(pem);
  if (!alg) return fail(a.key_file + ": " + alg.error().message);
  if (!is_valid_domain(a.domain)) return fail("invalid domain " + a.domain);
  if (!dkim::valid_selector(a.selector)) return fail("invalid selector " + a.selector);
  dkim::Key key{to_lower(a.domain), a.selector, *alg, pem};

  auto v = verify(config_path, a.message);
  if (!v) return 1;
  auth::ArcSealOptions options;
  std::stringstream names(a.headers);
  for (std::string name; std::getline(names, name, ':');)
    if (!name.empty()) options.signed_headers.push_back(name);
  int64_t now = a.time > 0 ? a.time : static_cast<int64_t>(std::time(nullptr));
  auto set = auth::arc_seal(v->message, v->outcome, a.authserv_id, a.results, key, now, options);
  if (!set) return fail(set.error().message);
  if (set->empty()) {
    std::fprintf(stderr, "mailfort: the chain already ended with cv=fail: no ARC set is added\n");
    return 0;
  }
  std::fwrite(set->data(), 1, set->size(), stdout);
  return 0;
}

}  // namespace

void add_auth_arc_command(CLI::App& auth, CliContext& ctx) {
  auto a = std::make_shared<ArcArgs>();
  auto* arc_cmd =
      auth.add_subcommand("arc", "Validate the ARC chain of a message (RFC 8617): arc=pass|fail|none");
  arc_cmd->add_option("MESSAGE", a->message, "Message file, - for stdin (default)");
  arc_cmd->add_flag("--json", a->json, "One JSON object");
  on_parsed(arc_cmd, ctx, [&ctx, a] { return arc(ctx.config_path, *a); });

  auto s = std::make_shared<SealArgs>();
  auto* seal_cmd = auth.add_subcommand("arc-seal",
                                       "Print the ARC set (ARC-Seal, ARC-Message-Signature, "
                                       "ARC-Authentication-Results) to prepend to a message");
  seal_cmd->add_option("MESSAGE", s->message, "Message file, - for stdin (default)");
  seal_cmd->add_option("--key", s->key_file, "PEM private key (RSA or Ed25519)")->required();
  seal_cmd->add_option("--domain", s->domain, "Signing domain (d=)")->required();
  seal_cmd->add_option("--selector", s->selector, "Selector (s=)")->required();
  seal_cmd->add_option("--authserv-id", s->authserv_id, "Our authserv-id in ARC-Authentication-Results")
      ->required();
  seal_cmd->add_option("--results", s->results,
                       "The results after the authserv-id (\"spf=pass ...; dkim=...\")");
  seal_cmd->add_option("--time", s->time, "t= (default now)");
  // For test suites that fix the signed header fields.
  seal_cmd->add_option("--headers", s->headers, "h= names, colon separated")->group("");
  on_parsed(seal_cmd, ctx, [&ctx, s] { return arc_seal(ctx.config_path, *s); });
}

}  // namespace mailfort::cli
