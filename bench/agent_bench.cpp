// keel_agent_bench: W6, durable agent runs, Keel against LangGraph.js on the
// same local model server (docs/benchmarks.md).
//
// One invocation starts keel_model_stub (an OpenAI-compatible server that
// answers at once, as a ReAct model: echo on turns 1 and 2, "done" on turn
// 3), then per round:
//   keel:         a fresh `keel node` (its `models:` tier `fast` on the stub,
//                 the w6_agent workflow: one `agent:` step with the echo tool)
//                 and N executors; this process submits R runs through the
//                 client's pipelined run-workflow with wait: true, W in flight;
//   langgraph.js: bench/langgraph/agent.mjs, R runs of createReactAgent with
//                 SqliteSaver and durability "sync", C at a time, on the stub.
// Rounds alternate the two; the report takes each side's median. Agent turns
// are model calls (3 a run). Every run is checked: Keel's replies must say
// completed, and the stub must have answered exactly 3 calls a run (2 tool
// calls, 1 final answer) with no refusal; the harness checks each of its runs.
// Both sides persist every step without fsync unless --fsync (Keel's
// workflows.sync; SQLite synchronous=FULL instead of NORMAL).
//
// --step-latency N measures what a single `model: generate` step adds to its
// model call instead: N sequential runs of w6_generate, the step's duration
// as the engine records it against the stub's own service time, per run.
//
// Exit codes: 0 measured and correct; 1 a run failed or was wrong; 2 the
// bench could not run; 3 this keel has no agent step (the node refused the
// W6 config or workflow).
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <optional>
#include <set>
#include <sstream>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include "bench/bench_support.hpp"
#include "bench/echo_runs.hpp"
#include "bench/sliding_window.hpp"
#include "runtime/fabric/client.hpp"
#include "runtime/http/http_fetch.hpp"

#ifndef KEEL_BENCH_STUB_BIN
#define KEEL_BENCH_STUB_BIN "keel_model_stub"
#endif
#ifndef KEEL_BENCH_LANGGRAPH_DIR
#define KEEL_BENCH_LANGGRAPH_DIR "bench/langgraph"
#endif

namespace keel::bench {

const char* bench_name = "keel_agent_bench";

namespace {

using nlohmann::json;

constexpr int turns_per_run = 3;
constexpr int tool_calls_per_run = 2;
constexpr double target_ratio = 20.0;       // Keel turns/s over LangGraph.js turns/s
constexpr double target_step_added_ms = 1;  // p50 a model step adds to its model call
constexpr auto run_reply_timeout = std::chrono::seconds(60);
constexpr std::uint64_t warmup_base = 1ull << 40;

struct bench_options {
  int runs = 1000;
  int warmup = 50;
  int window = 100;
  int concurrency = 0;  // LangGraph.js runs in flight; 0: --window
  int executors = 1;
  int executor_slots = 128;
  int rounds = 1;
  int step_latency = 0;  // > 0: the single-step mode, this many sequential runs
  bool skip_langgraph = false;
  bool skip_keel = false;
  bool fsync = false;
  bool json_out = false;
  bool keep_logs = false;
  std::string keel, stub, node_js = "node", langgraph_dir = KEEL_BENCH_LANGGRAPH_DIR;
};

// The node refused what the bench asks of it: the agent step is not there yet.
struct no_agent_step : std::runtime_error {
  using std::runtime_error::runtime_error;
};

// One side's measured run.
struct side_result {
  std::string system;  // "keel" or "langgraph.js"
  std::uint64_t runs = 0, turns = 0, tool_calls = 0, failures = 0;
  double seconds = 0, turns_per_s = 0;
  latency_summary lat;
  // CPU per turn, µs: Keel's node, executors and this client; LangGraph.js's
  // one process (runtime and client); the stub for both.
  double runtime_cpu_us_per_turn = 0, executors_cpu_us_per_turn = 0, client_cpu_us_per_turn = 0,
         stub_cpu_us_per_turn = 0;
  std::string first_error;
  json detail;  // the harness's report, the stub's counters
  bool correct() const { return failures == 0 && runs > 0; }
};

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  auto n = v.size();
  return n == 0 ? 0 : n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

std::string load_average() {
  std::ifstream in("/proc/loadavg");
  double a = 0, b = 0, c = 0;
  in >> a >> b >> c;
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.2f, %.2f, %.2f", a, b, c);
  return buf;
}

// --- the model stub ---

class model_stub {
 public:
  model_stub(const bench_options& o, const temp_dir& dir) {
    proc_ = std::make_unique<child_process>(
        std::vector<std::string>{o.stub, "--tool", "echo", "--tool-calls", std::to_string(tool_calls_per_run)},
        dir.file("model-stub.log"));
    const std::string ready = "keel_model_stub listening on http://127.0.0.1:";
    if (!wait_until([&] { return proc_->log_contains(ready) || !proc_->running(); }, start_timeout) ||
        !proc_->running())
      throw startup_failure("keel_model_stub did not start", *proc_);
    auto log = proc_->log();
    port_ = std::atoi(log.c_str() + log.find(ready) + ready.size());
  }
  ~model_stub() {
    if (proc_) proc_->terminate();
  }

