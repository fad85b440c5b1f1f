#include "outbound/dmarc_report.h"

#include <zlib.h>

#include <functional>
#include <sstream>

#include "base/base64.h"
#include "base/text.h"
#include "outbound/tlsrpt_report.h"
#include "proto/mail/header.h"

namespace mailfort::outbound {
namespace {

// Element text and attribute values: the five XML specials, and no
// control characters (not allowed in XML 1.0).
std::string xml_escape(std::string_view s) {
  std::string out;
  for (char c : s) {
    switch (c) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '"':
        out += "&quot;";
        break;
      case '\'':
        out += "&apos;";
        break;
      default:
        if (static_cast<unsigned char>(c) < 0x20 && c != '\t')
          out += '?';
        else
          out += c;
    }
  }
  return out;
}

void element(std::ostringstream& x, const char* indent, const char* name, std::string_view value) {
  x << indent << '<' << name << '>' << xml_escape(value) << "</" << name << ">\n";
}

}  // namespace

std::optional<DmarcPublished> parse_dmarc_published(const std::string& domain,
                                                    const std::vector<std::string>& records) {
  const std::string* found = nullptr;
  for (auto& r : records) {
    if (!proto::dmarc::looks_like_dmarc(r)) continue;
    if (found) return std::nullopt;  // several records: none applies (RFC 7489 6.6.3)
    found = &r;
  }
  if (!found) return std::nullopt;
  auto parsed = proto::dmarc::parse_record(*found);
  if (!parsed.ok()) return std::nullopt;
  const auto& rec = parsed.record;
  DmarcPublished out;
  out.domain = domain;
  out.adkim = rec.adkim == proto::dmarc::Alignment::Strict ? "s" : "r";
  out.aspf = rec.aspf == proto::dmarc::Alignment::Strict ? "s" : "r";
  out.p = proto::dmarc::policy_name(rec.p);
  out.sp = proto::dmarc::policy_name(rec.sp.value_or(rec.p));
  out.pct = static_cast<uint32_t>(rec.pct);
  out.fo = rec.fo;
  out.rua = rec.rua;
  return out;
}

bool has_dmarc1(const std::vector<std::string>& records) {
  for (auto& r : records)
    if (proto::dmarc::looks_like_dmarc(r)) return true;
  return false;
}

std::optional<ReportTarget> report_target(const proto::dmarc::ReportUri& uri) {
  std::string address = mailto_address(uri.uri);
  if (address.empty()) return std::nullopt;
  return ReportTarget{address, uri.max_size};
}

bool is_external_destination(const std::string& rua_domain, const std::string& policy_domain,
                             const std::string& org_domain) {
  std::string rua = to_lower(rua_domain), policy = to_lower(policy_domain);
  std::string org = org_domain.empty() ? policy : to_lower(org_domain);
  auto within = [](const std::string& d, const std::string& parent) {
    return d == parent ||
           (d.size() > parent.size() && d.ends_with(parent) && d[d.size() - parent.size() - 1] == '.');
  };
  return !within(rua, policy) && !within(rua, org);
}

