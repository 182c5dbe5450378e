// keel_workflow_bench: what durable execution costs. The workflow engine is
// driven in-process the way the executor agent drives it (decide, then one
// group-commit flush()), against a real LevelDB directory, and compared with
// raw LevelDB doing the same number of writes.
//
// Scenarios (each on a fresh database):
//   noop/default   N instances of a chain of S `noop` steps (s1..sS), sync=false
//   noop/sync      the same with engine_options.sync=true (fsync every group commit)
//   noop/sync/b10  sync, 10 starts per flush
//   noop/sync/b1   sync, one instance per flush: the latency of a lightly loaded node
//   echo/default   S `echo` steps; this program plays the executor and answers
//                  every dispatched task with on_result (no network), sync=false
//   echo/sync      the same with sync=true
// Starts arrive in bursts of B (B starts, then the answers to the tasks the
// last flush dispatched, then flush(); repeat) until every instance is
// completed. Every step is checkpointed (step_dispatched, step_completed,
// its idempotency record). Reported: instances/s, steps/s, decide vs commit
// time, CPU, writes per step, and latency:
//   flush      the duration of each committing flush() (sync: includes the fsync)
//   ready->durable  per step, from the moment it could run to the moment its
//              completion was durable. noop: from the start() of its instance
//              (all its steps run inside it) to the end of the flush; echo:
//              from the end of the flush that dispatched it to the end of the
//              flush that recorded its result.
// Raw LevelDB limit, on a fresh directory, replaying the key/value pairs
// the noop/default run left in its database plus its transient writes:
//   (i) async single puts, (ii) async WriteBatches of the engine's mean flush
//   size, (iii) synced WriteBatches of that size, (iv) synced single puts (the
//   fsync floor for latency; a sample of at most --fsync-samples puts).
//
// Each scenario runs --reps times (default 3) after an untimed warm-up:
// rates are the median run's, latency percentiles pool every run.
//
// Usage: keel_workflow_bench [--instances N] [--steps S] [--burst B] [--reps R]
//                            [--only a,b] [--json] [--node-logging] [--tmp DIR]
//                            [--fsync-samples N]
#include <stdlib.h>
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <random>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>
#include <leveldb/db.h>
#include <leveldb/filter_policy.h>
#include <leveldb/write_batch.h>
#include <nlohmann/json.hpp>
#include <spdlog/sinks/basic_file_sink.h>
#include <spdlog/spdlog.h>

#include "bench/bench_support.hpp"
#include "bench/workflow_bench.hpp"
#include "runtime/workflow/definition.hpp"
#include "runtime/workflow/engine.hpp"
#include "storage/store.hpp"

