#include "smtp/smtp_policy.h"

#include <spdlog/spdlog.h>
#include <sys/random.h>
#include <unistd.h>

#include <algorithm>
#include <ctime>
#include <optional>
#include <variant>

#include "auth/srs.h"
#include "base/cidr.h"
#include "base/log.h"
#include "base/text.h"
#include "directory/directory.h"
#include "dns/resolver.h"
#include "proto/mail/address.h"
#include "proto/mail/header.h"
#include "queue/queue.h"
#include "server/blocking.h"
#include "server/services.h"
#include "sieve/sieve_service.h"
#include "smtp/inbound_auth.h"
#include "smtp/inbound_filter.h"
#include "smtp/mx_screen.h"
#include "smtp/sieve_delivery.h"
#include "smtp/smtp_forwarding.h"
#include "store/group_commit.h"
#include "store/mail_store.h"

namespace mailfort::smtp {
namespace {

using server::run_blocking;
using server::Services;

using proto::smtp::Mailbox;
using proto::smtp::PathArgs;

std::string random_hex(std::size_t bytes) {
  std::string raw(bytes, '\0');
  if (getrandom(raw.data(), raw.size(), 0) != static_cast<ssize_t>(raw.size())) raw.assign(bytes, '\x5a');
  static const char* hex = "0123456789abcdef";
  std::string out;
  for (unsigned char c : raw) {
    out.push_back(hex[c >> 4]);
    out.push_back(hex[c & 15]);
  }
  return out;
}

// S3, S4: a real host name (U-labels allowed for SMTPUTF8).
bool is_fqdn_utf8(std::string_view d) {
  return mailfort::is_fqdn(d, true);
}

void add_unique(std::vector<std::string>& v, const std::string& s) {
  if (std::find(v.begin(), v.end(), s) == v.end()) v.push_back(s);
}

// S6 ownership, one rule for the envelope sender and the header From/Sender:
// `owned` is Directory::sender_addresses() (the login's address, sources of
// aliases that deliver to it, "@domain" for a catch-all pointing to it).
// Compared case-insensitively, local part included, as the directory stores
// and looks up local parts lower-cased.
bool owns(const std::vector<std::string>& owned, std::string_view local, std::string_view domain) {
  std::string address = to_lower(std::string(local) + "@" + std::string(domain));
  std::string catch_all = "@" + to_lower(domain);
  for (const auto& a : owned) {
    std::string la = to_lower(a);
    if (la == address || la == catch_all) return true;
  }
  return false;
}

// The parts MX and submission share: recipient resolution, quota, delivery.
class BasePolicy : public SmtpPolicy {
 public:
  BasePolicy(Services& s, std::shared_ptr<const config::Config> cfg, const config::Listener& l)
      : services_(s),
        cfg_(std::move(cfg)),
        listener_(l),
        filter_(s, cfg_, l, l.protocol == config::Protocol::smtp) {
    for (const auto& n : cfg_->smtp.trusted_networks)
      if (auto c = Cidr::parse(n)) trusted_.push_back(*c);
  }

