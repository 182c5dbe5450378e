// The runners behind echo_runs.hpp: the measurement, process start-up, and
// the Keel and raw ZeroMQ set-ups (the sliding window is sliding_window.hpp).
#include "bench/echo_runs.hpp"

#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <memory>
#include <optional>
#include <set>
#include <sstream>
#include <stdexcept>
#include <utility>

#include <msgpack.hpp>
#include <nlohmann/json.hpp>

#include "bench/client_calls.hpp"
#include "bench/raw_zmq.hpp"
#include "bench/sliding_window.hpp"
#include "runtime/base/msgpack_json.hpp"
#include "runtime/fabric/client.hpp"
#include "runtime/fabric/curve_keys.hpp"

#ifndef KEEL_BENCH_KEEL_BIN
#define KEEL_BENCH_KEEL_BIN "keel"
#endif

namespace keel::bench {
namespace {

using nlohmann::json;

constexpr auto reply_timeout = std::chrono::seconds(30);  // also the tasks' timeout_ms
constexpr std::uint64_t warmup_base = 1ull << 40;  // warm-up sequence numbers never collide with measured ones

// The payload of task `seq`: exactly `size` printable bytes, different for
// every task so that a reply delivered to the wrong request is noticed.
// Cheap to make (a copy from a cycle of the alphabet), since both sides
// make it twice per task and the harness should measure the systems.
std::string make_payload(std::uint64_t seq, int size) {
  static const std::string cycle = [] {
    std::string c;
    c.reserve((1 << 20) + 26);
    for (int i = 0; i < (1 << 20) + 26; ++i) c.push_back(static_cast<char>('a' + i % 26));
    return c;
  }();
  std::string s = "task " + std::to_string(seq) + ":";
  auto n = static_cast<std::size_t>(size);
  if (s.size() < n) s.append(cycle, (seq * 7) % 26, n - s.size());
  s.resize(n);
  return s;
}

// The args of the `run` request for an echo of `payload`, as msgpack:
// {"action": "echo", "args": {"text": payload}, "timeout_ms": 30000}.
std::string echo_run_args(const std::string& payload) {
  std::string out;
  out.reserve(payload.size() + 48);
  string_sink sink{out};
  msgpack::packer<string_sink> pk(sink);
  pk.pack_map(3);
  pk.pack(std::string_view("action"));
  pk.pack(std::string_view("echo"));
  pk.pack(std::string_view("args"));
  pk.pack_map(1);
  pk.pack(std::string_view("text"));
  pk.pack(std::string_view(payload));
  pk.pack(std::string_view("timeout_ms"));
  pk.pack(std::chrono::duration_cast<std::chrono::milliseconds>(reply_timeout).count());
  return out;
}

// Runs warm-up and measurement, filling the throughput, latency and CPU parts of `r`.
template <class Send, class Receive>
void measure(const options& o, run_result& r, std::vector<std::unique_ptr<child_process>*> procs, Send&& send,
             Receive&& receive) {
  auto warm = drive(warmup_base, o.warmup, o.window, reply_timeout, send, receive);
  if (warm.errors || warm.mismatches)
    throw std::runtime_error("warm-up failed: " + std::to_string(warm.errors) + " errors, " +
                             std::to_string(warm.mismatches) + " mismatches; first: " + warm.first_error);
  std::vector<double> cpu_before;
  for (auto* p : procs) cpu_before.push_back(sample_process((*p)->pid()).cpu_s);
  double self_before = sample_process(::getpid()).cpu_s;

  auto w = drive(0, o.tasks, o.window, reply_timeout, send, receive);

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

// For a failed run: the processes' states, and what the node thinks is
// going on (queued and leased tasks, executors, dropped frames).
std::string keel_state(client& c, child_process& node, const std::vector<std::unique_ptr<child_process>>& execs) {
  std::string state = "unavailable";
  if (auto st = c.call("status", json::object(), std::chrono::seconds(5)); st) {
    json brief = {{"tasks", st->value("tasks", json())}, {"frames", (*st)["node"].value("frames", json())},
                  {"executors", json::array()}};
    for (const auto& e : st->value("executors", json::array()))
      brief["executors"].push_back({{"name", e.value("name", "")}, {"in_flight", e.value("in_flight", 0)},
                                    {"done", e.value("done", 0)}, {"failed", e.value("failed", 0)}});
    state = brief.dump();
  }
  std::string procs_state = "node " + node.state();
  for (std::size_t i = 0; i < execs.size(); ++i)
    procs_state += ", executor b" + std::to_string(i + 1) + " " + execs[i]->state();
  return procs_state + "\n  node status: " + state;
}

}  // namespace

static run_result run_keel_in(const options& o, int n, temp_dir& dir);
static run_result run_raw_in(const options& o, int n, temp_dir& dir);

run_result run_keel(const options& o, int n) {
  temp_dir dir("keel-echo-bench-");
  if (o.keep_logs) dir.keep();
  return keeping_logs_on_failure(dir, [&] { return run_keel_in(o, n, dir); });
}

static run_result run_keel_in(const options& o, int n, temp_dir& dir) {
  run_result r;
  r.system = "keel";
  r.workers = n;
  r.window = o.window;
  r.curve = o.curve;
  note("keel%s, %d executor(s), %d in flight: starting a node and executors (logs in %s)", o.curve ? " +curve" : "", n,
       o.window, dir.path().c_str());

  // With CURVE: a node key, an admin key for this client, and one executor
  // key per executor, each authorized through the admin connection, exactly
  // as an operator would with `keelctl executors authorize`.
  std::optional<curve_client_keys> admin;
  auto make_keys = [&](const std::string& file) {
    auto kp = generate_keypair();
    if (!kp) throw std::runtime_error("cannot make CURVE keys: " + kp.err().message);
    if (auto w = write_key_file(dir.file(file), *kp); !w) throw std::runtime_error(w.err().message);
    return *kp;
  };
  if (o.curve) admin = curve_client_keys{make_keys("node.key").public_key, make_keys("admin.key")};

  int port = 0;
  auto node = start_listener(
      [&](int p) {
        std::vector<std::string> argv{o.keel, "node", "--listen", loopback_endpoint(p), "--data-dir",
                                      dir.file("data"), "--log-level", "warn"};
        if (!o.node_config.empty()) argv.insert(argv.end(), {"--config", o.node_config});
        if (o.curve)
          argv.insert(argv.end(), {"--key", dir.file("node.key"), "--admin-key", admin->own.public_key});
        else
          argv.push_back("--insecure");  // the plaintext runs measure the fabric without CURVE
        return argv;
      },
      dir, "node", "keel node ready", port);
  auto endpoint = loopback_endpoint(port);
  auto cl = client::connect(endpoint, admin ? &*admin : nullptr);
  if (!cl) throw std::runtime_error("cannot connect a client to " + endpoint + ": " + cl.err().message);
  auto& c = **cl;
  std::vector<std::unique_ptr<child_process>> execs;
  std::set<std::string> names;
  for (int i = 1; i <= n; ++i) {
    auto name = "b" + std::to_string(i);
    names.insert(name);
    std::vector<std::string> argv{o.keel, "executor", "--connect", endpoint, "--name", name, "--concurrency",
                                  std::to_string(o.concurrency), "--log-level", "warn"};
    if (o.curve) {
      auto kp = make_keys(name + ".key");
      auto ok = c.call("executors.authorize", {{"name", name}, {"public_key", kp.public_key}}, std::chrono::seconds(10));
      if (!ok) throw std::runtime_error("cannot authorize executor " + name + ": " + ok.err().message);
      argv.insert(argv.end(), {"--server-key", admin->server_public, "--key", dir.file(name + ".key")});
    }
    execs.push_back(std::make_unique<child_process>(argv, dir.file("executor-" + name + ".log")));
  }

  await_registration(c, execs, names, *node);

  std::vector<std::unique_ptr<child_process>*> procs{&node};
  r.procs.push_back({"node", node->pid(), sample_process(node->pid()), {}, 0});
  for (int i = 0; i < n; ++i) {
    procs.push_back(&execs[static_cast<std::size_t>(i)]);
    auto pid = execs[static_cast<std::size_t>(i)]->pid();
    r.procs.push_back({"executor b" + std::to_string(i + 1), pid, sample_process(pid), {}, 0});
  }
  note("keel%s, %d executor(s): registered; %llu warm-up + %llu measured tasks, %d in flight", o.curve ? " +curve" : "", n,
       static_cast<unsigned long long>(o.warmup), static_cast<unsigned long long>(o.tasks), o.window);

  // Requests written as msgpack and replies read in place, as a client
  // that pipelines thousands a second would (the raw client in the same
  // run handles bytes too).
  auto request = [&](std::uint64_t seq) { return std::pair{std::string("run"), echo_run_args(make_payload(seq, o.payload))}; };
  auto judge = [&](std::uint64_t seq, const msgpack_in::value& body) -> std::string {
    auto res = body.find("result");
    std::size_t entries = 0;
    bool same_text = false;
    auto payload = make_payload(seq, o.payload);
    res.each_entry([&](std::string_view key, const msgpack_in::value& v) {
      ++entries;
      same_text = key == "text" && v.as_str() == std::string_view(payload);
    });
    bool same = res.is_map() && entries == 1 && same_text;
    return same ? "" : "reply payload differs from the one sent (task " + std::to_string(seq) + ")";
  };
  client_calls calls(c, reply_timeout, request, judge);
  auto send = [&](std::uint64_t seq) { calls.send(seq); };
  auto receive = [&] { return calls.receive(); };
  try {
    measure(o, r, procs, send, receive);
  } catch (const std::exception& ex) {
    throw std::runtime_error(std::string(ex.what()) + "\n  " + keel_state(c, *node, execs));
  }

  if (auto st = c.call("status", json::object(), std::chrono::seconds(10)); st.ok() && st->contains("node")) {
    const auto& f = (*st)["node"]["frames"];
    auto all = static_cast<double>(o.tasks + o.warmup);
    r.node_messages_in_per_task = f.value("in", std::uint64_t{0}) / all;
    r.node_messages_out_per_task = f.value("out", std::uint64_t{0}) / all;
    r.bundles_in = f.value("bundles_in", std::uint64_t{0});
    r.bundles_out = f.value("bundles_out", std::uint64_t{0});
  }
  for (auto& e : execs) e->terminate();
  node->terminate();
  note("keel%s, %d executor(s), %d in flight: %.0f tasks/s", o.curve ? " +curve" : "", n, o.window, r.tasks_per_s);
  return r;
}

// --- raw ZeroMQ ---

run_result run_raw(const options& o, int n) {
  temp_dir dir("keel-echo-bench-raw-");
  if (o.keep_logs) dir.keep();
  return keeping_logs_on_failure(dir, [&] { return run_raw_in(o, n, dir); });
}

static run_result run_raw_in(const options& o, int n, temp_dir& dir) {
  run_result r;
  r.system = "raw";
  r.workers = n;
  r.window = o.window;
  r.curve = o.curve;
  note("raw zmq%s, %d worker(s), %d in flight: starting a broker and workers", o.curve ? " +curve" : "", n, o.window);
  auto exe = self_exe();
  // Ephemeral bench keys: the broker reads its secret from a 0600 file.
  std::string server_public;
  if (o.curve) {
    auto kp = generate_keypair();
    if (!kp) throw std::runtime_error("cannot make CURVE keys: " + kp.err().message);
    if (auto w = write_key_file(dir.file("broker.key"), *kp); !w) throw std::runtime_error(w.err().message);
    server_public = kp->public_key;
  }
  int fe_port = 0, be_port = 0;
  auto broker = start_listener(
      [&](int p) {
        do be_port = free_port();  // a fresh pair on every attempt
        while (be_port == p);
        std::vector<std::string> argv{exe, "raw-broker", "--frontend", loopback_endpoint(p), "--backend",
                                      loopback_endpoint(be_port)};
        if (o.curve) argv.insert(argv.end(), {"--curve-key-file", dir.file("broker.key")});
        return argv;
      },
      dir, "broker", "raw broker ready", fe_port);
  std::vector<std::unique_ptr<child_process>> workers;
  for (int i = 1; i <= n; ++i)
    workers.push_back(std::make_unique<child_process>(
        o.curve ? std::vector<std::string>{exe, "raw-worker", "--connect", loopback_endpoint(be_port), "--server-key", server_public}
                : std::vector<std::string>{exe, "raw-worker", "--connect", loopback_endpoint(be_port)},
        dir.file("worker-" + std::to_string(i) + ".log")));

  raw_client c(loopback_endpoint(fe_port), server_public);
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
  note("raw zmq%s, %d worker(s), %d in flight: %.0f tasks/s", o.curve ? " +curve" : "", n, o.window, r.tasks_per_s);
  return r;
}

void add_run_options(CLI::App& app, options& o) {
  auto dflt = [](const char* what, auto v) { return std::string(what) + " (default " + std::to_string(v) + ")"; };
  app.add_option("--tasks", o.tasks, dflt("Measured tasks per configuration", o.tasks))->check(CLI::Range(1, 100000000));
  app.add_option("--warmup", o.warmup, dflt("Warm-up tasks per configuration, not measured", o.warmup));
  app.add_option("--payload", o.payload, dflt("Payload bytes per task", o.payload))->check(CLI::Range(16, 1 << 20));
  app.add_option("--concurrency", o.concurrency, dflt("Slots per keel executor", o.concurrency))->check(CLI::Range(1, 4096));
  app.add_option("--keel", o.keel, "Path to the keel binary (default: $KEEL_BIN, else the one built with the bench)");
  app.add_flag("--json", o.json, "Print one JSON object instead of the table");
  app.add_flag("--keep-logs", o.keep_logs, "Keep the temporary directories with the process logs");
}

void resolve_keel_binary(options& o) {
  if (o.keel.empty()) {
    const char* env = std::getenv("KEEL_BIN");
    o.keel = env && *env ? env : KEEL_BENCH_KEEL_BIN;
  }
  if (::access(o.keel.c_str(), X_OK) != 0)
    throw std::runtime_error("no executable keel binary at '" + o.keel + "'; build it or pass --keel PATH");
}

run_result median_run(std::vector<run_result> runs) {
  std::sort(runs.begin(), runs.end(), [](const run_result& a, const run_result& b) { return a.tasks_per_s < b.tasks_per_s; });
  return runs[(runs.size() - 1) / 2];
}

double median(std::vector<double> values) {
  if (values.empty()) return 0;
  std::sort(values.begin(), values.end());
  return values[(values.size() - 1) / 2];
}

std::vector<int> parse_counts(const std::string& list, const char* what, int max) {
  std::vector<int> out;
  std::stringstream ss(list);
  std::string item;
  while (std::getline(ss, item, ',')) {
    int n = std::atoi(item.c_str());
    if (n < 1 || n > max)
      throw std::runtime_error(std::string(what) + " takes numbers between 1 and " + std::to_string(max) + ", e.g. 1,2");
    out.push_back(n);
  }
  if (out.empty()) throw std::runtime_error(std::string(what) + " needs at least one number, e.g. 1,2");
  return out;
}

}  // namespace keel::bench
