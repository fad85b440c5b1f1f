#include "filter/message_view.h"

#include <algorithm>
#include <cctype>
#include <cstring>

#include "base/text.h"
#include "proto/mail/header.h"
#include "proto/mime/mime.h"

namespace mailfort::filter {
namespace {

namespace mime = proto::mime;

std::string unfold(std::string_view raw) {
  std::string out;
  out.reserve(raw.size());
  for (char c : raw)
    if (c != '\r' && c != '\n') out += c;
  return out;
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

std::size_t longest_line(std::string_view body) {
  std::size_t best = 0, start = 0;
  for (std::size_t i = 0; i < body.size(); ++i) {
    if (body[i] == '\n') {
      std::size_t len = i - start;
      if (len > 0 && body[i - 1] == '\r') --len;
      best = std::max(best, len);
      start = i + 1;
    }
  }
  return std::max(best, body.size() - start);
}

const mime::Param* find(const std::vector<mime::Param>& params, std::string_view name) {
  for (const auto& p : params)
    if (iequals(p.name, name)) return &p;
  return nullptr;
}

// Header fields of the header at the start of `block`, bounded.
std::vector<HeaderField> read_fields(std::string_view block, std::size_t max_fields, bool& truncated) {
  std::vector<HeaderField> out;
  auto parsed = proto::mail::parse_header_block(block, max_fields + 1);
  for (const auto& f : parsed.fields) {
    if (out.size() == max_fields) {
      truncated = true;
      break;
    }
    std::string_view whole = block.substr(f.begin, f.end - f.begin);
    auto colon = whole.find(':');
    HeaderField h;
    h.name = std::string(f.name);
    std::string_view raw = colon == std::string_view::npos ? std::string_view() : whole.substr(colon + 1);
    h.raw = std::string(trim(unfold(raw)));
    h.value = mime::decode_header_value(h.raw);
    out.push_back(std::move(h));
  }
  return out;
}

// Fields of a MIME part's own header (Content-Disposition filename and the
// like are already in mime::Part; this is for the name= fallbacks).
std::string filename_of(const mime::Part& p) {
  if (const auto* f = find(p.disposition_params, "filename")) return mime::decode_header_value(f->value);
  if (const auto* n = find(p.params, "name")) return mime::decode_header_value(n->value);
  return "";
}

bool is_attachment(const mime::Part& p) {
  if (iequals(p.disposition, "attachment")) return true;
  if (!filename_of(p).empty() && p.type != "text") return true;
  return p.type != "text" && p.type != "multipart" && p.type != "message";
}

}  // namespace

std::string html_to_text(std::string_view html) {
  std::string out;
  out.reserve(html.size() / 2);
  std::size_t i = 0;
  auto starts_ci = [&](std::size_t at, std::string_view what) {
    return at + what.size() <= html.size() && iequals(html.substr(at, what.size()), what);
  };
  while (i < html.size()) {
    char c = html[i];
    if (c == '<') {
      // Comments, script and style blocks are skipped whole.
      if (starts_ci(i, "<!--")) {
        auto end = html.find("-->", i + 4);
        i = end == std::string_view::npos ? html.size() : end + 3;
        continue;
      }
      bool script = starts_ci(i, "<script"), style = starts_ci(i, "<style");
      auto close = html.find('>', i + 1);
      if (close == std::string_view::npos) break;
      std::string_view tag = html.substr(i + 1, close - i - 1);
      if (script || style) {
        std::string_view end_tag = script ? "</script" : "</style";
        std::size_t j = close + 1, found = std::string_view::npos;
        while (j < html.size()) {
          auto lt = html.find('<', j);
          if (lt == std::string_view::npos) break;
          if (starts_ci(lt, end_tag)) {
            found = lt;
            break;
          }
          j = lt + 1;
        }
        if (found == std::string_view::npos) break;
        auto gt = html.find('>', found);
        i = gt == std::string_view::npos ? html.size() : gt + 1;
        continue;
      }
      // Block-level elements break lines so words on both sides stay apart.
      std::string name;
      for (char t : tag) {
        if (t == '/' && name.empty()) continue;
        if (!std::isalnum(static_cast<unsigned char>(t))) break;
        name += static_cast<char>(std::tolower(static_cast<unsigned char>(t)));
      }
      static const char* blocks[] = {"br", "p",     "div", "tr", "li", "h1", "h2",         "h3", "h4",   "h5",
                                     "h6", "table", "td",  "th", "ul", "ol", "blockquote", "hr", "title"};
      bool block =
          std::any_of(std::begin(blocks), std::end(blocks), [&](const char* b) { return name == b; });
      out += block ? '\n' : ' ';
      i = close + 1;
      continue;
    }
    if (c == '&') {
      auto semi = html.find(';', i);
      if (semi != std::string_view::npos && semi - i <= 10) {
        std::string_view ent = html.substr(i + 1, semi - i - 1);
        uint32_t cp = 0;
        if (!ent.empty() && ent[0] == '#') {
          bool hex = ent.size() > 1 && (ent[1] == 'x' || ent[1] == 'X');
          std::string_view digits = ent.substr(hex ? 2 : 1);
          bool ok = !digits.empty();
          for (char d : digits) {
            int v = std::isdigit(static_cast<unsigned char>(d)) ? d - '0'
                    : hex && std::isxdigit(static_cast<unsigned char>(d))
                        ? std::tolower(static_cast<unsigned char>(d)) - 'a' + 10
                        : -1;
            if (v < 0 || cp > 0x10FFFF) {
              ok = false;
              break;
            }
            cp = cp * (hex ? 16 : 10) + static_cast<uint32_t>(v);
          }
          if (!ok || cp == 0 || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) cp = 0xFFFD;
        } else {
          static const std::pair<const char*, uint32_t> named[] = {
              {"amp", '&'},      {"lt", '<'},       {"gt", '>'},     {"quot", '"'},    {"apos", '\''},
              {"nbsp", 0xA0},    {"copy", 0xA9},    {"reg", 0xAE},   {"euro", 0x20AC}, {"hellip", 0x2026},
              {"mdash", 0x2014}, {"ndash", 0x2013}, {"laquo", 0xAB}, {"raquo", 0xBB},  {"zwnj", 0x200C},
              {"zwj", 0x200D},   {"shy", 0xAD}};
          for (auto& [n, v] : named)
            if (ent == n) cp = v;
        }
        if (cp != 0) {
          append_utf8(out, cp == 0xA0 ? U' ' : static_cast<char32_t>(cp));
          i = semi + 1;
          continue;
        }
      }
    }
    out += c;
    ++i;
  }
  return out;
}

MessageView::MessageView(std::string_view message, const ViewLimits& limits) {
  raw_ = message;
  if (raw_.size() > limits.max_bytes) {
    raw_ = raw_.substr(0, limits.max_bytes);
    truncated_ = true;
  }
  auto block = proto::mail::parse_header_block(raw_, limits.max_header_fields + 1);
  body_offset_ = block.body_offset;
  headers_ = read_fields(raw_, limits.max_header_fields, truncated_);

  mime::Limits ml;
  ml.max_depth = limits.max_depth;
  ml.max_parts = limits.max_parts;
  ml.max_header_fields = limits.max_header_fields;
  mime::Part root = mime::parse(raw_, ml);

  // Iterative walk: (part, depth, parent is multipart/alternative).
  struct Item {
    const mime::Part* part;
    std::size_t depth;
    bool in_alternative;
  };
  std::vector<Item> stack{{&root, 0, false}};
  std::size_t text_budget = limits.max_text_bytes;
  while (!stack.empty()) {
    Item it = stack.back();
    stack.pop_back();
    const mime::Part& p = *it.part;
    ++part_count_;
    max_depth_seen_ = std::max(max_depth_seen_, it.depth);
    if (part_count_ >= limits.max_parts) truncated_ = true;
    if (!p.children.empty()) {
      bool alt = p.is_multipart() && p.subtype == "alternative";
      for (auto c = p.children.rbegin(); c != p.children.rend(); ++c)
        stack.push_back({&*c, it.depth + 1, alt});
      continue;
    }
    std::string_view body = raw_.substr(p.body_begin, p.body_end - p.body_begin);
    std::string encoding = to_lower(trim(p.encoding));
    bool textual =
        p.type == "text" && (p.subtype == "plain" || p.subtype == "html" || filename_of(p).empty());
    if (textual && !iequals(p.disposition, "attachment")) {
      TextPart t;
      t.subtype = p.subtype;
      t.encoding = encoding;
      t.in_alternative = it.in_alternative;
      t.longest_line = longest_line(body);
      auto decoded = mime::decode_transfer(body, encoding);
      t.raw = decoded ? std::move(*decoded) : std::string(body);
      if (t.raw.size() > text_budget) {
        t.raw.resize(text_budget);
        truncated_ = true;
      }
      if (const auto* cs = find(p.params, "charset")) t.charset = to_lower(trim(cs->value));
      std::optional<std::string> utf8 = mime::charset_to_utf8(
          t.raw, t.charset.empty() ? std::string_view("utf-8") : std::string_view(t.charset));
      if (!utf8) {
        t.charset_known = false;
        utf8 = mime::charset_to_utf8(t.raw, "utf-8");
      }
      if (t.subtype == "html") {
        t.html = std::move(*utf8);
        t.text = html_to_text(t.html);
      } else {
        t.text = std::move(*utf8);
      }
      std::size_t take = std::min(t.text.size(), text_budget);
      text_budget -= take;
      if (!all_text_.empty()) all_text_ += '\n';
      all_text_.append(t.text, 0, take);
      text_parts_.push_back(std::move(t));
      continue;
    }
    if (p.type == "multipart" || p.type == "message") continue;  // empty container
    Attachment a;
    a.filename = filename_of(p);
    a.content_type = p.type + "/" + p.subtype;
    a.size = body.size();
    a.encoding = encoding;
    a.longest_line = longest_line(body);
    a.body = body;
    if (is_attachment(p) || !a.filename.empty()) attachments_.push_back(std::move(a));
  }
}

std::vector<std::string> MessageView::values(std::string_view name) const {
  std::vector<std::string> out;
  for (const auto& h : headers_)
    if (iequals(h.name, name)) out.push_back(h.value);
  return out;
}

std::optional<std::string> MessageView::first(std::string_view name) const {
  for (const auto& h : headers_)
    if (iequals(h.name, name)) return h.value;
  return std::nullopt;
}

std::size_t MessageView::count(std::string_view name) const {
  return static_cast<std::size_t>(std::count_if(headers_.begin(), headers_.end(),
                                                [&](const HeaderField& h) { return iequals(h.name, name); }));
}

}  // namespace mailfort::filter
