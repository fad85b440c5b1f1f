// The MIME structure parser: one forward pass over the lines of the
// message with an explicit stack of open parts (no recursion), then the
// tree is assembled bottom-up.
#include <algorithm>
#include <utility>

#include "base/text.h"
#include "proto/mime/mime_internal.h"

namespace mailfort::proto::mime {
namespace {

using detail::HeaderField;
constexpr std::size_t npos = std::string_view::npos;
// RFC 2046 allows 70; Dovecot keeps 80 so slightly long ones still work.
constexpr std::size_t kMaxBoundary = 80;
// Whatever the caller asks for, nesting stays shallow enough that the
// recursive Part destructor and renderers cannot exhaust the stack.
constexpr std::size_t kHardMaxDepth = 256;

struct Node {
  Part part;
  std::size_t parent = npos;
  std::size_t depth = 0;
  std::vector<std::size_t> kids;
};

// Content-* fields of one header, before we know whether the part is MIME.
struct MimeFields {
  bool mime = false;
  bool seen_type = false;
  std::optional<detail::ContentType> type;
  std::optional<std::string> encoding, id, description, md5, location, language;
  std::optional<std::string> disposition;
};

void keep_first(std::optional<std::string>& slot, const HeaderField& f) {
  if (!slot) slot = std::string(detail::trim(detail::unfold(f.raw)));
}

void note_field(MimeFields& m, const HeaderField& f) {
  std::string_view name = f.name;
  if (iequals(name, "MIME-Version")) {
    m.mime = true;
    return;
  }
  if (name.size() < 8 || !iequals(name.substr(0, 8), "Content-")) return;
  std::string_view rest = name.substr(8);
  if (iequals(rest, "Type")) {
    m.mime = true;  // Content-Type alone makes a part MIME (as Dovecot does)
    if (!m.seen_type) {
      m.seen_type = true;
      m.type = detail::parse_content_type(detail::unfold(f.raw));
    }
  } else if (iequals(rest, "Transfer-Encoding")) {
    keep_first(m.encoding, f);
  } else if (iequals(rest, "ID")) {
    keep_first(m.id, f);
  } else if (iequals(rest, "Description")) {
    keep_first(m.description, f);
  } else if (iequals(rest, "MD5")) {
    keep_first(m.md5, f);
  } else if (iequals(rest, "Location")) {
    keep_first(m.location, f);
  } else if (iequals(rest, "Language")) {
    keep_first(m.language, f);
  } else if (iequals(rest, "Disposition")) {
    keep_first(m.disposition, f);
  }
}

class Parser {
 public:
  Parser(std::string_view m, const Limits& lim) : m_(m), lim_(lim) {
    max_depth_ = std::min(lim.max_depth, kHardMaxDepth);
    max_parts_ = std::max<std::size_t>(lim.max_parts, 1);
  }

  Part run();

 private:
  enum class HeaderStop { Blank, Boundary, End };

  std::size_t new_node(std::size_t parent, std::size_t header_begin);
  // Scans the header of `node` from `pos`; returns where it stopped.
  HeaderStop scan_header(std::size_t node, std::size_t pos, std::size_t& stop_pos);
  void apply_mime(std::size_t node, MimeFields& m);
  // Index into active_ of the boundary the line at `pos` starts, or npos.
  std::size_t match_boundary(std::size_t pos, bool& closing) const;
  // Where a part ends when the boundary line at `line` closes it: before
  // the line break that precedes the boundary, unless that line break
  // belongs to something before `region` (the part is then empty).
  std::size_t end_before(std::size_t line, std::size_t region) const;
  std::size_t line_end(std::size_t pos) const {
    std::size_t e = m_.find('\n', pos);
    return e == npos ? m_.size() : e + 1;
  }

  struct Active {
    std::string boundary;
    std::size_t node;
  };

