// Canonical memory inside a node: the stores of storage/memory/ opened once
// by run_node() (next to the control-plane services), and the one worker
// thread that does all their slow work. The canonicalizer and retriever
// agents post jobs here instead of touching LevelDB or the index on a CAF
// scheduler thread (a node has one or two of those; a search over a large
// memory or a burst of ingests must not stall the executor fabric).
//
// The worker also runs the periodic jobs between requests: the index
// checkpoint (memory.checkpoint_every) and pruning (memory.prune_every);
// and after every job it brings the record summaries up to the record
// change feed, so a search posted after a write's reply sees its summary.
// CAF-free.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <optional>
#include <mutex>
#include <string>
#include <thread>

#include "runtime/base/error.hpp"
#include "storage/memory/event_mapper.hpp"
#include "storage/memory/dead_letters.hpp"
#include "runtime/memory/openai_embedder.hpp"
#include "storage/memory/hashing_embedder.hpp"
#include "storage/memory/memory_config.hpp"
#include "storage/memory/item_store.hpp"
#include "storage/memory/record_store.hpp"
#include "storage/memory/record_summaries.hpp"
#include "storage/memory/hybrid_search.hpp"
#include "storage/store.hpp"

namespace keel {

class memory_service {
 public:
  // Parses the `memory:` section of the node config text and opens the
  // stores in `db` (the vector index file beside it, caught up or rebuilt;
  // see docs/memory.md). Errors: config with origin:line, io. The worker
  // starts at once.
  // With memory.embedder set, vectors come from that server
  // (openai_embedder.hpp) and `resolve_secret` turns its api_key
  // (secret://NAME) into the key; items stored while the server is down
  // are found by keywords at once and embedded by a thread of their own
  // once it answers again.
  using secret_fn = std::function<result<std::string>(const std::string& ref)>;
  static result<std::unique_ptr<memory_service>> open(const std::string& node_yaml, const std::string& origin,
                                                      store& db, const secret_fn& resolve_secret = {});
  ~memory_service();  // stop(), then the memory store checkpoints as it closes
  memory_service(const memory_service&) = delete;
  memory_service& operator=(const memory_service&) = delete;

  // Runs `job` on the worker thread, after the jobs posted before it.
  // Thread-safe. Jobs posted after stop() are dropped (never run).
  void post(std::function<void()> job);
  // Runs the queued jobs, then joins the worker. Idempotent. run_node calls
  // it after the actors are done and before the actor system goes, because
  // jobs answer actors.
  void stop();

  // For jobs (the worker thread) only, except where a header says it is
  // thread-safe: all of these are.
  const memory::memory_config& config() const { return *cfg_; }
  memory::record_store& records() { return *records_; }
  memory::dead_letters& dead_letters() { return *dlq_; }
  memory::event_mapper& canon() { return *canon_; }
  memory::item_store& memory() { return *memory_; }
  memory::record_summaries& summaries() { return *summaries_; }
  store& db() { return db_; }
  const memory::hybrid_search& search() const { return *search_; }

  // Re-embedding every item (a changed embedder, or `keelctl memory
  // reembed`) runs on a thread of its own: a large memory takes minutes,
  // and the worker keeps answering status and searches meanwhile (writes
  // wait for it). Both calls are thread-safe.
  struct reembed_progress {
    std::string state = "idle";  // idle | running | done | failed
    std::size_t done = 0, total = 0;
    std::string error;           // why it failed
    std::int64_t started_ms = 0, finished_ms = 0;
  };
  // Starts a re-embed; false (and nothing started) when one is running.
  bool start_reembed();
  reembed_progress reembed_status() const;

  // Where operator actions on memory (records.forget, records.purge) are
  // recorded: run_node points it at the audit trail before any request
  // can arrive. Unset (tests, tools), nothing is recorded.
  using audit_fn = std::function<void(const std::string& kind, const std::string& actor, const std::string& subject,
                                      nlohmann::json detail)>;
  void set_audit(audit_fn fn) { audit_ = std::move(fn); }
  void audit(const std::string& kind, const std::string& actor, const std::string& subject, nlohmann::json detail) const {
    if (audit_) audit_(kind, actor, subject, std::move(detail));
  }

  // The remote embedder's state for status pages: {"kind", "health",
  // "unembedded", "requests"}; thread-safe.
  nlohmann::json embedder_status() const;

  // Replaces the glossary searches use (memory.glossary, read again by a
  // reload). Worker thread only, or before the worker serves searches.
  void set_glossary(memory::glossary g);
  // The texts the glossary in use was read from; thread-safe (a reload
  // compares it with what the files hold now).
  std::string glossary_source() const;

  // What a job that keeps no counters of its own can report.
  std::int64_t last_checkpoint_ms() const { return last_checkpoint_ms_; }
  std::int64_t last_prune_ms() const { return last_prune_ms_; }

 private:
  explicit memory_service(store& db) : db_(db) {}
  void run();
  void periodic(std::int64_t now_ms);
  void summarise();
  void embed_later_loop();
  // One round of the embed-later thread: how many items got their vectors.
  result<std::size_t> embed_pending_batch();

  store& db_;
  std::shared_ptr<const memory::memory_config> cfg_;
  std::unique_ptr<memory::embedder> emb_;
  openai_embedder* remote_ = nullptr;  // emb_, when memory.embedder is set
  std::unique_ptr<memory::record_store> records_;
  std::unique_ptr<memory::dead_letters> dlq_;
  std::unique_ptr<memory::event_mapper> canon_;
  std::unique_ptr<memory::item_store> memory_;
  std::once_flag synonyms_once_;                   // the first search with words reads WordNet
  std::optional<memory::synonym_table> synonyms_;  // before search_, which points at it
  mutable std::mutex glossary_mu_;                 // writes to glossary_; the worker reads it without
  memory::glossary glossary_;                      // memory.glossary's, merged; before search_ too
  std::unique_ptr<memory::hybrid_search> search_;
  std::unique_ptr<memory::record_summaries> summaries_;
  std::string last_summary_error_;  // worker only: logged once until it changes
  audit_fn audit_;

  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::function<void()>> jobs_;
  bool stopping_ = false;
  std::thread worker_;
  mutable std::mutex reembed_mu_;
  reembed_progress reembed_;
  std::thread reembed_thread_;
  std::atomic<bool> reembed_stop_{false};
  std::thread embed_later_;          // with a remote embedder only
  std::condition_variable embed_cv_;  // on mu_: wakes embed_later_ to stop (cv_ is the worker's)
  std::int64_t next_checkpoint_ms_ = 0, next_prune_ms_ = 0;  // worker only
  std::int64_t last_checkpoint_ms_ = 0, last_prune_ms_ = 0;  // worker only
};

}  // namespace keel
