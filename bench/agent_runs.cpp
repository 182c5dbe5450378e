// The two sides of keel_agent_bench (agent_bench.hpp): the model stub both
// call, Keel's durable agent runs on a node with the w6_agent workflow, and
// the LangGraph.js harness (bench/langgraph/agent.mjs) on the same stub.
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <optional>
#include <set>
#include <sstream>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "bench/agent_bench.hpp"
#include "bench/client_calls.hpp"
#include "bench/echo_runs.hpp"
#include "runtime/fabric/client.hpp"
#include "runtime/http/http_fetch.hpp"
#include "tests/support/process.hpp"

namespace keel::bench::agent {

// --- the model stub ---

model_stub::model_stub(const bench_options& o, const temp_dir& dir) {
  proc_ = std::make_unique<child_process>(
      std::vector<std::string>{o.stub, "--tool", "echo", "--tool-calls", std::to_string(tool_calls_per_run)},
      dir.file("model-stub.log"));
  const std::string ready = "keel_model_stub listening on http://127.0.0.1:";
  if (!wait_until([&] { return proc_->log_contains(ready) || !proc_->running(); }, start_timeout) || !proc_->running())
    throw startup_failure("keel_model_stub did not start", *proc_);
  auto log = proc_->log();
  port_ = std::atoi(log.c_str() + log.find(ready) + ready.size());
}

model_stub::~model_stub() {
  if (proc_) proc_->terminate();
}

pid_t model_stub::pid() const { return proc_->pid(); }

json model_stub::stats(bool reset, bool samples) const {
  http::request req;
  req.url = base_url() + "/_stats" + (reset ? "?reset=1" : "?reset=0") + (samples ? "&samples=1" : "");
  req.max_response_bytes = 64u << 20;
  auto r = http::fetch(req);
  if (!r || r->status != 200)
    throw std::runtime_error("cannot read the stub's /_stats: " + (r ? "HTTP " + std::to_string(r->status) : r.err().message));
  return json::parse(r->body);
}

std::string model_stub::check_agent_runs(const json& s, std::uint64_t runs) {
  auto n = [&](const char* k) { return s.value(k, std::uint64_t{0}); };
  if (n("completions") == runs * turns_per_run && n("tool_call_answers") == runs * tool_calls_per_run &&
      n("final_answers") == runs && n("rejected") == 0)
    return {};
  return "the stub answered " + std::to_string(n("completions")) + " model calls (" +
         std::to_string(n("tool_call_answers")) + " tool calls, " + std::to_string(n("final_answers")) +
         " final) and refused " + std::to_string(n("rejected")) + " for " + std::to_string(runs) + " runs; expected " +
         std::to_string(runs * turns_per_run) + " (" + std::to_string(runs * tool_calls_per_run) + ", " +
         std::to_string(runs) + ", 0)";
}

// --- Keel ---

namespace {

const char* agent_workflow = R"(name: w6_agent
steps:
  - id: work
    agent:
      goal: "Call echo twice, then say done. Run {{ input.n }}."
      tools: [echo]
      max_turns: 8
      tier: fast
)";

// The node's config: the stub as its only model tier; /metrics on its own
// free port (on by default, as here, and read by the bench).
std::string node_config(const bench_options& o, const temp_dir& dir, const model_stub& stub, int metrics_port) {
  std::ostringstream c;
  c << "metrics: {port: " << metrics_port << "}\n"
    << "workflows: {dir: " << dir.file("workflows") << ", sync: " << (o.fsync ? "true" : "false") << "}\n"
    << "models:\n"
    << "  default_tier: fast\n"
    << "  chain: [fast]\n"
    << "  providers: [{name: stub, kind: openai, base_url: \"" << stub.base_url()
    << "\", timeout: 10s, max_concurrency: " << o.model_slots << "}]\n"
    << "  tiers: {fast: {provider: stub, model: stub}}\n";
  return c.str();
}

}  // namespace

keel_cluster::keel_cluster() = default;
keel_cluster::keel_cluster(keel_cluster&&) noexcept = default;
keel_cluster::~keel_cluster() = default;

