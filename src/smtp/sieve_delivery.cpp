#include "smtp/sieve_delivery.h"

#include <spdlog/spdlog.h>
#include <sys/random.h>
#include <unistd.h>

#include <algorithm>
#include <ctime>

#include "auth/srs.h"
#include "base/log.h"
#include "base/text.h"
#include "directory/directory.h"
#include "proto/mail/header.h"
#include "queue/queue.h"
#include "server/services.h"
#include "sieve/sieve_service.h"
#include "sieve/vacation.h"
#include "smtp/smtp_forwarding.h"
#include "store/mail_store.h"
#include "store/mailbox.h"

namespace mailfort::smtp {
namespace {

using server::Services;

constexpr std::size_t kMaxReasonInReply = 400;  // the 550 text of a reject

std::string random_token(std::size_t bytes) {
  std::string raw(bytes, '\0');
  if (getrandom(raw.data(), raw.size(), 0) != static_cast<ssize_t>(raw.size())) raw.assign(bytes, '\x5a');
  static const char* hex = "0123456789abcdef";
  std::string out;
  for (unsigned char ch : raw) {
    out.push_back(hex[ch >> 4]);
    out.push_back(hex[ch & 15]);
  }
  return out;
}

std::string domain_of(std::string_view address) {
  auto at = address.rfind('@');
  return at == std::string_view::npos ? std::string() : to_lower(address.substr(at + 1));
}

// Text from a script on one SMTP reply line: printable ASCII, bounded.
std::string reply_text(std::string_view s) {
  std::string out;
  for (unsigned char ch : s) {
    if (out.size() >= kMaxReasonInReply) break;
    out += (ch >= 0x20 && ch < 0x7f) ? static_cast<char>(ch) : ' ';
  }
  out.erase(0, out.find_first_not_of(' '));
  while (!out.empty() && out.back() == ' ') out.pop_back();
  return out.empty() ? "Message rejected by the recipient's filter" : out;
}

int local_zone_minutes(int64_t now) {
  time_t t = static_cast<time_t>(now);
  struct tm tm {};
  localtime_r(&t, &tm);
  return static_cast<int>(tm.tm_gmtoff / 60);
}

// A keep (explicit or implicit) that the fast path can store: INBOX, no
// flags, the message unedited.
bool plain_keep(const std::vector<std::string>& flags, const std::shared_ptr<const std::string>& edited) {
  return flags.empty() && !edited;
}

bool only_plain_keep(const sieve::Outcome& o) {
  if (!o.actions.empty()) {
    if (o.actions.size() != 1) return false;
    const auto& a = o.actions.front();
    if (a.kind != sieve::Action::Kind::Keep || !plain_keep(a.flags, a.message)) return false;
  }
  if (o.implicit_keep && !plain_keep(o.implicit_keep_flags, o.final_message)) return false;
  return o.implicit_keep || !o.actions.empty();
}

class DeliveryHost : public sieve::Host {
 public:
  DeliveryHost(Services& s, std::string user, int64_t now) : s_(s), user_(std::move(user)), now_(now) {}

  bool mailbox_exists(const std::string& folder) override {
    if (iequals(folder, "INBOX")) return true;
    if (!loaded_) {
      loaded_ = true;
      if (auto box = s_.mailboxes->open(user_)) {
        if (auto f = box.value()->folders())
          for (auto& st : f.value()) names_.push_back(st.name);
      }
    }
    return std::find(names_.begin(), names_.end(), folder) != names_.end();
  }
  bool duplicate_seen(const std::string& id, uint64_t seconds) override {
    auto* st = s_.sieve->state();
    if (!st) return false;
    auto r = st->duplicate_seen(user_, id, seconds, now_);
    return r.ok() && r.value();
  }
  std::variant<std::shared_ptr<const sieve::CompiledScript>, std::string> load_include(
      const std::string& name, bool global) override {
    return s_.sieve->load_include(user_, name, global);
  }