  asio::awaitable<SmtpReply> on_rcpt(const SmtpClient& c, const PathArgs& to, SmtpTransaction& txn) override {
    if (auto r = check_recipient_syntax(c, to); !r.ok()) co_return r;
    std::string address;
    if (to.postmaster_only) {
      // RFC 5321 4.1.1.3, 4.5.1: <Postmaster> must be accepted.
      address = co_await primary_postmaster();
      if (address.empty()) co_return SmtpReply{451, "4.3.0", "Temporary lookup failure; try again later"};
    } else {
      address = to.mailbox.str();
    }
    // SRS: a bounce to an address we minted goes back to the original
    // sender (resolved below like any recipient); forged ones end here.
    std::string srs_domain;
    if (!to.postmaster_only && services_.srs && auth::looks_like_srs(to.mailbox.local)) {
      auto* srs = services_.srs.get();
      auto* srs_dir = services_.directory.get();
      auto routed = co_await run_blocking(*services_.workers, [&] {
        return srs_recipient(srs, *srs_dir, to.mailbox, std::time(nullptr), c.session);
      });
      if (routed && !routed->refusal.ok()) co_return routed->refusal;
      if (routed) {
        srs_domain = to_lower(to.mailbox.domain);
        address = routed->original;
      }
    }
    if (to.mailbox.ip_literal) {
      // No local mailbox lives at an address literal: it is relaying.
      if (!relay_permitted(c)) co_return SmtpReply{554, "5.7.1", "<" + address + ">: Relay access denied"};
      if (auto r = co_await count_recipient(c, txn); !r.ok()) co_return r;
      add_unique(txn.forwards, address);
      txn.rcpts.push_back(address);
      co_return SmtpReply{250, "2.1.5", "Ok"};
    }

    struct Outcome {
      Result<directory::Resolution> resolution = make_error(Errc::Temp, "");
      bool tls_required = false;
      std::string over_quota;  // a mailbox that is full
      bool temp = false;
    };
    auto* dir = services_.directory.get();
    auto* store = services_.store.get();
    std::string domain =
        to_lower(to.postmaster_only || !srs_domain.empty() ? address.substr(address.rfind('@') + 1)
                                                           : to.mailbox.domain);
    Outcome o = co_await run_blocking(*services_.workers, [&]() -> Outcome {
      Outcome out;
      out.resolution = dir->resolve_recipient(address);
      if (!out.resolution.ok()) return out;
      if (out.resolution->kind != directory::Resolution::Kind::NotLocal) {
        auto tls = dir->requires_tls(domain);
        out.tls_required = tls.ok() && tls.value();
      }
      for (const auto& mb : out.resolution->mailboxes) {
        auto acct = dir->find_account(mb);
        if (!acct.ok()) {
          out.temp = true;
          break;
        }
        if (!acct.value() || acct.value()->quota_mb == 0) continue;
        auto used = store->usage(mb);
        if (used.ok() && used.value() >= acct.value()->quota_mb * 1024 * 1024) {
          out.over_quota = mb;
          break;
        }
      }
      return out;
    });
    if (!o.resolution.ok() || o.temp) {
      spdlog::warn("smtp rcpt-temp-failure session={} rcpt={}", c.session, log::quote(address));
      co_return SmtpReply{451, "4.3.0", "Temporary lookup failure; try again later"};
    }
    using Kind = directory::Resolution::Kind;
    const auto& res = o.resolution.value();
    bool relay = relay_permitted(c) || !srs_domain.empty();  // SRS: we forwarded it, its bounce goes back
    bool accepting = res.kind == Kind::Deliver || (res.kind == Kind::NotLocal && relay);
    bool quota_ok = res.kind != Kind::Deliver || ((!o.tls_required || c.tls) && o.over_quota.empty());
    if (accepting && quota_ok) {
      if (auto r = co_await count_recipient(c, txn); !r.ok()) co_return r;
    }
    switch (res.kind) {
      case Kind::NotLocal:
        if (!relay) co_return SmtpReply{554, "5.7.1", "<" + address + ">: Relay access denied"};
        add_unique(txn.forwards, address);
        if (!srs_domain.empty()) txn.forwarded_by.emplace(address, srs_domain);
        break;
      case Kind::Unknown:
        co_return SmtpReply{550, "5.1.1", "<" + address + ">: Recipient address rejected: User unknown"};
      case Kind::Disabled:
      case Kind::SendOnly:
        co_return SmtpReply{550, "5.2.1",
                            "<" + address + ">: Recipient address rejected: mailbox does not receive mail"};
      case Kind::Deliver:
        if (o.tls_required && !c.tls) {
          co_return SmtpReply{530, "5.7.0",
                              "<" + address + ">: Recipient domain requires TLS; issue STARTTLS first"};
        }
        if (!o.over_quota.empty()) {
          co_return SmtpReply{452, "4.2.2", "<" + address + ">: Mailbox full; over quota"};
        }
        SmtpReply admitted = co_await admit_local_recipient(c, address, txn);
        if (!admitted.ok()) co_return admitted;
        for (const auto& mb : res.mailboxes) {
          add_unique(txn.mailboxes, mb);
          txn.rcpt_of.emplace(mb, srs_domain.empty() ? address : to.mailbox.str());
        }
        for (const auto& f : res.forwards) {
          add_unique(txn.forwards, f);
          txn.forwarded_by.emplace(f, srs_domain.empty() ? domain : srs_domain);
        }
        break;
    }
    txn.rcpts.push_back(srs_domain.empty() ? address : to.mailbox.str());
    co_return SmtpReply{250, "2.1.5", "Ok"};
  }

  // End of data: the decision (what the message becomes, or the reply
  // that refuses it), then the commit (durable before the 250).
  asio::awaitable<SmtpReply> on_message(const SmtpClient& c, SmtpTransaction& txn,
                                        std::string message) override {
    // Spam and virus filtering; it may refuse, discard or change the message.
    if (txn.queue_id.empty()) txn.queue_id = random_hex(8);
    if (auto filtered = co_await filter_.at_end_of_data(c, txn, message)) co_return *filtered;
    auto decision = co_await decide(c, txn, std::move(message));
    if (const auto* refusal = std::get_if<SmtpReply>(&decision)) co_return *refusal;
    SmtpReply committed = co_await commit(c, txn, std::get<Delivery>(decision));
    co_return committed;
  }