namespace {

keel_cluster start_keel_in(const bench_options& o, const temp_dir& dir, const model_stub& stub,
                           const std::string& workflow_name, const char* workflow_text) {
  std::filesystem::create_directories(dir.file("workflows"));
  auto wf_file = dir.file("workflows/" + workflow_name + ".yaml");
  std::ofstream(wf_file) << workflow_text;
  auto cfg_file = dir.file("node.yaml");

  keel_cluster k;
  int port = 0;
  k.node = start_listener(
      [&](int p) {
        std::ofstream(cfg_file, std::ios::trunc) << node_config(o, dir, stub, free_port());
        return std::vector<std::string>{o.keel, "node", "--listen", loopback_endpoint(p), "--data-dir",
                                        dir.file("data"), "--config", cfg_file, "--insecure", "--log-level", "warn"};
      },
      dir, "node", "keel node ready", port);
  auto ready = k.node->log();
  if (auto at = ready.find("metrics=http://"); at != std::string::npos)
    k.metrics_url = ready.substr(at + 8, ready.find_first_of(" \n", at) - at - 8);
  auto endpoint = loopback_endpoint(port);
  auto cl = client::connect(endpoint);
  if (!cl) throw std::runtime_error("cannot connect a client to " + endpoint + ": " + cl.err().message);
  k.c = std::move(*cl);

  // The node loads every definition at start and lists those it refused.
  auto wfs = k.c->call("workflows", json::object(), std::chrono::seconds(10));
  if (!wfs) throw std::runtime_error("the node did not list its workflows: " + wfs.err().message);
  bool loaded = false;
  for (const auto& w : wfs->value("workflows", json::array())) loaded = loaded || w.value("name", "") == workflow_name;
  if (!loaded) {
    std::string why = "it is not among the node's workflows";
    for (const auto& e : wfs->value("errors", json::array()))
      if (e.value("file", "") == wf_file) why = e.value("error", why);
    throw std::runtime_error("the node refused " + wf_file + ": " + why);
  }

  std::set<std::string> names;
  for (int i = 1; i <= o.executors; ++i) {
    auto name = "b" + std::to_string(i);
    names.insert(name);
    k.execs.push_back(std::make_unique<child_process>(
        std::vector<std::string>{o.keel, "executor", "--connect", endpoint, "--name", name, "--concurrency",
                                 std::to_string(o.executor_slots), "--log-level", "warn"},
        dir.file("executor-" + name + ".log")));
  }
  await_registration(*k.c, k.execs, names, *k.node);
  return k;
}

}  // namespace

keel_cluster start_keel(const bench_options& o, temp_dir& dir, const model_stub& stub, const std::string& workflow_name,
                        const char* workflow_text) {
  return keeping_logs_on_failure(dir, [&] { return start_keel_in(o, dir, stub, workflow_name, workflow_text); });
}

void stop_keel(keel_cluster& k) {
  for (auto& e : k.execs) e->terminate();
  k.node->terminate();
}

namespace {

// The finished instance in a run-workflow reply (wait: true).
const json& instance_of(const json& body) {
  if (body.is_object() && !body.contains("state") && body.contains("result") && body["result"].is_object())
    return body["result"];
  return body;
}

}  // namespace

window_outcome run_instances(client& c, const std::string& workflow, std::uint64_t seq0, std::uint64_t count,
                             int window, const std::function<std::string(const json&)>& check,
                             std::vector<json>* finished) {
  auto request = [&](std::uint64_t seq) {
    return std::pair{std::string("run-workflow"), json{{"workflow", workflow}, {"input", {{"n", seq}}}, {"wait", true}}};
  };
  auto judge = [&](std::uint64_t seq, const json& body) -> std::string {
    const auto& inst = instance_of(body);
    if (finished) finished->push_back(inst);
    auto why = check(inst);
    return why.empty() ? why : "run " + std::to_string(seq) + ": " + why;
  };
  client_calls calls(c, run_reply_timeout, request, judge);
  return drive(seq0, count, window, run_reply_timeout, [&](std::uint64_t seq) { calls.send(seq); },
               [&] { return calls.receive(); });
}

std::map<std::string, double> histogram_totals(const std::string& metrics_url) {
  std::map<std::string, double> out;
  if (metrics_url.empty()) return out;
  http::request req;
  req.url = metrics_url;
  req.max_response_bytes = 16u << 20;
  auto r = http::fetch(req);
  if (!r || r->status != 200) return out;
  std::istringstream in(r->body);
  for (std::string line; std::getline(in, line);) {
    if (line.empty() || line[0] == '#') continue;
    auto sp = line.rfind(' ');
    if (sp == std::string::npos) continue;
    auto series = line.substr(0, sp);
    auto name = series.substr(0, series.find('{'));
    if (name.ends_with("_sum") || name.ends_with("_count")) out[series] = std::atof(line.c_str() + sp + 1);
  }
  return out;
}