namespace keel::wf_bench {

namespace {

using clk = std::chrono::steady_clock;
using nlohmann::json;

double secs(clk::duration d) { return std::chrono::duration<double>(d).count(); }
std::int64_t ns_between(clk::time_point a, clk::time_point b) {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(b - a).count();
}

cpu_times cpu_now() {
  rusage ru{};
  ::getrusage(RUSAGE_SELF, &ru);
  return {ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6, ru.ru_stime.tv_sec + ru.ru_stime.tv_usec / 1e6};
}

std::string chain_yaml(const std::string& name, const std::string& action, int steps) {
  std::ostringstream y;
  y << "name: " << name << "\nversion: 1\nsteps:\n";
  for (int i = 1; i <= steps; ++i) {
    y << "  - {id: s" << i << ", action: " << action;
    if (i > 1) y << ", needs: [s" << i - 1 << "]";
    y << "}\n";
  }
  return y.str();
}

// --- engine scenarios ---

struct kv {
  std::string key;
  std::string value;
};

// Every instance must report completed, with every step completed.
void check_completed(const wf::engine& eng, const options& o, const scenario& sc) {
  auto rows = eng.list("completed", static_cast<std::size_t>(o.instances) + 10);
  if (rows.size() != static_cast<std::size_t>(o.instances))
    throw std::runtime_error(sc.name + ": " + std::to_string(rows.size()) + " of " + std::to_string(o.instances) +
                             " instances completed");
  auto detail = eng.describe(rows.front()["id"].get<std::string>());
  if (!detail || (*detail)["state"] != "completed" || (*detail)["steps"].size() != static_cast<std::size_t>(o.steps))
    throw std::runtime_error(sc.name + ": describe does not show a completed instance");
  for (const auto& s : (*detail)["steps"])
    if (s["state"] != "completed") throw std::runtime_error(sc.name + ": a step is " + s["state"].dump());
}

engine_run run_engine(const options& o, const scenario& sc, const std::string& dir, std::vector<kv>* dump) {
  using namespace keel;
  engine_run out;
  out.sc = sc;
  out.instances = o.instances;
  out.steps = o.steps;

  auto opened = store::open(dir);
  if (!opened) throw std::runtime_error("store::open " + dir + ": " + opened.err().message);
  auto db = std::move(opened.value());
  wf::workflow_catalog catalog;
  const std::string wf_name = "bench_" + sc.action;
  auto def = wf::parse_workflow(chain_yaml(wf_name, sc.action, o.steps), "bench", wf::builtin_action_names());
  if (!def) throw std::runtime_error("workflow definition: " + def.err().message);
  catalog.add(std::move(def.value()));
  wf::engine_options eo;
  eo.sync = sc.sync;
  wf::engine eng(*db, catalog, eo);
  if (auto s = eng.recover(); !s) throw std::runtime_error("recover: " + s.err().message);
  if (auto f = eng.flush(); !f) throw std::runtime_error("flush: " + f.err().message);

  struct handed_out {
    wf::step_task task;
    clk::time_point ready;
  };
  std::vector<handed_out> pending, answering;
  std::vector<clk::time_point> burst_t0;
  std::uint64_t next_token = 1;
  int started = 0;
  std::size_t failed_replies = 0;
  std::string first_failure;

  const auto cpu0 = cpu_now();
  const auto t_begin = clk::now();
  clk::duration decide{}, flushing{};
  while (started < o.instances || eng.active_count() > 0) {
    // 1. A burst of starts (a run-workflow per instance).
    burst_t0.clear();
    auto d0 = clk::now();
    for (int i = 0; i < sc.burst && started < o.instances; ++i, ++started) {
      wf::start_request req;
      req.workflow = wf_name;
      req.input = json{{"n", started}};
      req.by = "bench";
      burst_t0.push_back(clk::now());
      eng.start(next_token++, req);
    }
    // 2. The executors' answers to what the last flush dispatched.
    answering.swap(pending);
    pending.clear();
    for (const auto& h : answering) eng.on_result(h.task, result<json>(h.task.args));
    auto d1 = clk::now();
    decide += d1 - d0;
    if (burst_t0.empty() && answering.empty())
      throw std::runtime_error("stuck: " + std::to_string(eng.active_count()) + " instance(s) active, nothing to do");

    // 3. Group commit, then release the effects.
    bool committing = eng.dirty();
    auto f0 = clk::now();
    auto fx = eng.flush();
    auto f1 = clk::now();
    flushing += f1 - f0;
    if (!fx) throw std::runtime_error("flush: " + fx.err().message);
    for (auto& r : fx->replies)
      if (!r.body.ok() && failed_replies++ == 0) first_failure = r.body.err().message;
    for (auto& t : fx->dispatch) {
      pending.push_back({std::move(t), f1});
      ++out.dispatched;
    }
    if (!committing) continue;
    ++out.flushes;
    out.flush_ns.push_back(ns_between(f0, f1));
    std::int64_t done = static_cast<std::int64_t>(answering.size());
    for (const auto& h : answering) out.step_ready_ns.push_back(ns_between(h.ready, f1));
    if (sc.action == "noop") {
      done = static_cast<std::int64_t>(burst_t0.size()) * o.steps;
      for (auto t0 : burst_t0)
        for (int s = 0; s < o.steps; ++s) out.step_ready_ns.push_back(ns_between(t0, f1));
    }
    out.completions.push_back(done);
  }
  const auto t_end = clk::now();
  const auto cpu1 = cpu_now();
  out.seconds = secs(t_end - t_begin);
  out.decide_s = secs(decide);
  out.flush_s = secs(flushing);
  out.cpu = {cpu1.user - cpu0.user, cpu1.sys - cpu0.sys};
  if (failed_replies) throw std::runtime_error(std::to_string(failed_replies) + " start(s) refused: " + first_failure);

  check_completed(eng, o, sc);

  // What the engine left in the database. Transient writes on top of it
  // (from engine.cpp): wf/active/<id> is put at start and deleted at the end
  // (2 ops per instance), and the summary wf/inst/<id> is written once per
  // flush that changes the instance's state: once for noop (created and
  // completed in one flush), twice for echo.
  auto s = db->scan("wf/", [&](const std::string& k, const std::string& v) {
    ++out.keys;
    out.key_bytes += k.size();
    out.value_bytes += v.size();
    auto kind = k.substr(3, k.find('/', 3) - 3);
    if (kind == "hist") kind = k.ends_with("/000000000000") ? "hist:instance_created" : "hist:other";
    out.by_kind[kind].first += 1;
    out.by_kind[kind].second += k.size() + v.size();
    if (dump) dump->push_back({k, v});
    return true;
  });
  if (!s) throw std::runtime_error("scan: " + s.err().message);
  out.write_ops = out.keys + 2 * static_cast<std::size_t>(o.instances) +
                  (sc.action == "noop" ? 0 : static_cast<std::size_t>(o.instances));
  return out;
}

// The median repetition (by steps/s) for the rates; latency samples pooled.
engine_run merge(std::vector<engine_run> reps) {
  std::vector<double> rates;
  for (const auto& r : reps) rates.push_back(r.steps_per_s());
  std::sort(reps.begin(), reps.end(), [](const engine_run& a, const engine_run& b) { return a.steps_per_s() < b.steps_per_s(); });
  engine_run out = reps[reps.size() / 2];
  out.rep_steps_per_s = rates;
  out.flush_ns.clear();
  out.completions.clear();
  out.step_ready_ns.clear();
  for (const auto& r : reps) {
    out.flush_ns.insert(out.flush_ns.end(), r.flush_ns.begin(), r.flush_ns.end());
    out.completions.insert(out.completions.end(), r.completions.begin(), r.completions.end());
    out.step_ready_ns.insert(out.step_ready_ns.end(), r.step_ready_ns.begin(), r.step_ready_ns.end());
  }
  return out;
}
// --- raw LevelDB ---
raw_run merge(std::vector<raw_run> reps) {
  std::vector<double> rates;
  for (const auto& r : reps) rates.push_back(r.ops_per_s());
  std::sort(reps.begin(), reps.end(), [](const raw_run& a, const raw_run& b) { return a.ops_per_s() < b.ops_per_s(); });
  raw_run out = reps[reps.size() / 2];
  out.rep_ops_per_s = rates;
  out.write_ns.clear();
  for (const auto& r : reps) out.write_ns.insert(out.write_ns.end(), r.write_ns.begin(), r.write_ns.end());
  return out;
}

std::unique_ptr<leveldb::DB> open_raw(const std::string& dir) {
  leveldb::Options lo;  // the store's options: defaults + create_if_missing + a Bloom filter
  lo.create_if_missing = true;
  static const leveldb::FilterPolicy* bloom = leveldb::NewBloomFilterPolicy(10);  // outlives every db
  lo.filter_policy = bloom;
  leveldb::DB* raw = nullptr;
  auto st = leveldb::DB::Open(lo, dir, &raw);
  if (!st.ok()) throw std::runtime_error("leveldb open " + dir + ": " + st.ToString());
  return std::unique_ptr<leveldb::DB>(raw);
}

struct raw_op {
  const std::string* key;
  const std::string* value;  // nullptr: delete
};

raw_run run_raw(const std::string& name, const std::string& dir, const std::vector<raw_op>& ops, std::size_t batch,
                bool sync) {
  auto db = open_raw(dir);
  raw_run r;
  r.name = name;
  r.ops = ops.size();
  r.batch = batch;
  r.sync = sync;
  leveldb::WriteOptions wo;
  wo.sync = sync;
  r.write_ns.reserve(ops.size() / batch + 1);
  auto t0 = clk::now();
  leveldb::WriteBatch wb;
  for (std::size_t i = 0; i < ops.size();) {
    auto w0 = clk::now();
    leveldb::Status st;
    if (batch == 1) {
      st = ops[i].value ? db->Put(wo, *ops[i].key, *ops[i].value) : db->Delete(wo, *ops[i].key);
      ++i;
    } else {
      wb.Clear();
      for (std::size_t end = std::min(ops.size(), i + batch); i < end; ++i) {
        if (ops[i].value) wb.Put(*ops[i].key, *ops[i].value);
        else wb.Delete(*ops[i].key);
      }
      st = db->Write(wo, &wb);
    }
    if (!st.ok()) throw std::runtime_error("leveldb write: " + st.ToString());
    r.write_ns.push_back(ns_between(w0, clk::now()));
  }
  r.seconds = secs(clk::now() - t0);
  return r;
}
double load_average() {
  double l = -1;
  std::ifstream("/proc/loadavg") >> l;
  return l;
}

int run(const options& o) {
  if (!o.tmp.empty()) ::setenv("TMPDIR", o.tmp.c_str(), 1);  // temp_dir creates under $TMPDIR
  keel::bench::temp_dir scratch("keel-wfbench");
  const double load_before = load_average();

  if (o.node_logging) {
    // As a node does (log_level: info, flushed on every line), into a file.
    auto logger = spdlog::basic_logger_mt("bench", scratch.file("node.log"));
    logger->set_pattern("%Y-%m-%dT%H:%M:%S.%eZ %^%-5l%$ [%n] %v", spdlog::pattern_time_type::utc);
    logger->set_level(spdlog::level::info);
    logger->flush_on(spdlog::level::info);
    spdlog::set_default_logger(logger);
  } else {
    spdlog::set_level(spdlog::level::warn);  // the engine logs every start and end at info
  }

  std::vector<scenario> all{{"noop/default", "noop", false, o.burst}, {"noop/sync", "noop", true, o.burst},
                            {"noop/sync/b10", "noop", true, 10},     {"noop/sync/b1", "noop", true, 1},
                            {"echo/default", "echo", false, o.burst}, {"echo/sync", "echo", true, o.burst}};
  auto wanted = [&](const std::string& name) {
    if (o.only.empty()) return true;
    std::stringstream ss(o.only);
    for (std::string item; std::getline(ss, item, ',');)
      if (item == name) return true;
    return false;
  };
  auto say = [&](const std::string& what) {
    if (!o.json_out) std::fprintf(stderr, "%s\n", what.c_str());
  };

  int n = 0;
  auto fresh = [&](const std::string& what) { return scratch.file(what + std::to_string(n++)); };
  auto done_with = [](const std::string& dir) {
    std::error_code ec;
    std::filesystem::remove_all(dir, ec);
  };

  // Warm-up (untimed): page cache, allocator, code paths.
  {
    options w = o;
    w.instances = std::min(o.instances, 200);
    auto dir = fresh("warmup");
    (void)run_engine(w, {"warmup", "noop", false, o.burst}, dir, nullptr);
    done_with(dir);
  }

  std::vector<engine_run> runs;
  std::vector<raw_run> raws;
  std::vector<kv> dump;
  for (const auto& sc : all) {
    // raw replays what the noop/default database holds.
    bool needed = wanted(sc.name) || (sc.name == "noop/default" && wanted("raw"));
    if (!needed) continue;
    std::vector<engine_run> reps;
    for (int rep = 0; rep < o.reps; ++rep) {
      say("running " + sc.name + " (" + std::to_string(rep + 1) + "/" + std::to_string(o.reps) + ") ...");
      auto dir = fresh("engine");
      bool keep = sc.name == "noop/default" && wanted("raw") && dump.empty();
      reps.push_back(run_engine(o, sc, dir, keep ? &dump : nullptr));
      done_with(dir);
    }
    runs.push_back(merge(std::move(reps)));
  }

  if (wanted("raw")) {
    const auto* base = find_run(runs, "noop/default");
    // The same writes: every pair left in the database and the wf/active
    // marker each instance had (put, later deleted), in an arbitrary order
    // (the engine's keys arrive per instance, instances in random-id order).
    std::vector<std::string> active_keys;
    for (const auto& p : dump)
      if (p.key.rfind("wf/inst/", 0) == 0) active_keys.push_back("wf/active/" + p.key.substr(8));
    static const std::string empty;
    std::vector<raw_op> ops;
    for (const auto& p : dump) ops.push_back({&p.key, &p.value});
    for (const auto& k : active_keys) ops.push_back({&k, &empty});
    std::shuffle(ops.begin(), ops.end(), std::mt19937_64(42));
    for (const auto& k : active_keys) ops.push_back({&k, nullptr});
    if (ops.size() != base->write_ops)
      throw std::runtime_error("raw replay has " + std::to_string(ops.size()) + " ops, the engine made " +
                               std::to_string(base->write_ops));
    auto batch = static_cast<std::size_t>(std::max(1.0, std::round(base->ops_per_flush())));
    std::vector<raw_op> sample(ops.begin(), ops.begin() + std::min<std::size_t>(ops.size(), o.fsync_samples));
    struct mode {
      const char* name;
      const std::vector<raw_op>* ops;
      std::size_t batch;
      bool sync;
    };
    for (const auto& m : {mode{"(i) async, single puts", &ops, 1, false}, mode{"(ii) async, WriteBatch", &ops, batch, false},
                          mode{"(iii) sync, WriteBatch", &ops, batch, true},
                          mode{"(iv) sync, single puts (fsync floor)", &sample, 1, true}}) {
      std::vector<raw_run> reps;
      for (int rep = 0; rep < o.reps; ++rep) {
        say(std::string("running raw LevelDB ") + m.name + " (" + std::to_string(rep + 1) + "/" + std::to_string(o.reps) + ") ...");
        auto dir = fresh("raw");
        reps.push_back(run_raw(m.name, dir, *m.ops, m.batch, m.sync));
        done_with(dir);
      }
      raws.push_back(merge(std::move(reps)));
    }
  }

  if (o.json_out) std::printf("%s\n", report_json(o, runs, raws, load_before).dump(2).c_str());
  else print_table(o, runs, raws, load_before);
  return 0;
}

}  // namespace

}  // namespace keel::wf_bench

