// Opening memory and the worker loop. Open order follows the dependencies:
// config, then the record side (records, dead letters, canonicalizer), then
// vector memory, whose open may rebuild the index (it logs why). The worker
// waits on a condition variable with the next periodic deadline as its
// timeout, so an idle node does not wake up to poll.
#include "runtime/memory/memory_service.hpp"

#include <chrono>

#include <spdlog/spdlog.h>

#include "runtime/base/duration.hpp"
#include "storage/memory/pruning.hpp"

namespace keel {

result<std::unique_ptr<memory_service>> memory_service::open(const std::string& node_yaml, const std::string& origin,
                                                             store& db, const secret_fn& resolve_secret) {
  auto parsed = memory::parse_memory_section(node_yaml, origin);
  if (!parsed) return parsed.err();
  std::unique_ptr<memory_service> svc(new memory_service(db));
  svc->cfg_ = std::make_shared<const memory::memory_config>(std::move(parsed.value()));
  const auto& settings = svc->cfg_->service;
  if (const auto& e = settings.embedder) {
    openai_embedder_options o;
    o.base_url = e->base_url;
    o.model = e->model;
    o.dim = e->dimensions;
    o.batch = e->batch;
    o.concurrency = e->concurrency;
    o.retries = e->retries;
    o.timeout = std::chrono::milliseconds(e->timeout_ms);
    o.ca_file = e->ca_file;
    if (!e->api_key.empty()) {
      if (!resolve_secret) return error{errc::config, "memory.embedder.api_key: no secrets vault is open to resolve " + e->api_key};
      auto key = resolve_secret(e->api_key);
      if (!key) return error{errc::config, "memory.embedder.api_key: " + key.err().message};
      o.api_key = std::move(*key);
    }
    auto remote = std::make_unique<openai_embedder>(std::move(o));
    svc->remote_ = remote.get();
    svc->emb_ = std::move(remote);
  } else {
    svc->emb_ = std::make_unique<memory::hashing_embedder>(settings.dimension);
  }
  svc->records_ = std::make_unique<memory::record_store>(db, svc->cfg_->entities);
  svc->dlq_ = std::make_unique<memory::dead_letters>(db);
  svc->canon_ = std::make_unique<memory::event_mapper>(db, *svc->records_, *svc->dlq_, svc->cfg_);
  memory::memory_options mo;
  mo.sync = settings.sync;
  mo.embed_later = svc->remote_ != nullptr;  // a server that is down never holds up ingest
  auto mem = memory::item_store::open(db, *svc->emb_, mo);
  if (!mem) return error{mem.err().code, "memory: " + mem.err().message};
  svc->memory_ = std::move(mem.value());
  auto glossary = memory::glossary::load_all(settings.glossary);
  if (!glossary) return error{glossary.err().code, "memory.glossary: " + glossary.err().message};
  svc->set_glossary(std::move(*glossary));
  if (!settings.glossary.empty()) {
    std::string from;
    for (const auto& name : settings.glossary) from += (from.empty() ? "" : ", ") + name;
    spdlog::info("memory: glossary of {} group(s) from {}", svc->glossary_.groups(), from);
  }
  // Read on the first search that has words, not at start: most node
  // starts never search, and reading WordNet takes about half a second.
  svc->search_ = std::make_unique<memory::hybrid_search>(*svc->memory_, [raw = svc.get(), dir = settings.synonyms] {
    std::call_once(raw->synonyms_once_, [&] {
      if (dir.empty()) return;
      // Optional: without WordNet, words only meet themselves (and say so once).
      auto start = std::chrono::steady_clock::now();
      if (auto syn = memory::synonym_table::load_wordnet(dir); syn) {
        raw->synonyms_ = std::move(*syn);
        spdlog::info("memory: {} word(s) with synonyms from {} in {} ms", raw->synonyms_->size(), dir,
                     std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - start).count());
      } else {
        spdlog::warn("memory: keyword search without synonyms: {}; install wordnet-base or set memory.synonyms: off",
                     syn.err().message);
      }
    });
    return raw->synonyms_ ? &*raw->synonyms_ : nullptr;
  }, &svc->glossary_);
  svc->summaries_ = std::make_unique<memory::record_summaries>(db, *svc->records_, *svc->memory_);