double mean_ms_between(const std::map<std::string, double>& before, const std::map<std::string, double>& after,
                       const std::string& name, const std::string& label) {
  double sum = 0, count = 0;
  for (const auto& [series, v] : after) {
    bool is_sum = series.rfind(name + "_sum", 0) == 0, is_count = series.rfind(name + "_count", 0) == 0;
    if ((!is_sum && !is_count) || (!label.empty() && series.find(label) == std::string::npos)) continue;
    auto b = before.find(series);
    double d = v - (b == before.end() ? 0 : b->second);
    (is_sum ? sum : count) += d;
  }
  return count > 0 ? sum / count * 1000 : -1;
}

std::string check_completed(const json& inst) {
  auto state = inst.value("state", std::string("?"));
  if (state != "completed") {
    auto failure = inst.value("failure", json());
    return "ended " + state + (failure.is_null() || failure.empty() ? "" : ": " + failure.dump());
  }
  return {};
}

namespace {

// An agent run: completed, its `work` step's result the agent's final
// answer after 3 turns and 2 tool calls.
std::string check_agent_instance(const json& inst) {
  if (auto why = check_completed(inst); !why.empty()) return why;
  for (const auto& s : inst.value("steps", json::array())) {
    if (s.value("id", "") != "work") continue;
    const auto& r = s.value("result", json());
    if (!r.is_object()) return "step work has no result";
    if (r.value("turns", -1) != turns_per_run) return "step work reports " + r.value("turns", json()).dump() + " turns";
    if (r.value("tool_calls", -1) != tool_calls_per_run)
      return "step work reports " + r.value("tool_calls", json()).dump() + " tool calls";
    if (r.value("text", "") != "done") return "step work answered " + r.value("text", json()).dump() + ", not \"done\"";
    if (r.value("provider", "") != "stub")
      return "step work's answer came from " + r.value("provider", json()).dump() + ", not the stub";
    return {};
  }
  return "the instance has no step work";
}

// Tasks the node's executors have finished, from `executors` (-1 if unknown).
long executor_tasks_done(client& c) {
  auto st = c.call("executors", json::object(), std::chrono::seconds(5));
  if (!st) return -1;
  long done = 0;
  for (const auto& e : st->value("executors", json::array())) done += e.value("done", 0L);
  return done;
}

}  // namespace

