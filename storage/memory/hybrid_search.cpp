// One query: embed (no lock), then under the memory's read lock gather the
// keyword and vector candidate lists with the filter, rank recency among
// their union, fuse; hydrate the winners from LevelDB after the lock.
#include "storage/memory/hybrid_search.hpp"

#include <algorithm>
#include <map>
#include <unordered_map>

#include "storage/memory/keyword_evidence.hpp"
#include "storage/memory/text_tokens.hpp"

namespace keel::memory {

namespace {

// The items passing the filter when it names an about-entity with at most
// exact_below items: both sides then score just those, so the query costs
// what the entity holds, not what the memory holds.
std::optional<std::vector<std::uint64_t>> few_members(const item_store::view& v, const item_store::view::filter_fn& fn,
                                                      const memory_filter& f, const memory_query& limits) {
  const auto* members = v.about_members(f);
  if (!members || members->size() > limits.exact_below) return std::nullopt;
  std::vector<std::uint64_t> ok;
  for (auto id : *members)
    if (fn.allowed(id)) ok.push_back(id);
  return ok;
}

}  // namespace

std::vector<vector_hit> hybrid_search::nearest_in(const item_store::view& v, const item_store::view::filter_fn& fn,
                                              std::span<const float> q, std::size_t k, std::size_t ef,
                                              const memory_filter& f, const memory_query& limits) const {
  const vector_index* index = v.vectors();
  if (!index) return {};
  if (auto few = few_members(v, fn, f, limits)) return index->score(q, *few, k);
  // Exact scoring of a small memory costs well under a millisecond and is
  // immune to HNSW's weak spot: many identical vectors (repeated texts)
  // can leave a later element unreachable from the graph's entry point.
  if (v.size() <= limits.exact_memory_below) return index->score(q, v.matching(fn), k);
  return index->search(q, k, ef, fn.trivial() ? nullptr : &fn);
}

std::vector<vector_hit> hybrid_search::nearest(std::span<const float> q, std::size_t k, std::size_t ef,
                                           const memory_filter& f, const memory_query& limits) const {
  auto v = m_.read();
  auto fn = v.compile(f);
  return nearest_in(v, fn, q, k, ef, f, limits);
}

result<search_result> hybrid_search::search(const memory_query& q) const {
  if (q.text.empty()) return error{errc::bad_request, "search text is empty; say what to look for"};
  if (q.k < 1 || q.k > 1000) return error{errc::bad_request, "k must be between 1 and 1000, got " + std::to_string(q.k)};
  if (q.filter.since_ms && q.filter.until_ms && *q.filter.since_ms >= *q.filter.until_ms)
    return error{errc::bad_request, "the time range is empty: since must be before until"};
  const embedder& emb = m_.current_embedder();
  std::vector<float> qv(emb.identity().dim);
  search_result out;
  bool have_vector = true;
  if (auto st = emb.embed(q.text, qv); !st) {
    have_vector = false;
    out.warnings.push_back("vector side skipped: " + st.err().message);
  }
  auto terms = text_terms(q.text);
  const auto plan = plan_keywords(terms, glossary_, terms.empty() ? nullptr : synonyms_(), q.w_glossary, q.w_synonym);
  auto alt_terms = plan.alternative_terms();
  std::size_t depth = std::max(q.candidates, q.k);
  std::int64_t now = m_.now_ms();

  struct candidate {
    std::uint64_t id;
    component_scores c;
    double fused = 0;
  };
  std::vector<candidate> ranked;
  {
    auto view = m_.read();
    auto fn = view.compile(q.filter);
    auto allow = fn.as_function();
    auto few = few_members(view, fn, q.filter, q);
    const auto& index = view.keywords();
    // Scoring an entity's few items costs what they hold: only the search
    // of the whole memory skips the common alternatives' long postings.
    if (!few)
      std::erase_if(alt_terms, [&](const std::string& t) {
        return static_cast<double>(index.document_frequency(t)) > q.alternative_df_share * static_cast<double>(index.size());
      });
    std::vector<keyword_hit> through_alternatives;
    if (!alt_terms.empty())
      through_alternatives = few ? index.score(alt_terms, *few, depth)
                                 : index.search(alt_terms, depth, fn.trivial() ? nullptr : &allow, fn.kinds());
    auto keyword = few ? index.score(terms, *few, depth)
                       : index.search(terms, depth, fn.trivial() ? nullptr : &allow, fn.kinds());
    std::vector<vector_hit> vec;
    if (have_vector && !view.vectors()) out.warnings.push_back("vector side skipped: memory needs a re-embed (keelctl memory reembed)");
    if (have_vector) vec = nearest_in(view, fn, qv, depth, std::max(q.ef, depth), q.filter, q);

    std::unordered_map<std::uint64_t, std::size_t> at;
    auto slot = [&](std::uint64_t id) -> candidate& {
      auto [it, fresh] = at.emplace(id, ranked.size());
      if (fresh) ranked.push_back({id, {}, 0});
      return ranked[it->second];
    };
    for (std::size_t i = 0; i < keyword.size(); ++i) {
      auto& c = slot(keyword[i].label);
      c.c.keyword_rank = i + 1;
      c.c.keyword_score = keyword[i].score;
    }
    for (const auto& h : through_alternatives) slot(h.label).c.synonym_score = h.score;
    for (std::size_t i = 0; i < vec.size(); ++i) {
      auto& c = slot(vec[i].label);
      c.c.vector_rank = i + 1;
      c.c.similarity = 1.0 - vec[i].distance;
    }
    for (auto& c : ranked) c.c.age_ms = now - view.created_ms(c.id);
    if (q.explain) out.reading = describe_plan(index, plan);
    if (!plan.slots.empty()) {
      std::vector<std::uint64_t> ids(ranked.size());
      for (std::size_t i = 0; i < ranked.size(); ++i) ids[i] = ranked[i].id;
      const auto shares = keyword_shares(index, plan, ids);
      for (std::size_t i = 0; i < ranked.size(); ++i) ranked[i].c.keyword = shares[i];
    }
  }
  std::vector<std::size_t> by_age(ranked.size());
  for (std::size_t i = 0; i < by_age.size(); ++i) by_age[i] = i;
  std::sort(by_age.begin(), by_age.end(), [&](std::size_t a, std::size_t b) {
    return ranked[a].c.age_ms != ranked[b].c.age_ms ? ranked[a].c.age_ms < ranked[b].c.age_ms : ranked[a].id < ranked[b].id;
  });
  const double oldest = by_age.size() > 1 ? static_cast<double>(by_age.size() - 1) : 1.0;
  for (std::size_t r = 0; r < by_age.size(); ++r) {
    auto& c = ranked[by_age[r]].c;
    c.recency_rank = r + 1;
    c.recency = 1.0 - static_cast<double>(r) / oldest;
  }
  const double floor = std::clamp(q.vector_floor, 0.0, 0.99);
  for (auto& c : ranked) {
    if (c.c.vector_rank) c.c.vector = std::max(0.0, (c.c.similarity - floor) / (1.0 - floor));
    c.fused = q.w_keyword * c.c.keyword + q.w_vector * c.c.vector + q.w_recency * c.c.recency;
  }
  // Recency alone never makes an item relevant: items without keyword or
  // vector evidence come after every item with some, newest first.
  auto evidence = [](const candidate& c) { return c.c.keyword > 0 || c.c.vector > 0; };
  std::sort(ranked.begin(), ranked.end(), [&](const candidate& a, const candidate& b) {
    if (evidence(a) != evidence(b)) return evidence(a);
    return a.fused != b.fused ? a.fused > b.fused : a.id < b.id;
  });
  for (const auto& c : ranked) {
    if (out.hits.size() == q.k || c.fused < q.min_score) break;
    auto item = m_.get(c.id);
    if (!item) return item.err();
    if (!item->has_value()) continue;  // forgotten since the lists were taken
    memory_hit h{std::move(**item), c.fused, std::nullopt};
    if (q.explain) h.explain = c.c;
    out.hits.push_back(std::move(h));
  }
  return out;
}

}  // namespace keel::memory