 private:
  Services& s_;
  std::string user_;
  int64_t now_;
  bool loaded_ = false;
  std::vector<std::string> names_;
};

std::size_t count_fields(std::string_view message, std::string_view name) {
  auto hb = proto::mail::parse_header_block(message);
  return static_cast<std::size_t>(
      std::count_if(hb.fields.begin(), hb.fields.end(), [&](auto& f) { return iequals(f.name, name); }));
}

bool has_field_value(std::string_view message, std::string_view name, std::string_view value) {
  auto hb = proto::mail::parse_header_block(message);
  for (auto& f : hb.fields) {
    if (!iequals(f.name, name)) continue;
    std::string_view field = message.substr(f.begin, f.end - f.begin);
    if (to_lower(field).find(to_lower(value)) != std::string::npos) return true;
  }
  return false;
}

}  // namespace

void sieve_flags(const std::vector<std::string>& in, uint32_t& flags, std::vector<std::string>& keywords) {
  for (const auto& f : in) {
    if (f.empty()) continue;
    if (f[0] == '\\') {
      std::string l = to_lower(f);
      if (l == "\\seen")
        flags |= store::kSeen;
      else if (l == "\\answered")
        flags |= store::kAnswered;
      else if (l == "\\flagged")
        flags |= store::kFlagged;
      else if (l == "\\deleted")
        flags |= store::kDeleted;
      else if (l == "\\draft")
        flags |= store::kDraft;
      continue;  // \Recent and unknown system flags cannot be set
    }
    // IMAP atom (RFC 3501 9): no specials, controls, spaces or 8-bit.
    bool atom =
        f.size() <= 128 && std::all_of(f.begin(), f.end(), [](unsigned char ch) {
          return ch > 0x20 && ch < 0x7f && std::string_view("(){%*\"\\]").find(ch) == std::string_view::npos;
        });
    if (atom && std::find(keywords.begin(), keywords.end(), f) == keywords.end()) keywords.push_back(f);
  }
}

bool sieve_applies(const Services& services) {
  return services.sieve && services.sieve->enabled();
}

SievePlan plan_sieve(Services& services, const config::Config& cfg, const SmtpClient& c,
                     const SmtpTransaction& txn, const std::string& id, const std::string& message) {
  SievePlan plan;
  auto& svc = *services.sieve;
  const int64_t now = std::time(nullptr);
  const sieve::Limits limits = svc.limits();
  for (const auto& mb : txn.mailboxes) {
    auto chain = svc.chain_for(mb);
    if (chain.empty()) {
      plan.inbox.push_back(mb);
      continue;
    }
    sieve::MessageInput in;
    in.message = message;
    in.envelope_from = txn.sender;
    auto rcpt = txn.rcpt_of.find(mb);
    in.envelope_to = rcpt != txn.rcpt_of.end() ? rcpt->second : mb;
    in.envelope_auth = c.auth_user;
    in.user = mb;
    in.spam_score = txn.spam_score;
    in.spam_threshold = cfg.spam.add_header_score;
    in.spam_max = cfg.spam.reject_score;
    in.virus = txn.virus;
    in.environment = {{"domain", domain_of(mb)}, {"host", cfg.hostname}, {"location", "MDA"},
                      {"name", "Mailfort"},      {"phase", "during"},    {"remote-host", c.helo},
                      {"remote-ip", c.ip},       {"version", "0.1.0"}};
    in.now = now;
    in.local_zone_minutes = local_zone_minutes(now);
    DeliveryHost host(services, mb, now);
    sieve::Outcome out = sieve::run(chain, in, host, limits);
    for (const auto& e : out.errors)
      spdlog::warn("sieve runtime-error id={} mailbox={} error={}", id, log::quote(mb), log::quote(e));
    if (only_plain_keep(out) && out.duplicate_marks.empty()) {
      plan.inbox.push_back(mb);
      continue;
    }
    plan.boxes.push_back({mb, in.envelope_to, std::move(out)});
  }
  // RFC 5429 2.1: refuse at SMTP time when the refusal concerns the only
  // recipient; otherwise (others accept it) an MDN goes back instead.
  if (txn.mailboxes.size() == 1 && txn.forwards.empty() && plan.boxes.size() == 1) {
    for (const auto& a : plan.boxes.front().outcome.actions) {
      if (a.kind == sieve::Action::Kind::Reject || a.kind == sieve::Action::Kind::EReject) {
        plan.reject = SmtpReply{550, "5.7.1", reply_text(a.reason)};
        break;
      }
    }
  }
  return plan;
}

std::string make_reject_mdn(const std::string& user, const std::string& to, const std::string& reason,
                            std::string_view original, const std::string& hostname, const std::string& unique,
                            int64_t now) {
  std::string boundary = "mailfort-mdn-" + unique;
  auto hb = proto::mail::parse_header_block(original);
  std::string headers(original.substr(0, std::min<std::size_t>(hb.body_offset, 64 * 1024)));
  std::string orig_subject;
  for (auto& f : hb.fields)
    if (iequals(f.name, "Subject")) {
      std::string_view v = original.substr(f.begin + f.name.size() + 1, f.end - f.begin - f.name.size() - 1);
      for (char ch : v)
        if (ch != '\r' && ch != '\n') orig_subject += ch;
      break;
    }
  orig_subject.erase(0, orig_subject.find_first_not_of(" \t"));
  if (orig_subject.size() > 200) orig_subject.resize(200);
  std::string body = reason;
  std::string out;
  out += "From: <" + user + ">\r\n";
  out += "To: <" + to + ">\r\n";
  out += "Subject: Automatically rejected mail" + (orig_subject.empty() ? "" : ": " + orig_subject) + "\r\n";
  out += "Date: " + proto::mail::rfc5322_date(static_cast<long>(now)) + "\r\n";
  out += "Message-ID: <" + unique + "@" + hostname + ">\r\n";
  out += "Auto-Submitted: auto-replied (rejected)\r\n";
  out += "MIME-Version: 1.0\r\n";
  out += "Content-Type: multipart/report; report-type=disposition-notification;\r\n boundary=\"" + boundary +
         "\"\r\n\r\n";
  out += "This is a MIME-encapsulated message.\r\n\r\n";
  out += "--" + boundary + "\r\n";
  out += "Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n";
  out += "Your message to <" + user + "> was automatically rejected:\r\n\r\n";
  for (std::size_t i = 0; i < body.size(); ++i) {
    if (body[i] == '\n' && (i == 0 || body[i - 1] != '\r')) out += '\r';
    out += body[i];
  }
  out += "\r\n\r\n--" + boundary + "\r\n";
  out += "Content-Type: message/disposition-notification\r\n\r\n";
  out += "Reporting-UA: " + hostname + "; Mailfort Sieve\r\n";
  out += "Final-Recipient: rfc822; " + user + "\r\n";
  std::string orig_id;
  for (auto& f : hb.fields)
    if (iequals(f.name, "Message-ID")) {
      std::string_view v = original.substr(f.begin + f.name.size() + 1, f.end - f.begin - f.name.size() - 1);
      for (char ch : v)
        if (ch != '\r' && ch != '\n' && ch != ' ' && ch != '\t') orig_id += ch;
      break;
    }
  if (!orig_id.empty() && orig_id.size() < 998) out += "Original-Message-ID: " + orig_id + "\r\n";
  out += "Disposition: automatic-action/MDN-sent-automatically; deleted\r\n";
  out += "\r\n--" + boundary + "\r\n";
  out += "Content-Type: text/rfc822-headers\r\n\r\n";
  out += headers;
  out += "\r\n--" + boundary + "--\r\n";
  return out;
}

Result<SieveExecution> execute_sieve(Services& services, const config::Config& cfg, const SmtpClient& c,
                                     const SmtpTransaction& txn, const std::string& id,
                                     const std::string& message, const SievePlan& plan,
                                     bool sender_is_outside) {
  SieveExecution ex;
  auto& queue = *services.queue;
  const int64_t now = std::time(nullptr);
  uint32_t redirects = 0;
  auto fail = [&](Error e) -> Result<SieveExecution> {
    for (auto& st : ex.steps) ::unlink(st.from.c_str());
    return e;
  };
  auto enqueue = [&](const std::string& sender, const std::string& rcpt, const std::string& auth_user,
                     std::string_view msg) -> Result<void> {
    queue::Envelope env;
    env.id = random_token(8);
    env.sender = sender;
    env.smtputf8 = txn.smtputf8;
    env.eight_bit = true;
    env.authenticated_user = auth_user;
    env.arrival = now;
    env.recipients.push_back({rcpt, queue::Recipient::State::Pending, 0, ""});
    auto q = queue.prepare(env, msg);
    if (!q) return q.error();
    ex.steps.push_back(std::move(q.value()));
    ex.queue_ids.push_back(env.id);
    return {};
  };

  for (const auto& box : plan.boxes) {
    const std::string& mb = box.mailbox;
    const auto& out = box.outcome;
    std::vector<std::string> log_actions;
    std::shared_ptr<store::UserMailbox> user_box;
    auto open_box = [&]() -> Result<store::UserMailbox*> {
      if (!user_box) {
        auto b = services.mailboxes->open(mb);
        if (!b) return b.error();
        user_box = b.value();
      }
      return user_box.get();
    };
    bool inbox_plain_done = false;
    bool appended = false;
    // Stores one copy: the fast path for a plain INBOX keep, else an append.
    auto store_copy = [&](std::string folder, const std::vector<std::string>& flags, bool create,
                          const std::shared_ptr<const std::string>& edited,
                          bool is_fileinto) -> Result<void> {
      if (iequals(folder, "INBOX")) folder = "INBOX";
      if (folder == "INBOX" && plain_keep(flags, edited)) {
        if (!inbox_plain_done) ex.inbox.push_back(mb);
        inbox_plain_done = true;
        return {};
      }
      auto b = open_box();
      if (!b) return b.error();
      uint32_t bits = 0;
      std::vector<std::string> keywords;
      sieve_flags(flags, bits, keywords);
      std::string_view msg = edited ? std::string_view(*edited) : std::string_view(message);
      auto r = b.value()->append(folder, msg, bits, keywords, now);
      if (!r && r.error().code == Errc::NotFound && folder != "INBOX") {
        if (create) {
          auto made = b.value()->create(folder);
          if (!made && made.error().code != Errc::Exists) {
            spdlog::warn("sieve fileinto-create-failed id={} mailbox={} folder={} error={}", id,
                         log::quote(mb), log::quote(folder), log::quote(made.error().message));
          } else {
            r = b.value()->append(folder, msg, bits, keywords, now);
          }
        }
        if (!r && r.error().code == Errc::NotFound) {
          spdlog::info("sieve fileinto-missing id={} mailbox={} folder={}", id, log::quote(mb),
                       log::quote(folder));
          r = b.value()->append("INBOX", msg, bits, keywords, now);
        }
      } else if (!r && is_fileinto && r.error().code == Errc::Perm) {
        // A name the store refuses: the message still arrives.
        spdlog::info("sieve fileinto-refused id={} mailbox={} folder={} error={}", id, log::quote(mb),
                     log::quote(folder), log::quote(r.error().message));
        r = b.value()->append("INBOX", msg, bits, keywords, now);
      }
      if (!r) return r.error();
      appended = true;
      return {};
    };

    for (const auto& a : out.actions) {
      using K = sieve::Action::Kind;
      switch (a.kind) {
        case K::Keep:
          if (auto r = store_copy("INBOX", a.flags, false, a.message, false); !r) return fail(r.error());
          log_actions.push_back("keep");
          break;
        case K::FileInto:
          if (auto r = store_copy(a.folder, a.flags, a.create, a.message, true); !r) return fail(r.error());
          log_actions.push_back("fileinto:" + a.folder);
          break;
        case K::Discard:
          log_actions.push_back("discard");
          break;
        case K::Redirect: {
          std::string_view msg = a.message ? std::string_view(*a.message) : std::string_view(message);
          bool loop = count_fields(msg, "Received") > cfg.sieve.max_received_headers ||
                      has_field_value(msg, "X-Sieve-Redirected-From", mb);
          if (loop || redirects >= cfg.sieve.max_redirects) {
            spdlog::warn("sieve redirect-refused id={} mailbox={} to={} reason={}", id, log::quote(mb),
                         log::quote(a.address), loop ? "loop" : "too-many");
            // The message is kept rather than lost.
            if (auto r = store_copy("INBOX", {}, false, nullptr, false); !r) return fail(r.error());
            log_actions.push_back("keep(redirect-refused)");
            break;
          }
          ++redirects;
          std::string sender = txn.sender;
          std::string domain = domain_of(mb);
          if (!sender.empty() && sender_is_outside && services.srs)
            sender = services.srs->forward(sender, domain, now);
          std::string marked = "X-Sieve-Redirected-From: <" + mb + ">\r\n" + std::string(msg);
          std::string sealed =
              txn.verdict ? arc_set(cfg.data_dir, domain, *txn.verdict, cfg.authserv_id(), marked, now)
                          : std::string();
          if (auto r = enqueue(sender, a.address, "", sealed + marked); !r) return fail(r.error());
          log_actions.push_back("redirect:" + a.address);
          break;
        }
        case K::Reject:
        case K::EReject: {
          if (txn.sender.empty()) {
            log_actions.push_back("reject(no-mdn-to-null-sender)");
            break;
          }
          std::string mdn =
              make_reject_mdn(mb, txn.sender, a.reason, message, cfg.hostname, random_token(12), now);
          if (auto r = enqueue("", txn.sender, mb, mdn); !r) return fail(r.error());
          log_actions.push_back("reject");
          break;
        }
        case K::Vacation: {
          sieve::VacationContext ctx{txn.sender, {mb, box.rcpt}};
          // The aliases that deliver to the user count as its addresses
          // (RFC 5230 4.5); a catch-all ("@domain") is too broad to count.
          if (auto owned = services.directory->sender_addresses(mb))
            for (auto& a2 : owned.value())
              if (!a2.empty() && a2[0] != '@') ctx.user_addresses.push_back(a2);
          auto d = sieve::should_reply(message, ctx, a.vacation);
          if (!d.reply) {
            spdlog::info("sieve vacation-skipped id={} mailbox={} reason={}", id, log::quote(mb),
                         log::quote(d.skipped));
            log_actions.push_back("vacation(skipped)");
            break;
          }
          auto* st = services.sieve->state();
          if (!st) {
            log_actions.push_back("vacation(no-state)");
            break;
          }
          auto claimed =
              st->vacation_claim(mb, a.vacation.handle, txn.sender, a.vacation.period_seconds, now);
          if (!claimed) {
            spdlog::warn("sieve vacation-state-failed id={} mailbox={} error={}", id, log::quote(mb),
                         log::quote(claimed.error().message));
            log_actions.push_back("vacation(state-error)");
            break;
          }
          if (!claimed.value()) {
            log_actions.push_back("vacation(already-replied)");
            break;
          }
          sieve::ReplyParams p{mb, txn.sender, cfg.hostname, random_token(12), now};
          std::string reply = sieve::compose_reply(message, a.vacation, p);
          if (auto r = enqueue("", txn.sender, mb, reply); !r) return fail(r.error());
          log_actions.push_back("vacation");
          break;
        }
      }
    }
    if (out.implicit_keep) {
      if (auto r = store_copy("INBOX", out.implicit_keep_flags, false, out.final_message, false); !r)
        return fail(r.error());
      log_actions.push_back("implicit-keep");
    }
    for (const auto& m : out.duplicate_marks) ex.marks.push_back({mb, m});
    if (appended) services.mailboxes->delivered(mb);
    std::string joined;
    for (const auto& s : log_actions) joined += (joined.empty() ? "" : ",") + s;
    spdlog::info("sieve delivered session={} id={} mailbox={} actions={}", c.session, id, log::quote(mb),
                 log::quote(joined.empty() ? "none" : joined));
  }
  return ex;
}

void sieve_committed(Services& services, const SieveExecution& ex) {
  if (auto* st = services.sieve ? services.sieve->state() : nullptr) {
    int64_t now = std::time(nullptr);
    for (const auto& m : ex.marks)
      if (auto r = st->duplicate_mark(m.user, m.mark.id, m.mark.seconds, now); !r)
        spdlog::warn("sieve duplicate-mark-failed mailbox={} error={}", log::quote(m.user),
                     log::quote(r.error().message));
  }
  for (const auto& qid : ex.queue_ids) services.queue->notify(qid);
}

}  // namespace mailfort::smtp