side_result run_keel_agents(const bench_options& o, model_stub& stub) {
  temp_dir dir("keel-w6-");
  if (o.keep_logs) dir.keep();
  note("keel: a node with the w6_agent workflow and %d executor(s) (logs in %s)", o.executors, dir.path().c_str());
  auto k = start_keel(o, dir, stub, "w6_agent", agent_workflow);
  return keeping_logs_on_failure(dir, [&] {
    side_result r;
    r.system = "keel";
    if (o.warmup > 0) {
      auto w = run_instances(*k.c, "w6_agent", warmup_base, static_cast<std::uint64_t>(o.warmup), o.window,
                             check_agent_instance);
      if (w.errors || w.mismatches) throw std::runtime_error("keel warm-up failed; first: " + w.first_error);
    }
    stub.stats(true);
    long tasks_before = executor_tasks_done(*k.c);
    note("keel: %d runs, %d in flight", o.runs, o.window);
    std::vector<pid_t> pids{k.node->pid(), stub.pid(), ::getpid()};
    for (auto& e : k.execs) pids.push_back(e->pid());
    std::vector<double> cpu0;
    for (auto p : pids) cpu0.push_back(sample_process(p).cpu_s);
    auto metrics_before = histogram_totals(k.metrics_url);
    auto threads_before = test::sample_threads(k.node->pid());

    auto w = run_instances(*k.c, "w6_agent", 0, static_cast<std::uint64_t>(o.runs), o.window, check_agent_instance);

    std::vector<double> cpu;
    for (std::size_t i = 0; i < pids.size(); ++i) cpu.push_back(sample_process(pids[i]).cpu_s - cpu0[i]);
    auto s = stub.stats(false);
    auto metrics_after = histogram_totals(k.metrics_url);
    auto node_threads = test::cpu_by_thread_name(threads_before, test::sample_threads(k.node->pid()));
    long tasks_after = executor_tasks_done(*k.c);
    stop_keel(k);

    r.runs = w.done;
    r.failures = w.errors + w.mismatches + w.unexpected;
    r.first_error = w.first_error;
    r.turns = s.value("completions", std::uint64_t{0});
    r.tool_calls = tasks_before >= 0 && tasks_after >= 0 ? static_cast<std::uint64_t>(tasks_after - tasks_before) : 0;
    if (auto why = model_stub::check_agent_runs(s, r.runs); !why.empty()) {
      ++r.failures;
      if (r.first_error.empty()) r.first_error = why;
    }
    if (tasks_before >= 0 && r.tool_calls != r.runs * tool_calls_per_run) {
      ++r.failures;
      if (r.first_error.empty())
        r.first_error = "the executors ran " + std::to_string(r.tool_calls) + " tasks for " + std::to_string(r.runs) +
                        " runs, not " + std::to_string(r.runs * tool_calls_per_run) + " echo tool calls";
    }
    r.seconds = w.seconds;
    r.turns_per_s = w.seconds > 0 ? static_cast<double>(r.turns) / w.seconds : 0;
    r.lat = summarize(w.latency_ns);
    auto per_turn = [&](double secs) { return r.turns ? secs * 1e6 / static_cast<double>(r.turns) : 0.0; };
    r.runtime_cpu_us_per_turn = per_turn(cpu[0]);
    r.stub_cpu_us_per_turn = per_turn(cpu[1]);
    r.client_cpu_us_per_turn = per_turn(cpu[2]);
    double execs = 0;
    for (std::size_t i = 3; i < cpu.size(); ++i) execs += cpu[i];
    r.executors_cpu_us_per_turn = per_turn(execs);
    // Where a turn's time goes, as the node's histograms saw it (means, ms):
    // a turn task and the router's call in it, an echo call on the executor.
    json means = {{"turn_step", mean_ms_between(metrics_before, metrics_after, "keel_step_duration_seconds", "agent.turn")},
                  {"router_call", mean_ms_between(metrics_before, metrics_after, "keel_model_call_duration_seconds")},
                  {"echo_step", mean_ms_between(metrics_before, metrics_after, "keel_step_duration_seconds", "\"echo\"")}};
    r.detail = {{"stub", s}, {"executor_tasks", tasks_before >= 0 ? json(r.tool_calls) : json()}, {"node_means_ms", means}};
    // The node's CPU by thread name: caf.* are CAF's scheduler (the actors;
    // one worker shows as caf.multiplexer here), keel-model the model pool,
    // keel the main thread, detached actors and the recorder. LevelDB's
    // compaction thread takes the name of the thread that first needed it.
    json by_thread = json::object();
    for (const auto& [name, secs] : node_threads)
      if (secs > 0) by_thread[name] = r.turns ? secs * 1e6 / static_cast<double>(r.turns) : 0.0;
    r.detail["node_cpu_us_per_turn_by_thread"] = by_thread;
    if (!r.correct()) {
      dir.keep();
      r.first_error += " (logs kept in " + dir.path() + ")";
    }
    note("keel: %.0f turns/s", r.turns_per_s);
    return r;
  });
}


// --- LangGraph.js ---

void check_langgraph_side(bench_options& o) {
  if (o.node_js.find('/') == std::string::npos) {
    std::string path = std::getenv("PATH") ? std::getenv("PATH") : "/usr/bin:/bin";
    std::string found;
    for (std::size_t a = 0; found.empty() && a <= path.size();) {
      auto b = std::min(path.find(':', a), path.size());
      auto cand = (b > a ? path.substr(a, b - a) : std::string(".")) + "/" + o.node_js;
      if (::access(cand.c_str(), X_OK) == 0) found = cand;
      a = b + 1;
    }
    if (found.empty())
      throw std::runtime_error("no '" + o.node_js + "' on PATH for the LangGraph.js side: install Node.js >= 20 "
                               "(`tools/setup.sh --with-bench-tools`), pass --node PATH, or --skip-langgraph");
    o.node_js = found;
  }
  auto script = o.langgraph_dir + "/agent.mjs";
  if (::access(script.c_str(), R_OK) != 0)
    throw std::runtime_error("no LangGraph.js harness at " + script + "; pass --langgraph-dir DIR");
  if (::access((o.langgraph_dir + "/node_modules/@langchain/langgraph").c_str(), R_OK) != 0)
    throw std::runtime_error("the LangGraph.js harness in " + o.langgraph_dir +
                             " is not installed: run `tools/setup.sh --with-bench-tools` (npm ci there), "
                             "or pass --skip-langgraph");
}

