// keel_agent_bench --step-latency N: what one `model: generate` step adds to
// its model call. N runs of the w6_generate workflow, one at a time, on a
// node with nothing else to do; per run, the step's duration against the
// stub's own service time for that call (from a complete request to its
// answer ready). The step's duration is the node's `step draft` span (µs,
// from the dispatch after the policy check to the result); the engine's
// step_dispatched -> step_completed (whole ms) and the client's round trip
// of the whole one-step run are reported beside it.
#include <optional>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "bench/agent_bench.hpp"
#include "bench/echo_runs.hpp"
#include "runtime/fabric/client.hpp"

namespace keel::bench::agent {

namespace {

const char* generate_workflow = R"(name: w6_generate
steps:
  - {id: draft, model: generate, tier: fast, prompt: "Say hi to {{ input.n }}"}
)";

// The `step STEP` span of the instance's trace (the node's executor agent
// times a step from its dispatch, after the policy check, to its result, in
// µs), as its duration in µs; nothing when the node recorded no such span.
std::optional<double> step_span_us(client& c, const json& inst, const std::string& step) {
  auto t = c.call("trace", json{{"id", inst.value("trace", std::string())}}, std::chrono::seconds(10));
  if (!t) return std::nullopt;
  for (const auto& sp : t->value("spans", json::array()))
    if (sp.value("name", "") == "step " + step) {
      auto a = sp.value("start_us", std::int64_t{0}), b = sp.value("end_us", std::int64_t{0});
      if (a > 0 && b >= a) return static_cast<double>(b - a);
    }
  return std::nullopt;
}

// The step's duration as the engine records it (ended_ms - started_ms, in
// whole ms: from the step_dispatched event to step_completed), in µs.
std::optional<double> step_engine_us(const json& inst, const std::string& step) {
  for (const auto& s : inst.value("steps", json::array())) {
    if (s.value("id", "") != step) continue;
    auto a = s.value("started_ms", std::int64_t{0}), b = s.value("ended_ms", std::int64_t{0});
    if (a > 0 && b >= a) return static_cast<double>(b - a) * 1000;
  }
  return std::nullopt;
}

// A `model: generate` run: completed, its draft the stub's final answer.
std::string check_generate_instance(const json& inst) {
  if (auto why = check_completed(inst); !why.empty()) return why;
  for (const auto& s : inst.value("steps", json::array()))
    if (s.value("id", "") == "draft") {
      const auto& r = s.value("result", json());
      if (!r.is_object() || r.value("provider", "") != "stub")
        return "step draft's result did not come from the stub: " + r.dump();
      return {};
    }
  return "the instance has no step draft";
}

double mean_of(const std::vector<std::int64_t>& ns) {
  double sum = 0;
  for (auto v : ns) sum += static_cast<double>(v);
  return ns.empty() ? 0 : sum / static_cast<double>(ns.size()) / 1000;
}

}  // namespace

