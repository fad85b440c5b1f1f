// MIME sanity: the structure of a message as spam and malware tools build
// it. HTML without a text alternative, alternatives that say different
// things, charsets undeclared or unknown, executable and double-extension
// attachments, encrypted archives (what scanners cannot look into), lines
// beyond RFC 5322's 998 bytes, too many parts, too deep nesting. Faces
// untrusted input: archives are only read for their headers, at most
// kMaxArchiveBytes of each, and word sets are bounded.
#include <algorithm>
#include <array>
#include <cctype>
#include <string_view>
#include <unordered_set>

#include "base/text.h"
#include "filter/checks.h"
#include "filter/message_view.h"
#include "proto/mime/mime.h"

namespace mailfort::filter {
namespace {

constexpr std::size_t kMaxLine = 998;              // RFC 5322 2.1.1
constexpr std::size_t kManyParts = 200;            // no mail program writes more
constexpr std::size_t kDeepNesting = 10;           // nor nests deeper
constexpr std::size_t kMaxWords = 5000;            // per part, for R_PARTS_DIFFER
constexpr std::size_t kMaxArchiveBytes = 4 << 20;  // decoded bytes looked at
constexpr std::size_t kMaxZipHeaders = 10000;      // local file headers looked at

void add(std::vector<Symbol>& out, std::string name, double score, std::vector<std::string> options = {}) {
  out.push_back(Symbol{std::move(name), score, std::move(options)});
}

constexpr std::array<std::string_view, 26> kExecutable = {
    "exe", "scr", "com", "bat", "cmd", "pif", "js",  "jse", "vbs", "vbe", "jar", "msi", "ps1",
    "hta", "cpl", "lnk", "wsf", "wsh", "reg", "msc", "dll", "app", "iso", "img", "vhd", "apk"};
constexpr std::array<std::string_view, 20> kDocument = {"pdf",  "doc", "docx", "xls",  "xlsx", "ppt", "pptx",
                                                        "txt",  "rtf", "jpg",  "jpeg", "png",  "gif", "zip",
                                                        "html", "htm", "csv",  "odt",  "mp3",  "mp4"};

template <std::size_t N>
bool in(const std::array<std::string_view, N>& list, std::string_view s) {
  return std::find(list.begin(), list.end(), s) != list.end();
}

// The last two extensions of a file name, lowercased ("" when absent);
// trailing dots and blanks dropped (Windows ignores them).
std::pair<std::string, std::string> extensions(std::string_view name) {
  std::string n = to_lower(name);
  while (!n.empty() && (n.back() == '.' || n.back() == ' ')) n.pop_back();
  auto slash = n.find_last_of("/\\");
  if (slash != std::string::npos) n = n.substr(slash + 1);
  auto dot = n.rfind('.');
  if (dot == std::string::npos || dot == 0) return {"", ""};
  std::string last = n.substr(dot + 1);
  std::string rest = n.substr(0, dot);
  while (!rest.empty() && rest.back() == ' ') rest.pop_back();
  auto dot2 = rest.rfind('.');
  std::string before = dot2 == std::string::npos || dot2 == 0 ? "" : rest.substr(dot2 + 1);
  return {before, last};
}

uint16_t le16(std::string_view s, std::size_t at) {
  return static_cast<uint16_t>(static_cast<unsigned char>(s[at]) |
                               (static_cast<unsigned char>(s[at + 1]) << 8));
}

// Zip: general purpose bit 0 of a local file header or central directory
// entry. RAR 4: the main header's password flag (0x80) or a file header's
// (0x04); RAR 5: an archive encryption header (type 4). 7z: the AES coder
// id (06 F1 07 01) in the header at the end of the archive.
bool encrypted_archive(std::string_view data) {
  if (data.starts_with("PK")) {
    std::size_t seen = 0;
    for (std::size_t at = data.find("PK"); at != std::string_view::npos && seen < kMaxZipHeaders;
         at = data.find("PK", at + 2), ++seen) {
      if (at + 8 > data.size()) break;
      std::string_view sig = data.substr(at, 4);
      if (sig == std::string_view("PK\x03\x04", 4) && (le16(data, at + 6) & 1)) return true;
      if (sig == std::string_view("PK\x01\x02", 4) && at + 10 <= data.size() && (le16(data, at + 8) & 1))
        return true;
    }
    return false;
  }
  if (data.starts_with(std::string_view("Rar!\x1a\x07\x01\x00", 8))) {
    // RAR 5: header CRC32, vint size, vint type; type 4 = encryption header.
    std::size_t at = 8 + 4;
    auto vint = [&](std::size_t& p) -> uint64_t {
      uint64_t v = 0;
      for (int shift = 0; p < data.size() && shift < 63; shift += 7) {
        auto b = static_cast<unsigned char>(data[p++]);
        v |= static_cast<uint64_t>(b & 0x7f) << shift;
        if (!(b & 0x80)) break;
      }
      return v;
    };
    (void)vint(at);
    return at < data.size() && vint(at) == 4;
  }
  if (data.starts_with(std::string_view("Rar!\x1a\x07\x00", 7))) {
    std::size_t at = 7;
    for (int blocks = 0; blocks < 1000 && at + 7 <= data.size(); ++blocks) {
      auto type = static_cast<unsigned char>(data[at + 2]);
      uint16_t flags = le16(data, at + 3), size = le16(data, at + 5);
      if (type == 0x73 && (flags & 0x80)) return true;
      if (type == 0x74 && (flags & 0x04)) return true;
      if (size < 7) break;
      std::size_t next = at + size;
      if ((flags & 0x8000) && at + 11 <= data.size())  // LONG_BLOCK: ADD_SIZE follows
        next += static_cast<uint32_t>(le16(data, at + 7)) | (static_cast<uint32_t>(le16(data, at + 9)) << 16);
      if (next <= at) break;
      at = next;
    }
    return false;
  }
  if (data.starts_with(std::string_view("7z\xbc\xaf\x27\x1c", 6))) {
    std::string_view tail = data.substr(data.size() > 4096 ? data.size() - 4096 : 0);
    return tail.find(std::string_view("\x06\xf1\x07\x01", 4)) != std::string_view::npos;
  }
  return false;
}

bool is_archive(const Attachment& a) {
  auto [before, last] = extensions(a.filename);
  std::string type = to_lower(a.content_type);
  return last == "zip" || last == "rar" || last == "7z" || type == "application/zip" ||
         type == "application/x-zip-compressed" || type == "application/x-rar-compressed" ||
         type == "application/vnd.rar" || type == "application/x-7z-compressed";
}

std::unordered_set<std::string> words(std::string_view text) {
  std::unordered_set<std::string> out;
  std::string w;
  auto flush = [&] {
    if (w.size() >= 2 && out.size() < kMaxWords) out.insert(w);
    w.clear();
  };
  for (char c : text) {
    auto u = static_cast<unsigned char>(c);
    if (std::isalnum(u) || u >= 0x80) {
      if (w.size() < 64) w += static_cast<char>(std::tolower(u));
    } else {
      flush();
    }
  }
  flush();
  return out;
}

void check_alternatives(const MessageView& view, std::vector<Symbol>& out) {
  const TextPart* plain = nullptr;
  const TextPart* html = nullptr;
  bool any_plain = false, any_html = false;
  for (const auto& t : view.text_parts()) {
    bool has_text = t.text.find_first_not_of(" \t\r\n") != std::string::npos;
    if (t.subtype == "html") {
      any_html = true;
      if (t.in_alternative && !html) html = &t;
    } else if (t.subtype == "plain") {
      if (has_text) any_plain = true;
      if (t.in_alternative && !plain) plain = &t;
    }
  }
  if (any_html && !any_plain) add(out, "MIME_HTML_ONLY", 0.5);
  if (!plain || !html) return;
  auto a = words(plain->text), b = words(html->text);
  if (a.size() + b.size() < 10) return;  // too short to compare
  std::size_t common = 0;
  for (const auto& w : a) common += b.count(w);
  std::size_t all = a.size() + b.size() - common;
  double similarity = all ? static_cast<double>(common) / static_cast<double>(all) : 1.0;
  if (similarity < 0.5)
    add(out, "R_PARTS_DIFFER", 1.0, {std::to_string(static_cast<int>(similarity * 100)) + "%"});
}

void check_charsets(const MessageView& view, std::vector<Symbol>& out) {
  bool missing = false, bad = false;
  std::string bad_name;
  for (const auto& t : view.text_parts()) {
    if (!t.charset_known) {
      bad = true;
      if (bad_name.empty()) bad_name = t.charset;
    }
    if (t.charset.empty() &&
        std::any_of(t.raw.begin(), t.raw.end(), [](char c) { return static_cast<unsigned char>(c) >= 0x80; }))
      missing = true;
  }
  if (missing) add(out, "R_MISSING_CHARSET", 0.5);
  if (bad) add(out, "R_BAD_CHARSET", 0.5, {bad_name});
}

void check_attachments(const MessageView& view, std::vector<Symbol>& out) {
  std::vector<std::string> exe, doubled, encrypted;
  for (const auto& a : view.attachments()) {
    auto [before, last] = extensions(a.filename);
    if (in(kExecutable, last)) {
      exe.push_back(last);
      if (!before.empty() && (in(kDocument, before) || in(kExecutable, before)))
        doubled.push_back(before + "." + last);
    }
    if (is_archive(a)) {
      std::string_view body = a.body.substr(0, kMaxArchiveBytes * 4 / 3 + 4096);
      auto decoded = proto::mime::decode_transfer(body, to_lower(a.encoding));
      std::string_view data = decoded ? std::string_view(*decoded) : body;
      if (encrypted_archive(data.substr(0, kMaxArchiveBytes)))
        encrypted.push_back(a.filename.empty() ? a.content_type : a.filename);
    }
  }
  if (!exe.empty()) add(out, "MIME_EXE_ATTACHMENT", 3.0, exe);
  if (!doubled.empty()) add(out, "MIME_DOUBLE_BAD_EXTENSION", 3.0, doubled);
  if (!encrypted.empty()) add(out, "MIME_ENCRYPTED_ARCHIVE", 2.0, encrypted);
}

void check_encoding(const MessageView& view, std::vector<Symbol>& out) {
  std::size_t longest = 0;
  bool bogus = false;
  for (const auto& t : view.text_parts()) {
    longest = std::max(longest, t.longest_line);
    // Base64 for text that is plain ASCII: mail programs use it only for
    // 8-bit text; bulk tools use it to hide words from filters.
    if (t.encoding == "base64" && !t.raw.empty() && std::none_of(t.raw.begin(), t.raw.end(), [](char c) {
          return static_cast<unsigned char>(c) >= 0x80;
        }))
      bogus = true;
  }
  for (const auto& a : view.attachments()) longest = std::max(longest, a.longest_line);
  if (bogus) add(out, "MIME_BASE64_TEXT_BOGUS", 1.0);
  if (longest > kMaxLine) add(out, "MIME_BAD_LINE", 1.0, {std::to_string(longest) + " bytes"});
}

}  // namespace

void check_mime(const MessageView& view, std::vector<Symbol>& out) {
  check_alternatives(view, out);
  check_charsets(view, out);
  check_attachments(view, out);
  check_encoding(view, out);
  if (view.part_count() >= kManyParts)
    add(out, "MIME_TOO_MANY_PARTS", 2.0, {std::to_string(view.part_count())});
  if (view.max_depth_seen() >= kDeepNesting)
    add(out, "MIME_DEEP_NESTING", 1.5, {std::to_string(view.max_depth_seen())});
}

}  // namespace mailfort::filter
