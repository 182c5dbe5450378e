// keel_retrieval_bench: how well hybrid search finds what the operator
// means, on the generated QA set (tests/support/memory_qa.hpp): recall@5 and
// MRR per question category, one fresh memory in a scratch directory: the
// embedded default (hashing embedder, no model), or the vectors of an
// OpenAI-compatible embeddings server (llama-server --embeddings, Ollama,
// vLLM) to judge a model on the same questions.
//
//   keel_retrieval_bench [--seed 7] [--customers 220] [--misses N] [--json]
//                        [--w-keyword W] [--w-vector W] [--w-recency W] [--vector-floor F]
//                        [--w-synonym W] [--synonyms WORDNET_DIR | --synonyms '']
//                        [--w-glossary W] [--glossary builtin|off|FILE ...]
//                        [--embedder-url http://127.0.0.1:8080/v1 --embedder-model M --embedder-dim D]
//
// --misses N prints up to N missed questions per category with what came
// back instead (and each hit's component scores), which is how a ranking
// change is judged before it is kept.
#include <chrono>
#include <cstdio>
#include <optional>
#include <string>

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include "bench/bench_support.hpp"
#include "runtime/memory/openai_embedder.hpp"
#include "storage/memory/hashing_embedder.hpp"
#include "tests/support/memory_qa.hpp"

using namespace keel;
using namespace keel::memory;

namespace {

void print_misses(const hybrid_search& search, const test::qa_corpus& c, const test::qa_category_score& s,
                  std::size_t limit, const memory_query& base) {
  for (std::size_t i = 0; i < s.misses.size() && i < limit; ++i) {
    const auto& m = s.misses[i];
    const auto& q = c.questions[m.question];
    std::printf("  ? %s%s\n", q.text.c_str(), q.about.empty() ? "" : (" [about " + q.about + "]").c_str());
    for (std::size_t a = 0; a < q.answers.size() && a < 3; ++a) std::printf("    want: %s\n", c.items[q.answers[a]].text.c_str());
    memory_query mq = base;
    mq.text = q.text;
    mq.k = 5;
    mq.filter.about = q.about;
    mq.explain = true;
    auto r = search.search(mq);
    if (!r) continue;
    for (const auto& h : r->hits) {
      const auto& e = *h.explain;
      std::printf("    %.4f kw#%zu %.2f vec#%zu %.3f rec#%zu  %s\n", h.score, e.keyword_rank, e.keyword_score,
                  e.vector_rank, e.similarity, e.recency_rank, h.item.text.c_str());
    }
  }
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"Retrieval quality of hybrid search on the generated QA set"};
  std::uint64_t seed = 7;
  std::size_t customers = 220, misses = 0;
  bool json_out = false;
  memory_query base;
  app.add_option("--seed", seed, "Corpus seed (default 7)");
  app.add_option("--customers", customers, "Customers in the corpus (default 220; 10 items each)")->check(CLI::Range(20, 100000));
  app.add_option("--misses", misses, "Print up to N missed questions per category with their top 5");
  app.add_flag("--json", json_out, "Print one JSON object");
  std::string wordnet = "/usr/share/wordnet";
  app.add_option("--synonyms", wordnet, "WordNet's data directory for synonyms; '' for none (default /usr/share/wordnet)");
  app.add_option("--w-keyword", base.w_keyword, "Weight of the keyword evidence (default 1.0)");
  app.add_option("--w-vector", base.w_vector, "Weight of the vector evidence (default 0.5)");
  app.add_option("--w-recency", base.w_recency, "Weight of recency (default 0.02)");
  app.add_option("--w-synonym", base.w_synonym, "Weight of a match through a synonym (default 0.5)");
  std::vector<std::string> glossaries{"builtin"};
  app.add_option("--glossary", glossaries, "Glossaries: builtin (the default), files, or off")->expected(1, 16);
  app.add_option("--w-glossary", base.w_glossary, "Weight of a match through a glossary phrase (default 0.8)");
  app.add_option("--alternative-df-share", base.alternative_df_share,
                 "Alternatives held by more than this share of the items are not searched for (default 0.1)");
  app.add_option("--vector-floor", base.vector_floor, "Cosine at or below which a vector match is no evidence (default 0.3)");
  openai_embedder_options remote;
  app.add_option("--embedder-url", remote.base_url, "An OpenAI-compatible embeddings server (e.g. http://127.0.0.1:8080/v1) instead of the hashing embedder");
  app.add_option("--embedder-model", remote.model, "The model to ask that server for");
  app.add_option("--embedder-dim", remote.dim, "The dimension of its vectors")->check(CLI::Range(1, 16384));
  CLI11_PARSE(app, argc, argv);
  if (!remote.base_url.empty() && (remote.model.empty() || remote.dim == 0))
    return std::fprintf(stderr, "keel_retrieval_bench: --embedder-url needs --embedder-model and --embedder-dim\n"), 2;