  const auto& rep = svc->memory_->opened();
  auto types = svc->cfg_->entities->type_names();
  spdlog::info("memory: {} item(s), catalog {}{} in {} ms, index {}{} in {} ms; {} entity type(s), {} mapping(s)", rep.items,
               rep.catalog_loaded ? "loaded" : "rebuilt",
               rep.catalog_replayed ? " (+" + std::to_string(rep.catalog_replayed) + " op(s) caught up)" : std::string(),
               rep.catalog_ms, rep.rebuilt ? "rebuilt" : rep.index_loaded ? "loaded" : "new",
               rep.replayed ? " (+" + std::to_string(rep.replayed) + " op(s) caught up)" : std::string(), rep.index_ms,
               types.size(), svc->cfg_->mappings.size());
  // A new memory has no index file yet: that is not worth a warning.
  if (rep.rebuilt && !rep.why.empty() && rep.items > 0) spdlog::warn("memory: index rebuilt from LevelDB: {}", rep.why);
  if (!rep.catalog_loaded && rep.items > 0) spdlog::warn("memory: catalog rebuilt from LevelDB: {}", rep.catalog_why);
  if (rep.reembed_needed) {
    spdlog::warn("memory: stored vectors come from {}, the embedder is now {}: re-embedding in the background",
                 rep.stored_embedder, svc->emb_->identity().text());
    svc->start_reembed();
  }
  // Records written before a crash (or before summaries existed) get theirs
  // now; during a pending re-embed this waits for the re-embed job.
  if (auto n = svc->summaries_->catch_up(); n && *n)
    spdlog::info("memory: {} record summar{} caught up from the change feed", *n, *n == 1 ? "y" : "ies");
  auto now = unix_now_ms();
  svc->next_checkpoint_ms_ = now + settings.checkpoint_every_ms;
  svc->next_prune_ms_ = now + settings.prune_every_ms;
  svc->worker_ = std::thread([raw = svc.get()] { raw->run(); });
  if (svc->remote_) {
    spdlog::info("memory: vectors from {} at {} ({} item(s) wait for theirs)", svc->emb_->identity().text(),
                 settings.embedder->base_url, svc->memory_->unembedded_count());
    svc->embed_later_ = std::thread([raw = svc.get()] { raw->embed_later_loop(); });
  }
  return svc;
}

memory_service::~memory_service() { stop(); }

void memory_service::post(std::function<void()> job) {
  {
    std::lock_guard lk(mu_);
    if (stopping_) return;
    jobs_.push_back(std::move(job));
  }
  cv_.notify_one();
}