 protected:
  // A valid local recipient, about to be accepted: the listener's last word
  // (MX: greylisting).
  virtual asio::awaitable<SmtpReply> admit_local_recipient(const SmtpClient& c, const std::string& address,
                                                           const SmtpTransaction& txn) {
    co_return SmtpReply{};
  }
  bool relay_permitted(const SmtpClient& c) const {
    return !c.auth_user.empty() || any_contains(trusted_, c.ip);
  }

  virtual SmtpReply check_recipient_syntax(const SmtpClient& c, const PathArgs& to) { return {}; }

  // A message that passed every check: its queue id and its final bytes
  // (our Received header, on submission the cleaned-up header).
  struct Delivery {
    std::string id;
    std::string message;
  };

  // What the message becomes, or the reply that refuses it: header size,
  // the header From/Sender of an authenticated client (S6), then the final
  // bytes with our trace header. No writes.
  asio::awaitable<std::variant<Delivery, SmtpReply>> decide(const SmtpClient& c, const SmtpTransaction& txn,
                                                            std::string message) {
    auto header = proto::mail::parse_header_block(message);
    if (header.body_offset > cfg_->smtp.max_header_size) {
      co_return SmtpReply{552, "5.3.4", "Message header too large"};
    }
    SmtpReply from = co_await check_header_from(c, txn, message, header);
    if (!from.ok()) co_return from;
    Delivery d;
    d.id = txn.queue_id.empty() ? random_hex(8) : txn.queue_id;
    d.message = build_message(c, txn, message, header, d.id);
    co_return std::move(d);
  }

  // One hop to the worker pool: the last check, which needs the mailboxes'
  // usage right before the write (quota now that the size is known, D8:
  // the whole message is refused, nothing partial is stored), then the
  // writes. The 250 names the queue id.
  asio::awaitable<SmtpReply> commit(const SmtpClient& c, const SmtpTransaction& txn, const Delivery& d) {
    struct Done {
      std::string over_quota;  // the mailbox the message does not fit in
      Result<void> result;
      std::optional<SmtpReply> refusal;  // Sieve's reject of the only recipient
    };
    Done done = co_await run_blocking(*services_.workers, [&]() -> Done {
      if (std::string full = over_quota(txn.mailboxes, d.message.size()); !full.empty())
        return {full, {}, std::nullopt};
      Done out;
      out.result = write(c, txn, d, out.refusal);
      return out;
    });
    if (done.refusal && done.result.ok()) {
      spdlog::info("smtp rejected session={} id={} reason=sieve-reject reply={}", c.session, d.id,
                   log::quote(done.refusal->text));
      co_return *done.refusal;
    }
    if (!done.over_quota.empty()) {
      spdlog::info("smtp rejected session={} id={} reason=over-quota mailbox={}", c.session, d.id,
                   log::quote(done.over_quota));
      co_return SmtpReply{552, "5.2.2", "Mailbox full; message exceeds the recipient's quota"};
    }
    if (!done.result.ok()) {
      spdlog::error("smtp delivery-failed session={} id={} error={}", c.session, d.id,
                    log::quote(done.result.error().message));
      co_return SmtpReply{451, "4.3.0", "Local error in processing; try again later"};
    }
    spdlog::info("smtp accepted session={} id={} from={} rcpts={} mailboxes={} forwards={} size={}",
                 c.session, d.id, log::quote(txn.sender.empty() ? "<>" : txn.sender), txn.rcpts.size(),
                 txn.mailboxes.size(), txn.forwards.size(), d.message.size());
    co_return SmtpReply{250, "2.0.0", "Ok: queued as " + d.id};
  }

  // Blocking: the first of `mailboxes` that `size` more bytes would take
  // over its quota, "" when the message fits everywhere.
  std::string over_quota(const std::vector<std::string>& mailboxes, std::size_t size) {
    for (const auto& mb : mailboxes) {
      auto acct = services_.directory->find_account(mb);
      if (!acct.ok() || !acct.value() || acct.value()->quota_mb == 0) continue;
      auto used = services_.store->usage(mb);
      if (used.ok() && used.value() + size > acct.value()->quota_mb * 1024 * 1024) return mb;
    }
    return "";
  }

