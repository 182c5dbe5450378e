// keel_echo_bench: the cost of one task round trip through Keel, compared
// with the ceiling set by a bare ZeroMQ broker carrying the same traffic.
//
// Keel:  this process (keel::client) -> `keel node` -> `keel executor` x N -> back
// Raw:   this process (DEALER) -> raw-broker process -> raw-worker process x N -> back
//
// Both sides run the same load: no-op echo tasks with a fixed-size payload,
// a sliding window of W requests in flight (a new one is sent as each reply
// arrives), a warm-up, then the measured tasks. Every reply is checked
// against what was sent. Reported: tasks/s, latency percentiles (send to
// reply, per task), CPU time per task of every process, and the resident
// memory of the node and one executor at idle and after the load.
//
// Usage: keel_echo_bench [--tasks N] [--warmup N] [--window W] [--payload B]
//                        [--executors 1,2] [--concurrency C] [--keel PATH] [--json]
//                        [--keep-logs] [--skip-raw | --skip-keel] [--node-config YAML]
// The keel binary defaults to the one built alongside (KEEL_BENCH_KEEL_BIN),
// overridden by --keel or the KEEL_BIN environment variable.
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <memory>
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
#include "bench/raw_zmq.hpp"
#include "runtime/client.hpp"

#ifndef KEEL_BENCH_KEEL_BIN
#define KEEL_BENCH_KEEL_BIN "keel"
#endif