std::string build_aggregate_xml(const AggregateMeta& meta, const DmarcPublished& published,
                                const std::vector<auth::DmarcReportRow>& rows) {
  std::ostringstream x;
  x << "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<feedback>\n  <version>1.0</version>\n";
  x << "  <report_metadata>\n";
  element(x, "    ", "org_name", meta.org_name);
  element(x, "    ", "email", meta.email);
  element(x, "    ", "report_id", meta.report_id);
  x << "    <date_range>\n      <begin>" << meta.begin << "</begin>\n      <end>" << meta.end
    << "</end>\n    </date_range>\n  </report_metadata>\n";
  x << "  <policy_published>\n";
  element(x, "    ", "domain", published.domain);
  element(x, "    ", "adkim", published.adkim);
  element(x, "    ", "aspf", published.aspf);
  element(x, "    ", "p", published.p);
  element(x, "    ", "sp", published.sp);
  element(x, "    ", "pct", std::to_string(published.pct));
  element(x, "    ", "fo", published.fo);
  x << "  </policy_published>\n";
  for (auto& r : rows) {
    x << "  <record>\n    <row>\n";
    element(x, "      ", "source_ip", r.source_ip);
    element(x, "      ", "count", std::to_string(r.count));
    x << "      <policy_evaluated>\n";
    element(x, "        ", "disposition", r.disposition);
    element(x, "        ", "dkim", r.dkim_eval);
    element(x, "        ", "spf", r.spf_eval);
    if (!r.reason.empty()) {
      x << "        <reason>\n";
      element(x, "          ", "type", r.reason);
      x << "        </reason>\n";
    }
    x << "      </policy_evaluated>\n    </row>\n    <identifiers>\n";
    element(x, "      ", "envelope_from", r.envelope_from);
    element(x, "      ", "header_from", r.header_from);
    x << "    </identifiers>\n    <auth_results>\n";
    for (auto& d : r.dkim) {
      x << "      <dkim>\n";
      element(x, "        ", "domain", d.domain);
      if (!d.selector.empty()) element(x, "        ", "selector", d.selector);
      element(x, "        ", "result", d.result);
      x << "      </dkim>\n";
    }
    x << "      <spf>\n";
    element(x, "        ", "domain", r.spf_domain);
    element(x, "        ", "scope", r.spf_scope);
    element(x, "        ", "result", r.spf_result);
    x << "      </spf>\n    </auth_results>\n  </record>\n";
  }
  x << "</feedback>\n";
  return x.str();
}

Result<std::string> gzip(std::string_view data) {
  z_stream z{};
  // windowBits 15 + 16: a gzip header and trailer instead of zlib's.
  if (deflateInit2(&z, Z_BEST_COMPRESSION, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK)
    return make_error(Errc::Perm, "deflateInit2 failed");
  std::string out(deflateBound(&z, static_cast<uLong>(data.size())) + 32, '\0');
  z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(data.data()));
  z.avail_in = static_cast<uInt>(data.size());
  z.next_out = reinterpret_cast<Bytef*>(out.data());
  z.avail_out = static_cast<uInt>(out.size());
  int rc = deflate(&z, Z_FINISH);
  out.resize(z.total_out);
  deflateEnd(&z);
  if (rc != Z_STREAM_END) return make_error(Errc::Perm, "gzip failed");
  return out;
}

std::string report_filename(const AggregateMeta& meta, const std::string& domain) {
  return meta.org_name + "!" + domain + "!" + std::to_string(meta.begin) + "!" + std::to_string(meta.end) +
         ".xml.gz";
}

std::string build_aggregate_message(const AggregateMeta& meta, const std::string& domain,
                                    const std::string& from, const std::string& to, const std::string& gz,
                                    int64_t now) {
  std::string boundary = "mailfort-dmarc-" + std::to_string(now) + "-" +
                         std::to_string(std::hash<std::string>{}(meta.report_id + to) % 1000000007);
  std::ostringstream m;
  m << "From: DMARC Reporting <" << from << ">\r\n"
    << "To: <" << to << ">\r\n"
    << "Subject: Report Domain: " << domain << " Submitter: " << meta.org_name << "\r\n Report-ID: <"
    << meta.report_id << ">\r\n"
    << "Date: " << proto::mail::rfc5322_date(now) << "\r\n"
    << "Message-ID: <" << boundary << "@" << meta.org_name << ">\r\n"
    << "Auto-Submitted: auto-generated\r\n"
    << "MIME-Version: 1.0\r\n"
    << "Content-Type: multipart/mixed;\r\n\tboundary=\"" << boundary << "\"\r\n\r\n"
    << "This is a multipart message in MIME format.\r\n\r\n"
    << "--" << boundary << "\r\n"
    << "Content-Type: text/plain; charset=us-ascii\r\n\r\n"
    << "This is a DMARC aggregate report (RFC 7489) from " << meta.org_name << " for " << domain
    << ".\r\n\r\n"
    << "--" << boundary << "\r\n"
    << "Content-Type: application/gzip\r\n"
    << "Content-Transfer-Encoding: base64\r\n"
    << "Content-Disposition: attachment;\r\n\tfilename=\"" << report_filename(meta, domain) << "\"\r\n\r\n";
  std::string b64 = base64::encode(gz);
  for (std::size_t i = 0; i < b64.size(); i += 76) m << b64.substr(i, 76) << "\r\n";
  m << "\r\n--" << boundary << "--\r\n";
  return m.str();
}

}  // namespace mailfort::outbound
