// keel_memory_bench: what canonical memory costs against the raw libraries
// it is built on, in the same run and on the same data.
//
//   (a) vectors: N clustered unit vectors (default 100,000 x 384), M=16,
//       ef_construction=200. Build time of raw hnswlib vs item_store
//       (LevelDB item + vector + op log, then the index), then recall@10 and
//       single-thread QPS at several ef: raw HierarchicalNSW::searchKnn vs
//       Keel's retriever vector path (retriever::nearest), unfiltered and
//       filtered to one kind in three (raw 0.6.2 has no filter: its
//       unfiltered QPS at the same ef is the reference).
//   (b) records: W versioned record writes (ids get several versions) vs
//       raw LevelDB WriteBatch puts of the same JSON, one write each.
//   (c) hybrid: H generated memory items with the hashing embedder; p50/p99
//       latency of full hybrid queries (BM25 + vectors + recency, RRF,
//       hydration), unfiltered and filtered by about-entity and kind.
//
// Usage: keel_memory_bench [--vectors N] [--dim D] [--queries Q] [--ef 16,32,...]
//                          [--records W] [--hybrid-items H] [--hybrid-queries Q]
//                          [--hybrid-dir DIR] [--hybrid-answers FILE] [--synonyms DIR] [--no-glossary] [--only a,b,c]
//
// --hybrid-dir keeps (c)'s memory in DIR: a later run with the same DIR
// reopens it (loading the saved index), adds only the items still missing
// and measures the queries, so a change to retrieval can be measured on a
// 1,000,000-item memory without rebuilding it, and an interrupted build
// resumes from its last checkpoint. --hybrid-answers FILE then writes, for
// each of (c)'s queries, its 200 best with every component rank and score
// (hex floats), so two builds can be diffed for unchanged answers.
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <functional>
#include <map>
#include <optional>
#include <random>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>

// hnswlib's headers define non-inline functions and globals; the library's
// vector_index.cpp includes them too, so this copy gets other names.
#include <cpuid.h>
#include <x86intrin.h>
#define cpuid keel_bench_cpuid
#define xgetbv keel_bench_xgetbv
#define AVXCapable keel_bench_AVXCapable
#define AVX512Capable keel_bench_AVX512Capable
#define L2SqrSIMD16Ext keel_bench_L2SqrSIMD16Ext
#define L2SqrSIMD4Ext keel_bench_L2SqrSIMD4Ext
#define InnerProductSIMD16Ext keel_bench_InnerProductSIMD16Ext
#define InnerProductSIMD4Ext keel_bench_InnerProductSIMD4Ext
#define InnerProductDistanceSIMD16Ext keel_bench_InnerProductDistanceSIMD16Ext
#define InnerProductDistanceSIMD4Ext keel_bench_InnerProductDistanceSIMD4Ext
#include <hnswlib/hnswlib.h>

#include "bench/bench_support.hpp"
#include "storage/memory/hashing_embedder.hpp"
#include "storage/memory/record_store.hpp"
#include "storage/memory/hybrid_search.hpp"
#include "storage/memory/schema.hpp"

using namespace keel;
using namespace keel::memory;
using clk = std::chrono::steady_clock;

namespace {

double seconds_since(clk::time_point t) { return std::chrono::duration<double>(clk::now() - t).count(); }

struct options {
  std::size_t vectors = 100'000, dim = 384, queries = 500;
  std::vector<std::size_t> efs{16, 32, 64, 128, 256};
  std::size_t records = 100'000, hybrid_items = 100'000, hybrid_queries = 1000;
  std::string hybrid_dir;
  std::string synonyms = "/usr/share/wordnet";
  bool glossary = true;  // the built-in glossary, as a node searches
  std::string hybrid_answers;
  std::vector<std::string> only;
  bool wants(const std::string& s) const { return only.empty() || std::find(only.begin(), only.end(), s) != only.end(); }
};

// Clustered data: real embeddings are clumpy, uniform noise is not.
std::vector<float> clustered(std::size_t n, std::size_t dim, std::uint32_t seed) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> g;
  std::size_t centres = std::max<std::size_t>(n / 100, 1);
  std::vector<float> c(centres * dim), out(n * dim);
  for (auto& x : c) x = g(rng);
  for (std::size_t i = 0; i < n; ++i) {
    std::size_t k = rng() % centres;
    float norm = 0;
    for (std::size_t d = 0; d < dim; ++d) {
      float v = c[k * dim + d] + 0.7f * g(rng);
      out[i * dim + d] = v;
      norm += v * v;
    }
    norm = 1.0f / std::sqrt(norm);
    for (std::size_t d = 0; d < dim; ++d) out[i * dim + d] *= norm;
  }
  return out;
}