namespace keel::bench {
namespace {

using steady = std::chrono::steady_clock;
using nlohmann::json;

constexpr auto reply_timeout = std::chrono::seconds(30);  // also the tasks' timeout_ms
constexpr auto start_timeout = std::chrono::seconds(30);
constexpr std::uint64_t warmup_base = 1ull << 40;  // warm-up sequence numbers never collide with measured ones

struct options {
  std::uint64_t tasks = 50000;
  std::uint64_t warmup = 2000;
  int window = 100;
  int payload = 100;
  int concurrency = 128;
  std::vector<int> executors{1, 2};
  std::string keel;
  bool json = false;
  bool keep_logs = false;
  bool skip_raw = false;
  bool skip_keel = false;
  std::string node_config;  // passed to `keel node --config` when set
};

void note(const char* fmt, auto... args) {
  std::fprintf(stderr, "keel_echo_bench: ");
  std::fprintf(stderr, fmt, args...);
  std::fprintf(stderr, "\n");
}

// The payload of task `seq`: exactly `size` printable bytes, different for
// every task so that a reply delivered to the wrong request is noticed.
std::string make_payload(std::uint64_t seq, int size) {
  std::string s = "task " + std::to_string(seq) + ":";
  s.reserve(static_cast<std::size_t>(size));
  for (std::size_t i = 0; s.size() < static_cast<std::size_t>(size); ++i)
    s.push_back(static_cast<char>('a' + (seq * 7 + i) % 26));
  s.resize(static_cast<std::size_t>(size));
  return s;
}

// --- the sliding window, shared by both systems ---

struct completion {
  std::uint64_t seq = 0;
  bool matched = false;  // the reply carried exactly the payload sent
  bool failed = false;   // the system answered with an error
  std::string why;       // for failed
};

struct window_outcome {
  std::uint64_t done = 0, mismatches = 0, errors = 0, unexpected = 0;
  double seconds = 0;
  std::vector<std::int64_t> latency_ns;
  std::string first_error;
};

// Keeps `window` requests outstanding until `count` replies have arrived.
// send(seq) queues one request; receive() returns the next completion or
// nothing after reply_timeout.
template <class Send, class Receive>
window_outcome drive(std::uint64_t seq0, std::uint64_t count, int window, Send&& send, Receive&& receive) {
  window_outcome out;
  out.latency_ns.reserve(count);
  std::vector<steady::time_point> sent_at(count);
  std::vector<bool> answered(count, false);
  std::uint64_t next = 0;
  auto start = steady::now();
  auto send_next = [&] {
    sent_at[next] = steady::now();
    send(seq0 + next);
    ++next;
  };
  while (next < count && next < static_cast<std::uint64_t>(window)) send_next();
  while (out.done < count) {
    std::optional<completion> c = receive();
    auto now = steady::now();
    if (!c) {
      throw std::runtime_error("no reply within " + std::to_string(reply_timeout.count()) + " s; " +
                               std::to_string(out.done) + " of " + std::to_string(count) + " done");
    }
    if (c->seq < seq0 || c->seq >= seq0 + count || answered[c->seq - seq0]) {
      ++out.unexpected;
      continue;
    }
    auto i = c->seq - seq0;
    answered[i] = true;
    out.latency_ns.push_back(std::chrono::duration_cast<std::chrono::nanoseconds>(now - sent_at[i]).count());
    ++out.done;
    if (c->failed) {
      ++out.errors;
      if (out.first_error.empty()) out.first_error = c->why;
    } else if (!c->matched) {
      ++out.mismatches;
      if (out.first_error.empty()) out.first_error = "reply payload differs from the one sent (task " + std::to_string(c->seq) + ")";
    }
    if (next < count) send_next();
  }
  out.seconds = std::chrono::duration<double>(steady::now() - start).count();
  return out;
}

// --- results ---

struct process_figures {
  std::string role;  // "node", "executor b1", "broker", ...
  pid_t pid = 0;
  proc_sample idle, after;
  double cpu_us_per_task = 0;  // over the measured phase
};

struct run_result {
  std::string system;  // "keel" or "raw"
  int workers = 0;
  std::uint64_t tasks = 0, mismatches = 0, errors = 0, unexpected = 0;
  double seconds = 0, tasks_per_s = 0;
  latency_summary lat;
  double client_cpu_us_per_task = 0;
  std::vector<process_figures> procs;  // [0]: node/broker, [1]: first executor/worker, ...
  std::string first_error;
  bool correct() const { return mismatches == 0 && errors == 0 && tasks > 0; }
};

// Runs warm-up and measurement, filling the throughput, latency and CPU parts of `r`.
template <class Send, class Receive>
void measure(const options& o, run_result& r, std::vector<std::unique_ptr<child_process>*> procs, Send&& send,
             Receive&& receive) {
  auto warm = drive(warmup_base, o.warmup, o.window, send, receive);
  if (warm.errors || warm.mismatches)
    throw std::runtime_error("warm-up failed: " + std::to_string(warm.errors) + " errors, " +
                             std::to_string(warm.mismatches) + " mismatches; first: " + warm.first_error);
  std::vector<double> cpu_before;
  for (auto* p : procs) cpu_before.push_back(sample_process((*p)->pid()).cpu_s);
  double self_before = sample_process(::getpid()).cpu_s;

  auto w = drive(0, o.tasks, o.window, send, receive);

  double self_after = sample_process(::getpid()).cpu_s;
  r.tasks = w.done;
  r.mismatches = w.mismatches;
  r.errors = w.errors;
  r.unexpected = w.unexpected;
  r.first_error = w.first_error;
  r.seconds = w.seconds;
  r.tasks_per_s = w.seconds > 0 ? static_cast<double>(w.done) / w.seconds : 0;
  r.lat = summarize(w.latency_ns);
  auto per_task = [&](double s) { return w.done ? s * 1e6 / static_cast<double>(w.done) : 0.0; };
  r.client_cpu_us_per_task = per_task(self_after - self_before);
  for (std::size_t i = 0; i < procs.size(); ++i) {
    auto s = sample_process((*procs[i])->pid());
    r.procs[i].cpu_us_per_task = per_task(s.cpu_s - cpu_before[i]);
    r.procs[i].after = s;
  }
}

std::runtime_error startup_failure(const std::string& what, const child_process& p) {
  return std::runtime_error(what + "; the last lines of " + p.log_path() + ":\n" + tail_of(p.log_path(), 15));
}

// Starts a server process on a fresh loopback port, retrying when the port
// was taken between picking and binding. `argv_for(port)` builds the
// command line; `ready` is the text it prints once serving.
std::unique_ptr<child_process> start_listener(
    const std::function<std::vector<std::string>(int port)>& argv_for, const temp_dir& dir,
    const std::string& log_name, const std::string& ready, int& port_out) {
  for (int attempt = 0; attempt < 5; ++attempt) {
    int port = free_port();
    auto log = dir.file(log_name + "-" + std::to_string(attempt) + ".log");
    auto p = std::make_unique<child_process>(argv_for(port), log);
    bool settled = wait_until([&] { return p->log_contains(ready) || !p->running(); }, start_timeout);
    if (settled && p->running()) {
      port_out = port;
      return p;
    }
    if (!settled) throw startup_failure(log_name + " did not report '" + ready + "' in time", *p);
    if (!p->log_contains("in use")) throw startup_failure(log_name + " exited during start-up", *p);
  }
  throw std::runtime_error(log_name + ": no free loopback port in 5 attempts");
}

// --- Keel ---

run_result run_keel_in(const options& o, int n, temp_dir& dir);

// Runs `body`; if it throws, keeps `dir` (the logs) and names it in the error.
template <class F>
auto keeping_logs_on_failure(temp_dir& dir, F&& body) {
  try {
    return body();
  } catch (const std::exception& ex) {
    dir.keep();
    throw std::runtime_error(std::string(ex.what()) + "\n  (logs kept in " + dir.path() + ")");
  }
}

run_result run_keel(const options& o, int n) {
  temp_dir dir("keel-echo-bench-");
  if (o.keep_logs) dir.keep();
  return keeping_logs_on_failure(dir, [&] { return run_keel_in(o, n, dir); });
}

run_result run_keel_in(const options& o, int n, temp_dir& dir) {
  run_result r;
  r.system = "keel";
  r.workers = n;
  note("keel, %d executor(s): starting a node and executors (logs in %s)", n, dir.path().c_str());

  int port = 0;
  auto node = start_listener(
      [&](int p) {
        std::vector<std::string> argv{o.keel, "node", "--listen", loopback_endpoint(p), "--data-dir",
                                      dir.file("data"), "--log-level", "warn"};
        if (!o.node_config.empty()) argv.insert(argv.end(), {"--config", o.node_config});
        return argv;
      },
      dir, "node", "keel node ready", port);
  auto endpoint = loopback_endpoint(port);
  std::vector<std::unique_ptr<child_process>> execs;
  std::set<std::string> names;
  for (int i = 1; i <= n; ++i) {
    auto name = "b" + std::to_string(i);
    names.insert(name);
    execs.push_back(std::make_unique<child_process>(
        std::vector<std::string>{o.keel, "executor", "--connect", endpoint, "--name", name, "--concurrency",
                                 std::to_string(o.concurrency), "--log-level", "warn"},
        dir.file("executor-" + name + ".log")));
  }

  auto cl = client::connect(endpoint);
  if (!cl) throw std::runtime_error("cannot connect a client to " + endpoint + ": " + cl.err().message);
  auto& c = **cl;
  bool registered = wait_until(
      [&] {
        for (auto& e : execs)
          if (!e->running()) throw startup_failure("executor exited before registering", *e);
        auto res = c.call("executors", json::object(), std::chrono::seconds(2));
        if (!res || !res->contains("executors") || !(*res)["executors"].is_array()) return false;
        std::size_t seen = 0;
        for (const auto& e : (*res)["executors"])
          if (e.is_object() && names.count(e.value("name", std::string()))) ++seen;
        return seen == names.size();
      },
      start_timeout, std::chrono::milliseconds(20));
  if (!registered) throw startup_failure("executors did not register within 30 s", *node);

  std::vector<std::unique_ptr<child_process>*> procs{&node};
  r.procs.push_back({"node", node->pid(), sample_process(node->pid()), {}, 0});
  for (int i = 0; i < n; ++i) {
    procs.push_back(&execs[static_cast<std::size_t>(i)]);
    auto pid = execs[static_cast<std::size_t>(i)]->pid();
    r.procs.push_back({"executor b" + std::to_string(i + 1), pid, sample_process(pid), {}, 0});
  }
  note("keel, %d executor(s): registered; %llu warm-up + %llu measured tasks, %d in flight", n,
       static_cast<unsigned long long>(o.warmup), static_cast<unsigned long long>(o.tasks), o.window);

  std::map<std::uint64_t, std::uint64_t> seq_of_cid;  // at most `window` entries
  auto send = [&](std::uint64_t seq) {
    json args = {{"action", "echo"}, {"args", {{"text", make_payload(seq, o.payload)}}}, {"timeout_ms", 30000}};
    auto cid = c.send("run", args);
    if (!cid) throw std::runtime_error("client send failed: " + cid.err().message);
    seq_of_cid.emplace(*cid, seq);
  };
  auto receive = [&]() -> std::optional<completion> {
    auto rep = c.receive(reply_timeout);
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
      out.why = rep->err.code + ": " + rep->err.message;
      return out;
    }
    const auto& body = rep->body;
    auto res = body.is_object() ? body.find("result") : body.end();
    out.matched = res != body.end() && res->is_object() && res->size() == 1 && res->contains("text") &&
                  (*res)["text"].is_string() &&
                  (*res)["text"].get_ref<const std::string&>() == make_payload(out.seq, o.payload);
    return out;
  };
  try {
    measure(o, r, procs, send, receive);
  } catch (const std::exception& ex) {
    // Say what the node thinks is going on: queued and leased tasks, executors, dropped frames.
    std::string state = "unavailable";
    if (auto st = c.call("status", json::object(), std::chrono::seconds(5)); st) {
      json brief = {{"tasks", st->value("tasks", json())}, {"frames", (*st)["node"].value("frames", json())},
                    {"executors", json::array()}};
      for (const auto& e : st->value("executors", json::array()))
        brief["executors"].push_back({{"name", e.value("name", "")}, {"in_flight", e.value("in_flight", 0)},
                                      {"done", e.value("done", 0)}, {"failed", e.value("failed", 0)}});
      state = brief.dump();
    }
    std::string procs_state = "node " + node->state();
    for (std::size_t i = 0; i < execs.size(); ++i)
      procs_state += ", executor b" + std::to_string(i + 1) + " " + execs[i]->state();
    throw std::runtime_error(std::string(ex.what()) + "\n  " + procs_state + "\n  node status: " + state);
  }

