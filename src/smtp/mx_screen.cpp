// The postscreen checks of one MX session: see mx_screen.h.
#include "smtp/mx_screen.h"

#include <spdlog/spdlog.h>
#include <asio/co_spawn.hpp>
#include <asio/detached.hpp>
#include <asio/experimental/as_tuple.hpp>
#include <asio/steady_timer.hpp>
#include <asio/this_coro.hpp>
#include <asio/use_awaitable.hpp>

#include <ctime>

#include "base/log.h"
#include "base/text.h"
#include "directory/directory.h"
#include "postscreen/postscreen.h"
#include "server/blocking.h"
#include "server/services.h"

namespace mailfort::smtp {
namespace {

using postscreen::DnsblAnswer;
using server::run_blocking;

std::string join(const std::vector<std::string>& v, const char* sep) {
  std::string out;
  for (const auto& s : v) out += (out.empty() ? "" : sep) + s;
  return out;
}

// The answers of one client's DNSBL lookups, filled as they come back; the
// lookups outlive a session that stopped waiting for them.
struct DnsblRound {
  explicit DnsblRound(asio::any_io_executor ex, std::size_t n) : answers(n), pending(n), timer(ex) {}
  std::vector<std::optional<DnsblAnswer>> answers;
  std::size_t pending;
  asio::steady_timer timer;
};

}  // namespace

MxScreen::MxScreen(server::Services& services, std::shared_ptr<const config::Config> cfg)
    : services_(services), cfg_(std::move(cfg)) {
  for (const auto& n : cfg_->smtp.trusted_networks)
    if (auto c = Cidr::parse(n)) trusted_.push_back(*c);
}

bool MxScreen::exempt(const SmtpClient& c) const {
  return !c.auth_user.empty() || any_contains(trusted_, c.ip);
}

asio::awaitable<std::optional<SmtpReply>> MxScreen::on_connect(const SmtpClient& c) {
  auto screen = services_.postscreen;
  if (!screen || any_contains(trusted_, c.ip)) co_return std::nullopt;
  const auto& in = cfg_->inbound;

  // The access list, read on every connection so CLI changes apply at once.
  auto* dir = services_.directory.get();
  auto entries = co_await run_blocking(*services_.workers, [&] { return dir->list_access(); });
  if (!entries) {
    spdlog::warn("postscreen access-unavailable session={} ip={} error={}", c.session, c.ip,
                 log::quote(entries.error().message));
  } else if (auto action = directory::match_client_access(entries.value(), c.ip)) {
    spdlog::info("postscreen access session={} ip={} action={}", c.session, c.ip,
                 directory::access_action_name(*action));
    if (*action == directory::AccessAction::Reject) {
      co_return SmtpReply{554, "5.7.1", "Client host [" + c.ip + "] rejected: Access denied"};
    }
    client_permitted_ = true;
    co_return std::nullopt;
  }

  auto sites = postscreen::parse_dnsbl_sites(in.dnsbl);
  if (!sites.empty()) {
    auto ex = co_await asio::this_coro::executor;
    auto round = std::make_shared<DnsblRound>(ex, sites.size());
    round->timer.expires_after(std::chrono::seconds(in.dnsbl_timeout_seconds));
    auto* pool = services_.workers;
    for (std::size_t i = 0; i < sites.size(); ++i) {
      asio::co_spawn(
          ex,
          [round, screen, pool, i, domain = sites[i].domain, ip = c.ip]() -> asio::awaitable<void> {
            auto answer = co_await run_blocking(*pool, [&] { return screen->dnsbl().lookup(domain, ip); });
            round->answers[i] = std::move(answer);
            if (--round->pending == 0) round->timer.cancel();
          },
          asio::detached);
    }
    // The lookups complete on this executor, so none can finish between
    // this check and the wait.
    if (round->pending > 0)
      co_await round->timer.async_wait(asio::experimental::as_tuple(asio::use_awaitable));
    for (std::size_t i = 0; i < sites.size(); ++i) {
      const auto& a = round->answers[i];
      if (!a || a->status == DnsblAnswer::Status::Failed) {
        spdlog::info("postscreen dnsbl-unanswered session={} ip={} list={} why={}", c.session, c.ip,
                     sites[i].domain, a ? "failed" : "timeout");
      }
    }
    auto score = postscreen::score_dnsbl(sites, round->answers);
    bool drop = score.score >= static_cast<int>(in.dnsbl_threshold);
    auto level = drop || score.score != 0 ? spdlog::level::info : spdlog::level::debug;
    spdlog::log(level, "postscreen dnsbl session={} ip={} score={} threshold={} lists={} action={}",
                c.session, c.ip, score.score, in.dnsbl_threshold, log::quote(join(score.listed_by, ",")),
                drop ? "drop" : "pass");
    if (drop) {
      co_return SmtpReply{
          554, "5.7.1",
          "Service unavailable; client [" + c.ip + "] blocked using " + join(score.listed_by, ", ")};
    }
  }

  if (in.require_fcrdns) {
    bool excepted = false;
    for (const auto& n : in.fcrdns_exceptions)
      if (auto net = Cidr::parse(n); net && net->contains(c.ip)) excepted = true;
    if (!excepted) {
      auto result = co_await run_blocking(*services_.workers,
                                          [&] { return postscreen::check_fcrdns(screen->resolver(), c.ip); });
      using S = postscreen::FcrdnsResult::Status;
      const char* what = result.status == S::Confirmed      ? "confirmed"
                         : result.status == S::NotConfirmed ? "not-confirmed"
                                                            : "temp-failure";
      spdlog::info("postscreen fcrdns session={} ip={} result={} name={}", c.session, c.ip, what,
                   log::quote(result.name));
      if (result.status != S::Confirmed) {
        co_return SmtpReply{450, "4.7.25", "Client host rejected: cannot find your hostname, [" + c.ip + "]"};
      }
    }
  }
  co_return std::nullopt;
}

asio::awaitable<SmtpReply> MxScreen::on_mail(const SmtpClient& c, const std::string& sender) {
  sender_permitted_ = false;
  if (!services_.postscreen || any_contains(trusted_, c.ip) || sender.empty()) co_return SmtpReply{};
  auto* dir = services_.directory.get();
  auto entries = co_await run_blocking(*services_.workers, [&] { return dir->list_access(); });
  if (!entries) {
    spdlog::warn("postscreen access-unavailable session={} ip={} error={}", c.session, c.ip,
                 log::quote(entries.error().message));
    co_return SmtpReply{};
  }
  auto action = directory::match_sender_access(entries.value(), sender);
  if (!action) co_return SmtpReply{};
  spdlog::info("postscreen sender-access session={} ip={} sender={} action={}", c.session, c.ip,
               log::quote(sender), directory::access_action_name(*action));
  if (*action == directory::AccessAction::Reject) {
    co_return SmtpReply{554, "5.7.1", "<" + sender + ">: Sender address rejected: Access denied"};
  }
  sender_permitted_ = true;
  co_return SmtpReply{};
}

asio::awaitable<SmtpReply> MxScreen::on_rcpt(const SmtpClient& c, const std::string& sender,
                                             const std::string& rcpt, const GreylistExemptions& exempt_by) {
  auto screen = services_.postscreen;
  if (!screen || !cfg_->inbound.greylisting || exempt(c) || client_permitted_ || sender_permitted_ ||
      exempt_by.spf_pass_dmarc_reject || exempt_by.dkim_verified_known_domain) {
    co_return SmtpReply{};
  }
  std::string network = postscreen::greylist_network(c.ip);
  std::string from = to_lower(sender);
  std::string to = to_lower(rcpt);
  auto settings = postscreen::greylist_settings(cfg_->inbound);
  auto verdict = co_await run_blocking(*services_.workers, [&] {
    return screen->greylist().check(network, from, to, settings, static_cast<int64_t>(std::time(nullptr)));
  });
  if (!verdict) {
    // A broken greylist database must not stop mail: let it through.
    spdlog::warn("postscreen greylist-unavailable session={} ip={} error={}", c.session, c.ip,
                 log::quote(verdict.error().message));
    co_return SmtpReply{};
  }
  bool defer = verdict->kind == postscreen::GreylistVerdict::Kind::Defer;
  spdlog::info("postscreen greylist session={} ip={} network={} sender={} rcpt={} action={} reason={}",
               c.session, c.ip, network, log::quote(from), log::quote(to), defer ? "defer" : "pass",
               verdict->reason);
  if (defer) co_return SmtpReply{451, "4.7.1", "Greylisted, please try again later"};
  co_return SmtpReply{};
}

}  // namespace mailfort::smtp
