// libFuzzer target: the MIME parser and every rendering built on it.
// Checks invariants, not just crashes: parts nest inside their parents and
// inside the message, the limits hold, and no output grows beyond a fixed
// multiple of the input (ENVELOPE and BODYSTRUCTURE are built from it,
// sections and decodings are slices of it).
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include "proto/mime/mime.h"
#include "proto/mime/preview.h"

using namespace mailfort::proto::mime;

namespace {

// Walks the tree without recursion; returns the number of parts.
std::size_t check_tree(std::string_view m, const Part& root, const Limits& lim) {
  struct Item {
    const Part* part;
    std::size_t depth;
  };
  std::vector<Item> stack{{&root, 0}};
  std::size_t parts = 0;
  while (!stack.empty()) {
    Item it = stack.back();
    stack.pop_back();
    const Part& p = *it.part;
    ++parts;
    if (p.header_begin > p.body_begin || p.body_begin > p.body_end || p.body_end > m.size()) std::abort();
    if (it.depth > lim.max_depth) std::abort();
    if (p.is_message_rfc822() && p.children[0].header_begin != p.body_begin) std::abort();
    std::size_t prev_end = p.body_begin;
    for (const Part& c : p.children) {
      // Children follow each other inside the parent's body.
      if (c.header_begin < prev_end || c.body_end > p.body_end) std::abort();
      prev_end = c.body_end;
      stack.push_back({&c, it.depth + 1});
    }
  }
  if (parts > lim.max_parts) std::abort();
  return parts;
}

void exercise(std::string_view m, const Limits& lim) {
  Part root = parse(m, lim);
  check_tree(m, root, lim);
  // Generous bounds: what matters is that the output is linear in the input.
  std::size_t bound = 300 * m.size() + 4096;
  if (imap_bodystructure(m, root, true).size() > bound) std::abort();
  if (imap_bodystructure(m, root, false).size() > bound) std::abort();
  if (imap_envelope(m, root).size() > bound) std::abort();
  // base64 is 4/3 of the bytes plus a line break per 76 characters.
  if (binary_parts_to_base64(std::string(m)).size() > 2 * m.size() + 4096) std::abort();
  if (searchable_addresses(m).size() > bound) std::abort();

  static const std::vector<std::vector<std::uint32_t>> paths = {{},     {1},    {2},      {1, 1},
                                                                {1, 2}, {2, 1}, {1, 1, 1}};
  for (const auto& path : paths) {
    for (SectionKind kind : {SectionKind::Full, SectionKind::Header, SectionKind::HeaderFields,
                             SectionKind::HeaderFieldsNot, SectionKind::Text, SectionKind::Mime}) {
      Section s{path, kind, {"From", "content-type", "X"}};
      if (auto out = section(m, root, s); out && out->size() > 2 * m.size() + 4) std::abort();
    }
  }

  std::vector<const Part*> stack{&root};
  while (!stack.empty()) {
    const Part* p = stack.back();
    stack.pop_back();
    for (const Part& c : p->children) stack.push_back(&c);
    std::string_view body = m.substr(p->body_begin, p->body_end - p->body_begin);
    // Decoding never grows data, except that bare LFs become CRLF.
    if (auto d = decode_transfer(body, p->encoding); d && d->size() > 2 * body.size()) std::abort();
  }
  // BINARY: CRLF line ends plus one "Content-Transfer-Encoding: binary"
  // line per part at most.
  for (const auto& path : paths) {
    bool unknown = false;
    if (auto out = binary(m, root, path, unknown); out && out->size() > 2 * m.size() + 40 * lim.max_parts)
      std::abort();
  }
  if (searchable_body(m, root, 1000).size() > 1000) std::abort();
  if (searchable_headers(m, root, 1000).size() > 1000) std::abort();
  // At most 200 characters of at most 4 bytes each.
  if (preview(m, root).size() > 800) std::abort();
  (void)html_to_text(m.substr(0, 4096));
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view in(reinterpret_cast<const char*>(data), size);

  exercise(in, Limits{});
  exercise(in, Limits{3, 12, 20});

  // The decoders on their own, whatever the input.
  for (std::string_view enc : {"base64", "quoted-printable", "7bit", "x-unknown"})
    if (auto d = decode_transfer(in, enc); d && d->size() > 2 * size) std::abort();
  (void)decode_header_value(in);
  for (const std::string& v : header_values(in, "subject")) (void)decode_header_value(v);
  return 0;
}