  for (auto& e : execs) e->terminate();
  node->terminate();
  note("keel, %d executor(s): %.0f tasks/s", n, r.tasks_per_s);
  return r;
}

// --- raw ZeroMQ ---

run_result run_raw_in(const options& o, int n, temp_dir& dir);

run_result run_raw(const options& o, int n) {
  temp_dir dir("keel-echo-bench-raw-");
  if (o.keep_logs) dir.keep();
  return keeping_logs_on_failure(dir, [&] { return run_raw_in(o, n, dir); });
}

run_result run_raw_in(const options& o, int n, temp_dir& dir) {
  run_result r;
  r.system = "raw";
  r.workers = n;
  note("raw zmq, %d worker(s): starting a broker and workers", n);
  auto exe = self_exe();
  int fe_port = 0, be_port = 0;
  auto broker = start_listener(
      [&](int p) {
        do be_port = free_port();  // a fresh pair on every attempt
        while (be_port == p);
        return std::vector<std::string>{exe, "raw-broker", "--frontend", loopback_endpoint(p), "--backend",
                                        loopback_endpoint(be_port)};
      },
      dir, "broker", "raw broker ready", fe_port);
  std::vector<std::unique_ptr<child_process>> workers;
  for (int i = 1; i <= n; ++i)
    workers.push_back(std::make_unique<child_process>(
        std::vector<std::string>{exe, "raw-worker", "--connect", loopback_endpoint(be_port)},
        dir.file("worker-" + std::to_string(i) + ".log")));

  raw_client c(loopback_endpoint(fe_port));
  bool registered = wait_until(
      [&] {
        for (auto& w : workers)
          if (!w->running()) throw startup_failure("raw worker exited", *w);
        return c.count_workers(std::chrono::seconds(2)) == n;
      },
      start_timeout, std::chrono::milliseconds(20));
  if (!registered) throw startup_failure("raw workers did not register within 30 s", *broker);

  std::vector<std::unique_ptr<child_process>*> procs{&broker};
  r.procs.push_back({"broker", broker->pid(), sample_process(broker->pid()), {}, 0});
  for (int i = 0; i < n; ++i) {
    procs.push_back(&workers[static_cast<std::size_t>(i)]);
    auto pid = workers[static_cast<std::size_t>(i)]->pid();
    r.procs.push_back({"worker " + std::to_string(i + 1), pid, sample_process(pid), {}, 0});
  }

  auto send = [&](std::uint64_t seq) { c.send(seq, make_payload(seq, o.payload)); };
  auto receive = [&]() -> std::optional<completion> {
    completion out;
    std::string_view payload;
    if (!c.receive(reply_timeout, out.seq, payload)) return std::nullopt;
    out.matched = payload == make_payload(out.seq, o.payload);
    return out;
  };
  measure(o, r, procs, send, receive);

  for (auto& w : workers) w->terminate();
  broker->terminate();
  note("raw zmq, %d worker(s): %.0f tasks/s", n, r.tasks_per_s);
  return r;
}

// --- reporting ---

double mb(long kb) { return kb < 0 ? -1 : static_cast<double>(kb) * 1024.0 / 1e6; }

constexpr double target_ratio = 0.30;
constexpr double target_node_idle_mb = 60;
constexpr double target_executor_idle_mb = 20;

json lat_json(const latency_summary& l) {
  return {{"p50_us", l.p50_us}, {"p99_us", l.p99_us}, {"p999_us", l.p999_us}, {"mean_us", l.mean_us},
          {"max_us", l.max_us}};
}

json mem_json(const proc_sample& s) {
  return {{"rss_mb", mb(s.rss_kb)}, {"hwm_mb", mb(s.hwm_kb)}};
}

json run_json(const run_result& r) {
  json procs = json::array();
  for (const auto& p : r.procs)
    procs.push_back({{"role", p.role},
                     {"idle", mem_json(p.idle)},
                     {"after_load", mem_json(p.after)},
                     {"cpu_us_per_task", p.cpu_us_per_task}});
  return {{"tasks", r.tasks},
          {"seconds", r.seconds},
          {"tasks_per_s", r.tasks_per_s},
          {"latency", lat_json(r.lat)},
          {"mismatches", r.mismatches},
          {"errors", r.errors},
          {"unexpected_replies", r.unexpected},
          {"first_error", r.first_error},
          {"client_cpu_us_per_task", r.client_cpu_us_per_task},
          {"processes", procs}};
}

struct pair_result {
  int workers;
  run_result keel, raw;
  double ratio() const { return raw.tasks_per_s > 0 ? keel.tasks_per_s / raw.tasks_per_s : 0; }
};

struct verdicts {
  bool throughput = true, node_mem = true, executor_mem = true, correct = true;
  double worst_ratio = 1e9, node_idle_mb = 0, executor_idle_mb = 0;
};

verdicts judge(const std::vector<pair_result>& runs, bool have_raw) {
  verdicts v;
  for (const auto& p : runs) {
    if (have_raw) {
      v.worst_ratio = std::min(v.worst_ratio, p.ratio());
      if (p.ratio() < target_ratio) v.throughput = false;
    }
    v.node_idle_mb = std::max(v.node_idle_mb, mb(p.keel.procs[0].idle.rss_kb));
    v.executor_idle_mb = std::max(v.executor_idle_mb, mb(p.keel.procs[1].idle.rss_kb));
    v.correct = v.correct && p.keel.correct() && (!have_raw || p.raw.correct());
  }
  v.node_mem = v.node_idle_mb < target_node_idle_mb;
  v.executor_mem = v.executor_idle_mb < target_executor_idle_mb;
  return v;
}

void print_table(const options& o, const std::vector<pair_result>& runs, bool have_raw) {
  std::printf("Task round trip: no-op echo, %d-byte payload, %d in flight, %llu measured tasks (+%llu warm-up)\n",
              o.payload, o.window, static_cast<unsigned long long>(o.tasks),
              static_cast<unsigned long long>(o.warmup));
  std::printf("Machine: %u cores, %s\n", std::thread::hardware_concurrency(), cpu_model().c_str());
  if (have_raw)
    std::printf("Raw ZeroMQ: client, broker and workers are separate processes (DEALER -> ROUTER/ROUTER -> DEALER)\n");
  std::printf("\n");

  std::printf("%-24s %10s %9s %9s %9s %9s %7s\n", "system", "tasks/s", "p50 ms", "p99 ms", "p99.9 ms", "mean ms",
              "errors");
  auto row = [](const std::string& label, const run_result& r) {
    std::printf("%-24s %10.0f %9.3f %9.3f %9.3f %9.3f %7llu\n", label.c_str(), r.tasks_per_s, r.lat.p50_us / 1000,
                r.lat.p99_us / 1000, r.lat.p999_us / 1000, r.lat.mean_us / 1000,
                static_cast<unsigned long long>(r.errors + r.mismatches));
  };
  for (const auto& p : runs) {
    auto plural = [&](const char* w) { return std::to_string(p.workers) + " " + w + (p.workers > 1 ? "s" : ""); };
    row("keel, " + plural("executor"), p.keel);
    if (have_raw) {
      row("raw zmq, " + plural("worker"), p.raw);
      std::printf("%-24s %9.1f%%\n", "  keel / raw", 100 * p.ratio());
    }
  }

  for (const auto& p : runs)
    for (const auto* r : {&p.keel, &p.raw})
      if (!r->first_error.empty())
        std::printf("  %s, %d: %llu errors, %llu mismatches; first: %s\n", r->system.c_str(), p.workers,
                    static_cast<unsigned long long>(r->errors), static_cast<unsigned long long>(r->mismatches),
                    r->first_error.c_str());

  std::printf("\nCPU time per task (us), measured phase\n");
  for (const auto& p : runs) {
    for (const auto* r : {&p.keel, &p.raw}) {
      if (r == &p.raw && !have_raw) continue;
      std::printf("  %-4s %d: client %.1f", r->system.c_str(), p.workers, r->client_cpu_us_per_task);
      for (const auto& f : r->procs) std::printf(", %s %.1f", f.role.c_str(), f.cpu_us_per_task);
      std::printf("\n");
    }
  }

  std::printf("\nResident memory (MB = 10^6 bytes)   idle RSS  idle peak  after RSS  after peak\n");
  for (const auto& p : runs) {
    for (std::size_t i = 0; i < 2 && i < p.keel.procs.size(); ++i) {
      const auto& f = p.keel.procs[i];
      auto label = f.role + " (" + std::to_string(p.workers) + " exec)";
      auto cell = [](long kb, int width) {
        char buf[32];
        if (kb < 0) std::snprintf(buf, sizeof buf, "%*s", width, "n/a");
        else std::snprintf(buf, sizeof buf, "%*.1f", width, mb(kb));
        return std::string(buf);
      };
      std::printf("  %-33s %s %s %s %s\n", label.c_str(), cell(f.idle.rss_kb, 9).c_str(),
                  cell(f.idle.hwm_kb, 10).c_str(), cell(f.after.rss_kb, 10).c_str(), cell(f.after.hwm_kb, 11).c_str());
    }
  }

  auto v = judge(runs, have_raw);
  auto met = [](bool b) { return b ? "met" : "MISSED"; };
  std::printf("\nTargets (issue 2)\n");
  if (have_raw)
    std::printf("  keel throughput >= %.0f%% of raw ZeroMQ: %s (lowest %.1f%%)\n", target_ratio * 100,
                met(v.throughput), v.worst_ratio * 100);
  std::printf("  node idle RSS < %.0f MB: %s (%.1f MB)\n", target_node_idle_mb, met(v.node_mem), v.node_idle_mb);
  std::printf("  executor idle RSS < %.0f MB: %s (%.1f MB)\n", target_executor_idle_mb, met(v.executor_mem),
              v.executor_idle_mb);
  std::printf("  every reply correct: %s\n", v.correct ? "yes" : "NO");
}

json report_json(const options& o, const std::vector<pair_result>& runs, bool have_raw) {
  auto v = judge(runs, have_raw);
  json out = {{"benchmark", "task_round_trip_echo"},
              {"machine", {{"cores", std::thread::hardware_concurrency()}, {"cpu", cpu_model()}}},
              {"config",
               {{"tasks", o.tasks},
                {"warmup", o.warmup},
                {"window", o.window},
                {"payload_bytes", o.payload},
                {"executor_concurrency", o.concurrency},
                {"raw_topology", "separate processes: client DEALER -> broker ROUTER/ROUTER -> worker DEALER"}}},
              {"runs", json::array()}};
  for (const auto& p : runs) {
    json r = {{"workers", p.workers}, {"keel", run_json(p.keel)}};
    if (have_raw) {
      r["raw"] = run_json(p.raw);
      r["keel_over_raw"] = p.ratio();
    }
    out["runs"].push_back(r);
  }
  out["targets"] = {{"throughput_ratio", {{"target_min", target_ratio}, {"lowest", have_raw ? json(v.worst_ratio) : json()}, {"met", have_raw ? json(v.throughput) : json()}}},
                    {"node_idle_rss_mb", {{"target_max", target_node_idle_mb}, {"value", v.node_idle_mb}, {"met", v.node_mem}}},
                    {"executor_idle_rss_mb", {{"target_max", target_executor_idle_mb}, {"value", v.executor_idle_mb}, {"met", v.executor_mem}}}};
  out["correct"] = v.correct;
  return out;
}

std::vector<int> parse_counts(const std::string& list) {
  std::vector<int> out;
  std::stringstream ss(list);
  std::string item;
  while (std::getline(ss, item, ',')) {
    int n = std::atoi(item.c_str());
    if (n < 1 || n > 64) throw std::runtime_error("--executors takes counts between 1 and 64, e.g. 1,2");
    out.push_back(n);
  }
  if (out.empty()) throw std::runtime_error("--executors needs at least one count, e.g. 1,2");
  return out;
}

int run_bench(options& o) {
  if (o.keel.empty()) {
    const char* env = std::getenv("KEEL_BIN");
    o.keel = env && *env ? env : KEEL_BENCH_KEEL_BIN;
  }
  if (::access(o.keel.c_str(), X_OK) != 0)
    throw std::runtime_error("no executable keel binary at '" + o.keel + "'; build it or pass --keel PATH");
  if (o.skip_keel && o.skip_raw) throw std::runtime_error("--skip-keel and --skip-raw leave nothing to measure");
  if (o.skip_keel) {
    // Raw ZeroMQ only (for profiling the baseline): a short report on stderr-free stdout.
    for (int n : o.executors) {
      auto r = run_raw(o, n);
      std::printf("raw zmq, %d worker(s): %.0f tasks/s, p50 %.3f ms, p99 %.3f ms, %llu errors\n", n, r.tasks_per_s,
                  r.lat.p50_us / 1000, r.lat.p99_us / 1000, static_cast<unsigned long long>(r.errors + r.mismatches));
      if (!r.correct()) return 1;
    }
    return 0;
  }
  std::vector<pair_result> runs;
  for (int n : o.executors) {
    pair_result p{n, run_keel(o, n), {}};
    if (!o.skip_raw) p.raw = run_raw(o, n);
    runs.push_back(std::move(p));
  }
  if (o.json) std::printf("%s\n", report_json(o, runs, !o.skip_raw).dump(2).c_str());
  else print_table(o, runs, !o.skip_raw);
  return judge(runs, !o.skip_raw).correct ? 0 : 1;
}

}  // namespace
}  // namespace keel::bench