  // Blocking, the commit: the local copies and the queue file of the
  // remote recipients in one GroupCommit transaction (all or nothing), then
  // quota usage and the delivery engine told.
  Result<void> write(const SmtpClient& c, const SmtpTransaction& txn, const Delivery& d,
                     std::optional<SmtpReply>& refusal) {
    auto& store = *services_.store;
    auto& queue = *services_.queue;
    std::vector<store::RenameStep> steps;
    bool quarantine = txn.verdict && txn.verdict->disposition == auth::Disposition::Quarantine;
    bool sieve_on = sieve_applies(services_);
    // Spam the engine flagged is the global Sieve script's to file (`mailfort
    // init` writes it into [sieve] before); without Sieve or without global
    // scripts (a config older than Sieve) it goes to Junk here as before.
    bool junk = quarantine || txn.junk ||
                (txn.spam_flagged && (!sieve_on || services_.sieve->settings()->before.empty()));
    std::vector<std::string> inbox;  // plain INBOX copies: the group-commit fast path
    std::optional<SieveExecution> sieve_done;
    if (junk && !txn.mailboxes.empty()) {
      // DMARC p=quarantine or a milter's quarantine: the local copies go to each Junk folder.
      if (auto j = deliver_to_junk(services_, cfg_->imap.junk_folder, txn.mailboxes, d.message); !j) return j;
    } else if (!txn.mailboxes.empty()) {
      if (sieve_on) {
        SievePlan plan = plan_sieve(services_, *cfg_, c, txn, d.id, d.message);
        if (plan.reject) {
          refusal = plan.reject;
          return {};
        }
        inbox = std::move(plan.inbox);
        if (!plan.junk.empty()) {
          if (auto j = deliver_to_junk(services_, cfg_->imap.junk_folder, plan.junk, d.message); !j) return j;
        }
        if (!plan.boxes.empty()) {
          auto ex = execute_sieve(services_, *cfg_, c, txn, d.id, d.message, plan, !relay_permitted(c));
          if (!ex) return ex.error();
          for (auto& mb : ex.value().inbox) add_unique(inbox, mb);
          sieve_done = std::move(ex).value();
        }
      } else {
        inbox = txn.mailboxes;
      }
      if (!inbox.empty()) {
        auto s = store.prepare(inbox, d.message);
        if (!s) {
          if (sieve_done)
            for (auto& st : sieve_done->steps) ::unlink(st.from.c_str());
          return s.error();
        }
        steps = std::move(s.value());
      }
      if (sieve_done)
        for (auto& st : sieve_done->steps) steps.push_back(st);
    }
    // Remote recipients: one queue file per envelope sender (SRS rewrites
    // it for what our aliases forward from outside).
    auto copies = forward_copies(services_.srs.get(), txn, !relay_permitted(c), d.id, std::time(nullptr));
    for (const auto& copy : copies) {
      queue::Envelope env;
      env.id = copy.id;
      env.sender = copy.sender;
      env.smtputf8 = txn.smtputf8;
      env.eight_bit = txn.eight_bit;
      env.authenticated_user = c.auth_user;
      for (const auto& f : copy.recipients)
        env.recipients.push_back({f, queue::Recipient::State::Pending, 0, ""});
      // ARC: what an alias forwards carries our verdict, sealed.
      std::string sealed = copy.forwarded_by.empty() || !txn.verdict
                               ? std::string()
                               : arc_set(cfg_->data_dir, copy.forwarded_by, *txn.verdict, cfg_->authserv_id(),
                                         d.message, std::time(nullptr));
      auto q = queue.prepare(env, sealed.empty() ? d.message : sealed + d.message);
      if (!q) {
        for (auto& st : steps) ::unlink(st.from.c_str());
        return q.error();
      }
      steps.push_back(std::move(q.value()));
    }
    auto r = services_.commit->commit(std::move(steps));
    if (r.ok() && !junk && !inbox.empty()) store.delivered(inbox, d.message.size());
    if (r.ok()) {
      for (const auto& copy : copies) queue.notify(copy.id);  // the delivery engine starts at once
      if (sieve_done) sieve_committed(services_, *sieve_done);
    }
    return r;
  }

  // The postmaster of the primary domain: our host name's parent domain or
  // the host name itself when local, else the first local domain (in the
  // directory's order). "" on a lookup failure.
  asio::awaitable<std::string> primary_postmaster() {
    auto* dir = services_.directory.get();
    std::string host = to_lower(cfg_->hostname);
    co_return co_await run_blocking(*services_.workers, [&]() -> std::string {
      auto dot = host.find('.');
      for (const auto& d : {dot == std::string::npos ? host : host.substr(dot + 1), host}) {
        auto local = dir->is_local_domain(d);
        if (!local) return "";
        if (local.value()) return "postmaster@" + d;
      }
      auto all = dir->list_domains();
      if (!all) return "";
      return "postmaster@" + (all->empty() ? host : all->front());
    });
  }