// Exact top-10 by inner product among the allowed labels (label = index + 1).
std::vector<std::uint64_t> exact_top10(const std::vector<float>& data, std::size_t dim, const float* q,
                                       const std::function<bool(std::uint64_t)>& allowed) {
  std::vector<std::pair<float, std::uint64_t>> best;
  for (std::size_t i = 0; i < data.size() / dim; ++i) {
    if (!allowed(i + 1)) continue;
    float dot = 0;
    for (std::size_t d = 0; d < dim; ++d) dot += data[i * dim + d] * q[d];
    best.push_back({-dot, i + 1});
  }
  std::partial_sort(best.begin(), best.begin() + 10, best.end());
  std::vector<std::uint64_t> out;
  for (int i = 0; i < 10; ++i) out.push_back(best[i].second);
  return out;
}

double recall(const std::vector<std::vector<std::uint64_t>>& truth, const std::vector<std::vector<std::uint64_t>>& got) {
  std::size_t hit = 0, total = 0;
  for (std::size_t i = 0; i < truth.size(); ++i) {
    std::set<std::uint64_t> t(truth[i].begin(), truth[i].end());
    for (auto l : got[i]) hit += t.count(l);
    total += truth[i].size();
  }
  return total ? static_cast<double>(hit) / total : 0;
}

const char* kind_of(std::size_t label) {
  static const char* kinds[] = {"note", "invoice", "customer"};
  return kinds[label % 3];
}

