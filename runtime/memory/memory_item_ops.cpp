// The memory.* ops: add an item, search (hybrid: keywords, vectors,
// recency; optionally only the hits that mention someone), forget an item,
// prune by the config's policies, the memory's status and re-embedding.
#include <algorithm>

#include "runtime/memory/op_args.hpp"
#include "runtime/memory/op_handlers.hpp"
#include "storage/memory/content_hash.hpp"
#include "storage/memory/pruning.hpp"

namespace keel::memory_op {

namespace mem = keel::memory;

namespace {

json item_json(const mem::memory_item& it) {
  json j = {{"id", it.id},           {"text", it.text},       {"kind", it.kind},
            {"about", it.about},     {"source", it.source},   {"source_event", it.source_event},
            {"record_ref", it.record_ref}, {"created_ms", it.created_ms}, {"ttl_ms", it.ttl_ms}};
  if (it.ttl_ms > 0) j["expires_ms"] = it.expires_ms();
  return j;
}

json reembed_json(const memory_service::reembed_progress& p) {
  return json{{"state", p.state},           {"done", p.done},
              {"total", p.total},           {"error", p.error},
              {"started_ms", p.started_ms}, {"finished_ms", p.finished_ms}};
}

}  // namespace

result<json> memory_add(memory_service& m, const json& args) {
  mem::memory_item it;
  auto text = need_text(args, "text", "what to remember");
  if (!text) return text.err();
  auto about = opt_text(args, "about");
  if (!about) return about.err();
  auto kind = opt_text(args, "kind");
  if (!kind) return kind.err();
  auto source = opt_text(args, "source");
  if (!source) return source.err();
  auto ttl = opt_int(args, "ttl_ms", 0, 100LL * 365 * 86'400'000);
  if (!ttl) return ttl.err();
  it.text = *text;
  it.about = *about;
  if (!kind->empty()) it.kind = *kind;
  if (!source->empty()) it.source = *source;
  it.ttl_ms = ttl->value_or(0);
  // `once`: a key under which the item is added at most once (a workflow
  // step's idempotency key): the marker commits with the item, so a step
  // run again after a crash finds the item it added instead of adding two.
  auto once = opt_text(args, "once");
  if (!once) return once.err();
  if (once->empty()) {
    auto added = m.memory().add(std::move(it));
    if (!added) return added.err();
    return json{{"item", item_json(*added)}};
  }
  auto marker = "mem/once/" + mem::content_hash(*once);
  auto seen = m.db().get(marker);
  if (!seen) return seen.err();
  if (seen->has_value()) return json{{"item", nullptr}, {"existing", true}};
  auto added = m.memory().add(std::move(it), {{marker, "1"}});
  if (!added) return added.err();
  return json{{"item", item_json(*added)}};
}

result<json> memory_search(memory_service& m, const json& args) {
  mem::memory_query q;
  auto text = need_text(args, "query", "what to look for");
  if (!text) return text.err();
  auto about = opt_text(args, "about");
  if (!about) return about.err();
  auto kinds = opt_list(args, "kinds");
  if (!kinds) return kinds.err();
  auto sources = opt_list(args, "sources");
  if (!sources) return sources.err();
  auto since = opt_int(args, "since_ms", 0, INT64_MAX);
  if (!since) return since.err();
  auto until = opt_int(args, "until_ms", 0, INT64_MAX);
  if (!until) return until.err();
  auto k = opt_int(args, "k", 1, 1000);
  if (!k) return k.err();
  if (auto s = args.find("min_score"); s != args.end() && !s->is_null()) {
    if (!s->is_number()) return bad("\"min_score\" must be a number");
    q.min_score = s->get<double>();
  }
  q.text = *text;
  q.filter.about = *about;
  q.filter.kinds = *kinds;
  q.filter.sources = *sources;
  q.filter.since_ms = *since;
  q.filter.until_ms = *until;
  auto mentions = opt_text(args, "mentions");
  if (!mentions) return mentions.err();
  q.k = static_cast<std::size_t>(k->value_or(5));
  // `mentions` keeps the hits whose text names someone (an email): event
  // notes are about the invoice or ticket an event wrote, not the customer,
  // so `about` cannot select "everything about ana". It filters the best
  // 200 hits (at least 10 x k), not the whole memory: the ranking still
  // decides what is relevant, this only drops other people's items.
  const auto want = q.k;
  const auto needle = lower(*mentions);
  if (!needle.empty()) q.k = std::min<std::size_t>(std::max<std::size_t>(200, 10 * want), 10000);
  q.explain = args.value("explain", false) == true;
  // The cosine below which a vector match is no evidence: embedders differ
  // in where unrelated texts land (docs/memory.md, "A real embedder").
  if (auto f = args.find("vector_floor"); f != args.end()) {
    if (!f->is_number() || *f < 0 || *f >= 1) return bad("vector_floor must be a number from 0 up to (not including) 1");
    q.vector_floor = f->get<double>();
  }
  auto r = m.search().search(q);
  if (!r) return r.err();
  auto now = m.memory().now_ms();
  json hits = json::array();
  for (const auto& h : r->hits) {
    if (!needle.empty() && lower(h.item.text).find(needle) == std::string::npos) continue;
    if (hits.size() == want) break;
    json j = item_json(h.item);
    j["score"] = h.score;
    if (h.explain) {
      const auto& c = *h.explain;
      j["explain"] = {{"keyword_rank", c.keyword_rank}, {"keyword_score", c.keyword_score}, {"keyword", c.keyword}, {"synonym_score", c.synonym_score},
                      {"vector_rank", c.vector_rank},   {"similarity", c.similarity},       {"vector", c.vector},
                      {"recency_rank", c.recency_rank}, {"recency", c.recency},             {"age_ms", c.age_ms}};
    }
    hits.push_back(std::move(j));
  }
  json out{{"hits", std::move(hits)}, {"warnings", r->warnings}, {"total_items", m.memory().size()}, {"now_ms", now}};
  if (q.explain) {
    json reading = json::array();
    for (const auto& s : r->reading)
      reading.push_back({{"words", s.words}, {"weight", s.weight}, {"alternatives", s.alternatives}});
    out["reading"] = std::move(reading);
  }
  return out;
}

result<json> memory_forget(memory_service& m, const json& args) {
  auto id = opt_int(args, "id", 1, INT64_MAX);
  if (!id) return id.err();
  if (!*id) return bad("missing \"id\": the memory id (shown by `keelctl memory search`)");
  if (auto s = m.memory().forget(static_cast<std::uint64_t>(**id)); !s) {
    if (s.err().code == errc::not_found)
      return error{errc::not_found, "no memory item " + std::to_string(**id) + " (already forgotten or pruned?); "
                                    "find items with `keelctl memory search TEXT`"};
    return s.err();
  }
  return json{{"forgotten", **id}};
}

result<json> memory_prune(memory_service& m, const json& args) {
  bool dry = args.value("dry_run", false) == true;
  auto rep = mem::prune(m.memory(), m.records(), m.config().pruning, dry);
  if (!rep) return rep.err();
  json items = json::array(), records = json::array();
  for (const auto& i : rep->items) items.push_back({{"id", i.id}, {"kind", i.kind}, {"why", i.why}});
  for (const auto& r : rep->records) records.push_back({{"type", r.type}, {"id", r.id}, {"removed", r.removed}});
  return json{{"dry_run", dry}, {"items", std::move(items)}, {"records", std::move(records)}};
}

result<json> memory_status(memory_service& m) {
  const auto& rep = m.memory().opened();
  std::size_t index_items = 0;
  {
    auto v = m.memory().read();
    if (const auto* vi = v.vectors()) index_items = vi->size();
  }
  auto dead = m.dead_letters().count();
  if (!dead) return dead.err();
  return json{{"items", m.memory().size()},
              {"index_items", index_items},
              {"vectors_pending", m.memory().vectors_pending()},
              {"embedder", m.memory().current_embedder().identity().text()},
              {"embedding", m.embedder_status()},
              {"dead_letters", *dead},
              {"entity_types", m.records().types()->type_names()},
              {"mappings", m.config().mappings.size()},
              {"opened", {{"index_loaded", rep.index_loaded}, {"replayed", rep.replayed}, {"rebuilt", rep.rebuilt},
                          {"why", rep.why}, {"reembed_needed", rep.reembed_needed}, {"index_ms", rep.index_ms},
                          {"catalog_loaded", rep.catalog_loaded}, {"catalog_replayed", rep.catalog_replayed},
                          {"catalog_why", rep.catalog_why}, {"catalog_ms", rep.catalog_ms}}},
              {"last_checkpoint_ms", m.last_checkpoint_ms()},
              {"last_prune_ms", m.last_prune_ms()},
              {"reembed", reembed_json(m.reembed_status())}};
}

// memory.reembed {} -> {started, reembed}: starts re-embedding every item
// with the node's embedder (or reports the one running); progress is in
// memory.status's `reembed`.
result<json> memory_reembed(memory_service& m) {
  bool started = m.start_reembed();
  return json{{"started", started}, {"reembed", reembed_json(m.reembed_status())}};
}

}  // namespace keel::memory_op