  int port() const { return port_; }
  pid_t pid() const { return proc_->pid(); }
  std::string base_url() const { return "http://127.0.0.1:" + std::to_string(port_); }

  // GET /_stats; `reset` zeroes the counters after reading, `samples` adds
  // each service time in order.
  json stats(bool reset, bool samples = false) const {
    http::request req;
    req.url = base_url() + "/_stats" + (reset ? "?reset=1" : "?reset=0") + (samples ? "&samples=1" : "");
    req.max_response_bytes = 64u << 20;
    auto r = http::fetch(req);
    if (!r || r->status != 200)
      throw std::runtime_error("cannot read the stub's /_stats: " + (r ? "HTTP " + std::to_string(r->status) : r.err().message));
    return json::parse(r->body);
  }

  // Empty when the stub answered exactly `runs` agent runs (3 calls each:
  // 2 tool calls, 1 final answer) and refused nothing; else what differs.
  static std::string check_agent_runs(const json& s, std::uint64_t runs) {
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

 private:
  std::unique_ptr<child_process> proc_;
  int port_ = 0;
};

// --- Keel ---

const char* agent_workflow = R"(name: w6_agent
steps:
  - id: work
    agent:
      goal: "Call echo twice, then say done. Run {{ input.n }}."
      tools: [echo]
      max_turns: 5
      tier: fast
)";

const char* generate_workflow = R"(name: w6_generate
steps:
  - {id: draft, model: generate, tier: fast, prompt: "Say hi to {{ input.n }}"}
)";

std::string node_config(const bench_options& o, const temp_dir& dir, const model_stub& stub) {
  std::ostringstream c;
  c << "metrics: {port: 0}\n"
    << "workflows: {dir: " << dir.file("workflows") << ", sync: " << (o.fsync ? "true" : "false") << "}\n"
    << "models:\n"
    << "  default_tier: fast\n"
    << "  chain: [fast]\n"
    << "  providers: [{name: stub, kind: openai, base_url: \"" << stub.base_url()
    << "\", timeout: 10s, max_concurrency: 64}]\n"
    << "  tiers: {fast: {provider: stub, model: stub}}\n"
    << "  workers: 16\n";
  return c.str();
}

// A node with the W6 config and one workflow, its executors, and a client.
struct keel_cluster {
  std::unique_ptr<child_process> node;
  std::vector<std::unique_ptr<child_process>> execs;
  std::unique_ptr<client> c;
};

keel_cluster start_keel(const bench_options& o, const temp_dir& dir, const model_stub& stub,
                        const std::string& workflow_name, const char* workflow_text) {
  std::filesystem::create_directories(dir.file("workflows"));
  auto wf_file = dir.file("workflows/" + workflow_name + ".yaml");
  std::ofstream(wf_file) << workflow_text;
  auto cfg_file = dir.file("node.yaml");
  std::ofstream(cfg_file) << node_config(o, dir, stub);

  keel_cluster k;
  int port = 0;
  try {
    k.node = start_listener(
        [&](int p) {
          return std::vector<std::string>{o.keel, "node", "--listen", loopback_endpoint(p), "--data-dir",
                                          dir.file("data"), "--config", cfg_file, "--insecure", "--log-level", "warn"};
        },
        dir, "node", "keel node ready", port);
  } catch (const std::exception& ex) {
    std::string why = ex.what();
    if (why.find("models.") != std::string::npos)
      throw no_agent_step("this keel has no agent step: its node refused the models: section the W6 bench writes (" +
                          cfg_file + ")\n  " + why);
    throw;
  }
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
    throw no_agent_step("this keel has no agent step: the node refused " + wf_file + ": " + why);
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

// start_keel, keeping `dir` (the logs) when it fails and naming it.
keel_cluster start_keel_keeping_logs(const bench_options& o, temp_dir& dir, const model_stub& stub,
                                     const std::string& workflow_name, const char* workflow_text) {
  try {
    return start_keel(o, dir, stub, workflow_name, workflow_text);
  } catch (const no_agent_step& ex) {
    dir.keep();
    throw no_agent_step(std::string(ex.what()) + "\n  (logs kept in " + dir.path() + ")");
  } catch (const std::exception& ex) {
    dir.keep();
    throw std::runtime_error(std::string(ex.what()) + "\n  (logs kept in " + dir.path() + ")");
  }
}

void stop_keel(keel_cluster& k) {
  for (auto& e : k.execs) e->terminate();
  k.node->terminate();
}

// The finished instance in a run-workflow reply (wait: true).
const json& instance_of(const json& body) {
  if (body.is_object() && !body.contains("state") && body.contains("result") && body["result"].is_object())
    return body["result"];
  return body;
}

// Runs `count` instances of `workflow`, `window` in flight, through the
// client's pipelined run-workflow with wait: true. `check(instance)` says
// what is wrong with a finished instance, or "" when it is right.
window_outcome run_instances(client& c, const std::string& workflow, std::uint64_t seq0, std::uint64_t count,
                             int window, const std::function<std::string(const json&)>& check,
                             std::vector<json>* finished = nullptr) {
  std::map<std::uint64_t, std::uint64_t> seq_of_cid;
  auto send = [&](std::uint64_t seq) {
    auto cid = c.send("run-workflow", json{{"workflow", workflow}, {"input", {{"n", seq}}}, {"wait", true}});
    if (!cid) throw std::runtime_error("client send failed: " + cid.err().message);
    seq_of_cid.emplace(*cid, seq);
  };
  auto receive = [&]() -> std::optional<completion> {
    auto rep = c.receive(run_reply_timeout);
    if (!rep) {
      if (rep.err().code == errc::timeout) return std::nullopt;
      throw std::runtime_error("client receive failed: " + rep.err().message);
    }
    completion out;
    auto it = seq_of_cid.find(rep->cid);
    if (it == seq_of_cid.end()) {
      out.seq = ~0ull;  // not ours: counted as unexpected
      return out;
    }
    out.seq = it->second;
    seq_of_cid.erase(it);
    if (!rep->ok) {
      out.failed = true;
      out.why = "run " + std::to_string(out.seq) + ": " + rep->err.code + ": " + rep->err.message;
      return out;
    }
    const auto& inst = instance_of(rep->body);
    out.why = check(inst);
    out.matched = out.why.empty();
    if (!out.why.empty()) out.why = "run " + std::to_string(out.seq) + ": " + out.why;
    if (finished) finished->push_back(inst);
    return out;
  };
  return drive(seq0, count, window, run_reply_timeout, send, receive);
}

std::string check_completed(const json& inst) {
  auto state = inst.value("state", std::string("?"));
  if (state != "completed") {
    auto failure = inst.value("failure", json());
    return "ended " + state + (failure.is_null() || failure.empty() ? "" : ": " + failure.dump());
  }
  return {};
}

// An agent run: completed, and when its step reports turns or tool calls,
// 3 and 2 of them.
std::string check_agent_instance(const json& inst) {
  if (auto why = check_completed(inst); !why.empty()) return why;
  for (const auto& s : inst.value("steps", json::array())) {
    const auto& r = s.value("result", json());
    if (!r.is_object()) continue;
    if (r.contains("turns") && r["turns"].is_number_integer() && r["turns"] != turns_per_run)
      return "step " + s.value("id", "") + " reports " + r["turns"].dump() + " turns";
    if (r.contains("tool_calls")) {
      auto n = r["tool_calls"].is_array() ? static_cast<long>(r["tool_calls"].size())
                                          : r["tool_calls"].is_number_integer() ? r["tool_calls"].get<long>() : tool_calls_per_run;
      if (n != tool_calls_per_run) return "step " + s.value("id", "") + " reports " + std::to_string(n) + " tool calls";
    }
  }
  return {};
}

// Tasks the node's executors have finished, from `status` (-1 if unknown).
long executor_tasks_done(client& c) {
  auto st = c.call("status", json::object(), std::chrono::seconds(5));
  if (!st) return -1;
  long done = 0;
  for (const auto& e : st->value("executors", json::array())) done += e.value("done", 0L);
  return done;
}

side_result run_keel_agents(const bench_options& o, model_stub& stub) {
  temp_dir dir("keel-w6-");
  if (o.keep_logs) dir.keep();
  note("keel: a node with the w6_agent workflow and %d executor(s) (logs in %s)", o.executors, dir.path().c_str());
  auto k = start_keel_keeping_logs(o, dir, stub, "w6_agent", agent_workflow);
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

    auto w = run_instances(*k.c, "w6_agent", 0, static_cast<std::uint64_t>(o.runs), o.window, check_agent_instance);

    std::vector<double> cpu;
    for (std::size_t i = 0; i < pids.size(); ++i) cpu.push_back(sample_process(pids[i]).cpu_s - cpu0[i]);
    auto s = stub.stats(false);
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
    r.detail = {{"stub", s}, {"executor_tasks", tasks_before >= 0 ? json(r.tool_calls) : json()}};
    note("keel: %.0f turns/s", r.turns_per_s);
    return r;
  });
}

