#include "outbound/tlsrpt_report.h"

#include <nlohmann/json.hpp>

#include <ctime>
#include <functional>
#include <map>
#include <sstream>
#include <tuple>

#include "base/base64.h"
#include "base/text.h"
#include "proto/mail/header.h"

namespace mailfort::outbound {
namespace {

std::string trim(std::string s) {
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.pop_back();
  std::size_t b = 0;
  while (b < s.size() && (s[b] == ' ' || s[b] == '\t')) ++b;
  return s.substr(b);
}

std::vector<std::string> split(const std::string& s, char sep) {
  std::vector<std::string> out;
  std::string cur;
  for (char c : s) {
    if (c == sep) {
      out.push_back(cur);
      cur.clear();
    } else {
      cur.push_back(c);
    }
  }
  out.push_back(cur);
  return out;
}

}  // namespace

const char* tls_result_name(TlsResult r) {
  switch (r) {
    case TlsResult::Success:
      return "";
    case TlsResult::StarttlsNotSupported:
      return "starttls-not-supported";
    case TlsResult::CertificateHostMismatch:
      return "certificate-host-mismatch";
    case TlsResult::CertificateExpired:
      return "certificate-expired";
    case TlsResult::CertificateNotTrusted:
      return "certificate-not-trusted";
    case TlsResult::ValidationFailure:
      return "validation-failure";
    case TlsResult::TlsaInvalid:
      return "tlsa-invalid";
    case TlsResult::DnssecInvalid:
      return "dnssec-invalid";
    case TlsResult::DaneRequired:
      return "dane-required";
    case TlsResult::StsPolicyFetchError:
      return "sts-policy-fetch-error";
    case TlsResult::StsPolicyInvalid:
      return "sts-policy-invalid";
    case TlsResult::StsWebpkiInvalid:
      return "sts-webpki-invalid";
  }
  return "validation-failure";
}

TlsResult classify_verify(tls::ClientParams::Verify mode, tls::VerifyError error) {
  using E = tls::VerifyError;
  if (error == E::None) return TlsResult::Success;
  if (mode == tls::ClientParams::Verify::Dane) {
    // RFC 8460 4.3.2: TLSA records that match nothing (or cannot be used)
    // are tlsa-invalid; an expired chain under DANE-TA is still expired.
    if (error == E::Expired) return TlsResult::CertificateExpired;
    if (error == E::DaneNoMatch || error == E::NoUsableTlsa) return TlsResult::TlsaInvalid;
    return TlsResult::ValidationFailure;
  }
  switch (error) {
    case E::HostMismatch:
      return TlsResult::CertificateHostMismatch;
    case E::Expired:
      return TlsResult::CertificateExpired;
    case E::NotTrusted:
      return TlsResult::CertificateNotTrusted;
    default:
      return TlsResult::ValidationFailure;
  }
}

std::optional<std::vector<std::string>> parse_tlsrpt_txt(const std::vector<std::string>& records) {
  std::vector<std::string> ours;
  for (auto& r : records)
    if (r.rfind("v=TLSRPTv1", 0) == 0) ours.push_back(r);
  if (ours.size() != 1) return std::nullopt;
  auto fields = split(ours[0], ';');
  if (trim(fields[0]) != "v=TLSRPTv1") return std::nullopt;
  std::optional<std::vector<std::string>> rua;
  for (std::size_t i = 1; i < fields.size(); ++i) {
    std::string f = trim(fields[i]);
    if (f.empty()) continue;
    auto eq = f.find('=');
    if (eq == std::string::npos) return std::nullopt;
    std::string key = trim(f.substr(0, eq));
    if (key != "rua") continue;  // extensions are ignored
    if (rua) return std::nullopt;
    rua.emplace();
    for (auto& u : split(f.substr(eq + 1), ',')) {
      std::string uri = trim(u);
      if (!uri.empty()) rua->push_back(uri);
    }
  }
  if (!rua || rua->empty()) return std::nullopt;  // rua is required
  return rua;
}

std::string mailto_address(const std::string& uri) {
  if (uri.size() < 8 || to_lower(uri.substr(0, 7)) != "mailto:") return {};
  auto q = uri.find('?');
  std::string enc = uri.substr(7, q == std::string::npos ? std::string::npos : q - 7);
  std::string out;
  for (std::size_t i = 0; i < enc.size(); ++i) {
    if (enc[i] == '%' && i + 2 < enc.size()) {
      int hi = hex_value(enc[i + 1]), lo = hex_value(enc[i + 2]);
      if (hi < 0 || lo < 0) return {};
      out.push_back(static_cast<char>(hi * 16 + lo));
      i += 2;
    } else if (enc[i] == '%') {
      return {};
    } else {
      out.push_back(enc[i]);
    }
  }
  auto at = out.rfind('@');
  if (at == std::string::npos || at == 0 || !is_valid_domain(out.substr(at + 1))) return {};
  for (char c : out)
    if (static_cast<unsigned char>(c) <= ' ' || c == '<' || c == '>' || c == ',' || c == '"' || c == 0x7f)
      return {};
  return out;
}

std::string utc_day(int64_t t) {
  std::time_t tt = static_cast<std::time_t>(t);
  std::tm tm{};
  gmtime_r(&tt, &tm);
  char buf[16];
  std::strftime(buf, sizeof buf, "%Y-%m-%d", &tm);
  return buf;
}

std::optional<int64_t> day_start(const std::string& day) {
  if (day.size() != 10 || day[4] != '-' || day[7] != '-') return std::nullopt;
  for (std::size_t i : {0, 1, 2, 3, 5, 6, 8, 9})
    if (day[i] < '0' || day[i] > '9') return std::nullopt;
  std::tm tm{};
  tm.tm_year = std::stoi(day.substr(0, 4)) - 1900;
  tm.tm_mon = std::stoi(day.substr(5, 2)) - 1;
  tm.tm_mday = std::stoi(day.substr(8, 2));
  if (tm.tm_mon < 0 || tm.tm_mon > 11 || tm.tm_mday < 1 || tm.tm_mday > 31) return std::nullopt;
  int64_t t = static_cast<int64_t>(timegm(&tm));
  if (utc_day(t) != day) return std::nullopt;  // 2026-02-30
  return t;
}

std::string build_report_json(const ReportMeta& meta, const std::vector<ReportRow>& rows) {
  using nlohmann::ordered_json;
  // Rows grouped by policy, in first-seen order.
  struct Group {
    const TlsReportPolicy* policy;
    uint64_t ok = 0, failed = 0;
    // (result, mx, ip) -> count, sorted for a stable report
    std::map<std::tuple<std::string, std::string, std::string>, uint64_t> failures;
  };
  std::vector<Group> groups;
  for (auto& r : rows) {
    Group* g = nullptr;
    for (auto& x : groups)
      if (x.policy->type == r.policy.type && x.policy->strings == r.policy.strings &&
          x.policy->mx == r.policy.mx)
        g = &x;
    if (!g) {
      groups.push_back({&r.policy, 0, 0, {}});
      g = &groups.back();
    }
    if (r.result.empty()) {
      g->ok += r.count;
    } else {
      g->failed += r.count;
      g->failures[{r.result, r.receiving_mx, r.receiving_ip}] += r.count;
    }
  }
  ordered_json policies = ordered_json::array();
  for (auto& g : groups) {
    ordered_json policy = {{"policy-type", g.policy->type}};
    if (!g.policy->strings.empty()) policy["policy-string"] = g.policy->strings;
    policy["policy-domain"] = meta.domain;
    if (!g.policy->mx.empty()) policy["mx-host"] = g.policy->mx;
    ordered_json entry = {
        {"policy", policy},
        {"summary", {{"total-successful-session-count", g.ok}, {"total-failure-session-count", g.failed}}}};
    if (!g.failures.empty()) {
      ordered_json details = ordered_json::array();
      for (auto& [k, n] : g.failures) {
        ordered_json d = {{"result-type", std::get<0>(k)}};
        if (!std::get<2>(k).empty()) d["receiving-ip"] = std::get<2>(k);
        if (!std::get<1>(k).empty()) d["receiving-mx-hostname"] = std::get<1>(k);
        d["failed-session-count"] = n;
        details.push_back(d);
      }
      entry["failure-details"] = details;
    }
    policies.push_back(entry);
  }
  ordered_json j = {
      {"organization-name", meta.organization},
      {"date-range",
       {{"start-datetime", meta.day + "T00:00:00Z"}, {"end-datetime", meta.day + "T23:59:59Z"}}},
      {"contact-info", meta.contact},
      {"report-id", meta.report_id},
      {"policies", policies}};
  return j.dump();
}

std::string build_report_message(const ReportMeta& meta, const std::string& from, const std::string& to,
                                 const std::string& json, int64_t now) {
  std::string boundary = "mailfort-tlsrpt-" + std::to_string(now) + "-" +
                         std::to_string(std::hash<std::string>{}(meta.report_id + to) % 1000000007);
  int64_t start = day_start(meta.day).value_or(0);
  std::string filename = meta.organization + "!" + meta.domain + "!" + std::to_string(start) + "!" +
                         std::to_string(start + 86399) + ".json";
  std::ostringstream m;
  m << "From: TLS Reporting <" << from << ">\r\n"
    << "To: <" << to << ">\r\n"
    << "Subject: Report Domain: " << meta.domain << " Submitter: " << meta.organization << " Report-ID: <"
    << meta.report_id << ">\r\n"
    << "Date: " << proto::mail::rfc5322_date(now) << "\r\n"
    << "Message-ID: <" << boundary << "@" << meta.organization << ">\r\n"
    << "TLS-Report-Domain: " << meta.domain << "\r\n"
    << "TLS-Report-Submitter: " << meta.organization << "\r\n"
    << "Auto-Submitted: auto-generated\r\n"
    << "MIME-Version: 1.0\r\n"
    << "Content-Type: multipart/report; report-type=\"tlsrpt\";\r\n\tboundary=\"" << boundary << "\"\r\n\r\n"
    << "This is a multipart message in MIME format.\r\n\r\n"
    << "--" << boundary << "\r\n"
    << "Content-Type: text/plain; charset=us-ascii\r\n\r\n"
    << "This is an aggregate TLS report (RFC 8460) from " << meta.organization << " for mail to "
    << meta.domain << " on " << meta.day << " (UTC).\r\n\r\n"
    << "--" << boundary << "\r\n"
    << "Content-Type: application/tlsrpt+json\r\n"
    << "Content-Transfer-Encoding: base64\r\n"
    << "Content-Disposition: attachment;\r\n\tfilename=\"" << filename << "\"\r\n\r\n";
  std::string b64 = base64::encode(json);
  for (std::size_t i = 0; i < b64.size(); i += 76) m << b64.substr(i, 76) << "\r\n";
  m << "\r\n--" << boundary << "--\r\n";
  return m.str();
}

}  // namespace mailfort::outbound
