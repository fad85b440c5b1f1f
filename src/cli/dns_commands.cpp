// mailfort dns DOMAIN: the DNS records a local domain should publish
// (dns_records.h builds them).
#include <CLI/CLI.hpp>

#include <cstdio>
#include <memory>

#include "base/text.h"
#include "cli/commands.h"
#include "cli/dns_records.h"

namespace mailfort::cli {
namespace {

int print_zone_block(const AdminContext& admin, std::string domain) {
  domain = to_lower(domain);
  auto local = admin.dir->is_local_domain(domain);
  if (!local) return fail(local.error().message);
  if (!local.value()) return fail(domain + " is not a local domain");
  auto records = dns_records(admin.cfg, domain);
  if (!records) return fail(records.error().message);
  std::fputs(records->c_str(), stdout);
  return 0;
}

}  // namespace

void add_dns_commands(CLI::App& app, CliContext& ctx) {
  auto domain = std::make_shared<std::string>();
  auto* dns_cmd = app.add_subcommand(
      "dns",
      "Print the DNS records to publish for DOMAIN (MX, SPF, DKIM, DMARC, MTA-STS, TLSRPT, TLSA, SRV)");
  dns_cmd->add_option("DOMAIN", *domain)->required();
  on_directory(dns_cmd, ctx, [domain](AdminContext& admin) { return print_zone_block(admin, *domain); });
}

}  // namespace mailfort::cli