side_result run_langgraph_agents(const bench_options& o, model_stub& stub) {
  auto script = o.langgraph_dir + "/agent.mjs";
  temp_dir dir("keel-w6-langgraph-");
  if (o.keep_logs) dir.keep();
  int concurrency = o.concurrency > 0 ? o.concurrency : o.window;
  std::vector<std::string> argv{o.node_js,       script,         "--base-url", stub.base_url() + "/v1",
                                "--runs",        std::to_string(o.runs), "--concurrency", std::to_string(concurrency),
                                "--warmup",      std::to_string(o.warmup), "--db", dir.file("checkpoints.sqlite")};
  if (o.fsync) argv.push_back("--fsync");
  note("langgraph.js: %d runs, %d in flight (%s)", o.runs, concurrency, script.c_str());
  stub.stats(true);
  double stub_cpu0 = sample_process(stub.pid()).cpu_s;
  auto res = test::run_command(argv, std::chrono::minutes(60));
  double stub_cpu = sample_process(stub.pid()).cpu_s - stub_cpu0;
  auto s = stub.stats(false);

  side_result r;
  r.system = "langgraph.js";
  auto last_line = res.out.substr(res.out.find_last_of('\n', res.out.size() >= 2 ? res.out.size() - 2 : 0) + 1);
  auto rep = json::parse(last_line, nullptr, false);
  if (rep.is_discarded() || !rep.is_object()) {
    dir.keep();
    std::ofstream(dir.file("harness.out")) << res.out;
    std::ofstream(dir.file("harness.err")) << res.err;
    throw std::runtime_error("the LangGraph.js harness exited with code " + std::to_string(res.code) +
                             " and no report; its stderr:\n" + res.err.substr(res.err.size() > 3000 ? res.err.size() - 3000 : 0) +
                             "\n  (output kept in " + dir.path() + ")");
  }
  r.runs = rep.value("runs", std::uint64_t{0});
  r.turns = rep.value("turns", std::uint64_t{0});
  r.tool_calls = rep.value("tool_calls", std::uint64_t{0});
  r.failures = rep.value("failures", std::uint64_t{0});
  r.first_error = rep.value("first_failure", json()).is_string() ? rep["first_failure"].get<std::string>() : "";
  if (res.code != 0 && r.failures == 0) {
    ++r.failures;
    r.first_error = "the harness exited with code " + std::to_string(res.code);
  }
  // The stub counted the harness's warm-up runs too.
  if (auto why = model_stub::check_agent_runs(s, r.runs + static_cast<std::uint64_t>(o.warmup)); !why.empty()) {
    ++r.failures;
    if (r.first_error.empty()) r.first_error = why;
  }
  r.seconds = rep.value("wall_s", 0.0);
  r.turns_per_s = rep.value("turns_per_s", 0.0);
  const auto& lat = rep.value("run_latency_ms", json::object());
  r.lat.n = r.runs;
  r.lat.p50_us = lat.value("p50", 0.0) * 1000;
  r.lat.p99_us = lat.value("p99", 0.0) * 1000;
  r.lat.max_us = lat.value("max", 0.0) * 1000;
  r.runtime_cpu_us_per_turn = rep.value("cpu_us_per_turn", 0.0);
  auto all_turns = static_cast<double>(s.value("completions", std::uint64_t{0}));
  r.stub_cpu_us_per_turn = all_turns > 0 ? stub_cpu * 1e6 / all_turns : 0;
  r.detail = {{"harness", rep}, {"stub", s}};
  if (!r.correct()) {
    dir.keep();
    r.first_error += " (its checkpoints kept in " + dir.path() + ")";
  }
  note("langgraph.js: %.0f turns/s", r.turns_per_s);
  return r;
}

}  // namespace keel::bench::agent
