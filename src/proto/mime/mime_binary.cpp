// Binary parts of an APPENDed literal8 message made base64 (RFC 3516 4.4
// lets a server store binary content encoded; Dovecot's APPEND does this
// with its binary converter): a part whose Content-Transfer-Encoding is
// "binary" gets "base64" and its body's exact bytes encoded in lines of 76
// characters. BINARY[] decodes them back, BODY[] shows text a client can
// take. Pure; faces untrusted input; linear in the message size.
#include <algorithm>

#include "base/base64.h"
#include "proto/mime/mime_internal.h"

namespace mailfort::proto::mime {
namespace {

constexpr std::size_t kLine = 76;  // RFC 2045 6.8

struct Edit {
  std::size_t begin, end;
  std::string text;
};

void collect(std::string_view m, const Part& p, std::vector<Edit>& edits) {
  if (p.is_multipart() || p.is_message_rfc822()) {
    for (const auto& c : p.children) collect(m, c, edits);
    return;
  }
  auto cte = detail::cte_token(p.encoding);
  if (!cte || !iequals(*cte, "binary") || p.header_begin > p.body_begin || p.body_end > m.size() ||
      p.body_begin > p.body_end)
    return;
  std::string_view header = m.substr(p.header_begin, p.body_begin - p.header_begin);
  bool found = false;
  detail::for_each_field(header, [&](const detail::HeaderField& f) {
    if (!f.has_colon || !iequals(f.name, "Content-Transfer-Encoding")) return true;
    std::size_t at = p.header_begin + static_cast<std::size_t>(f.raw.data() - header.data());
    edits.push_back({at, at + f.raw.size(), "base64"});
    found = true;
    return false;  // the first one is the part's encoding
  });
  if (!found) return;
  std::string encoded = base64::encode(m.substr(p.body_begin, p.body_end - p.body_begin));
  std::string body;
  body.reserve(encoded.size() + encoded.size() / kLine * 2 + 2);
  for (std::size_t i = 0; i < encoded.size(); i += kLine) {
    if (i) body += "\r\n";
    body.append(encoded, i, kLine);
  }
  // The line break before a boundary belongs to the boundary; a body that
  // ends the message ends its last line.
  if (p.body_end == m.size() && !body.empty()) body += "\r\n";
  edits.push_back({p.body_begin, p.body_end, std::move(body)});
}

}  // namespace

std::string binary_parts_to_base64(std::string message) {
  Part root = parse(message);
  std::vector<Edit> edits;
  collect(message, root, edits);
  if (edits.empty()) return message;
  std::sort(edits.begin(), edits.end(), [](const Edit& a, const Edit& b) { return a.begin < b.begin; });
  std::string out;
  std::size_t at = 0;
  for (const auto& e : edits) {
    if (e.begin < at) continue;  // overlapping: cannot happen with a parse tree
    out.append(message, at, e.begin - at);
    out += e.text;
    at = e.end;
  }
  out.append(message, at, std::string::npos);
  return out;
}

}  // namespace mailfort::proto::mime
