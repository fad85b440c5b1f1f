// mailfort dkim keygen|dns: DKIM signing keys of local domains (the key
// store in <data_dir>/dkim, read by the server on every use).
#include <CLI/CLI.hpp>

#include <cstdio>
#include <ctime>
#include <memory>

#include "base/text.h"
#include "cli/commands.h"
#include "dkim/dkim.h"

namespace mailfort::cli {
namespace {

struct DkimArgs {
  std::string domain;
  std::string selector;
  std::string algorithm = "rsa2048";
};

// Both subcommands refuse a domain that is not local.
int check_local(directory::Directory& d, const std::string& domain) {
  auto local = d.is_local_domain(to_lower(domain));
  if (!local) return fail(local.error().message);
  if (!local.value()) return fail(domain + " is not a local domain");
  return 0;
}

int keygen(const AdminContext& admin, DkimArgs& a) {
  if (int rc = check_local(*admin.dir, a.domain); rc != 0) return rc;
  auto alg = a.algorithm == "ed25519" ? dkim::Algorithm::Ed25519 : dkim::Algorithm::Rsa2048;
  if (a.selector.empty()) a.selector = dkim::default_selector(alg, std::time(nullptr));
  auto key = dkim::create_key(admin.cfg.data_dir, a.domain, a.selector, alg);
  if (!key) return fail(key.error().message);
  auto zone = dkim::zone_record(*key);
  if (!zone) return fail(zone.error().message);
  std::printf("created %s key %s for %s (%s)\n", dkim::algorithm_name(alg), key->selector.c_str(),
              key->domain.c_str(), dkim::key_path(admin.cfg.data_dir, key->domain, key->selector).c_str());
  std::printf("%s\n", zone->c_str());
  return 0;
}

int print_records(const AdminContext& admin, const std::string& domain) {
  if (int rc = check_local(*admin.dir, domain); rc != 0) return rc;
  auto keys = dkim::load_keys(admin.cfg.data_dir, domain);
  if (!keys) return fail(keys.error().message);
  if (keys->empty()) return fail("no DKIM key for " + domain + " (mailfort dkim keygen " + domain + ")");
  for (const auto& k : *keys) {
    auto zone = dkim::zone_record(k);
    if (!zone) return fail(zone.error().message);
    std::printf("%s\n", zone->c_str());
  }
  return 0;
}

}  // namespace

void add_dkim_commands(CLI::App& app, CliContext& ctx) {
  auto a = std::make_shared<DkimArgs>();
  auto* dkim_cmd = app.add_subcommand("dkim", "DKIM signing keys of local domains");
  dkim_cmd->require_subcommand(1);

  auto* keygen_cmd = dkim_cmd->add_subcommand(
      "keygen", "Create a signing key for DOMAIN (replaces its active key of that algorithm)");
  keygen_cmd->add_option("DOMAIN", a->domain)->required();
  keygen_cmd->add_option("--selector", a->selector, "Selector (default mf<yyyymm>r / mf<yyyymm>e)");
  keygen_cmd->add_option("--algorithm", a->algorithm, "rsa2048 (default) or ed25519")
      ->check(CLI::IsMember({"rsa2048", "ed25519"}));
  on_directory(keygen_cmd, ctx, [a](AdminContext& admin) { return keygen(admin, *a); });

  auto* dns_cmd = dkim_cmd->add_subcommand("dns", "Print the DNS TXT records of DOMAIN's active keys");
  dns_cmd->add_option("DOMAIN", a->domain)->required();
  on_directory(dns_cmd, ctx, [a](AdminContext& admin) { return print_records(admin, a->domain); });
}

}  // namespace mailfort::cli