void vectors_bench(const options& o) {
  std::printf("\n## (a) vectors: %zu x %zu, M=16, ef_construction=200, %zu queries, k=10, one thread\n\n", o.vectors, o.dim, o.queries);
  // Queries come from the same clusters as the data (and are not inserted).
  auto data = clustered(o.vectors + o.queries, o.dim, 1);
  std::vector<float> queries(data.end() - static_cast<std::ptrdiff_t>(o.queries * o.dim), data.end());
  data.resize(o.vectors * o.dim);

  hnswlib::InnerProductSpace space(o.dim);
  auto t0 = clk::now();
  hnswlib::HierarchicalNSW<float> raw(&space, o.vectors, 16, 200, 100);
  for (std::size_t i = 0; i < o.vectors; ++i) raw.addPoint(&data[i * o.dim], i + 1);
  double raw_build = seconds_since(t0);

  bench::temp_dir dir("keel-memory-bench");
  auto db = std::move(store::open(dir.path()).value());
  hashing_embedder emb(o.dim);  // only its identity is used: vectors are given
  memory_options mo;
  mo.index.initial_capacity = 1024;  // let it grow by itself, as in production
  auto mem = std::move(item_store::open(*db, emb, mo).value());
  t0 = clk::now();
  for (std::size_t i = 0; i < o.vectors; ++i) {
    memory_item it;
    it.text = "vector " + std::to_string(i);
    it.kind = kind_of(i + 1);
    if (!mem->add_embedded(it, std::span<const float>(&data[i * o.dim], o.dim))) {
      std::fprintf(stderr, "add failed\n");
      std::exit(1);
    }
  }
  double keel_build = seconds_since(t0);
  std::printf("| build | raw hnswlib | Keel item_store (LevelDB + index) |\n|---|---|---|\n");
  std::printf("| seconds | %.1f | %.1f |\n\n", raw_build, keel_build);

  auto all = [](std::uint64_t) { return true; };
  auto notes = [](std::uint64_t l) { return std::string(kind_of(l)) == "note"; };
  std::vector<std::vector<std::uint64_t>> truth, truth_f;
  for (std::size_t q = 0; q < o.queries; ++q) {
    truth.push_back(exact_top10(data, o.dim, &queries[q * o.dim], all));
    truth_f.push_back(exact_top10(data, o.dim, &queries[q * o.dim], notes));
  }
  hybrid_search r(*mem);
  memory_query graph;  // always walk the graph: exact scoring of small memories would hide it
  graph.exact_memory_below = 0;
  memory_filter none, only_notes;
  only_notes.kinds = {"note"};
  std::printf("| ef | raw recall@10 | raw QPS | Keel recall@10 | Keel QPS | Keel/raw | Keel filtered recall@10 | Keel filtered QPS | filtered/raw |\n");
  std::printf("|---|---|---|---|---|---|---|---|---|\n");
  for (auto ef : o.efs) {
    std::vector<std::vector<std::uint64_t>> got_raw(o.queries), got_keel(o.queries), got_f(o.queries);
    raw.setEf(ef);
    auto run = [&](std::vector<std::vector<std::uint64_t>>& into, auto&& fn) {
      for (std::size_t q = 0; q < std::min<std::size_t>(o.queries, 50); ++q) fn(q);  // warm the caches
      for (auto& l : into) l.clear();
      auto t = clk::now();
      for (std::size_t q = 0; q < o.queries; ++q) fn(q);
      return o.queries / seconds_since(t);
    };
    double qps_raw = run(got_raw, [&](std::size_t q) {
      auto res = raw.searchKnn(&queries[q * o.dim], 10);
      for (; !res.empty(); res.pop()) got_raw[q].push_back(res.top().second);
    });
    double qps_keel = run(got_keel, [&](std::size_t q) {
      for (const auto& h : r.nearest(std::span<const float>(&queries[q * o.dim], o.dim), 10, ef, none, graph)) got_keel[q].push_back(h.label);
    });
    double qps_f = run(got_f, [&](std::size_t q) {
      for (const auto& h : r.nearest(std::span<const float>(&queries[q * o.dim], o.dim), 10, ef, only_notes, graph)) got_f[q].push_back(h.label);
    });
    std::printf("| %zu | %.3f | %.0f | %.3f | %.0f | %.0f%% | %.3f | %.0f | %.0f%% |\n", ef, recall(truth, got_raw), qps_raw,
                recall(truth, got_keel), qps_keel, 100 * qps_keel / qps_raw, recall(truth_f, got_f), qps_f, 100 * qps_f / qps_raw);
    std::fflush(stdout);
  }
}

