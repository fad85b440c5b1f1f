#include "imap/imap_session_impl.h"

// RFC 5267 result contexts: SEARCH/SORT RETURN (PARTIAL m:n) and RETURN
// (UPDATE), whose results are kept for the selected folder and followed by
// ESEARCH ADDTO/REMOVEFROM as flags change and messages come and go, until
// CANCELUPDATE or the folder is closed. At most imap.max_update_contexts
// per session (NOUPDATE beyond). SEARCH contexts report position 0 (RFC
// 5267 allows it for unsorted results); SORT contexts the position in the
// sorted result, one (position, message) pair per line.
namespace mailfort::imap {
namespace {

std::string context_prefix(const SearchContext& ctx) {
  return "ESEARCH (TAG " + quote(ctx.tag) + ")" + (ctx.uid ? " UID" : "");
}

// The 1-based position of `uid` in a SORT context's current order; 0 if absent.
uint32_t sorted_position(const SearchContext& ctx, uint32_t uid) {
  auto order = sort_messages(ctx.facts, ctx.sort);
  auto it = std::find(order.begin(), order.end(), uid);
  return it == order.end() ? 0 : static_cast<uint32_t>(it - order.begin() + 1);
}

}  // namespace

asio::awaitable<bool> ImapSession::context_result(Command& c, Selected& sel, std::vector<uint32_t> ids,
                                                  std::vector<uint32_t> uids, std::vector<SortFacts> facts,
                                                  bool sorted) {
  auto set_text = [&](const std::vector<uint32_t>& v) {
    return sorted ? ordered_set_text(v) : seq_set_text(v);
  };
  std::string line = "ESEARCH (TAG " + quote(c.tag) + ")";
  if (c.uid) line += " UID";
  std::vector<std::string> ret = c.search_return;
  if (ret.empty() && !c.search_partial && !c.search_update) ret.push_back("ALL");
  for (auto& r : ret) {
    if (r == "COUNT") line += " COUNT " + std::to_string(ids.size());
    if (ids.empty()) continue;
    if (r == "MIN")
      line += " MIN " + std::to_string(sorted ? ids.front() : *std::min_element(ids.begin(), ids.end()));
    if (r == "MAX")
      line += " MAX " + std::to_string(sorted ? ids.back() : *std::max_element(ids.begin(), ids.end()));
    if (r == "ALL") line += " ALL " + set_text(ids);
  }
  if (c.search_partial) {
    auto [lo, hi] = *c.search_partial;
    std::vector<uint32_t> slice;
    for (uint64_t i = lo; i <= hi && i <= ids.size(); ++i) slice.push_back(ids[i - 1]);
    line += " PARTIAL (" + std::to_string(lo) + ":" + std::to_string(hi) + " " +
            (slice.empty() ? std::string("NIL") : set_text(slice)) + ")";
  }
  untagged(line);
  if (c.search_update) {
    auto& list = sel.contexts.list;
    std::erase_if(list, [&](const SearchContext& x) { return x.tag == c.tag; });
    if (c.search_partial || list.size() >= cfg_->imap.max_update_contexts) {
      untagged("NO [NOUPDATE " + quote(c.tag) + "] " +
               (c.search_partial ? "No updates for partial results" : "Too many result contexts"));
    } else {
      SearchContext ctx;
      ctx.tag = c.tag;
      ctx.uid = c.uid;
      ctx.key = c.search;
      ctx.sort = c.sort;
      ctx.facts = std::move(facts);
      ctx.uids.insert(uids.begin(), uids.end());
      for (auto& e : sel.view.entries()) ctx.checked_modseq = std::max(ctx.checked_modseq, e.modseq);
      list.push_back(std::move(ctx));
    }
  }
  co_await updates(sel, false);
  co_return co_await tagged(c.tag, "OK", completed(c));
}

void ImapSession::context_expunged(Selected& sel, uint32_t seq) {
  uint32_t uid = sel.view.uid(seq);
  for (auto& ctx : sel.contexts.list) {
    if (!ctx.uids.count(uid)) continue;
    uint32_t pos = 0;
    if (!ctx.sort.empty()) {
      pos = sorted_position(ctx, uid);
      std::erase_if(ctx.facts, [&](const SortFacts& f) { return f.id == uid; });
    }
    ctx.uids.erase(uid);
    untagged(context_prefix(ctx) + " REMOVEFROM (" + std::to_string(pos) + " " +
             std::to_string(ctx.uid ? uid : seq) + ")");
  }
}

asio::awaitable<void> ImapSession::context_refresh(Selected& sel) {
  auto* mb = sel.account->mailbox.get();
  int64_t folder = sel.folder;
  for (std::size_t k = 0; k < sel.contexts.list.size(); ++k) {
    std::vector<uint32_t> seqs;
    uint64_t top = sel.contexts.list[k].checked_modseq;
    const auto& entries = sel.view.entries();
    for (std::size_t i = 0; i < entries.size(); ++i) {
      if (entries[i].modseq <= sel.contexts.list[k].checked_modseq) continue;
      seqs.push_back(static_cast<uint32_t>(i + 1));
      top = std::max(top, entries[i].modseq);
    }
    if (seqs.empty()) continue;
    std::vector<ImapView::Entry> view = entries;
    SearchKey key = sel.contexts.list[k].key;
    NeedFacts need = sel.contexts.list[k].sort.empty() ? NeedFacts::None : NeedFacts::Sort;
    std::size_t max_header = cfg_->smtp.max_header_size;
    std::set<uint32_t> recent_uids = sel.recent;
    const std::set<uint32_t>* recent = rev2_ ? nullptr : &recent_uids;
    auto found = co_await blocking([&] {
      return evaluate_messages(*mb, folder, view, key, need, &seqs, /*keep_unmatched=*/true, max_header,
                               recent);
    });
    if (k >= sel.contexts.list.size()) break;
    SearchContext& ctx = sel.contexts.list[k];
    ctx.checked_modseq = top;
    auto id_of = [&](const EvaluatedMessage& m) { return ctx.uid ? m.uid : m.seq; };
    std::vector<const EvaluatedMessage*> added, removed;
    for (auto& m : found) {
      bool in = ctx.uids.count(m.uid) != 0;
      if (m.matched && !in) added.push_back(&m);
      if (!m.matched && in) removed.push_back(&m);
    }
    if (ctx.sort.empty()) {
      std::vector<uint32_t> ids;
      for (auto* m : removed) {
        ctx.uids.erase(m->uid);
        ids.push_back(id_of(*m));
      }
      if (!ids.empty()) untagged(context_prefix(ctx) + " REMOVEFROM (0 " + seq_set_text(ids) + ")");
      ids.clear();
      for (auto* m : added) {
        ctx.uids.insert(m->uid);
        ids.push_back(id_of(*m));
      }
      if (!ids.empty()) untagged(context_prefix(ctx) + " ADDTO (0 " + seq_set_text(ids) + ")");
      continue;
    }
    // SORT: removals at their positions as they go, then additions in the
    // order of their final positions, so that every position is exact
    // when the client applies the pairs one after another.
    auto order = sort_messages(ctx.facts, ctx.sort);
    std::sort(removed.begin(), removed.end(), [&](auto* a, auto* b) {
      return std::find(order.begin(), order.end(), a->uid) < std::find(order.begin(), order.end(), b->uid);
    });
    for (auto* m : removed) {
      uint32_t pos = sorted_position(ctx, m->uid);
      std::erase_if(ctx.facts, [&](const SortFacts& f) { return f.id == m->uid; });
      ctx.uids.erase(m->uid);
      untagged(context_prefix(ctx) + " REMOVEFROM (" + std::to_string(pos) + " " + std::to_string(id_of(*m)) +
               ")");
    }
    for (auto* m : added) {
      SortFacts f = m->sort;
      f.id = f.seq = m->uid;
      ctx.facts.push_back(std::move(f));
    }
    order = sort_messages(ctx.facts, ctx.sort);
    std::vector<std::pair<uint32_t, const EvaluatedMessage*>> placed;
    for (auto* m : added) {
      auto it = std::find(order.begin(), order.end(), m->uid);
      placed.emplace_back(static_cast<uint32_t>(it - order.begin() + 1), m);
      ctx.uids.insert(m->uid);
    }
    std::sort(placed.begin(), placed.end(), [](auto& a, auto& b) { return a.first < b.first; });
    for (auto& [pos, m] : placed)
      untagged(context_prefix(ctx) + " ADDTO (" + std::to_string(pos) + " " + std::to_string(id_of(*m)) +
               ")");
  }
}

asio::awaitable<bool> ImapSession::cmd_cancelupdate(Command& c, Selected& sel) {
  bool unknown = false;
  for (auto& tag : c.args) {
    auto n = std::erase_if(sel.contexts.list, [&](const SearchContext& x) { return x.tag == tag; });
    unknown = unknown || n == 0;
  }
  if (unknown) co_return co_await tagged(c.tag, "NO", "Unknown search context");
  co_return co_await tagged(c.tag, "OK", completed(c));
}

}  // namespace mailfort::imap