// --- LangGraph.js ---

side_result run_langgraph_agents(const bench_options& o, model_stub& stub) {
  auto script = o.langgraph_dir + "/agent.mjs";
  if (::access(script.c_str(), R_OK) != 0)
    throw std::runtime_error("no LangGraph.js harness at " + script + "; pass --langgraph-dir DIR");
  if (::access((o.langgraph_dir + "/node_modules/@langchain/langgraph").c_str(), R_OK) != 0)
    throw std::runtime_error("the LangGraph.js harness in " + o.langgraph_dir +
                             " is not installed: run `tools/setup.sh --with-bench-tools` (npm ci there), "
                             "or pass --skip-langgraph");
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
  note("langgraph.js: %.0f turns/s", r.turns_per_s);
  return r;
}

// --- the throughput report ---

std::string command_line(int argc, char** argv) {
  std::string s;
  for (int i = 0; i < argc; ++i) {
    std::string a = i == 0 ? "build/bench/keel_agent_bench" : argv[i];
    s += (i ? " " : "") + a;
  }
  return s;
}

std::string machine_line() {
  return std::to_string(std::thread::hardware_concurrency()) + " cores, " + cpu_model();
}

json side_json(const side_result& r) {
  return {{"system", r.system},
          {"runs", r.runs},
          {"turns", r.turns},
          {"tool_calls", r.tool_calls},
          {"seconds", r.seconds},
          {"turns_per_s", r.turns_per_s},
          {"run_latency_ms", {{"p50", r.lat.p50_us / 1000}, {"p99", r.lat.p99_us / 1000}, {"max", r.lat.max_us / 1000}}},
          {"cpu_us_per_turn",
           {{r.system == "keel" ? "node" : "process", r.runtime_cpu_us_per_turn},
            {"executors", r.executors_cpu_us_per_turn},
            {"client", r.client_cpu_us_per_turn},
            {"stub", r.stub_cpu_us_per_turn}}},
          {"failures", r.failures},
          {"first_error", r.first_error},
          {"detail", r.detail}};
}