void records_bench(const options& o) {
  std::printf("\n## (b) record writes: %zu writes (ids get 5 versions each), sync=false\n\n", o.records);
  auto types = std::make_shared<schema>();
  entity_type t;
  t.name = "customer";
  t.fields = {{"email", field_type::string}, {"name", field_type::string}, {"plan", field_type::string}, {"seats", field_type::integer}};
  t.identity = {"email"};
  (void)types->add(t);
  std::size_t ids = std::max<std::size_t>(o.records / 5, 1);
  auto fields = [&](std::size_t i) {
    return nlohmann::json{{"email", "user" + std::to_string(i % ids) + "@example.com"},
                          {"name", "Customer " + std::to_string(i % ids)},
                          {"plan", i % 2 ? "pro" : "team"},
                          {"seats", static_cast<std::int64_t>(i)}};
  };

  // Each phase closes its database before the next starts, so one phase's
  // background compaction does not run (and get charged) in the next. On a
  // shared machine wall time swings with the neighbours; the process CPU
  // time (this thread plus LevelDB's compaction thread) is the steadier
  // figure of the work a write costs.
  struct phase {
    double wall_s = 0, cpu_s = 0;
  };
  auto measure = [](const std::function<void()>& run) {
    auto cpu0 = std::clock();
    auto t0 = clk::now();
    run();
    return phase{seconds_since(t0), static_cast<double>(std::clock() - cpu0) / CLOCKS_PER_SEC};
  };

  bench::temp_dir raw_dir("keel-memory-bench-raw");
  auto raw = std::move(store::open(raw_dir.path()).value());
  phase raw_p = measure([&] {
    for (std::size_t i = 0; i < o.records; ++i) {
      write_batch b;
      b.put("raw/customer/c_" + std::to_string(i % ids) + "/" + std::to_string(i / ids), fields(i).dump());
      (void)raw->write(b);
    }
  });
  raw.reset();

  bench::temp_dir dir("keel-memory-bench-rec");
  auto db = std::move(store::open(dir.path()).value());
  phase keel_p;
  {
    record_store rs(*db, types);
    keel_p = measure([&] {
      for (std::size_t i = 0; i < o.records; ++i) {
        record_write w;
        w.type = "customer";
        w.id = "c_" + std::to_string(i % ids);
        w.fields = fields(i);
        w.source = "bench";
        if (!rs.put(w)) {
          std::fprintf(stderr, "record write failed\n");
          std::exit(1);
        }
      }
    });
  }

  // The same bytes Keel wrote, replayed raw: one batch per write holding
  // that write's version and its feed entry, plus the record's current
  // marker when Keel wrote one with that version (format 2: with the first
  // version only; before: with every version).
  std::vector<std::pair<std::string, std::string>> vers, logs;
  std::map<std::string, std::string> curs;
  (void)db->scan("rec/", [&](const std::string& k, const std::string& v) {
    if (k.rfind("rec/ver/", 0) == 0) vers.push_back({k, v});
    else if (k.rfind("rec/log/", 0) == 0) logs.push_back({k, v});
    else if (k.rfind("rec/cur/", 0) == 0) curs[k] = v;
    return true;
  });
  db.reset();
  bench::temp_dir replay_dir("keel-memory-bench-replay");
  auto replay = std::move(store::open(replay_dir.path()).value());
  std::size_t bytes = 0;
  phase replay_p = measure([&] {
    for (std::size_t i = 0; i < vers.size() && i < logs.size(); ++i) {
      auto cur_key = "rec/cur/" + vers[i].first.substr(8, vers[i].first.rfind('/') - 8);
      const auto& cur_value = curs[cur_key];
      bool with_cur = !cur_value.empty() || vers[i].first.ends_with("/0000000001");
      bytes += vers[i].first.size() + vers[i].second.size() + logs[i].first.size() + logs[i].second.size() +
               (with_cur ? cur_key.size() + cur_value.size() : 0);
      write_batch b;
      b.put(vers[i].first, vers[i].second);
      if (with_cur) b.put(cur_key, cur_value);
      b.put(logs[i].first, logs[i].second);
      (void)replay->write(b);
    }
  });
  std::size_t raw_bytes = 0;
  for (std::size_t i = 0; i < 100; ++i) raw_bytes += fields(i).dump().size() + 20;
  auto us = [](double s, std::size_t n) { return 1e6 * s / static_cast<double>(n); };
  std::printf("| | writes/s | per write (wall) | per write (CPU) | bytes per write |\n|---|---|---|---|---|\n");
  std::printf("| raw LevelDB WriteBatch (1 put of the fields JSON) | %.0f | %.1f us | %.1f us | %zu |\n",
              o.records / raw_p.wall_s, us(raw_p.wall_s, o.records), us(raw_p.cpu_s, o.records), raw_bytes / 100);
  std::printf("| raw LevelDB WriteBatch replaying Keel's keys and values | %.0f | %.1f us | %.1f us | %zu |\n",
              vers.size() / replay_p.wall_s, us(replay_p.wall_s, vers.size()), us(replay_p.cpu_s, vers.size()),
              vers.empty() ? 0 : bytes / vers.size());
  std::printf("| Keel record_store.put (version + identity + change feed, 1 batch) | %.0f | %.1f us | %.1f us | |\n",
              o.records / keel_p.wall_s, us(keel_p.wall_s, o.records), us(keel_p.cpu_s, o.records));
  std::printf("| Keel / raw (1 put) | %.0f%% | | %.0f%% | |\n", 100 * raw_p.wall_s / keel_p.wall_s, 100 * raw_p.cpu_s / keel_p.cpu_s);
  std::printf("| Keel / raw (same bytes) | %.0f%% | | %.0f%% | |\n",
              100 * us(replay_p.wall_s, vers.size()) / us(keel_p.wall_s, o.records),
              100 * us(replay_p.cpu_s, vers.size()) / us(keel_p.cpu_s, o.records));
}