  auto corpus = test::make_qa_corpus(seed, customers);
  bench::temp_dir dir("keel-retrieval-bench");
  auto db = store::open(dir.path());
  if (!db) return std::fprintf(stderr, "keel_retrieval_bench: %s\n", db.err().message.c_str()), 1;
  hashing_embedder hashing;
  std::optional<openai_embedder> model;
  if (!remote.base_url.empty()) model.emplace(remote);
  const memory::embedder& emb = model ? static_cast<const memory::embedder&>(*model) : hashing;
  auto mem = item_store::open(**db, emb);
  if (!mem) return std::fprintf(stderr, "keel_retrieval_bench: %s\n", mem.err().message.c_str()), 1;
  auto t0 = std::chrono::steady_clock::now();
  auto ids = (*mem)->add_batch(corpus.items);
  if (!ids) return std::fprintf(stderr, "keel_retrieval_bench: %s\n", ids.err().message.c_str()), 1;
  double add_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  std::optional<synonym_table> syn;
  if (!wordnet.empty()) {
    auto t0s = std::chrono::steady_clock::now();
    auto loaded = synonym_table::load_wordnet(wordnet);
    if (!loaded) return std::fprintf(stderr, "keel_retrieval_bench: %s; pass --synonyms '' to run without\n", loaded.err().message.c_str()), 1;
    syn = std::move(*loaded);
    std::fprintf(stderr, "synonyms: %zu words in %.2f s\n", syn->size(),
                 std::chrono::duration<double>(std::chrono::steady_clock::now() - t0s).count());
  }
  std::erase(glossaries, "off");
  auto gl = glossary::load_all(glossaries);
  if (!gl) return std::fprintf(stderr, "keel_retrieval_bench: %s\n", gl.err().message.c_str()), 1;
  hybrid_search search(**mem, syn ? &*syn : nullptr, gl->groups() ? &*gl : nullptr);
  t0 = std::chrono::steady_clock::now();
  auto scores = test::score_qa(search, corpus, *ids, base);
  double query_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  if (!scores) return std::fprintf(stderr, "keel_retrieval_bench: %s\n", scores.err().message.c_str()), 1;

  if (json_out) {
    nlohmann::json j = {{"seed", seed}, {"items", corpus.items.size()}, {"questions", corpus.questions.size()}};
    j["embedder"] = emb.identity().text();
    for (const auto& [cat, s] : *scores)
      j["categories"][cat] = {{"questions", s.questions}, {"recall_at_5", s.recall_at_5}, {"mrr", s.mrr}};
    std::printf("%s\n", j.dump(2).c_str());
    return 0;
  }
  auto id = emb.identity();
  std::printf("Retrieval QA: %zu items for %zu customers, %zu questions, seed %llu; %s embedder (dim %zu)%s\n",
              corpus.items.size(), customers, corpus.questions.size(), static_cast<unsigned long long>(seed),
              id.name.c_str(), id.dim, model ? (" at " + remote.base_url).c_str() : ", no model");
  std::printf("Command: keel_retrieval_bench --seed %llu --customers %zu\n\n", static_cast<unsigned long long>(seed),
              customers);
  std::printf("%-12s %9s %10s %7s\n", "category", "questions", "recall@5", "MRR");
  for (const auto& [cat, s] : *scores)
    std::printf("%-12s %9zu %10.3f %7.3f\n", cat.c_str(), s.questions, s.recall_at_5, s.mrr);
  std::printf("\nadd %.2f s, %zu queries in %.3f s\n", add_s, corpus.questions.size(), query_s);
  if (misses > 0)
    for (const auto& [cat, s] : *scores) {
      std::printf("\n%s misses (%zu):\n", cat.c_str(), s.misses.size());
      print_misses(search, corpus, s, misses, base);
    }
  return 0;
}