int report_throughput(const bench_options& o, const std::vector<side_result>& keel,
                      const std::vector<side_result>& lg, const std::string& cmd, const std::string& load_before) {
  auto turns = [](const std::vector<side_result>& v) {
    std::vector<double> t;
    for (const auto& r : v) t.push_back(r.turns_per_s);
    return t;
  };
  double keel_m = median(turns(keel)), lg_m = median(turns(lg));
  double ratio = keel.empty() || lg.empty() || lg_m <= 0 ? 0 : keel_m / lg_m;
  std::vector<double> node_cpu;
  for (const auto& r : keel) node_cpu.push_back(r.runtime_cpu_us_per_turn);
  bool correct = true;
  for (const auto* v : {&keel, &lg})
    for (const auto& r : *v) correct = correct && r.correct();
  int concurrency = o.concurrency > 0 ? o.concurrency : o.window;

  if (o.json_out) {
    json out = {{"benchmark", "w6_durable_agent_runs"},
                {"command", cmd},
                {"machine", {{"cores", std::thread::hardware_concurrency()}, {"cpu", cpu_model()}, {"load_before", load_before}}},
                {"config",
                 {{"runs", o.runs}, {"warmup", o.warmup}, {"window", o.window}, {"langgraph_concurrency", concurrency},
                  {"executors", o.executors}, {"rounds", o.rounds}, {"fsync", o.fsync}}},
                {"keel", json::array()},
                {"langgraph", json::array()},
                {"keel_turns_per_s_median", keel_m},
                {"langgraph_turns_per_s_median", lg_m},
                {"keel_node_cpu_us_per_turn_median", median(node_cpu)},
                {"ratio", ratio},
                {"target_ratio", target_ratio},
                {"met", ratio >= target_ratio},
                {"correct", correct}};
    for (const auto& r : keel) out["keel"].push_back(side_json(r));
    for (const auto& r : lg) out["langgraph"].push_back(side_json(r));
    std::printf("%s\n", out.dump(2).c_str());
    return correct ? 0 : 1;
  }

  std::printf("W6, durable agent runs: %d runs (+%d warm-up) of 3 model turns and 2 echo tool calls, on keel_model_stub\n",
              o.runs, o.warmup);
  std::printf("Keel: %d executor(s), %d runs in flight; LangGraph.js: createReactAgent + SqliteSaver, durability \"sync\", %d in flight\n",
              o.executors, o.window, concurrency);
  std::printf("Persistence: %s\n", o.fsync ? "fsync per commit (Keel workflows.sync: true; SQLite synchronous=FULL)"
                                           : "no fsync (Keel workflows.sync: false; SQLite WAL, synchronous=NORMAL)");
  std::printf("Command: %s\n", cmd.c_str());
  std::printf("Machine: %s; load average before: %s\n\n", machine_line().c_str(), load_before.c_str());
  std::printf("%-6s %-13s %10s %9s %10s %10s  %s\n", "round", "system", "turns/s", "runs/s", "p50 ms", "p99 ms",
              "CPU per turn (us)");
  for (int i = 0; i < o.rounds; ++i) {
    auto row = [&](const side_result& r) {
      std::printf("%-6d %-13s %10.0f %9.1f %10.2f %10.2f  ", i + 1, r.system.c_str(), r.turns_per_s,
                  r.seconds > 0 ? static_cast<double>(r.runs) / r.seconds : 0, r.lat.p50_us / 1000, r.lat.p99_us / 1000);
      if (r.system == "keel")
        std::printf("node %.1f, executors %.1f, client %.1f, stub %.1f\n", r.runtime_cpu_us_per_turn,
                    r.executors_cpu_us_per_turn, r.client_cpu_us_per_turn, r.stub_cpu_us_per_turn);
      else
        std::printf("node.js process %.1f, stub %.1f\n", r.runtime_cpu_us_per_turn, r.stub_cpu_us_per_turn);
      if (!r.correct())
        std::printf("       %llu failed or wrong; first: %s\n", static_cast<unsigned long long>(r.failures),
                    r.first_error.c_str());
    };
    if (static_cast<std::size_t>(i) < keel.size()) row(keel[i]);
    if (static_cast<std::size_t>(i) < lg.size()) row(lg[i]);
  }
  std::printf("\n");
  if (!keel.empty()) std::printf("median keel: %.0f turns/s, node CPU %.1f us per turn\n", keel_m, median(node_cpu));
  if (!lg.empty()) std::printf("median langgraph.js: %.0f turns/s\n", lg_m);
  if (!keel.empty() && !lg.empty()) {
    std::printf("keel / langgraph.js: %.1fx (per round:", ratio);
    for (std::size_t i = 0; i < keel.size() && i < lg.size(); ++i)
      std::printf(" %.1fx", lg[i].turns_per_s > 0 ? keel[i].turns_per_s / lg[i].turns_per_s : 0);
    std::printf("); target >= %.0fx: %s\n", target_ratio, ratio >= target_ratio ? "met" : "MISSED");
  }
  std::printf("every run correct: %s\n", correct ? "yes" : "NO");
  return correct ? 0 : 1;
}