void hybrid_bench(const options& o) {
  std::printf("\n## (c) hybrid queries: %zu items, hashing embedder 256, %zu queries, k=5\n\n", o.hybrid_items, o.hybrid_queries);
  static const std::vector<std::string> words{
      "invoice", "billing", "annual", "monthly", "refund",  "login",   "slow",   "export", "csv",    "crash",
      "demo",    "team",    "upgrade", "plan",   "email",   "phone",   "mobile", "dark",   "mode",   "warehouse",
      "address", "payment", "overdue", "discount", "renewal", "contract", "seats", "admin", "report", "dashboard"};
  std::optional<bench::temp_dir> scratch;
  std::string path = o.hybrid_dir;
  if (path.empty()) path = scratch.emplace("keel-memory-bench-hybrid").path();
  auto t_open = clk::now();
  auto db = std::move(store::open(path).value());
  hashing_embedder emb(256);
  auto mem = std::move(item_store::open(*db, emb).value());
  const std::size_t have = mem->size();
  if (have > 0)
    std::printf("reopened %s: %zu items in %.1f s (catalog %s in %.1f s%s; index %s in %.1f s%s)\n\n", path.c_str(), have,
                seconds_since(t_open), mem->opened().catalog_loaded ? "loaded" : "rebuilt", mem->opened().catalog_ms / 1000.0,
                mem->opened().catalog_why.empty() ? "" : (": " + mem->opened().catalog_why).c_str(),
                mem->opened().index_loaded ? "loaded" : "rebuilt", mem->opened().index_ms / 1000.0,
                mem->opened().why.empty() ? "" : (": " + mem->opened().why).c_str());
  std::mt19937 rng(3 + static_cast<unsigned>(have));
  auto sentence = [&](int n) {
    std::string s;
    for (int i = 0; i < n; ++i) s += (i ? " " : "") + words[rng() % words.size()];
    return s;
  };
  std::size_t customers = std::max<std::size_t>(o.hybrid_items / 20, 1);
  auto t0 = clk::now();
  std::vector<memory_item> batch;
  for (std::size_t i = have; i < o.hybrid_items; ++i) {
    memory_item it;
    it.text = "customer " + std::to_string(i % customers) + " " + sentence(10);
    it.kind = kind_of(i);
    it.about = "customer:c_" + std::to_string(i % customers);
    it.created_ms = 1'700'000'000'000LL + static_cast<std::int64_t>(i) * 1000;
    batch.push_back(std::move(it));
    if (batch.size() == 1000 || i + 1 == o.hybrid_items) {
      if (!mem->add_batch(std::move(batch))) {
        std::fprintf(stderr, "add_batch failed\n");
        std::exit(1);
      }
      batch.clear();
      // A kept memory checkpoints its index now and then, so an interrupted
      // build resumes from here instead of re-inserting every vector.
      if (!o.hybrid_dir.empty() && (i + 1) % 100'000 == 0) {
        (void)mem->checkpoint();
        std::fprintf(stderr, "built %zu items in %.0f s\n", i + 1, seconds_since(t0));
      }
    }
  }
  double build = seconds_since(t0);
  if (!o.hybrid_dir.empty()) (void)mem->checkpoint();
  rng.seed(4);  // the same queries whether the memory was built or reopened
  // As a node searches: with WordNet's synonyms when o.synonyms names them.
  std::optional<synonym_table> syn;
  if (!o.synonyms.empty()) {
    auto loaded = synonym_table::load_wordnet(o.synonyms);
    if (!loaded) {
      std::fprintf(stderr, "keel_memory_bench: %s; pass --synonyms '' to run without\n", loaded.err().message.c_str());
      std::exit(1);
    }
    syn = std::move(*loaded);
  }
  hybrid_search r(*mem, syn ? &*syn : nullptr, o.glossary ? &glossary::builtin() : nullptr);
  auto make_query = [&](int variant) {
    memory_query mq;
    mq.text = sentence(3);
    if (variant == 1) mq.filter.about = "customer:c_" + std::to_string(rng() % customers);
    if (variant == 2) mq.filter.kinds = {"note"};
    return mq;
  };
  std::printf("| query | p50 | p99 | max |\n|---|---|---|---|\n");
  for (int variant = 0; variant < 3; ++variant) {
    std::vector<std::int64_t> ns;
    for (std::size_t q = 0; q < o.hybrid_queries; ++q) {
      memory_query mq = make_query(variant);
      auto t = clk::now();
      auto res = r.search(mq);
      ns.push_back(std::chrono::duration_cast<std::chrono::nanoseconds>(clk::now() - t).count());
      if (!res) {
        std::fprintf(stderr, "search failed: %s\n", res.err().message.c_str());
        std::exit(1);
      }
    }
    auto s = bench::summarize(ns);
    const char* names[] = {"unfiltered", "about one customer", "kind = note (1 in 3)"};
    std::printf("| %s | %.2f ms | %.2f ms | %.2f ms |\n", names[variant], s.p50_us / 1000, s.p99_us / 1000, s.max_us / 1000);
  }
  if (!o.hybrid_answers.empty()) {
    rng.seed(4);
    FILE* f = std::fopen(o.hybrid_answers.c_str(), "w");
    for (int variant = 0; f && variant < 3; ++variant)
      for (std::size_t q = 0; q < o.hybrid_queries; ++q) {
        memory_query mq = make_query(variant);
        mq.k = 200;  // the union of both candidate lists, nearly always
        mq.explain = true;
        auto res = r.search(mq);
        std::fprintf(f, "variant %d query %zu '%s'%s\n", variant, q, mq.text.c_str(), res ? "" : " failed");
        if (!res) continue;
        for (const auto& h : res->hits)
          std::fprintf(f, "  %llu %a kw %zu %a vec %zu %a rec %zu\n", static_cast<unsigned long long>(h.item.id), h.score,
                       h.explain->keyword_rank, h.explain->keyword_score, h.explain->vector_rank, h.explain->similarity,
                       h.explain->recency_rank);
      }
    if (!f || std::fclose(f) != 0) std::fprintf(stderr, "cannot write %s\n", o.hybrid_answers.c_str());
  }
  if (o.hybrid_items > have)
    std::printf("\nbuild: %.1f s for %zu items (%.0f items/s: embed + LevelDB + index + BM25)\n", build, o.hybrid_items - have,
                (o.hybrid_items - have) / build);
}

}  // namespace