int run_step_latency(const bench_options& o, model_stub& stub, const std::string& cmd, const std::string& load_before) {
  temp_dir dir("keel-w6-step-");
  if (o.keep_logs) dir.keep();
  note("step latency: a node with the w6_generate workflow (logs in %s)", dir.path().c_str());
  auto k = start_keel(o, dir, stub, "w6_generate", generate_workflow);
  return keeping_logs_on_failure(dir, [&] {
    if (o.warmup > 0) {
      auto w = run_instances(*k.c, "w6_generate", warmup_base, static_cast<std::uint64_t>(o.warmup), 1,
                             check_generate_instance);
      if (w.errors || w.mismatches) throw std::runtime_error("warm-up failed; first: " + w.first_error);
    }
    stub.stats(true);
    auto metrics_before = histogram_totals(k.metrics_url);
    note("step latency: %d sequential runs", o.step_latency);
    std::vector<json> finished;
    auto w = run_instances(*k.c, "w6_generate", 0, static_cast<std::uint64_t>(o.step_latency), 1,
                           check_generate_instance, &finished);
    auto s = stub.stats(false, true);
    auto metrics_after = histogram_totals(k.metrics_url);
    // Means over the same runs, as the node's own histograms saw them: the
    // step (dispatch after policy -> result) and the router's call in it.
    double step_mean_ms = mean_ms_between(metrics_before, metrics_after, "keel_step_duration_seconds", "model.generate");
    double call_mean_ms = mean_ms_between(metrics_before, metrics_after, "keel_model_call_duration_seconds");
    // One run at a time: the i-th finished instance, the i-th client
    // latency and the stub's i-th answer are the same run.
    std::vector<std::int64_t> span_ns, engine_ns, service_ns, client_ns, added_span_ns, added_engine_ns, added_client_ns;
    auto samples = s.value("samples_us", json::array());
    bool correct = w.errors == 0 && w.mismatches == 0 && w.unexpected == 0 && samples.size() == finished.size() &&
                   s.value("rejected", 0) == 0 && s.value("completions", std::size_t{0}) == finished.size();
    std::size_t no_span = 0;
    for (std::size_t i = 0; i < finished.size() && i < samples.size() && i < w.latency_ns.size(); ++i) {
      double svc = samples[i].get<double>();
      auto ns = [](double us) { return static_cast<std::int64_t>(us * 1000); };
      service_ns.push_back(ns(svc));
      client_ns.push_back(w.latency_ns[i]);
      added_client_ns.push_back(w.latency_ns[i] - ns(svc));
      if (auto e = step_engine_us(finished[i], "draft")) {
        engine_ns.push_back(ns(*e));
        added_engine_ns.push_back(ns(*e - svc));
      } else {
        correct = false;
      }
      if (auto sp = step_span_us(*k.c, finished[i], "draft")) {
        span_ns.push_back(ns(*sp));
        added_span_ns.push_back(ns(*sp - svc));
      } else {
        ++no_span;
      }
    }
    stop_keel(k);
    double engine_mean_added_us = mean_of(added_engine_ns);
    auto span = summarize(span_ns), service = summarize(service_ns), client_rt = summarize(client_ns),
         added_span = summarize(added_span_ns), added_client = summarize(added_client_ns), engine = summarize(engine_ns);
    bool met = !added_span_ns.empty() && added_span.p50_us / 1000 < target_step_added_ms;
    bool run_met = !added_client_ns.empty() && added_client.p50_us / 1000 < target_step_added_ms;
    if (o.json_out) {
      auto pq = [](const latency_summary& l) { return json{{"p50", l.p50_us}, {"p99", l.p99_us}, {"max", l.max_us}}; };
      json out = {{"benchmark", "w6_model_step_latency"},
                  {"command", cmd},
                  {"machine", {{"cores", std::thread::hardware_concurrency()}, {"cpu", cpu_model()}, {"load_before", load_before}}},
                  {"runs", o.step_latency},
                  {"stub_service_us", pq(service)},
                  {"step_span_us", pq(span)},
                  {"added_by_step_us", pq(added_span)},
                  {"runs_without_span", no_span},
                  {"engine_step_us", pq(engine)},
                  {"engine_added_mean_us", engine_mean_added_us},
                  {"node_means_ms", {{"step", step_mean_ms}, {"router_call", call_mean_ms}}},
                  {"client_run_us", pq(client_rt)},
                  {"added_by_run_us", pq(added_client)},
                  {"target_added_p50_ms", target_step_added_ms},
                  {"met", met},
                  {"met_by_whole_run", run_met},
                  {"correct", correct},
                  {"first_error", w.first_error}};
      std::printf("%s\n", out.dump(2).c_str());
      return correct ? 0 : 1;
    }
    std::printf("W6, one `model: generate` step: %d sequential runs (+%d warm-up), nothing else on the node\n",
                o.step_latency, o.warmup);
    std::printf("Command: %s\n", cmd.c_str());
    std::printf("Machine: %s; load average before: %s\n\n", machine_line().c_str(), load_before.c_str());
    std::printf("%-58s %9s %9s %9s\n", "per run, ms", "p50", "p99", "max");
    auto row = [](const char* what, const latency_summary& l) {
      std::printf("%-58s %9.3f %9.3f %9.3f\n", what, l.p50_us / 1000, l.p99_us / 1000, l.max_us / 1000);
    };
    row("stub service time (request read -> answer ready)", service);
    row("step span (dispatch after policy -> result, node)", span);
    row("  added by the step: span - service", added_span);
    row("engine step (step_dispatched -> step_completed, whole ms)", engine);
    row("run-workflow round trip, wait: true (client)", client_rt);
    row("  added by the whole run: round trip - service", added_client);
    std::printf("\nengine step - service, mean: %.3f ms (the engine's clock is in whole ms)\n", engine_mean_added_us / 1000);
    double service_mean_ms = mean_of(service_ns) / 1000;
    if (step_mean_ms >= 0 && call_mean_ms >= 0)
      std::printf("means from the node's /metrics: step %.3f ms = model router call %.3f ms (stub %.3f ms: HTTP and "
                  "router %.3f ms) + the rest of the step %.3f ms (pool hand-off, actor messages)\n",
                  step_mean_ms, call_mean_ms, service_mean_ms, call_mean_ms - service_mean_ms, step_mean_ms - call_mean_ms);
    if (no_span) std::printf("%zu runs had no step span (tracing sampled them out)\n", no_span);
    std::printf("target: a model step adds < %.0f ms p50 to its model call: %s (step span); whole run %s\n",
                target_step_added_ms, met ? "met" : "MISSED", run_met ? "also under it" : "over it");
    if (!correct)
      std::printf("NOT every run was correct (%llu errors, %llu wrong, %zu stub samples for %zu runs); first: %s\n",
                  static_cast<unsigned long long>(w.errors), static_cast<unsigned long long>(w.mismatches),
                  samples.size(), finished.size(), w.first_error.c_str());
    return correct ? 0 : 1;
  });
}

}  // namespace keel::bench::agent