bool memory_service::start_reembed() {
  std::lock_guard lk(reembed_mu_);
  if (reembed_.state == "running") return false;
  if (reembed_thread_.joinable()) reembed_thread_.join();  // the last one, finished
  reembed_ = {"running", 0, memory_->size(), "", unix_now_ms(), 0};
  reembed_thread_ = std::thread([this] {
    spdlog::info("memory: re-embedding {} item(s) with {}", reembed_status().total, emb_->identity().text());
    auto n = memory_->reembed(
        [this](std::size_t done, std::size_t total) {
          {
            std::lock_guard lk(reembed_mu_);
            reembed_.done = done;
            reembed_.total = total;
          }
          if (done == total || done % 10'240 == 0) spdlog::info("memory: re-embedded {}/{}", done, total);
        },
        [this] { return reembed_stop_.load(); });
    std::lock_guard lk(reembed_mu_);
    reembed_.finished_ms = unix_now_ms();
    if (n) {
      reembed_.state = "done";
      spdlog::info("memory: re-embed done: {} item(s), index rebuilt", *n);
    } else {
      reembed_.state = "failed";
      reembed_.error = n.err().message;
      spdlog::error("memory: re-embed failed: {}; run `keelctl memory reembed` again (or restart)", n.err().message);
    }
  });
  return true;
}

memory_service::reembed_progress memory_service::reembed_status() const {
  std::lock_guard lk(reembed_mu_);
  return reembed_;
}

void memory_service::stop() {
  reembed_stop_ = true;  // an interrupted re-embed starts over at the next start
  std::thread reembedder;
  {
    std::lock_guard lk(reembed_mu_);
    reembedder = std::move(reembed_thread_);
  }
  if (reembedder.joinable()) reembedder.join();  // outside the lock: its progress callback takes it
  {
    std::lock_guard lk(mu_);
    stopping_ = true;
  }
  cv_.notify_one();
  embed_cv_.notify_one();
  if (worker_.joinable()) worker_.join();
  if (embed_later_.joinable()) embed_later_.join();
}

void memory_service::run() {
  std::unique_lock lk(mu_);
  for (;;) {
    auto deadline = std::min(next_checkpoint_ms_, next_prune_ms_);
    auto wait = std::chrono::milliseconds(std::max<std::int64_t>(0, deadline - unix_now_ms()));
    cv_.wait_for(lk, wait, [&] { return stopping_ || !jobs_.empty(); });
    if (jobs_.empty() && stopping_) return;
    std::function<void()> job;
    if (!jobs_.empty()) {
      job = std::move(jobs_.front());
      jobs_.pop_front();
    }
    lk.unlock();
    if (job) {
      // Last resort: the ops guard themselves (memory_ops.hpp); a job that
      // still throws loses only itself, never the worker every memory
      // operation of the node runs on.
      try {
        job();
      } catch (const std::exception& e) {
        spdlog::error("memory: a job on the memory worker failed: {}; please report it", e.what());
      }
    }
    summarise();
    periodic(unix_now_ms());  // also between jobs: a busy node still checkpoints
    lk.lock();
  }
}

void memory_service::summarise() {
  auto n = summaries_->catch_up();
  if (n) {
    last_summary_error_.clear();
  } else if (n.err().message != last_summary_error_) {
    last_summary_error_ = n.err().message;
    // unavailable = a re-embed is pending: the summaries follow once it is done.
    if (n.err().code != errc::unavailable)
      spdlog::warn("memory: record summaries are behind the change feed: {} (retried after the next job)", n.err().message);
  }
}

void memory_service::periodic(std::int64_t now) {
  const auto& settings = cfg_->service;
  if (now < next_checkpoint_ms_ && now < next_prune_ms_) return;
  if (now >= next_checkpoint_ms_) {
    if (auto s = memory_->checkpoint(); !s)
      spdlog::warn("memory: index checkpoint failed: {} (the next start catches up from LevelDB)", s.err().message);
    last_checkpoint_ms_ = now;
    next_checkpoint_ms_ = now + settings.checkpoint_every_ms;
  }
  if (now >= next_prune_ms_) {
    auto rep = memory::prune(*memory_, *records_, cfg_->pruning, false);
    if (!rep) {
      spdlog::warn("memory: pruning failed: {} (retried at the next interval)", rep.err().message);
    } else if (!rep->items.empty() || !rep->records.empty()) {
      std::size_t versions = 0;
      for (const auto& r : rep->records) versions += r.removed;
      spdlog::info("memory: pruning removed {} item(s) and {} old record version(s)", rep->items.size(), versions);
    }
    last_prune_ms_ = now;
    next_prune_ms_ = now + settings.prune_every_ms;
  }
}

void memory_service::set_glossary(memory::glossary g) {
  std::lock_guard lock(glossary_mu_);
  glossary_ = std::move(g);
}

std::string memory_service::glossary_source() const {
  std::lock_guard lock(glossary_mu_);
  return glossary_.source();
}

}  // namespace keel
