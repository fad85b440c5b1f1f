#include "imap/imap_objectid.h"

#include <cstdio>

#include "imap/imap_render.h"
#include "proto/mime/preview.h"
#include "store/mailbox.h"

namespace mailfort::imap {
namespace {

using proto::imap::FetchItem;
using proto::imap::SearchKey;

// The first "<...>" of a header value, blanks inside removed.
std::string first_msgid(std::string_view v) {
  auto lt = v.find('<');
  if (lt == std::string_view::npos) return {};
  auto gt = v.find('>', lt);
  if (gt == std::string_view::npos) return {};
  std::string id;
  for (char c : v.substr(lt, gt - lt + 1))
    if (c != ' ' && c != '\t' && c != '\r' && c != '\n') id += c;
  return id.size() > 2 ? id : std::string();
}

std::string hashed(char prefix, std::string_view s) {
  uint64_t h = 14695981039346656037ull;
  for (char c : s) {
    h ^= static_cast<unsigned char>(c);
    h *= 1099511628211ull;
  }
  char buf[20];
  std::snprintf(buf, sizeof buf, "%c%016llx", prefix, static_cast<unsigned long long>(h));
  return buf;
}

void scan(const SearchKey& k, ExtNeeds& n) {
  using Op = SearchKey::Op;
  switch (k.op) {
    case Op::EmailId:
    case Op::SavedBefore:
    case Op::SavedOn:
    case Op::SavedSince:
      n.ids = true;
      break;
    case Op::ThreadId:
      n.thread = true;
      break;
    default:
      break;
  }
  for (const auto& c : k.children) scan(c, n);
}

}  // namespace

std::string thread_id(std::string_view message, const proto::mime::Part& root) {
  std::string_view header = message.substr(0, std::min(root.body_begin, message.size()));
  for (const char* field : {"References", "In-Reply-To", "Message-ID"}) {
    auto values = proto::mime::header_values(header, field);
    if (!values.empty())
      if (auto id = first_msgid(values[0]); !id.empty()) return hashed('T', id);
  }
  return hashed('T', header);
}

std::string cache_extras(std::string_view message, const proto::mime::Part& root) {
  return thread_id(message, root) + '\0' + proto::mime::preview(message, root);
}

std::optional<CacheExtras> parse_cache_extras(std::string_view blob) {
  std::size_t at = 0;
  for (int i = 0; i < 3; ++i) {
    at = blob.find('\0', at);
    if (at == std::string_view::npos) return std::nullopt;
    ++at;
  }
  auto end = blob.find('\0', at);
  if (end == std::string_view::npos) return std::nullopt;
  CacheExtras x;
  x.threadid = blob.substr(at, end - at);
  auto rest = blob.substr(end + 1);
  x.preview = rest.substr(0, rest.find('\0'));
  return x;
}

ExtNeeds ext_needs(const std::vector<FetchItem>& items) {
  ExtNeeds n;
  for (const auto& it : items) {
    switch (it.kind) {
      case FetchItem::Kind::EmailId:
      case FetchItem::Kind::SaveDate:
        n.ids = true;
        break;
      case FetchItem::Kind::ThreadId:
        n.thread = true;
        break;
      case FetchItem::Kind::Preview:
        n.preview = true;
        if (!it.lazy) n.preview_full = true;
        break;
      default:
        break;
    }
  }
  return n;
}

ExtNeeds ext_needs(const SearchKey& key) {
  ExtNeeds n;
  scan(key, n);
  return n;
}

std::vector<ExtFacts> load_ext(store::UserMailbox& mb, int64_t folder, const std::vector<uint32_t>& uids,
                               const ExtNeeds& needs) {
  std::vector<ExtFacts> out(uids.size());
  bool blobs = needs.thread || needs.preview;
  if (needs.ids) {
    auto ids = mb.object_ids(folder, uids);
    if (!ids) return out;
    for (std::size_t i = 0; i < uids.size(); ++i) {
      if (!(*ids)[i]) continue;
      out[i].found = true;
      out[i].emailid = std::move((*ids)[i]->emailid);
      out[i].savedate = (*ids)[i]->savedate;
    }
  }
  if (!blobs) return out;
  auto caches = mb.caches(folder, uids);
  if (!caches) return out;
  for (std::size_t i = 0; i < uids.size(); ++i) {
    const auto& blob = (*caches)[i];
    if (!blob) {
      out[i].found = false;
      continue;
    }
    out[i].found = out[i].found || !needs.ids;
    auto x = parse_cache_extras(*blob);
    if (!x && (needs.thread || needs.preview_full)) {
      // A blob from before these existed: built again once, and kept.
      auto text = mb.read(folder, uids[i]);
      if (text) {
        std::string fresh = build_cache(*text);
        (void)mb.set_cache(folder, uids[i], fresh);
        x = parse_cache_extras(fresh);
      }
    }
    if (!x) continue;
    out[i].threadid = std::move(x->threadid);
    out[i].preview = std::move(x->preview);
  }
  return out;
}

std::string render_ext(const FetchItem& item, const ExtFacts& f) {
  switch (item.kind) {
    case FetchItem::Kind::EmailId:
      return "EMAILID (" + f.emailid + ")";
    case FetchItem::Kind::ThreadId:
      return f.threadid.empty() ? "THREADID NIL" : "THREADID (" + f.threadid + ")";
    case FetchItem::Kind::SaveDate:
      return f.savedate ? "SAVEDATE \"" + proto::imap::format_date_time(*f.savedate) + "\"" : "SAVEDATE NIL";
    case FetchItem::Kind::Preview:
      return f.preview ? "PREVIEW " + proto::imap::quote(*f.preview) : "PREVIEW NIL";
    default:
      return {};
  }
}

}  // namespace mailfort::imap
