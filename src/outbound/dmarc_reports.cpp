#include "outbound/dmarc_reports.h"

#include <spdlog/spdlog.h>

#include "auth/dmarc_report_store.h"
#include "base/log.h"
#include "base/text.h"
#include "directory/directory.h"
#include "dkim/dkim.h"
#include "dns/resolver.h"
#include "outbound/dmarc_report.h"
#include "outbound/tlsrpt_report.h"
#include "queue/queue.h"

namespace mailfort::outbound {
namespace {

bool lookup_failed(const dns::Answer& a) {
  return a.status != dns::Answer::Status::Ok && a.status != dns::Answer::Status::NoData &&
         a.status != dns::Answer::Status::NxDomain;
}

// The host name or its nearest parent that is a local domain with active
// DKIM keys ("" and no keys when there is none: reports go out unsigned).
std::pair<std::string, std::vector<dkim::Key>> signing_keys(const DmarcReportContext& ctx) {
  std::string d = to_lower(ctx.hostname);
  while (d.find('.') != std::string::npos) {
    auto local = ctx.directory.is_local_domain(d);
    if (local && local.value()) {
      auto keys = dkim::load_keys(ctx.data_dir, d);
      if (keys && !keys->empty()) return {d, std::move(keys).value()};
    }
    d = d.substr(d.find('.') + 1);
  }
  return {};
}

std::string sign(const std::vector<dkim::Key>& keys, const std::string& message, int64_t now) {
  std::string out;
  for (auto& k : keys) {
    auto h = dkim::sign(message, k, now);
    if (h)
      out += *h;
    else
      spdlog::error("dmarc-report sign-failed domain={} selector={} error={}", k.domain, k.selector,
                    log::quote(h.error().message));
  }
  return out + message;
}

// The addresses the report may go to (consent checked for external ones).
std::vector<ReportTarget> destinations(const DmarcReportContext& ctx, const DmarcPublished& published,
                                       const std::string& org_domain, std::vector<std::string>& skipped) {
  std::vector<ReportTarget> out;
  for (auto& rua : published.rua) {
    const std::string& uri = rua.uri;
    auto target = report_target(rua);
    if (!target) {
      spdlog::info("dmarc-report rua-skipped domain={} rua={} reason=only-mailto-supported", published.domain,
                   log::quote(uri));
      skipped.push_back("domain=" + published.domain + " rua=" + log::quote(uri) +
                        " reason=only-mailto-supported");
      continue;
    }
    std::string rua_domain = to_lower(target->address.substr(target->address.rfind('@') + 1));
    if (is_external_destination(rua_domain, published.domain, org_domain)) {
      std::string name = published.domain + "._report._dmarc." + rua_domain;
      auto consent = ctx.dns.query(name, dns::Type::TXT);
      if (consent.status != dns::Answer::Status::Ok || !has_dmarc1(consent.txt)) {
        spdlog::info("dmarc-report rua-skipped domain={} rua={} reason=no-authorization status={}",
                     published.domain, log::quote(uri), dns::status_name(consent.status));
        skipped.push_back("domain=" + published.domain + " rua=" + log::quote(uri) +
                          " reason=no-authorization");
        continue;
      }
    }
    out.push_back(*target);
  }
  return out;
}

}  // namespace

DmarcReportRun send_dmarc_reports(const DmarcReportContext& ctx, const std::string& day, int64_t now) {
  DmarcReportRun run;
  auto domains = ctx.store.pending_domains(day);
  if (!domains) {
    spdlog::error("dmarc-report error={}", log::quote(domains.error().message));
    return run;
  }
  auto begin = day_start(day);
  if (!begin) return run;
  auto [sign_domain, keys] = signing_keys(ctx);
  std::string from = "noreply-dmarc@" + (sign_domain.empty() ? ctx.hostname : sign_domain);
  for (auto& domain : *domains) {
    auto txt = ctx.dns.query("_dmarc." + domain.policy_domain, dns::Type::TXT);
    if (lookup_failed(txt)) {
      spdlog::info("dmarc-report lookup-failed domain={} status={}", domain.policy_domain,
                   dns::status_name(txt.status));
      continue;  // tried again at the next run
    }
    std::optional<DmarcPublished> published;
    if (txt.status == dns::Answer::Status::Ok)
      published = parse_dmarc_published(domain.policy_domain, txt.txt);
    std::vector<ReportTarget> to;
    if (published) to = destinations(ctx, *published, domain.org_domain, run.skipped);
    if (to.empty()) {
      spdlog::info("dmarc-report no-recipient domain={} day={}", domain.policy_domain, day);
      (void)ctx.store.mark_sent(day, domain.policy_domain, now);
      continue;
    }
    auto rows = ctx.store.rows(day, domain.policy_domain);
    if (!rows) {
      spdlog::error("dmarc-report error={}", log::quote(rows.error().message));
      continue;
    }
    AggregateMeta meta;
    meta.org_name = ctx.hostname;
    meta.email = from;
    meta.report_id = day + "." + domain.policy_domain + "@" + ctx.hostname;
    meta.begin = *begin;
    meta.end = *begin + 86399;
    auto gz = gzip(build_aggregate_xml(meta, *published, *rows));
    if (!gz) {
      spdlog::error("dmarc-report error={}", log::quote(gz.error().message));
      continue;
    }
    std::size_t queued = 0;
    bool failed = false;
    for (auto& target : to) {
      std::string msg = sign(
          keys, build_aggregate_message(meta, domain.policy_domain, from, target.address, *gz, now), now);
      if (target.max_size && msg.size() > target.max_size) {
        spdlog::info("dmarc-report rua-skipped domain={} to={} reason=too-large size={} limit={}",
                     domain.policy_domain, target.address, msg.size(), target.max_size);
        run.skipped.push_back("domain=" + domain.policy_domain + " to=" + target.address +
                              " reason=too-large");
        continue;
      }
      queue::Envelope env;  // null sender: no bounce loops
      queue::Recipient r;
      r.address = target.address;
      env.recipients.push_back(r);
      auto id = ctx.queue.enqueue(env, msg);
      if (!id) {
        failed = true;
        spdlog::error("dmarc-report enqueue-failed domain={} to={} error={}", domain.policy_domain,
                      target.address, log::quote(id.error().message));
        continue;
      }
      ++queued;
      spdlog::info("dmarc-report report domain={} day={} to={} rows={} id={}", domain.policy_domain, day,
                   target.address, rows->size(), *id);
    }
    if (failed && queued == 0) continue;  // the queue's trouble: again next run
    if (auto m = ctx.store.mark_sent(day, domain.policy_domain, now); !m)
      spdlog::error("dmarc-report error={}", log::quote(m.error().message));
    if (queued) {
      ++run.domains;
      run.messages += queued;
    }
  }
  return run;
}

}  // namespace mailfort::outbound