// --- what one model step adds to its model call ---

// The step's duration as the engine recorded it, in µs, and the clock's
// resolution in µs: `duration_us` when the step has one, else ended_ms -
// started_ms. Nothing when the instance has no such step.
std::optional<std::pair<double, double>> step_duration_us(const json& inst, const std::string& step) {
  for (const auto& s : inst.value("steps", json::array())) {
    if (s.value("id", "") != step) continue;
    if (s.contains("duration_us") && s["duration_us"].is_number()) return std::pair{s["duration_us"].get<double>(), 1.0};
    auto a = s.value("started_ms", std::int64_t{0}), b = s.value("ended_ms", std::int64_t{0});
    if (a > 0 && b >= a) return std::pair{static_cast<double>(b - a) * 1000, 1000.0};
  }
  return std::nullopt;
}

int run_step_latency(const bench_options& o, model_stub& stub, const std::string& cmd, const std::string& load_before) {
  temp_dir dir("keel-w6-step-");
  if (o.keep_logs) dir.keep();
  note("step latency: a node with the w6_generate workflow (logs in %s)", dir.path().c_str());
  auto k = start_keel_keeping_logs(o, dir, stub, "w6_generate", generate_workflow);
  return keeping_logs_on_failure(dir, [&] {
    if (o.warmup > 0) {
      auto w = run_instances(*k.c, "w6_generate", warmup_base, static_cast<std::uint64_t>(o.warmup), 1, check_completed);
      if (w.errors || w.mismatches) throw std::runtime_error("warm-up failed; first: " + w.first_error);
    }
    stub.stats(true);
    note("step latency: %d sequential runs", o.step_latency);
    std::vector<json> finished;
    auto w = run_instances(*k.c, "w6_generate", 0, static_cast<std::uint64_t>(o.step_latency), 1, check_completed,
                           &finished);
    auto s = stub.stats(false, true);
    stop_keel(k);

    auto samples = s.value("samples_us", json::array());
    bool correct = w.errors == 0 && w.mismatches == 0 && samples.size() == finished.size() &&
                   s.value("rejected", 0) == 0;
    std::vector<std::int64_t> step_ns, service_ns, added_ns;
    double resolution_us = 0;
    for (std::size_t i = 0; i < finished.size() && i < samples.size(); ++i) {
      auto d = step_duration_us(finished[i], "draft");
      if (!d) {
        correct = false;
        continue;
      }
      resolution_us = std::max(resolution_us, d->second);
      double svc = samples[i].get<double>();
      step_ns.push_back(static_cast<std::int64_t>(d->first * 1000));
      service_ns.push_back(static_cast<std::int64_t>(svc * 1000));
      added_ns.push_back(static_cast<std::int64_t>((d->first - svc) * 1000));
    }
    auto step = summarize(step_ns), service = summarize(service_ns), added = summarize(added_ns);
    auto client_lat = summarize(w.latency_ns);
    bool met = !added_ns.empty() && added.p50_us / 1000 < target_step_added_ms;
    if (o.json_out) {
      json out = {{"benchmark", "w6_model_step_latency"},
                  {"command", cmd},
                  {"machine", {{"cores", std::thread::hardware_concurrency()}, {"cpu", cpu_model()}, {"load_before", load_before}}},
                  {"runs", o.step_latency},
                  {"step_duration_us", {{"p50", step.p50_us}, {"p99", step.p99_us}}},
                  {"stub_service_us", {{"p50", service.p50_us}, {"p99", service.p99_us}}},
                  {"added_us", {{"p50", added.p50_us}, {"p99", added.p99_us}}},
                  {"engine_resolution_us", resolution_us},
                  {"client_run_latency_us", {{"p50", client_lat.p50_us}, {"p99", client_lat.p99_us}}},
                  {"target_added_p50_ms", target_step_added_ms},
                  {"met", met},
                  {"correct", correct},
                  {"first_error", w.first_error}};
      std::printf("%s\n", out.dump(2).c_str());
      return correct ? 0 : 1;
    }
    std::printf("W6, one `model: generate` step: %d sequential runs (+%d warm-up), nothing else on the node\n",
                o.step_latency, o.warmup);
    std::printf("Command: %s\n", cmd.c_str());
    std::printf("Machine: %s; load average before: %s\n\n", machine_line().c_str(), load_before.c_str());
    std::printf("%-44s %10s %10s\n", "", "p50 ms", "p99 ms");
    std::printf("%-44s %10.3f %10.3f\n", "step duration (engine)", step.p50_us / 1000, step.p99_us / 1000);
    std::printf("%-44s %10.3f %10.3f\n", "stub service time", service.p50_us / 1000, service.p99_us / 1000);
    std::printf("%-44s %10.3f %10.3f\n", "added by the step (per run: step - service)", added.p50_us / 1000,
                added.p99_us / 1000);
    std::printf("%-44s %10.3f %10.3f\n", "run-workflow round trip (client)", client_lat.p50_us / 1000,
                client_lat.p99_us / 1000);
    std::printf("\nengine clock resolution: %.0f us%s\n", resolution_us,
                resolution_us >= 1000 ? " (the engine records whole ms: the added figure is only good to +-1 ms)" : "");
    std::printf("target: a model step adds < %.0f ms p50 to its model call: %s\n", target_step_added_ms,
                met ? "met" : "MISSED");
    if (!correct)
      std::printf("NOT every run was correct (%llu errors, %llu wrong, %zu stub samples for %zu runs); first: %s\n",
                  static_cast<unsigned long long>(w.errors), static_cast<unsigned long long>(w.mismatches),
                  samples.size(), finished.size(), w.first_error.c_str());
    return correct ? 0 : 1;
  });
}

