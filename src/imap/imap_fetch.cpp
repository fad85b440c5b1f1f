#include "imap/imap_session_impl.h"

#include "imap/imap_objectid.h"

// FETCH and UID FETCH: cached ENVELOPE/BODY/BODYSTRUCTURE, sections,
// partials, BINARY, \Seen on non-PEEK fetches, CHANGEDSINCE.
namespace mailfort::imap {

using namespace proto::imap;
using std::chrono::seconds;
using store::MessageMeta;

asio::awaitable<bool> ImapSession::cmd_fetch(Command& c, Selected& sel) {
  if (!c.uid && !valid_seqs(c.set, sel.view.size()))
    co_return co_await tagged(c.tag, "BAD", "Invalid message sequence number");
  if (c.vanished) {
    if (!qresync_) co_return co_await tagged(c.tag, "BAD", "QRESYNC not enabled");
    co_await fetch_vanished(c, sel);
  }
  auto seqs = resolve(sel.view, c.set, c.uid);
  bool needs_text = false, needs_cache = false, needs_details = false, sets_seen = false, wants_flags = false,
       wants_uid = c.uid || qresync_;  // RFC 7162 3.2.4: UID in every FETCH
  bool wants_modseq = c.changed_since.has_value();
  for (auto& it : c.fetch) {
    using K = FetchItem::Kind;
    switch (it.kind) {
      case K::BodySection:
      case K::BinarySection:
      case K::BinarySize:
      case K::Rfc822:
      case K::Rfc822Header:
      case K::Rfc822Text:
        needs_text = true;
        if ((it.kind == K::BodySection || it.kind == K::BinarySection) && !it.peek) sets_seen = true;
        if (it.kind == K::Rfc822 || it.kind == K::Rfc822Text) sets_seen = true;
        break;
      case K::Envelope:
      case K::Body:
      case K::BodyStructure:
        needs_cache = true;
        break;
      case K::Flags:
        wants_flags = true;
        break;
      case K::Uid:
        wants_uid = true;
        break;
      case K::ModSeq:
        wants_modseq = true;
        break;
      case K::InternalDate:
      case K::Rfc822Size:
        needs_details = true;
        break;
      default:
        break;
    }
  }
  if (wants_modseq) enable_condstore();
  if (sel.read_only) sets_seen = false;
  auto* mb = sel.account->mailbox.get();
  int64_t folder = sel.folder;
  // Mark \Seen first so the FETCH responses carry the new flags.
  if (sets_seen) {
    std::vector<uint32_t> unseen;
    for (uint32_t s : seqs)
      if (!(sel.view.at(s).flags & store::kSeen)) unseen.push_back(sel.view.uid(s));
    if (!unseen.empty()) {
      auto r = co_await blocking([&] {
        return mb->store_flags(folder, unseen, store::UserMailbox::FlagMode::Add, store::kSeen, {},
                               std::nullopt);
      });
      if (r) {
        for (auto& m : r->updated) {
          uint32_t s = sel.view.seq_of_uid(m.uid);
          if (s) sel.view.update(s, m);
        }
        wants_flags = true;
      }
    }
  }
  const ExtNeeds ext = ext_needs(c.fetch);  // EMAILID, THREADID, SAVEDATE, PREVIEW
  // Work in batches so a FETCH 1:* of a large folder streams out with
  // bounded memory.
  constexpr std::size_t kBatch = 256;
  for (std::size_t b = 0; b < seqs.size(); b += kBatch) {
    std::vector<uint32_t> batch(seqs.begin() + b, seqs.begin() + std::min(seqs.size(), b + kBatch));
    std::vector<uint32_t> uids;
    for (uint32_t s : batch) uids.push_back(sel.view.uid(s));
    struct Loaded {
      store::MessageDetails details;
      std::string text;
      bool ok = true;
    };
    auto loaded = co_await blocking([&] {
      std::vector<Loaded> out(uids.size());
      if (needs_cache || needs_details) {
        // One query for the whole batch (one lookup per message spends
        // most of its time opening read transactions).
        auto all = mb->details(folder, uids, needs_cache);
        for (std::size_t i = 0; i < uids.size(); ++i) {
          if (all && i < all->size() && (*all)[i])
            out[i].details = std::move(*(*all)[i]);
          else
            out[i].ok = false;
        }
      }
      for (std::size_t i = 0; i < uids.size(); ++i) {
        if (needs_text) {
          auto r = mb->read(folder, uids[i]);
          if (r)
            out[i].text = std::move(*r);
          else
            out[i].ok = false;
        }
      }
      return out;
    });
    std::vector<ExtFacts> extf;
    if (ext.any()) extf = co_await blocking([&] { return load_ext(*mb, folder, uids, ext); });
    for (std::size_t i = 0; i < batch.size(); ++i) {
      const ImapView::Entry& m = sel.view.at(batch[i]);
      const store::MessageDetails& d = loaded[i].details;
      if (c.changed_since && m.modseq <= *c.changed_since) continue;
      if (!loaded[i].ok) continue;  // expunged meanwhile by another session
      if (ext.any() && !extf[i].found) continue;  // the same, seen by load_ext
      std::string items;
      auto add = [&](const std::string& s) {
        if (!items.empty()) items += ' ';
        items += s;
      };
      if (wants_uid) add("UID " + std::to_string(m.uid));
      if (wants_flags) add("FLAGS " + session_flags(sel, m.uid, m.flags, sel.view.keywords(batch[i])));
      if (wants_modseq || (condstore_ && c.changed_since)) add("MODSEQ (" + std::to_string(m.modseq) + ")");
      CachedStructure cs;
      if (needs_cache) cs = parse_cache(d.cache);
      const std::string& text = loaded[i].text;
      for (auto& it : c.fetch) {
        using K = FetchItem::Kind;
        auto partial = [&](std::string data, const std::string& name) {
          std::string label = name;
          if (it.partial_offset) {
            std::size_t o = *it.partial_offset;
            data = o >= data.size() ? std::string() : data.substr(o, *it.partial_length);
            label += "<" + std::to_string(o) + ">";
          }
          return label + " {" + std::to_string(data.size()) + "}\r\n" + data;
        };
        switch (it.kind) {
          case K::Flags:
          case K::Uid:
          case K::ModSeq:
            break;
          case K::EmailId:
          case K::ThreadId:
          case K::SaveDate:
          case K::Preview:
            add(render_ext(it, extf[i]));
            break;
          case K::InternalDate:
            add("INTERNALDATE \"" + format_date_time(d.internal_date) + "\"");
            break;
          case K::Rfc822Size:
            add("RFC822.SIZE " + std::to_string(d.size));
            break;
          case K::Envelope:
            add("ENVELOPE " + cs.envelope);
            break;
          case K::Body:
            add("BODY " + cs.body);
            break;
          case K::BodyStructure:
            add("BODYSTRUCTURE " + cs.bodystructure);
            break;
          case K::Rfc822:
            add("RFC822 {" + std::to_string(text.size()) + "}\r\n" + text);
            break;
          case K::Rfc822Header: {
            Section s;
            s.kind = Section::Kind::Header;
            auto h = body_section(text, s).value_or("");
            add("RFC822.HEADER {" + std::to_string(h.size()) + "}\r\n" + h);
            break;
          }
          case K::Rfc822Text: {
            Section s;
            s.kind = Section::Kind::Text;
            auto t = body_section(text, s).value_or("");
            add("RFC822.TEXT {" + std::to_string(t.size()) + "}\r\n" + t);
            break;
          }
          case K::BodySection: {
            auto data = body_section(text, it.section).value_or("");
            add(partial(std::move(data), "BODY[" + it.section.text + "]"));
            break;
          }
          case K::BinarySection:
          case K::BinarySize: {
            bool unknown = false;
            auto data = binary_section(text, it.section.part, unknown);
            if (unknown) {
              co_return co_await tagged(c.tag, "NO", "[UNKNOWN-CTE] Unknown Content-Transfer-Encoding");
            }
            std::string label =
                "BINARY" + std::string(it.kind == K::BinarySize ? ".SIZE" : "") + "[" + it.section.text + "]";
            if (it.kind == K::BinarySize) {
              add(label + " " + std::to_string(data ? data->size() : 0));
            } else if (!data) {
              add(label + " NIL");
            } else {
              std::string d = std::move(*data);
              if (it.partial_offset) {
                std::size_t o = *it.partial_offset;
                d = o >= d.size() ? std::string() : d.substr(o, *it.partial_length);
                label += "<" + std::to_string(o) + ">";
              }
              bool nul = d.find('\0') != std::string::npos;
              add(label + (nul ? " ~{" : " {") + std::to_string(d.size()) + "}\r\n" + d);
            }
            break;
          }
        }
      }
      untagged(std::to_string(batch[i]) + " FETCH (" + items + ")");
    }
    if (out_.size() > 256 * 1024 && !co_await flush()) co_return false;
  }
  co_await updates(sel, false);
  co_return co_await tagged(c.tag, "OK", completed(c));
}

}  // namespace mailfort::imap