  // S6 for the header (DMARC): what an authenticated client writes in From
  // and Sender must be addresses its login owns, by the rule the envelope
  // sender follows (owns()), or our DKIM signature would vouch for a
  // forgery. Every address of every From and Sender field counts (RFC 5322
  // allows lists and groups); a field that cannot be parsed, or names no
  // address, is refused too: a receiver may read it differently. Off with
  // smtp.enforce_header_from = false or the allow_any_from setting of the
  // account or its domain. Unauthenticated mail (MX, trusted networks
  // relaying without AUTH) has no login to tie it to.
  asio::awaitable<SmtpReply> check_header_from(const SmtpClient& c, const SmtpTransaction& txn,
                                               std::string_view message,
                                               const proto::mail::HeaderBlock& header) {
    if (c.auth_user.empty() || !cfg_->smtp.enforce_header_from) co_return SmtpReply{};
    struct Field {
      std::string name;
      proto::mail::AddressList list;
    };
    std::vector<Field> fields;
    for (const auto& f : header.fields) {
      if (!iequals(f.name, "From") && !iequals(f.name, "Sender")) continue;
      std::size_t value = f.begin + f.name.size() + 1;
      fields.push_back({iequals(f.name, "From") ? "From" : "Sender",
                        proto::mail::parse_address_list(message.substr(value, f.end - value))});
    }
    if (header.malformed && header.body_offset < message.size() &&
        proto::mail::hidden_field_after(
            std::string_view(message).substr(
                header.body_offset,
                std::min<std::size_t>(message.size() - header.body_offset, cfg_->smtp.max_header_size)),
            {"From", "Sender"})) {
      spdlog::info("smtp from-rejected session={} ip={} user={} field=From reason=malformed-header",
                   c.session, c.ip, log::quote(c.auth_user));
      co_return SmtpReply{550, "5.6.0",
                          "Malformed header: a From or Sender field after a line that is not a field"};
    }
    bool has_from =
        std::any_of(fields.begin(), fields.end(), [](const Field& f) { return f.name == "From"; });
    if (!has_from && txn.sender.empty()) {
      // RFC 5322 3.6 requires From; a missing one is filled in from the
      // envelope sender (SubmissionPolicy::build_message, as Postfix's
      // cleanup does for authenticated clients), but a null sender leaves
      // nothing to fill in, and a message without From cannot be aligned
      // with our DKIM signature (RFC 6376 5.4 signs From).
      spdlog::info("smtp from-rejected session={} ip={} user={} field=From reason=missing", c.session, c.ip,
                   log::quote(c.auth_user));
      co_return SmtpReply{550, "5.6.0", "Message has no From header field (RFC 5322 3.6)"};
    }
    if (fields.empty()) co_return SmtpReply{};

    struct Owned {
      Result<std::vector<std::string>> addresses = std::vector<std::string>();
      Result<bool> any = false;
    };
    auto* dir = services_.directory.get();
    std::string user = c.auth_user;
    Owned owned = co_await run_blocking(*services_.workers, [&]() -> Owned {
      Owned o;
      o.any = dir->allows_any_from(user);
      if (o.any.ok() && !o.any.value()) o.addresses = dir->sender_addresses(user);
      return o;
    });
    if (!owned.any.ok() || !owned.addresses.ok()) {
      co_return SmtpReply{451, "4.3.0", "Temporary lookup failure; try again later"};
    }
    if (owned.any.value()) co_return SmtpReply{};
    for (const auto& f : fields) {
      auto refuse = [&](const char* reason, const std::string& address, std::string text) {
        spdlog::info("smtp from-rejected session={} ip={} user={} field={} reason={} address={}", c.session,
                     c.ip, log::quote(c.auth_user), f.name, reason, log::quote(address));
        return SmtpReply{550, "5.7.1", std::move(text)};
      };
      if (!f.list.ok()) {
        co_return refuse(
            proto::mail::address_error_name(f.list.error), "",
            f.name + " header field cannot be parsed; it must name addresses owned by user " + c.auth_user);
      }
      if (f.list.mailboxes.empty()) {
        co_return refuse(
            "no-address", "",
            f.name + " header field names no address; it must name one owned by user " + c.auth_user);
      }
      for (const auto& m : f.list.mailboxes) {
        if (m.domain_literal || !owns(owned.addresses.value(), m.local, m.domain)) {
          co_return refuse("not-owned", m.str(),
                           f.name + " header address <" + m.str() + "> is not owned by user " + c.auth_user);
        }
      }
    }
    co_return SmtpReply{};
  }
  virtual std::string build_message(const SmtpClient& c, const SmtpTransaction& txn,
                                    const std::string& message, const proto::mail::HeaderBlock& header,
                                    const std::string& id) = 0;

