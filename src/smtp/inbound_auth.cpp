#include "smtp/inbound_auth.h"

#include <spdlog/spdlog.h>

#include <ctime>

#include "auth/dmarc.h"
#include "auth/dmarc_report_store.h"
#include "auth/results_header.h"
#include "base/log.h"
#include "base/text.h"
#include "postscreen/postscreen.h"
#include "server/blocking.h"
#include "server/services.h"
#include "store/mailbox.h"

namespace mailfort::smtp {
namespace {

using server::run_blocking;

std::string dkim_summary(const std::vector<auth::DkimResult>& dkim) {
  if (dkim.empty()) return "none";
  std::string out;
  for (const auto& d : dkim) {
    if (!out.empty()) out += ",";
    out += std::string(auth::dkim_status_name(d.status)) + ":" + d.domain;
  }
  return out;
}

}  // namespace

auth::Checks inbound_checks(const config::Config& cfg) {
  auth::Checks c;
  c.authserv_id = cfg.authserv_id();
  c.spf = cfg.inbound.spf;
  c.dkim = cfg.inbound.dkim;
  c.dmarc = cfg.inbound.dmarc;
  c.arc = cfg.inbound.arc;
  c.arc_trusted_forwarders = cfg.inbound.arc_trusted_forwarders;
  return c;
}

InboundAuth::InboundAuth(server::Services& services, std::shared_ptr<const config::Config> cfg)
    : services_(services),
      cfg_(std::move(cfg)),
      checks_(inbound_checks(*cfg_)),
      dns_(auth::resolver_source(services.resolver)) {}

bool InboundAuth::applies(const SmtpClient& c, const std::vector<Cidr>& trusted) const {
  if (!c.auth_user.empty() || any_contains(trusted, c.ip)) return false;
  return checks_.spf || checks_.dkim || checks_.dmarc || checks_.arc;
}

asio::awaitable<SmtpReply> InboundAuth::at_mail_from(const SmtpClient& c, const proto::smtp::PathArgs& from,
                                                     SmtpTransaction& txn) {
  txn.inbound = std::make_unique<auth::InboundMessage>(cfg_->smtp.max_header_size);
  if (!checks_.spf) co_return SmtpReply{};
  auth::SpfRequest request;
  request.ip = c.ip;
  request.sender = from.null_path ? std::string() : from.mailbox.str();
  request.helo = c.helo;
  request.receiver = cfg_->hostname;
  request.now = std::time(nullptr);
  struct Both {
    auth::SpfOutcome mail_from, helo;
  };
  auto* dns = dns_.get();
  Both spf = co_await run_blocking(*services_.workers, [&]() -> Both {
    return {auth::check_mail_from(*dns, request), auth::check_helo(*dns, request)};
  });
  txn.spf = spf.mail_from;
  txn.spf_helo = spf.helo;
  if (cfg_->inbound.spf_reject_fail && spf.mail_from.result == auth::SpfResult::Fail) {
    spdlog::info("smtp spf-rejected session={} ip={} sender={} domain={}", c.session, c.ip,
                 log::quote(request.sender), log::quote(spf.mail_from.domain));
    std::string text = "<" + (request.sender.empty() ? "postmaster@" + c.helo : request.sender) +
                       ">: Sender address rejected: SPF fail for " + spf.mail_from.domain;
    if (!spf.mail_from.explanation.empty()) text += ": " + spf.mail_from.explanation;
    co_return SmtpReply{550, "5.7.23", text};
  }
  co_return SmtpReply{};
}

asio::awaitable<void> InboundAuth::at_end_of_data(const SmtpClient& c, SmtpTransaction& txn) {
  if (!txn.inbound) co_return;
  txn.inbound->finish();
  auth::Arrival arrival;
  arrival.ip = c.ip;
  arrival.helo = c.helo;
  arrival.mail_from = txn.sender;
  arrival.receiver = cfg_->hostname;
  arrival.now = std::time(nullptr);
  auto* dns = dns_.get();
  const auto* message = txn.inbound.get();
  const auto& checks = checks_;
  auto spf = txn.spf;
  auto spf_helo = txn.spf_helo;
  auto* reports = services_.dmarc_reports.get();
  auto* screen = cfg_->inbound.greylisting ? services_.postscreen.get() : nullptr;
  txn.verdict = co_await run_blocking(*services_.workers, [&]() -> auth::Verdict {
    auto v = auth::evaluate(*message, arrival, checks, *dns, spf, spf_helo);
    // Greylisting lets known DKIM-signing domains through without delay.
    if (screen)
      for (const auto& d : v.dkim)
        if (d.status == auth::DkimStatus::Pass && !d.testing && !d.domain.empty())
          screen->remember_verified_domain(d.domain);
    // DMARC aggregate reports count every verdict, refused ones too.
    if (reports)
      if (auto r = reports->record(v, arrival.ip, arrival.mail_from, arrival.now); !r)
        spdlog::warn("dmarc-report record-failed error={}", log::quote(r.error().message));
    return v;
  });
  const auto& v = *txn.verdict;
  spdlog::info(
      "smtp auth session={} ip={} from={} spf={} dkim={} dmarc={} header_from={} policy={} arc={} "
      "disposition={}{}",
      c.session, c.ip, log::quote(txn.sender.empty() ? "<>" : txn.sender),
      v.spf ? auth::spf_result_name(v.spf->result) : "off", log::quote(dkim_summary(v.dkim)),
      auth::dmarc_result_name(v.dmarc.result), log::quote(v.dmarc.from_domain),
      auth::dmarc_policy_name(v.dmarc.policy), auth::arc_chain_name(v.arc.chain),
      auth::disposition_name(v.disposition), v.arc_override ? " arc_override=true" : "");
}

std::string InboundAuth::stamp(const SmtpTransaction& txn, std::string_view message) const {
  if (!txn.verdict) return std::string(message);
  return txn.verdict->header + auth::remove_our_results(message, checks_.authserv_id);
}

asio::awaitable<InboundAuth::GreylistHints> InboundAuth::greylist_hints(const SmtpTransaction& txn) {
  GreylistHints hints;
  auto at = txn.sender.rfind('@');
  if (!cfg_->inbound.greylisting || at == std::string::npos) co_return hints;
  std::string domain = to_lower(txn.sender.substr(at + 1));
  auto* dns = dns_.get();
  auto* screen = services_.postscreen.get();
  const auto& inbound = cfg_->inbound;
  std::optional<auth::SpfOutcome> spf = txn.spf;
  hints = co_await run_blocking(*services_.workers, [&]() {
    GreylistHints h;
    if (screen) h.dkim_verified_known_domain = screen->is_verified_domain(domain, inbound);
    if (spf && spf->result == auth::SpfResult::Pass && checks_.dmarc) {
      auto published = auth::check_dmarc(*dns, domain, &*spf, {}, 0);
      h.spf_pass_dmarc_reject = published.policy == auth::DmarcPolicy::Reject;
    }
    return h;
  });
  co_return hints;
}

Result<void> deliver_to_junk(server::Services& services, const std::string& junk_folder,
                             const std::vector<std::string>& mailboxes, std::string_view message) {
  for (const auto& mb : mailboxes) {
    auto box = services.mailboxes->open(mb);
    if (!box) return box.error();
    auto appended = box.value()->append(junk_folder, message, 0, {}, 0);
    if (!appended && appended.error().code == Errc::NotFound) {
      auto created = box.value()->create(junk_folder, "\\Junk");
      if (!created && created.error().code != Errc::Exists) return created.error();
      appended = box.value()->append(junk_folder, message, 0, {}, 0);
    }
    if (!appended) return appended.error();
    services.mailboxes->delivered(mb);
  }
  return {};
}

}  // namespace mailfort::smtp
