// A message taken apart once for every check: the header fields decoded,
// the MIME parts (proto/mime) with their text decoded to UTF-8 and HTML
// turned into text, and the attachments' names. Bounded: only the first
// Limits::max_bytes of the message are read, at most max_parts parts and
// max_text_bytes of text; anything cut is flagged.
#pragma once
#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace mailfort::filter {

struct ViewLimits {
  std::size_t max_bytes = 10 << 20;      // of the message ([spam] max_scan_size)
  std::size_t max_parts = 1000;          // MIME parts looked at
  std::size_t max_depth = 20;            // MIME nesting
  std::size_t max_text_bytes = 2 << 20;  // decoded text kept per part and in all
  std::size_t max_header_fields = 1000;
};

struct HeaderField {
  std::string name;   // as written
  std::string raw;    // value as written, unfolded (CR/LF removed)
  std::string value;  // encoded words decoded to UTF-8
};

struct TextPart {
  std::string subtype;           // "plain" | "html" | ...
  std::string charset;           // lowercased, "" = none declared
  bool charset_known = true;     // false: declared charset we cannot convert (left as bytes)
  std::string encoding;          // Content-Transfer-Encoding, lowercased
  std::string raw;               // the body after transfer decoding, before charset conversion
  std::string text;              // UTF-8; for HTML the visible text (tags, scripts, styles removed)
  std::string html;              // HTML parts: the decoded HTML itself (URL extraction reads href=)
  bool in_alternative = false;   // a child of multipart/alternative
  std::size_t longest_line = 0;  // of the encoded body (oversized base64 lines)
};

struct Attachment {
  std::string filename;      // Content-Disposition filename or Content-Type name, decoded
  std::string content_type;  // "application/zip"
  std::size_t size = 0;      // encoded bytes
  std::string encoding;
  std::size_t longest_line = 0;
  std::string_view body;  // encoded body bytes (into the message), for archive checks
};

class MessageView {
 public:
  explicit MessageView(std::string_view message, const ViewLimits& limits = {});

  const std::vector<HeaderField>& headers() const { return headers_; }
  // Values (decoded) of every field called `name`, case-insensitive, in order.
  std::vector<std::string> values(std::string_view name) const;
  // First decoded value, nullopt when absent.
  std::optional<std::string> first(std::string_view name) const;
  std::size_t count(std::string_view name) const;

  const std::vector<TextPart>& text_parts() const { return text_parts_; }
  const std::vector<Attachment>& attachments() const { return attachments_; }
  std::size_t part_count() const { return part_count_; }  // leaves and containers
  std::size_t max_depth_seen() const { return max_depth_seen_; }
  bool truncated() const { return truncated_; }  // a limit cut something off

  // Every part's text joined with '\n' (bounded by max_text_bytes): what
  // body rules, URL extraction and the tokenizer read.
  const std::string& all_text() const { return all_text_; }
  std::string_view raw() const { return raw_; }  // the (possibly cut) message
  std::string_view header_block() const { return raw_.substr(0, body_offset_); }
  std::string_view body() const { return raw_.substr(body_offset_); }

 private:
  std::string_view raw_;
  std::size_t body_offset_ = 0;
  std::vector<HeaderField> headers_;
  std::vector<TextPart> text_parts_;
  std::vector<Attachment> attachments_;
  std::string all_text_;
  std::size_t part_count_ = 0, max_depth_seen_ = 0;
  bool truncated_ = false;
};

// Visible text of an HTML document: tags dropped, <script>/<style> content
// dropped, entities (&amp; &#39; &#x27; and the common named ones)
// decoded, block elements as line breaks. Linear, never throws.
std::string html_to_text(std::string_view html);

}  // namespace mailfort::filter
