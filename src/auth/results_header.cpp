#include "auth/results_header.h"

#include <cctype>
#include <vector>

#include "proto/dmarc/auth_results.h"
#include "proto/mail/header.h"

namespace mailfort::auth {
namespace {

bool iequal(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(a[i])) != std::tolower(static_cast<unsigned char>(b[i])))
      return false;
  }
  return true;
}

// A pvalue as written: bare when it is a token or an address/domain made
// of atext, else an RFC 5322 quoted-string.
std::string pvalue(std::string_view v) {
  bool bare = !v.empty();
  for (char c : v) {
    unsigned char u = static_cast<unsigned char>(c);
    if (!(std::isalnum(u) || u >= 0x80 ||
          std::string_view(".-_@+!#$%&'*^`{|}~").find(c) != std::string_view::npos)) {
      bare = false;
      break;
    }
  }
  if (bare) return std::string(v);
  std::string out = "\"";
  for (char c : v) {
    if (c == '\r' || c == '\n') continue;
    if (c == '"' || c == '\\') out.push_back('\\');
    out.push_back(c);
  }
  return out + "\"";
}

std::string reason(std::string_view why) {
  if (why.empty()) return "";
  std::string q = pvalue(why);
  if (q.front() != '"') q = "\"" + q + "\"";
  return " reason=" + q;
}

// Words of the resinfo text, never split inside a quoted string.
std::vector<std::string> words(std::string_view text) {
  std::vector<std::string> out;
  std::string cur;
  bool quoted = false, escape = false;
  for (char c : text) {
    if (escape) {
      escape = false;
    } else if (quoted && c == '\\') {
      escape = true;
    } else if (c == '"') {
      quoted = !quoted;
    } else if (c == ' ' && !quoted) {
      if (!cur.empty()) out.push_back(std::move(cur));
      cur.clear();
      continue;
    }
    cur.push_back(c);
  }
  if (!cur.empty()) out.push_back(std::move(cur));
  return out;
}

bool is_ours(std::string_view message, const proto::mail::HeaderField& f, std::string_view authserv_id) {
  if (!iequal(f.name, "Authentication-Results")) return false;
  std::size_t value = f.begin + f.name.size() + 1;
  auto ar = proto::dmarc::parse_auth_results(message.substr(value, f.end - value));
  return iequal(ar.authserv_id, authserv_id);
}

}  // namespace

std::string format_results(const Verdict& v, const Arrival& arrival, const Checks& checks) {
  std::vector<std::string> parts;
  if (v.spf) {
    std::string s = std::string("spf=") + spf_result_name(v.spf->result);
    if (v.spf->result != SpfResult::Pass && v.spf->result != SpfResult::None) s += reason(v.spf->problem);
    if (!arrival.mail_from.empty()) {
      s += " smtp.mailfrom=" + pvalue(arrival.mail_from);
    } else {
      s += " smtp.helo=" + pvalue(arrival.helo);
    }
    parts.push_back(std::move(s));
  }
  if (checks.dkim) {
    if (v.dkim.empty()) parts.push_back("dkim=none");
    for (const auto& d : v.dkim) {
      std::string s = std::string("dkim=") + dkim_status_name(d.status);
      std::string why = d.reason;
      if (d.testing) why = why.empty() ? "testing key" : why + "; testing key";
      if (d.length_limited) why = why.empty() ? "l= body length limit" : why + "; l= body length limit";
      if (d.status != DkimStatus::Pass || !why.empty()) s += reason(why);
      if (!d.domain.empty()) s += " header.d=" + pvalue(d.domain);
      if (!d.selector.empty()) s += " header.s=" + pvalue(d.selector);
      if (!d.algorithm.empty()) s += " header.a=" + pvalue(d.algorithm);
      if (!d.b.empty()) s += " header.b=" + pvalue(d.b);
      parts.push_back(std::move(s));
    }
  }
  if (checks.dmarc && !v.dmarc.from_domain.empty()) {
    std::string s = std::string("dmarc=") + dmarc_result_name(v.dmarc.result);
    std::string why;
    if (v.dmarc.result == DmarcResult::Fail) {
      why = std::string("p=") + dmarc_policy_name(v.dmarc.policy) +
            (v.dmarc.sampled_out ? " sampled out by pct" : "");
      if (v.arc_override) why += "; overridden by trusted ARC forwarder " + v.arc.newest_domain;
    } else if (v.dmarc.result != DmarcResult::Pass && v.dmarc.result != DmarcResult::None) {
      why = v.dmarc.reason;
    }
    s += reason(why);
    s += " header.from=" + pvalue(v.dmarc.from_domain);
    parts.push_back(std::move(s));
  } else if (checks.dmarc && v.dmarc.result == DmarcResult::PermError) {
    parts.push_back("dmarc=permerror" + reason(v.dmarc.reason));
  }
  if (checks.arc) {
    std::string s = std::string("arc=") + arc_chain_name(v.arc.chain);
    if (v.arc.chain == ArcChain::Fail) s += reason(v.arc.reason);
    parts.push_back(std::move(s));
  }
  if (parts.empty()) return "none";
  std::string out;
  for (std::size_t i = 0; i < parts.size(); ++i) {
    if (i > 0) out += "; ";
    out += parts[i];
  }
  return out;
}

std::string results_header(std::string_view authserv_id, std::string_view results) {
  std::string out = "Authentication-Results: " + std::string(authserv_id) + ";";
  std::size_t line = out.size();
  for (const auto& w : words(results)) {
    if (line + 1 + w.size() > 78 && line > 1) {
      out += "\r\n\t" + w;
      line = 1 + w.size();
    } else {
      out += " " + w;
      line += 1 + w.size();
    }
  }
  return out + "\r\n";
}

std::string remove_our_results(std::string_view message, std::string_view authserv_id) {
  auto block = proto::mail::parse_header_block(message);
  std::string out;
  out.reserve(message.size());
  std::size_t at = 0;
  for (const auto& f : block.fields) {
    if (!is_ours(message, f, authserv_id)) continue;
    out.append(message.substr(at, f.begin - at));
    at = f.end;
  }
  out.append(message.substr(at));
  return out;
}

std::size_t count_our_results(std::string_view message, std::string_view authserv_id) {
  auto block = proto::mail::parse_header_block(message);
  std::size_t n = 0;
  for (const auto& f : block.fields) n += is_ours(message, f, authserv_id) ? 1 : 0;
  return n;
}

}  // namespace mailfort::auth
