#include "smtp/smtp_forwarding.h"

#include <spdlog/spdlog.h>

#include "auth/srs.h"
#include "base/log.h"
#include "base/text.h"
#include "directory/directory.h"
#include "dkim/dkim.h"

namespace mailfort::smtp {

std::optional<SrsRecipient> srs_recipient(const auth::Srs* srs, directory::Directory& dir,
                                          const proto::smtp::Mailbox& to, int64_t now, uint64_t session) {
  if (srs == nullptr || to.ip_literal || !auth::looks_like_srs(to.local)) return std::nullopt;
  auto local = dir.is_local_domain(to.domain);
  if (!local.ok())
    return SrsRecipient{"", SmtpReply{451, "4.3.0", "Temporary lookup failure; try again later"}};
  if (!local.value()) return std::nullopt;  // someone else's SRS address: relaying rules apply
  auto reversed = srs->reverse(to.local, now);
  if (reversed.status == auth::SrsStatus::Valid) {
    spdlog::info("smtp srs-reversed session={} rcpt={} original={}", session, log::quote(to.str()),
                 log::quote(reversed.address));
    return SrsRecipient{reversed.address, SmtpReply{}};
  }
  spdlog::info("smtp srs-rejected session={} rcpt={} status={} reason={}", session, log::quote(to.str()),
               auth::srs_status_name(reversed.status), log::quote(reversed.reason));
  // 5.1.1 "bad destination mailbox address" (RFC 3463): the local part
  // names no mailbox and no address we minted, exactly as for an unknown
  // user. Not 5.7.x: nothing the sender could be authorised for would make
  // the address deliverable, and a permanent 5.1.1 tells a bounce-spraying
  // (backscatter) sender's MTA to drop it. Expired addresses get the same
  // code: an SRS address older than its validity is no address any more.
  return SrsRecipient{"", SmtpReply{550, "5.1.1", "<" + to.str() + ">: invalid SRS address"}};
}

std::vector<ForwardCopy> forward_copies(const auth::Srs* srs, const SmtpTransaction& txn, bool rewrite,
                                        const std::string& id, int64_t now) {
  std::vector<ForwardCopy> copies;
  auto add = [&](const std::string& sender, const std::string& rcpt, const std::string& domain) {
    for (auto& c : copies) {
      if (c.sender == sender && c.forwarded_by == domain) {
        c.recipients.push_back(rcpt);
        return;
      }
    }
    std::string copy_id = copies.empty() ? id : id + std::to_string(copies.size());
    copies.push_back({copy_id, sender, {rcpt}, domain});
  };
  for (const auto& f : txn.forwards) {
    auto by = txn.forwarded_by.find(f);
    if (rewrite && srs != nullptr && by != txn.forwarded_by.end()) {
      add(srs->forward(txn.sender, by->second, now), f, by->second);
    } else {
      add(txn.sender, f, "");
    }
  }
  return copies;
}

std::string arc_set(const std::string& data_dir, const std::string& domain, const auth::Verdict& verdict,
                    const std::string& authserv_id, std::string_view message, int64_t now) {
  auto keys = dkim::load_keys(data_dir, domain);
  if (!keys || keys->empty()) {
    spdlog::warn("arc seal-skipped domain={} reason={}", domain,
                 log::quote(keys ? "no DKIM key" : keys.error().message));
    return "";
  }
  const dkim::Key* key = &keys->front();
  for (const auto& k : *keys)
    if (k.algorithm == dkim::Algorithm::Rsa2048) key = &k;
  auto set = auth::arc_seal(message, verdict.arc, authserv_id, verdict.results, *key, now);
  if (!set) {
    spdlog::warn("arc seal-failed domain={} selector={} error={}", domain, key->selector,
                 log::quote(set.error().message));
    return "";
  }
  if (set->empty()) {
    spdlog::info("arc seal-skipped domain={} reason={}", domain, log::quote("the chain already failed"));
    return "";
  }
  spdlog::info("arc sealed domain={} selector={} instance={} cv={}", domain, key->selector,
               verdict.arc.instances + 1, auth::arc_chain_name(verdict.arc.chain));
  return std::move(set.value());
}

}  // namespace mailfort::smtp
