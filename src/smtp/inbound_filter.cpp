#include "smtp/inbound_filter.h"

#include <spdlog/spdlog.h>

#include <asio/post.hpp>
#include <asio/thread_pool.hpp>

#include <cctype>
#include <ctime>

#include "auth/message_auth.h"
#include "base/log.h"
#include "base/text.h"
#include "directory/directory.h"
#include "filter/filter_service.h"
#include "filter/milter_client.h"
#include "filter/spam_headers.h"
#include "proto/mail/header.h"
#include "server/blocking.h"
#include "server/services.h"

namespace mailfort::smtp {
namespace {

using server::run_blocking;

// A header field of the top-level header whose value says spam as the
// seed's global Sieve script tests it: X-Spam-Flag: YES or X-Spam: Yes.
// The script files such mail into Junk; this is the fallback when Sieve is
// off (SmtpTransaction::spam_flagged).
bool header_says_spam(std::string_view message) {
  auto block = proto::mail::parse_header_block(message);
  for (const auto& f : block.fields) {
    std::string name = to_lower(std::string(f.name));
    if (name != "x-spam-flag" && name != "x-spam") continue;
    std::string_view field = message.substr(f.begin, f.end - f.begin);
    auto colon = field.find(':');
    if (colon == std::string_view::npos) continue;
    std::string value = to_lower(std::string(field.substr(colon + 1)));
    value.erase(0, value.find_first_not_of(" \t"));
    if (value.rfind("yes", 0) == 0) return true;
  }
  return false;
}

// Our fields go on top of the header (below the Received and
// Authentication-Results the MX policy puts above them).
std::string with_fields_on_top(std::string_view fields, std::string_view message) {
  std::string out;
  out.reserve(fields.size() + message.size());
  out.append(fields);
  out.append(message);
  return out;
}

// What the worker-pool hop decided.
struct Scan {
  std::optional<SmtpReply> reply;  // a refusal, or 250 for discard
  bool junk = false;               // a milter's quarantine: Junk whatever the scripts say
  bool spam_flagged = false;       // marked as spam (the global Sieve script files it)
  std::optional<double> spam_score;
  std::optional<int> virus;  // RFC 5235 virustest: 1 = scanned, clean
  std::string message;       // the message as it will be stored
  filter::ScanRecord record;
  std::string log_reason;
};

filter::MilterInput milter_input(const SmtpClient& c, const SmtpTransaction& txn, const config::Config& cfg,
                                 std::string_view message) {
  filter::MilterInput in;
  in.client_ip = c.ip;
  in.client_hostname = "[" + c.ip + "]";
  in.helo = c.helo;
  in.sender = txn.sender;
  in.rcpts = txn.rcpts;
  in.auth_user = c.auth_user;
  in.queue_id = txn.queue_id;
  in.our_hostname = cfg.hostname;
  in.listener = c.listener;
  in.tls = c.tls;
  in.tls_version = c.tls_version;
  in.tls_cipher = c.tls_cipher;
  in.message = message;
  return in;
}

// The reply for a milter's default_action when it cannot be reached.
std::optional<SmtpReply> milter_default(const config::Milter& m) {
  if (m.default_action == "accept") return std::nullopt;
  if (m.default_action == "reject") return SmtpReply{550, "5.7.1", "Message rejected by filter"};
  return SmtpReply{451, "4.7.1", "Filter unavailable; try again later"};
}

}  // namespace

InboundFilter::InboundFilter(server::Services& services, std::shared_ptr<const config::Config> cfg,
                             const config::Listener& listener, bool mx)
    : services_(services), cfg_(std::move(cfg)), listener_(listener), mx_(mx) {}

asio::awaitable<std::optional<SmtpReply>> InboundFilter::at_end_of_data(const SmtpClient& c,
                                                                        SmtpTransaction& txn,
                                                                        std::string& message) {
  filter::FilterService* filter = services_.filter.get();
  if (!filter) co_return std::nullopt;
  auto milters = filter->milters_for(listener_);
  if (!mx_ && !filter->antivirus() && milters.empty() && !filter->engine()) co_return std::nullopt;

  auto* dir = services_.directory.get();
  const config::Config& cfg = *cfg_;
  bool mx = mx_;
  Scan scan = co_await run_blocking(*services_.workers, [&]() -> Scan {
    Scan s;
    s.record.time = std::time(nullptr);
    s.record.queue_id = txn.queue_id;
    s.record.ip = c.ip;
    s.record.sender = txn.sender;
    s.record.rcpts = txn.rcpts;
    s.record.listener = c.listener;
    s.record.action = "no action";
    // 1. A sender cannot pre-label its mail (MX; on submission the
    // user's own client may carry such fields from a forwarded message).
    s.message = mx ? filter::strip_spam_headers(message) : std::string(message);
    std::string virus_field;

    // 2. ClamAV.
    if (auto* av = filter->antivirus()) {
      filter::VirusScan v = av->scan(s.message);
      if (v.status == filter::VirusScan::Status::Infected) {
        s.record.action = "virus";
        s.record.virus = v.virus;
        s.reply = SmtpReply{554, "5.7.1", "Virus found: " + v.virus};
        s.log_reason = "virus";
        return s;
      }
      if (v.status == filter::VirusScan::Status::Error) {
        spdlog::warn("smtp virus-scan-failed session={} id={} error={}", c.session, txn.queue_id,
                     log::quote(v.error));
        if (cfg.antivirus.on_error != "accept") {
          s.record.action = "tempfail";
          s.reply = SmtpReply{451, "4.7.1", "Virus scan unavailable; try again later"};
          s.log_reason = "virus-scan-unavailable";
          return s;
        }
        virus_field = "X-Virus-Scanned: not scanned (" + v.error.substr(0, 120) + ")\r\n";
      } else {
        s.virus = 1;
        virus_field = "X-Virus-Scanned: ClamAV (Mailfort)\r\n";
      }
    }

    // 3. Milters, in config order.
    for (const auto& m : milters) {
      filter::MilterOutcome o = filter::run_milter(m, milter_input(c, txn, cfg, s.message));
      using V = filter::MilterOutcome::Verdict;
      if (o.failed) {
        spdlog::warn("smtp milter-failed session={} id={} milter={} error={} action={}", c.session,
                     txn.queue_id, log::quote(m.name), log::quote(o.error), m.default_action);
        if (auto r = milter_default(m)) {
          s.record.action = r->code >= 500 ? "milter-reject" : "tempfail";
          s.reply = r;
          s.log_reason = "milter-unavailable";
          return s;
        }
        continue;
      }
      switch (o.verdict) {
        case V::Reject:
          s.record.action = "milter-reject";
          s.reply = SmtpReply{o.code >= 500 && o.code < 600 ? o.code : 550,
                              o.enhanced.empty() ? "5.7.1" : o.enhanced,
                              o.text.empty() ? "Message rejected by filter" : o.text};
          s.log_reason = "milter-reject";
          return s;
        case V::Tempfail:
          s.record.action = "tempfail";
          s.reply = SmtpReply{o.code >= 400 && o.code < 500 ? o.code : 451,
                              o.enhanced.empty() ? "4.7.1" : o.enhanced,
                              o.text.empty() ? "Try again later" : o.text};
          s.log_reason = "milter-tempfail";
          return s;
        case V::Discard:
          s.record.action = "discard";
          s.reply = SmtpReply{250, "2.0.0", "Ok: queued as " + txn.queue_id};
          s.log_reason = "milter-discard";
          return s;
        case V::Quarantine:
          s.junk = true;
          [[fallthrough]];
        case V::Accept:
          if (!o.header_changes.empty() || o.new_body) s.message = filter::apply_milter_changes(s.message, o);
          break;
      }
    }

    // 4. The spam engine.
    std::string spam_fields;
    if (auto* engine = filter->engine()) {
      filter::ScanInput in;
      in.message = s.message;
      in.ip = c.ip;
      in.helo = c.helo;
      in.sender = txn.sender;
      in.rcpts = txn.rcpts;
      in.auth_user = c.auth_user;
      in.queue_id = txn.queue_id;
      in.mx = mx;
      in.verdict = txn.verdict ? &*txn.verdict : nullptr;
      in.is_local_domain = [dir](std::string_view domain) {
        auto r = dir->is_local_domain(to_lower(std::string(domain)));
        return r.ok() && r.value();
      };
      if (txn.mailboxes.size() == 1) in.bayes_user = txn.mailboxes.front();
      filter::ScanResult r = engine->scan(in);
      s.record.score = r.score;
      s.record.symbols = r.symbols;
      if (r.failed) {
        spdlog::warn("smtp spam-scan-failed session={} id={} engine={} error={}", c.session, txn.queue_id,
                     r.engine, log::quote(r.error));
        s.record.action = "unscanned";
      } else {
        s.record.action = std::string(filter::action_name(r.action));
        s.spam_score = r.score;
        if (mx && r.action == filter::Action::Reject) {
          s.reply =
              SmtpReply{554, "5.7.1", r.reject_reason.empty() ? "Spam message rejected" : r.reject_reason};
          s.log_reason = "spam";
          return s;
        }
        if (mx && r.action == filter::Action::SoftReject) {
          s.reply = SmtpReply{451, "4.7.1", r.reject_reason.empty() ? "Try again later" : r.reject_reason};
          s.log_reason = "spam-soft-reject";
          return s;
        }
        if (mx) {
          if (r.is_spam()) s.spam_flagged = true;
          // An engine's own removals (Rspamd's milter.remove_headers) name
          // the spam fields already stripped above.
          if (r.engine == "builtin" || r.add_headers.empty()) {
            spam_fields = filter::spam_header_fields(r);
          }
          for (const auto& [name, value] : r.add_headers) spam_fields += name + ": " + value + "\r\n";
        }
      }
    }
    if (!spam_fields.empty() || !virus_field.empty())
      s.message = with_fields_on_top(spam_fields + virus_field, s.message);
    // 5. Spam-flagged mail (ours or a milter's): the global Sieve script
    // (spam-global.sieve, `mailfort init`) files it into Junk.
    if (header_says_spam(s.message)) s.spam_flagged = true;
    return s;
  });

  // One line per scan (the history has the symbols): submission spam from
  // a stolen account shows here even though it is never refused by score.
  spdlog::info("smtp scanned session={} id={} listener={} score={:.2f} action={} symbols={} junk={}",
               c.session, txn.queue_id, c.listener, scan.record.score, log::quote(scan.record.action),
               scan.record.symbols.size(), scan.junk || scan.spam_flagged ? "yes" : "no");
  if (auto* history = filter->history()) {
    auto* h = history;
    filter::ScanRecord record = std::move(scan.record);
    // Not awaited: the history write must not hold the reply.
    asio::post(*services_.workers, [h, record = std::move(record)] {
      if (auto r = h->record(record); !r)
        spdlog::warn("spam history-write-failed error={}", log::quote(r.error().message));
    });
  }
  if (scan.reply) {
    spdlog::info("smtp filtered session={} id={} listener={} reason={} reply={}", c.session, txn.queue_id,
                 c.listener, scan.log_reason, scan.reply->code);
    co_return scan.reply;
  }
  message = std::move(scan.message);
  txn.junk = txn.junk || scan.junk;
  txn.spam_flagged = txn.spam_flagged || scan.spam_flagged;
  txn.spam_score = scan.spam_score;
  txn.virus = scan.virus;
  co_return std::nullopt;
}

}  // namespace mailfort::smtp
