// mailfort dns DOMAIN: the DNS records a local domain should publish
// (dns_records.h builds them); mailfort dns check DOMAIN: whether what is
// published matches (dns_check.h).
#include <CLI/CLI.hpp>

#include <cstdio>
#include <memory>

#include "base/text.h"
#include "cli/commands.h"
#include "cli/dns_check.h"
#include "cli/dns_records.h"
#include "dns/resolver.h"

namespace mailfort::cli {
namespace {

Result<void> require_local(const AdminContext& admin, const std::string& domain) {
  auto local = admin.dir->is_local_domain(domain);
  if (!local) return local.error();
  if (!local.value()) return make_error(Errc::NotFound, domain + " is not a local domain");
  return {};
}

int print_zone_block(const AdminContext& admin, std::string domain) {
  domain = to_lower(domain);
  if (auto r = require_local(admin, domain); !r) return fail(r.error().message);
  auto records = dns_records(admin.cfg, domain);
  if (!records) return fail(records.error().message);
  std::fputs(records->c_str(), stdout);
  return 0;
}

// Exit 1 when anything is missing or wrong, so scripts and monitoring can use it.
int check_published(const AdminContext& admin, std::string domain) {
  domain = to_lower(domain);
  if (auto r = require_local(admin, domain); !r) return fail(r.error().message);
  const auto& cfg = admin.cfg;
  auto resolver = open_resolver(cfg);
  if (!resolver) return fail(resolver.error().message);
  auto checks = check_dns(cfg, domain, *resolver.value());
  if (!checks) return fail(checks.error().message);
  int bad = 0;
  for (auto& c : *checks) {
    std::printf("%s\n", format_check(c).c_str());
    if (c.status != CheckStatus::Ok) ++bad;
  }
  std::fflush(stdout);
  if (bad) std::fprintf(stderr, "mailfort: %d record(s) of %s missing or wrong\n", bad, domain.c_str());
  return bad ? 1 : 0;
}

}  // namespace

void add_dns_commands(CLI::App& app, CliContext& ctx) {
  auto domain = std::make_shared<std::string>();
  auto check_domain = std::make_shared<std::string>();
  auto* dns_cmd = app.add_subcommand(
      "dns",
      "Print the DNS records to publish for DOMAIN (MX, SPF, DKIM, DMARC, MTA-STS, TLSRPT, TLSA, SRV); "
      "`dns check DOMAIN` compares them with what is published");
  dns_cmd->add_option("DOMAIN", *domain);
  auto* check = dns_cmd->add_subcommand(
      "check", "Resolve what DOMAIN publishes and say record by record whether it matches (exit 1 if not)");
  check->add_option("DOMAIN", *check_domain)->required();
  // CLI11 runs the parent's callback after the subcommand's, so the parent
  // decides for both.
  on_directory(dns_cmd, ctx, [domain, check_domain, check](AdminContext& admin) {
    if (check->parsed()) return check_published(admin, *check_domain);
    if (domain->empty()) return fail("dns: DOMAIN is required (or `dns check DOMAIN`)");
    return print_zone_block(admin, *domain);
  });
}

}  // namespace mailfort::cli