int main(int argc, char** argv) {
  options o;
  CLI::App app{"keel_memory_bench: canonical memory vs raw hnswlib and raw LevelDB"};
  app.add_option("--vectors", o.vectors, "(a) vectors in the index")->check(CLI::PositiveNumber);
  app.add_option("--dim", o.dim, "(a) dimension")->check(CLI::PositiveNumber);
  app.add_option("--queries", o.queries, "(a) queries per ef")->check(CLI::PositiveNumber);
  app.add_option("--ef", o.efs, "(a) ef values")->delimiter(',');
  app.add_option("--records", o.records, "(b) record writes")->check(CLI::PositiveNumber);
  app.add_option("--hybrid-items,--items", o.hybrid_items, "(c) memory items (1000000 for the issue's figure)")->check(CLI::PositiveNumber);
  app.add_option("--hybrid-queries", o.hybrid_queries, "(c) queries per variant")->check(CLI::PositiveNumber);
  app.add_option("--synonyms", o.synonyms, "(c) WordNet's data directory, as the node uses it; '' for none");
  app.add_flag("!--no-glossary", o.glossary, "(c) search without the built-in glossary");
  app.add_option("--hybrid-dir", o.hybrid_dir, "(c) keep the memory in this directory; reopen it if it exists");
  app.add_option("--hybrid-answers", o.hybrid_answers, "(c) write each query's 200 best with component scores here");
  app.add_option("--only", o.only, "Run only these parts: a, b, c")->delimiter(',');
  CLI11_PARSE(app, argc, argv);
  std::printf("# keel_memory_bench on %s\n", bench::cpu_model().c_str());
  if (o.wants("a")) vectors_bench(o);
  if (o.wants("b")) records_bench(o);
  if (o.wants("c")) hybrid_bench(o);
  return 0;
}