int main(int argc, char** argv) {
  using namespace keel::bench;
  CLI::App app{"Task round trip through Keel (client -> node -> executor -> client) vs a raw ZeroMQ broker"};
  options o;
  std::string executors = "1,2";
  app.add_option("--tasks", o.tasks, "Measured tasks per configuration (default 50000)")->check(CLI::Range(1, 100000000));
  app.add_option("--warmup", o.warmup, "Warm-up tasks per configuration, not measured (default 2000)");
  app.add_option("--window", o.window, "Requests kept in flight (default 100)")->check(CLI::Range(1, 100000));
  app.add_option("--payload", o.payload, "Payload bytes per task (default 100)")->check(CLI::Range(16, 1 << 20));
  app.add_option("--concurrency", o.concurrency, "Slots per keel executor (default 128)")->check(CLI::Range(1, 4096));
  app.add_option("--executors", executors, "Executor (and raw worker) counts to run, comma-separated (default 1,2)");
  app.add_option("--keel", o.keel, "Path to the keel binary (default: $KEEL_BIN, else the one built with the bench)");
  app.add_flag("--json", o.json, "Print one JSON object instead of the table");
  app.add_flag("--keep-logs", o.keep_logs, "Keep the temporary directories with the process logs");
  app.add_flag("--skip-raw", o.skip_raw, "Measure Keel only");
  app.add_flag("--skip-keel", o.skip_keel, "Measure the raw ZeroMQ baseline only (for profiling it)");
  app.add_option("--node-config", o.node_config, "Node config YAML passed to `keel node --config` (experiments)");

  std::string frontend, backend;
  auto* broker = app.add_subcommand("raw-broker", "(internal) the raw ZeroMQ broker");
  broker->add_option("--frontend", frontend)->required();
  broker->add_option("--backend", backend)->required();
  auto* worker = app.add_subcommand("raw-worker", "(internal) a raw ZeroMQ echo worker");
  worker->add_option("--connect", backend)->required();
  CLI11_PARSE(app, argc, argv);

  if (broker->parsed()) return run_raw_broker(frontend, backend);
  if (worker->parsed()) return run_raw_worker(backend);
  try {
    o.executors = parse_counts(executors);
    return run_bench(o);
  } catch (const std::exception& ex) {
    std::fprintf(stderr, "keel_echo_bench: %s\n", ex.what());
    return 2;
  }
}