  std::string_view m_;
  const Limits& lim_;
  std::size_t max_depth_, max_parts_;
  std::vector<Node> nodes_;
  std::vector<Active> active_;  // innermost last
  bool overflow_ = false;       // max_parts reached: no more boundaries, no more parts
};

std::size_t Parser::new_node(std::size_t parent, std::size_t header_begin) {
  Node n;
  n.parent = parent;
  n.depth = parent == npos ? 0 : nodes_[parent].depth + 1;
  n.part.header_begin = header_begin;
  nodes_.push_back(std::move(n));
  std::size_t id = nodes_.size() - 1;
  if (parent != npos) nodes_[parent].kids.push_back(id);
  if (nodes_.size() >= max_parts_) {
    // Like Dovecot: the part that reaches the limit takes the rest of the
    // message, whatever boundaries follow.
    overflow_ = true;
    active_.clear();
  }
  return id;
}

std::size_t Parser::match_boundary(std::size_t pos, bool& closing) const {
  if (active_.empty() || pos + 2 > m_.size() || m_[pos] != '-' || m_[pos + 1] != '-') return npos;
  std::size_t eol = m_.find('\n', pos);
  std::string_view line = m_.substr(pos + 2, (eol == npos ? m_.size() : eol) - pos - 2);
  // The part of the line a boundary may match: without CR and without the
  // closing "--".
  std::string_view key = line;
  if (eol != npos) {
    if (!key.empty() && key.back() == '\r') key.remove_suffix(1);
    if (key.size() > 2 && key.substr(key.size() - 2) == "--") key.remove_suffix(2);
  }
  std::size_t best = npos;
  for (std::size_t i = active_.size(); i-- > 0;) {
    std::string_view b = active_[i].boundary;
    if (b.size() <= key.size() && key.substr(0, b.size()) == b &&
        (best == npos || active_[best].boundary.size() < b.size()))
      best = i;
  }
  if (best != npos) {
    std::size_t len = active_[best].boundary.size();
    closing = line.size() >= len + 2 && line.substr(len, 2) == "--";
  }
  return best;
}

std::size_t Parser::end_before(std::size_t line, std::size_t region) const {
  if (line <= region) return region;
  std::size_t e = line - 1;  // m_[e] == '\n'
  if (e > region && m_[e - 1] == '\r') --e;
  return e;
}

Parser::HeaderStop Parser::scan_header(std::size_t node, std::size_t pos, std::size_t& stop_pos) {
  MimeFields m;
  Node& n = nodes_[node];
  std::size_t start = pos;
  std::size_t fields = 0;
  HeaderStop stop = HeaderStop::End;
  for (;;) {
    if (pos >= m_.size()) {
      n.part.body_begin = m_.size();
      stop_pos = m_.size();
      stop = HeaderStop::End;
      break;
    }
    std::size_t blank = detail::blank_line_end(m_, pos);
    if (blank != npos) {
      n.part.body_begin = blank;
      stop_pos = blank;
      stop = HeaderStop::Blank;
      break;
    }
    bool closing = false;
    if (match_boundary(pos, closing) != npos) {
      // A boundary inside a header ends it; the line break before the
      // boundary line belongs to the boundary.
      n.part.body_begin = end_before(pos, start);
      stop_pos = pos;
      stop = HeaderStop::Boundary;
      break;
    }
    HeaderField f = detail::read_field(m_, pos);
    if (fields++ < lim_.max_header_fields) note_field(m, f);
    pos = f.end;
  }
  // A multipart child is MIME by definition.
  std::size_t parent = n.parent;
  if (parent != npos && nodes_[parent].part.is_multipart()) m.mime = true;
  apply_mime(node, m);
  return stop;
}

void Parser::apply_mime(std::size_t node, MimeFields& m) {
  Part& p = nodes_[node].part;
  std::size_t parent = nodes_[node].parent;
  bool in_digest =
      parent != npos && nodes_[parent].part.is_multipart() && nodes_[parent].part.subtype == "digest";
  if (!m.mime) {
    // Without MIME-Version (or Content-Type) the Content-* fields mean
    // nothing; only the digest default applies.
    if (in_digest) {
      p.type = "message";
      p.subtype = "rfc822";
    }
    return;
  }
  if (m.type) {
    p.type = to_lower(m.type->type);
    p.subtype = to_lower(m.type->subtype);
    p.params = std::move(m.type->params);
  } else if (!m.seen_type && in_digest) {
    p.type = "message";
    p.subtype = "rfc822";
  }
  if (m.encoding) p.encoding = std::move(*m.encoding);
  if (m.id) p.id = std::move(*m.id);
  if (m.description) p.description = std::move(*m.description);
  if (m.md5) p.md5 = std::move(*m.md5);
  if (m.location) p.location = std::move(*m.location);
  if (m.language) p.language = std::move(*m.language);
  if (m.disposition) {
    if (auto d = detail::parse_disposition(*m.disposition)) {
      p.disposition = std::move(d->type);
      p.disposition_params = std::move(d->params);
    }
  }
}

Part Parser::run() {
  enum class Mode { Header, Body };
  std::size_t cur = new_node(npos, 0);
  std::size_t pos = 0;
  Mode mode = Mode::Header;
  // Body scanning state: the region being scanned started at region_start;
  // a boundary on its first line ends the open parts at region_empty_end.
  std::size_t region_start = 0, region_empty_end = 0;

  auto demote = [](Part& p) {
    p.type = "text";
    p.subtype = "plain";
    p.params.clear();
  };

  for (;;) {
    if (mode == Mode::Header) {
      std::size_t stop_pos = 0;
      HeaderStop stop = scan_header(cur, pos, stop_pos);
      Node& n = nodes_[cur];
      Part& p = n.part;
      bool can_contain = !overflow_ && n.depth < max_depth_;
      if (p.is_multipart()) {
        const Param* b = detail::find_param(p.params, "boundary");
        if (!can_contain) {
          demote(p);
        } else if (b && !b->value.empty() && stop == HeaderStop::Blank) {
          active_.push_back({b->value.substr(0, kMaxBoundary), cur});
        }
        // A multipart without a boundary, or whose header never ended,
        // stays a multipart without parts (as in Dovecot): its body is
        // not split, BODY[1] does not exist.
      } else if (p.type == "message" && p.subtype == "rfc822") {
        if (!can_contain) {
          demote(p);
        } else {
          // The embedded message starts right after the header; its own
          // header may be cut short by an enclosing boundary too.
          cur = new_node(cur, p.body_begin);
          pos = stop == HeaderStop::Boundary ? stop_pos : nodes_[cur].part.header_begin;
          if (stop == HeaderStop::Boundary) {
            // Nothing of the embedded message exists: its header is empty
            // and ends where the outer header did.
            Part& child = nodes_[cur].part;
            child.body_begin = child.header_begin;
            mode = Mode::Body;
            region_start = stop_pos;
            region_empty_end = child.body_begin;
          }
          continue;
        }
      }
      mode = Mode::Body;
      pos = stop_pos;
      region_start = stop_pos;
      region_empty_end = p.body_begin;
      continue;
    }

    // Body: find the next boundary line of any active multipart.
    std::size_t line = pos;
    std::size_t found = npos;
    bool closing = false;
    while (line < m_.size()) {
      if (m_[line] == '-' && (found = match_boundary(line, closing)) != npos) break;
      line = line_end(line);
    }
    if (found == npos) break;  // end of message: everything open ends here

    std::size_t end = line == region_start ? region_empty_end : end_before(line, region_start);
    std::size_t owner = active_[found].node;
    while (cur != owner && cur != npos) {
      nodes_[cur].part.body_end = end;
      cur = nodes_[cur].parent;
    }
    active_.resize(found + 1);  // boundaries of the parts just closed are gone
    std::size_t next = line_end(line);
    if (closing) {
      // The epilogue belongs to the multipart's body, up to an outer
      // boundary or the end.
      active_.pop_back();
      mode = Mode::Body;
      pos = region_start = region_empty_end = next;
    } else {
      cur = new_node(owner, next);
      mode = Mode::Header;
      pos = next;
    }
  }

  for (std::size_t i = cur; i != npos; i = nodes_[i].parent) nodes_[i].part.body_end = m_.size();

  // Line counts, then the tree bottom-up: children always have larger
  // indices than their parent.
  for (Node& n : nodes_) {
    Part& p = n.part;
    if (p.body_end < p.body_begin) p.body_end = p.body_begin;
    if (p.type == "text" || (p.type == "message" && p.subtype == "rfc822" && !n.kids.empty()))
      p.lines = detail::count_lf(m_.substr(p.body_begin, p.body_end - p.body_begin));
  }
  for (std::size_t i = nodes_.size(); i-- > 0;) {
    Node& n = nodes_[i];
    n.part.children.reserve(n.kids.size());
    for (std::size_t k : n.kids) n.part.children.push_back(std::move(nodes_[k].part));
  }
  return std::move(nodes_[0].part);
}

}  // namespace

Part parse(std::string_view message, const Limits& limits) {
  Parser p(message, limits);
  return p.run();
}

}  // namespace mailfort::proto::mime