int run_bench(bench_options& o, const std::string& cmd) {
  if (!o.skip_keel || o.step_latency > 0) {
    options eo;
    eo.keel = o.keel;
    resolve_keel_binary(eo);
    o.keel = eo.keel;
  }
  if (o.stub.empty()) o.stub = KEEL_BENCH_STUB_BIN;
  if (::access(o.stub.c_str(), X_OK) != 0)
    throw std::runtime_error("no executable keel_model_stub at '" + o.stub + "'; build it or pass --stub PATH");
  if (o.skip_keel && o.skip_langgraph && o.step_latency == 0)
    throw std::runtime_error("--skip-keel and --skip-langgraph leave nothing to measure");
  auto load_before = load_average();
  temp_dir dir("keel-w6-stub-");
  if (o.keep_logs) dir.keep();
  model_stub stub(o, dir);
  note("model stub on %s", stub.base_url().c_str());
  if (o.step_latency > 0) return run_step_latency(o, stub, cmd, load_before);

  std::vector<side_result> keel, lg;
  for (int i = 0; i < o.rounds; ++i) {
    if (o.rounds > 1) note("round %d of %d", i + 1, o.rounds);
    if (!o.skip_keel) keel.push_back(run_keel_agents(o, stub));
    if (!o.skip_langgraph) lg.push_back(run_langgraph_agents(o, stub));
  }
  return report_throughput(o, keel, lg, cmd, load_before);
}

}  // namespace
}  // namespace keel::bench