int main(int argc, char** argv) {
  keel::wf_bench::options o;
  CLI::App app{"keel_workflow_bench: durable workflow engine throughput and checkpoint latency vs raw LevelDB"};
  app.add_option("--instances", o.instances, "Workflow instances per scenario")->check(CLI::PositiveNumber);
  app.add_option("--steps", o.steps, "Steps per instance (a chain s1..sN)")->check(CLI::PositiveNumber);
  app.add_option("--burst", o.burst, "Starts per flush")->check(CLI::PositiveNumber);
  app.add_option("--fsync-samples", o.fsync_samples, "Synced single puts for the fsync floor")->check(CLI::PositiveNumber);
  app.add_option("--reps", o.reps, "Runs of each scenario (rates: the median run; latency: all runs)")
      ->check(CLI::PositiveNumber);
  app.add_option("--only", o.only,
                 "Comma-separated scenarios: noop/default, noop/sync, noop/sync/b10, noop/sync/b1, echo/default, "
                 "echo/sync, raw (raw also runs noop/default)");
  app.add_option("--tmp", o.tmp, "Parent of the scratch directory (default $TMPDIR or /tmp)");
  app.add_flag("--json", o.json_out, "Print one JSON object instead of the table");
  app.add_flag("--node-logging", o.node_logging, "Log at info like a node (to a scratch file) instead of warn");
  CLI11_PARSE(app, argc, argv);
  try {
    return keel::wf_bench::run(o);
  } catch (const std::exception& ex) {
    std::fprintf(stderr, "keel_workflow_bench: %s\n", ex.what());
    return 1;
  }
}