  // Q7: counts this message against the sending limits, or refuses it at
  // MAIL FROM. Authenticated senders count against their account, its domain
  // and the server; relaying for smtp.trusted_networks without AUTH against
  // the server only; anything else (inbound mail for our users) not at all.
  // The reservation travels with the transaction and is released unless the
  // message is accepted; one transaction at a time per session, so
  // pipelining cannot run ahead of the count.
  asio::awaitable<SmtpReply> reserve_send_quota(const SmtpClient& c, SmtpTransaction& txn) {
    auto* limiter = services_.send_limiter.get();
    if (limiter == nullptr) co_return SmtpReply{250, "2.1.0", "Ok"};
    policy::SendLimiter::Request request;
    if (!c.auth_user.empty()) {
      if (!overrides_ || overrides_->account != c.auth_user) {
        // Directory overrides, read once per session on the worker pool.
        auto* dir = services_.directory.get();
        std::string account = c.auth_user;
        SendOverrides o = co_await run_blocking(*services_.workers, [&]() -> SendOverrides {
          SendOverrides out;
          out.account = account;
          auto m = dir->send_limit(account);
          auto d = dir->domain_send_limit(account.substr(account.rfind('@') + 1));
          out.ok = m.ok() && d.ok();
          if (out.ok) {
            out.mailbox = m.value();
            out.domain = d.value();
          }
          return out;
        });
        if (!o.ok) co_return SmtpReply{451, "4.3.0", "Temporary lookup failure; try again later"};
        overrides_ = std::move(o);
      }
      request.mailbox = to_lower(c.auth_user);
      request.domain = request.mailbox.substr(request.mailbox.rfind('@') + 1);
      request.mailbox_limit = overrides_->mailbox;
      request.domain_limit = overrides_->domain;
    } else if (!any_contains(trusted_, c.ip)) {
      co_return SmtpReply{250, "2.1.0", "Ok"};
    }
    policy::SendLimiter::Refusal why;
    policy::SendLimiter::Reservation reservation;
    if (limiter->uses_redis()) {
      // [state] backend = "redis": acquire() is a Redis round trip, so it
      // runs on the worker pool, never on this I/O thread.
      reservation = co_await run_blocking(*services_.workers, [&] { return limiter->acquire(request, why); });
    } else {
      reservation = limiter->acquire(request, why);  // memory only
    }
    if (!reservation) {
      spdlog::warn("smtp send-limit session={} ip={} user={} level={} limit={}", c.session, c.ip,
                   log::quote(c.auth_user), policy::level_name(why.level), why.limit);
      std::string per = std::to_string(why.limit) + " messages per hour; try again later";
      switch (why.level) {
        case policy::SendLimiter::Level::Mailbox:
          co_return SmtpReply{450, "4.7.1", "Sending limit reached: " + request.mailbox + " may send " + per};
        case policy::SendLimiter::Level::Domain:
          co_return SmtpReply{450, "4.7.1",
                              "Sending limit reached: domain " + request.domain + " may send " + per};
        default:
          co_return SmtpReply{450, "4.7.1", "Sending limit reached: this server sends at most " + per};
      }
    }
    txn.send_quota = std::move(reservation);
    co_return SmtpReply{250, "2.1.0", "Ok"};
  }

  // Q7: one more recipient of an authenticated account's message, counted
  // with the message's reservation (released with it).
  asio::awaitable<SmtpReply> count_recipient(const SmtpClient& c, SmtpTransaction& txn) {
    auto* limiter = services_.send_limiter.get();
    if (limiter == nullptr) co_return SmtpReply{250, "2.1.5", "Ok"};
    policy::SendLimiter::Refusal why;
    bool counted = false;
    if (limiter->uses_redis()) {
      // A Redis round trip: on the worker pool (see reserve_send_quota).
      counted = co_await run_blocking(*services_.workers,
                                      [&] { return limiter->add_recipient(txn.send_quota, why); });
    } else {
      counted = limiter->add_recipient(txn.send_quota, why);  // memory only
    }
    if (counted) co_return SmtpReply{250, "2.1.5", "Ok"};
    spdlog::warn("smtp send-limit session={} ip={} user={} level={} limit={}", c.session, c.ip,
                 log::quote(c.auth_user), policy::level_name(why.level), why.limit);
    co_return SmtpReply{450, "4.7.1",
                        "Recipient limit reached: " + to_lower(c.auth_user) + " may send to " +
                            std::to_string(why.limit) + " recipients per hour; try again later"};
  }

  std::string with_protocol(const SmtpClient& c) const {
    // RFC 3848 "with" keywords.
    std::string p = c.esmtp ? "ESMTP" : "SMTP";
    if (c.esmtp && c.tls) p += "S";
    if (c.esmtp && !c.auth_user.empty()) p += "A";
    return p;
  }
  std::string tls_comment(const SmtpClient& c) const {
    if (!c.tls) return "";
    return "\r\n\t(using " + c.tls_version + " with cipher " + c.tls_cipher + " (" +
           std::to_string(c.tls_bits) + "/" + std::to_string(c.tls_bits) + " bits))";
  }

