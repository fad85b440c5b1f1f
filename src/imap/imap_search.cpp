#include "imap/imap_session_impl.h"

#include "imap/imap_objectid.h"

// SEARCH and UID SEARCH (ESEARCH RETURN, CONDSTORE MODSEQ): the program is
// matched on the worker pool against the index's metadata, and the message
// text only when a key needs it.
namespace mailfort::imap {

asio::awaitable<bool> ImapSession::cmd_search(Command& c, Selected& sel) {
  bool text = search_needs_text(c.search);
  auto* mb = sel.account->mailbox.get();
  int64_t folder = sel.folder;
  // The session's message numbers and UIDs; size, date and the current
  // flags come from the index (the session view keeps UIDs and flags only).
  std::vector<ImapView::Entry> view = sel.view.entries();
  uint32_t max_uid = sel.view.last_uid();
  const SearchKey& key = c.search;
  const std::set<uint32_t>* recent = rev2_ ? nullptr : &sel.recent;  // IMAP4rev2 has no \Recent
  const ExtNeeds ext = ext_needs(key);  // EMAILID, THREADID, SAVED*
  auto hits = co_await blocking([&]() -> std::vector<std::pair<uint32_t, uint32_t>> {
    std::vector<std::pair<uint32_t, uint32_t>> out;  // (seq, uid)
    auto all = mb->messages(folder);
    if (!all) return out;
    auto meta = all->begin();
    std::vector<ExtFacts> extf;  // of view[i - i % kExtBatch ...]
    constexpr std::size_t kExtBatch = 1024;
    for (std::size_t i = 0; i < view.size(); ++i) {
      if (ext.any() && i % kExtBatch == 0) {
        std::vector<uint32_t> uids;
        for (std::size_t k = i; k < std::min(view.size(), i + kExtBatch); ++k) uids.push_back(view[k].uid);
        extf = load_ext(*mb, folder, uids, ext);
      }
      // Both in ascending UID order: merge.
      while (meta != all->end() && meta->uid < view[i].uid) ++meta;
      if (meta == all->end() || meta->uid != view[i].uid) continue;  // expunged meanwhile
      SearchFacts f =
          search_facts(*meta, static_cast<uint32_t>(i + 1), static_cast<uint32_t>(view.size()), max_uid, recent);
      if (ext.any()) {
        const ExtFacts& x = extf[i % kExtBatch];
        f.emailid = x.emailid;
        f.threadid = x.threadid;
        f.savedate = x.savedate;
      }
      std::string body;
      if (text) {
        auto r = mb->read(folder, view[i].uid);
        if (!r) continue;
        body = std::move(*r);
        f.message = body;
      }
      if (search_matches(key, f)) out.emplace_back(f.seq, f.uid);
    }
    return out;
  });
  std::vector<uint32_t> ids;
  uint64_t max_modseq = 0;
  for (auto& [s, u] : hits) ids.push_back(c.uid ? u : s);
  // MODSEQ: the highest of the messages returned (RFC 7162 3.1.5), so with
  // only MIN and/or MAX, of those; with ALL, COUNT or plain SEARCH, of all.
  bool min = false, max = false, others = c.search_return.empty() || !(c.search_esearch || rev2_);
  for (auto& r : c.search_return) (r == "MIN" ? min : r == "MAX" ? max : others) = true;
  for (std::size_t i = 0; i < hits.size(); ++i)
    if (others || (min && i == 0) || (max && i + 1 == hits.size()))
      max_modseq = std::max(max_modseq, sel.view.at(hits[i].first).modseq);
  bool modseq_key = false;
  std::function<void(const SearchKey&)> scan = [&](const SearchKey& k) {
    if (k.op == SearchKey::Op::ModSeq) modseq_key = true;
    for (auto& ch : k.children) scan(ch);
  };
  scan(c.search);
  if (modseq_key) enable_condstore();
  if (c.search_partial || c.search_update) {  // RFC 5267 (imap_context.cpp)
    std::vector<uint32_t> uids;
    for (auto& [s, u] : hits) uids.push_back(u);
    co_return co_await context_result(c, sel, std::move(ids), std::move(uids), {}, false);
  }
  if (c.search_esearch || rev2_) {
    std::string line = "ESEARCH (TAG " + quote(c.tag) + ")";
    if (c.uid) line += " UID";
    std::vector<std::string> ret = c.search_return;
    if (ret.empty()) ret.push_back("ALL");
    for (auto& r : ret) {
      if (ids.empty() && r != "COUNT") continue;
      if (r == "MIN") line += " MIN " + std::to_string(ids.front());
      if (r == "MAX") line += " MAX " + std::to_string(ids.back());
      if (r == "COUNT") line += " COUNT " + std::to_string(ids.size());
      if (r == "ALL") line += " ALL " + seq_set_text(ids);
    }
    if (modseq_key && !ids.empty()) line += " MODSEQ " + std::to_string(max_modseq);
    untagged(line);
  } else {
    std::string line = "SEARCH";
    for (uint32_t id : ids) line += " " + std::to_string(id);
    if (modseq_key && !ids.empty()) line += " (MODSEQ " + std::to_string(max_modseq) + ")";
    untagged(line);
  }
  co_await updates(sel, false);
  co_return co_await tagged(c.tag, "OK", completed(c));
}

}  // namespace mailfort::imap
