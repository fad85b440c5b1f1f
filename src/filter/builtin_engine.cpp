// The built-in scorer: each check adds symbols, their weights are summed
// and compared with the thresholds. Bounded by construction: the message
// view reads at most [spam] max_scan_size bytes, URL extraction and the
// URL blocklist cap their counts, the tokenizer caps its tokens. A check
// that throws (a bug, an allocation failure) is logged and skipped: one
// bad check must not stop mail.
#include "filter/builtin_engine.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <exception>

#include "filter/bayes.h"
#include "filter/message_view.h"
#include "filter/rules.h"
#include "filter/tokenizer.h"
#include "filter/uribl.h"
#include "filter/url_extract.h"

namespace mailfort::filter {
namespace {

constexpr std::size_t kMaxUrls = 2000;  // handed to rules and the blocklist
constexpr double kUriblWeight = 4.0;

template <typename F>
void guarded(const char* check, F&& f) {
  try {
    f();
  } catch (const std::exception& e) {
    spdlog::warn("spam check-failed check={} error={}", check, e.what());
  } catch (...) {
    spdlog::warn("spam check-failed check={}", check);
  }
}

std::string percent(double p) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.2f%%", p * 100);
  return buf;
}

// Bayes' vote: spam from 0.9 (2 points, up to 7 at 1.0), ham up to 0.1
// (-1, down to -4 at 0.0); nothing in between.
void add_bayes(double p, std::vector<Symbol>& out) {
  if (!std::isfinite(p)) return;
  if (p >= 0.9)
    out.push_back(Symbol{"BAYES_SPAM", 2 + 5 * (std::min(p, 1.0) - 0.9) / 0.1, {percent(p)}});
  else if (p <= 0.1)
    out.push_back(Symbol{"BAYES_HAM", -(1 + 3 * (0.1 - std::max(p, 0.0)) / 0.1), {percent(p)}});
}

// One symbol per name: a name twice (a local rule named like a built-in
// check) keeps the first score and gathers the options.
void merge_duplicates(std::vector<Symbol>& symbols) {
  std::stable_sort(symbols.begin(), symbols.end(),
                   [](const Symbol& a, const Symbol& b) { return a.name < b.name; });
  std::vector<Symbol> out;
  for (auto& s : symbols) {
    if (!out.empty() && out.back().name == s.name) {
      for (auto& o : s.options) out.back().options.push_back(std::move(o));
      continue;
    }
    out.push_back(std::move(s));
  }
  symbols = std::move(out);
}

}  // namespace

BuiltinEngine::BuiltinEngine(const config::Spam& cfg, BuiltinParts parts)
    : cfg_(cfg), parts_(std::move(parts)) {}

ScanResult BuiltinEngine::scan(const ScanInput& in) {
  ScanResult r;
  r.engine = "builtin";
  r.required_score = cfg_.add_header_score;
  r.reject_score = cfg_.reject_score;

  ViewLimits limits;
  limits.max_bytes = cfg_.max_scan_size;
  MessageView view(in.message, limits);
  std::time_t now = parts_.clock ? parts_.clock() : std::time(nullptr);

  std::string gtube;
  guarded("gtube", [&] { gtube = check_gtube(view); });
  if (!gtube.empty()) r.symbols.push_back(Symbol{"GTUBE", 0, {}});
  guarded("auth", [&] { check_auth(in, r.symbols); });
  guarded("ip-listings", [&] {
    if (parts_.ip_listings && !in.ip.empty()) check_ip_listings(parts_.ip_listings(in.ip), r.symbols);
  });
  guarded("headers", [&] { check_headers(view, in, now, r.symbols); });
  guarded("mime", [&] { check_mime(view, r.symbols); });

  std::vector<Url> urls;
  if (parts_.rules || parts_.uribl) {
    guarded("urls", [&] {
      urls = extract_urls(view.all_text());
      for (const auto& t : view.text_parts()) {
        if (t.html.empty() || urls.size() >= kMaxUrls) continue;
        auto more = extract_html_urls(t.html);
        urls.insert(urls.end(), more.begin(), more.end());
      }
      if (urls.size() > kMaxUrls) urls.resize(kMaxUrls);
    });
  }
  if (parts_.rules)
    guarded("rules", [&] {
      auto hits = parts_.rules->match(view, urls);
      r.symbols.insert(r.symbols.end(), hits.begin(), hits.end());
    });
  if (parts_.uribl)
    guarded("uribl", [&] {
      auto hits = parts_.uribl->check(urls, std::chrono::seconds(cfg_.timeout_seconds));
      std::vector<Symbol> zones;
      for (const auto& h : hits) {
        std::string name = uribl_symbol(h.zone);
        auto same = std::find_if(zones.begin(), zones.end(), [&](const Symbol& s) { return s.name == name; });
        if (same == zones.end())
          zones.push_back(Symbol{name, kUriblWeight, {h.name}});
        else if (std::find(same->options.begin(), same->options.end(), h.name) == same->options.end())
          same->options.push_back(h.name);
      }
      r.symbols.insert(r.symbols.end(), zones.begin(), zones.end());
    });
  if (parts_.bayes)
    guarded("bayes", [&] {
      auto p = parts_.bayes->classify(tokenize(view), in.bayes_user);
      if (!p) {
        spdlog::warn("spam bayes-failed error={}", p.error().message);
        return;
      }
      if (p.value()) add_bayes(*p.value(), r.symbols);
    });

  merge_duplicates(r.symbols);
  for (const auto& s : r.symbols)
    if (std::isfinite(s.score)) r.score += s.score;
  r.score = std::round(r.score * 100) / 100;  // what the headers show is what was compared

  if (!gtube.empty()) {
    r.action = Action::Reject;
    r.reject_reason = gtube;
  } else if (r.score >= cfg_.reject_score) {
    r.action = Action::Reject;
    r.reject_reason = "Spam message rejected";
  } else if (r.score >= cfg_.add_header_score) {
    r.action = Action::AddHeader;
  }
  return r;
}

// Learning goes through the same view and tokenizer as scanning, so a
// learned message and its later scan produce the same tokens.
Result<LearnOutcome> BuiltinEngine::learn(std::string_view message, bool spam, const std::string& user) {
  if (!parts_.bayes) return Error{Errc::Invalid, "Bayes is off ([spam] bayes = false) or unavailable"};
  ViewLimits limits;
  limits.max_bytes = cfg_.max_scan_size;
  MessageView view(message, limits);
  return parts_.bayes->learn(tokenize(view), spam, user);
}

}  // namespace mailfort::filter