  Services& services_;
  std::shared_ptr<const config::Config> cfg_;
  const config::Listener& listener_;
  InboundFilter filter_;  // after cfg_ and listener_: built from them
  std::vector<Cidr> trusted_;

 private:
  struct SendOverrides {
    std::string account;
    bool ok = false;
    std::optional<uint32_t> mailbox, domain;
  };
  std::optional<SendOverrides> overrides_;  // per session: this policy lives as long as it
};

class MxPolicy : public BasePolicy {
 public:
  MxPolicy(Services& s, std::shared_ptr<const config::Config> cfg, const config::Listener& l)
      : BasePolicy(s, cfg, l), inbound_(s, cfg), screen_(s, cfg) {}

  asio::awaitable<std::optional<SmtpReply>> on_connect(const SmtpClient& c) override {
    auto refusal = co_await screen_.on_connect(c);
    co_return refusal;
  }

  asio::awaitable<SmtpReply> on_helo(const SmtpClient& c, const std::string& name) override {
    // S3: a real host name or an address literal. Trusted networks are
    // exempt, as with Postfix's permit_mynetworks first in the restrictions.
    if (!any_contains(trusted_, c.ip) && name.front() != '[' && !is_fqdn_utf8(to_lower(name))) {
      co_return SmtpReply{504, "5.5.2",
                          "<" + name + ">: Helo command rejected: need fully-qualified hostname"};
    }
    if (cfg_->smtp.reject_unresolvable_helo && name.front() != '[' && !any_contains(trusted_, c.ip)) {
      auto* resolver = services_.resolver.get();
      std::string host = to_lower(name);
      bool found = co_await run_blocking(*services_.workers, [&] {
        for (auto t : {dns::Type::A, dns::Type::AAAA, dns::Type::MX}) {
          if (resolver->query(host, t).status == dns::Answer::Status::Ok) return true;
        }
        return false;
      });
      if (!found) co_return SmtpReply{450, "4.7.1", "<" + name + ">: Helo command rejected: Host not found"};
    }
    co_return SmtpReply{};
  }

  asio::awaitable<SmtpReply> on_mail(const SmtpClient& c, const PathArgs& from,
                                     SmtpTransaction& txn) override {
    if (!any_contains(trusted_, c.ip) && !from.null_path && !from.mailbox.ip_literal &&
        !is_fqdn_utf8(from.mailbox.domain)) {
      co_return SmtpReply{
          504, "5.5.2",
          "<" + from.mailbox.str() + ">: Sender address rejected: need fully-qualified address"};
    }
    // Named, not temporaries inside the co_await: GCC 12 frees those twice.
    std::string sender = from.null_path ? std::string() : from.mailbox.str();
    SmtpReply access = co_await screen_.on_mail(c, sender);
    if (!access.ok()) co_return access;
    if (inbound_.applies(c, trusted_)) {
      SmtpReply spf = co_await inbound_.at_mail_from(c, from, txn);
      if (!spf.ok()) co_return spf;
    }
    SmtpReply quota = co_await reserve_send_quota(c, txn);
    co_return quota;
  }

  // Inbound authentication first (inbound_auth.h): DMARC reject refuses the
  // message, nothing is stored.
  asio::awaitable<SmtpReply> on_message(const SmtpClient& c, SmtpTransaction& txn,
                                        std::string message) override {
    co_await inbound_.at_end_of_data(c, txn);
    if (txn.verdict && txn.verdict->disposition == auth::Disposition::Reject) {
      co_return SmtpReply{550, "5.7.1", txn.verdict->reason};
    }
    SmtpReply r = co_await BasePolicy::on_message(c, txn, std::move(message));
    co_return r;
  }

 protected:
  SmtpReply check_recipient_syntax(const SmtpClient& c, const PathArgs& to) override {
    if (!to.postmaster_only && !to.mailbox.ip_literal && !is_fqdn_utf8(to.mailbox.domain)) {
      return SmtpReply{
          504, "5.5.2",
          "<" + to.mailbox.str() + ">: Recipient address rejected: need fully-qualified address"};
    }
    return {};
  }

  std::string build_message(const SmtpClient& c, const SmtpTransaction& txn, const std::string& message,
                            const proto::mail::HeaderBlock& header, const std::string& id) override {
    std::string received = "Received: from " + c.helo + " ([" + c.ip + "])\r\n\tby " + cfg_->hostname +
                           " (Mailfort) with " + with_protocol(c) + " id " + id + tls_comment(c);
    if (txn.rcpts.size() == 1) received += "\r\n\tfor <" + txn.rcpts.front() + ">";
    received += "; " + proto::mail::rfc5322_date(std::time(nullptr)) + "\r\n";
    return received + inbound_.stamp(txn, message);
  }