int main(int argc, char** argv) {
  using namespace keel::bench;
  CLI::App app{"W6: durable agent runs (3 model turns, 2 tool calls), Keel vs LangGraph.js on one local model stub"};
  bench_options o;
  auto dflt = [](const char* what, auto v) { return std::string(what) + " (default " + std::to_string(v) + ")"; };
  app.add_option("--runs", o.runs, dflt("Measured agent runs per side and round", o.runs))->check(CLI::Range(1, 10000000));
  app.add_option("--warmup", o.warmup, dflt("Warm-up runs per side and round, not measured", o.warmup))
      ->check(CLI::Range(0, 1000000));
  app.add_option("--window", o.window, dflt("Keel runs in flight", o.window))->check(CLI::Range(1, 100000));
  app.add_option("--concurrency", o.concurrency, "LangGraph.js runs in flight (default: --window)")
      ->check(CLI::Range(1, 100000));
  app.add_option("--executors", o.executors, dflt("Keel executors (they run the echo tool)", o.executors))
      ->check(CLI::Range(1, 64));
  app.add_option("--executor-slots", o.executor_slots, dflt("Slots per Keel executor (--concurrency)", o.executor_slots))
      ->check(CLI::Range(1, 4096));
  app.add_option("--rounds", o.rounds, dflt("Rounds alternating Keel and LangGraph.js; medians reported", o.rounds))
      ->check(CLI::Range(1, 50));
  app.add_flag("--skip-langgraph", o.skip_langgraph, "Measure Keel only");
  app.add_flag("--skip-keel", o.skip_keel, "Measure LangGraph.js only");
  app.add_flag("--fsync", o.fsync,
               "fsync every commit on both sides (Keel workflows.sync: true; SQLite synchronous=FULL)");
  app.add_option("--step-latency", o.step_latency,
                 "Instead: N sequential runs of one `model: generate` step; what the step adds to the stub's service time")
      ->check(CLI::Range(1, 1000000));
  app.add_option("--keel", o.keel, "Path to the keel binary (default: $KEEL_BIN, else the one built with the bench)");
  app.add_option("--stub", o.stub, "Path to keel_model_stub (default: the one built with the bench)");
  app.add_option("--node", o.node_js, "The Node.js binary for the LangGraph.js harness (default node)");
  app.add_option("--langgraph-dir", o.langgraph_dir, "Where agent.mjs and its node_modules are (default bench/langgraph)");
  app.add_flag("--json", o.json_out, "Print one JSON object instead of the table");
  app.add_flag("--keep-logs", o.keep_logs, "Keep the temporary directories with the process logs");
  CLI11_PARSE(app, argc, argv);
  try {
    return run_bench(o, command_line(argc, argv));
  } catch (const no_agent_step& ex) {
    std::fprintf(stderr, "keel_agent_bench: %s\n", ex.what());
    return 3;
  } catch (const std::exception& ex) {
    std::fprintf(stderr, "keel_agent_bench: %s\n", ex.what());
    return 2;
  }
}