  asio::awaitable<SmtpReply> admit_local_recipient(const SmtpClient& c, const std::string& address,
                                                   const SmtpTransaction& txn) override {
    // The sender is set on the transaction after MAIL FROM was accepted.
    GreylistExemptions exempt;
    if (inbound_.applies(c, trusted_)) {
      auto hints = co_await inbound_.greylist_hints(txn);
      exempt.spf_pass_dmarc_reject = hints.spf_pass_dmarc_reject;
      exempt.dkim_verified_known_domain = hints.dkim_verified_known_domain;
    }
    auto r = co_await screen_.on_rcpt(c, txn.sender, address, exempt);
    co_return r;
  }

 private:
  InboundAuth inbound_;
  MxScreen screen_;
};

class SubmissionPolicy : public BasePolicy {
 public:
  using BasePolicy::BasePolicy;

  asio::awaitable<SmtpReply> on_helo(const SmtpClient& c, const std::string& name) override {
    co_return SmtpReply{};  // laptops say all kinds of things in HELO
  }

  asio::awaitable<SmtpReply> on_mail(const SmtpClient& c, const PathArgs& from,
                                     SmtpTransaction& txn) override {
    if (c.auth_user.empty() && !relay_permitted(c)) {
      co_return SmtpReply{530, "5.7.0", "Authentication required"};
    }
    if (from.null_path || c.auth_user.empty()) {
      SmtpReply quota = co_await reserve_send_quota(c, txn);
      co_return quota;
    }
    // S6 sender login maps: own address or an alias that points here.
    std::string sender = to_lower(from.mailbox.str());
    auto* dir = services_.directory.get();
    std::string user = c.auth_user;
    auto owned = co_await run_blocking(*services_.workers, [&] { return dir->sender_addresses(user); });
    if (!owned.ok()) co_return SmtpReply{451, "4.3.0", "Temporary lookup failure; try again later"};
    std::string local = from.mailbox.str();
    local.resize(local.size() - from.mailbox.domain.size() - 1);  // re-quoted when needed, as before
    if (owns(owned.value(), local, from.mailbox.domain)) {
      SmtpReply quota = co_await reserve_send_quota(c, txn);
      co_return quota;
    }
    spdlog::info("smtp sender-rejected session={} ip={} user={} sender={}", c.session, c.ip,
                 log::quote(c.auth_user), log::quote(sender));
    co_return SmtpReply{
        553, "5.7.1",
        "<" + from.mailbox.str() + ">: Sender address rejected: not owned by user " + c.auth_user};
  }

 protected:
  std::string build_message(const SmtpClient& c, const SmtpTransaction& txn, const std::string& message,
                            const proto::mail::HeaderBlock& header, const std::string& id) override {
    // S8: the client's Received, X-Originating-IP, X-Mailer and User-Agent
    // reveal the user's network and software; our Received omits the IP.
    std::string received = "Received: by " + cfg_->hostname + " (Mailfort) with " + with_protocol(c) +
                           " id " + id + tls_comment(c) + "; " +
                           proto::mail::rfc5322_date(std::time(nullptr)) + "\r\n";
    std::string extra;
    if (!proto::mail::has_field(header, "From") && !c.auth_user.empty() && !txn.sender.empty()) {
      // RFC 5322 3.6: From is required; the envelope sender is already
      // known to be the login's (S6). Postfix's cleanup does the same.
      extra += "From: <" + txn.sender + ">\r\n";
    }
    if (!proto::mail::has_field(header, "Date")) {
      extra += "Date: " + proto::mail::rfc5322_date(std::time(nullptr)) + "\r\n";
    }
    if (!proto::mail::has_field(header, "Message-ID")) {
      extra += "Message-ID: <" + id + "." + random_hex(6) + "@" + cfg_->hostname + ">\r\n";
    }
    return proto::mail::rewrite_header(
        message, header, {"Received", "X-Originating-IP", "X-Mailer", "User-Agent"}, received, extra);
  }
};

}  // namespace

std::unique_ptr<SmtpPolicy> make_smtp_policy(Services& services, std::shared_ptr<const config::Config> cfg,
                                             const config::Listener& listener) {
  if (listener.protocol == config::Protocol::submission) {
    return std::make_unique<SubmissionPolicy>(services, std::move(cfg), listener);
  }
  return std::make_unique<MxPolicy>(services, std::move(cfg), listener);
}

}  // namespace mailfort::smtp
