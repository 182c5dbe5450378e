// keel_model_stub: an OpenAI-compatible chat-completions server that answers
// at once and deterministically, so the agent bench (keel_agent_bench, W6)
// measures the agent runtimes around the model and not a model.
//
// It plays a ReAct model: while a conversation holds fewer than N messages of
// role "tool" (--tool-calls), and the request offers the tool (--tool), it
// answers an assistant message with one call of that tool, arguments
// {"text": "turn K"}; then it answers the final text ("done"). A request
// without the tool gets the final text at once (a plain `model: generate`).
// No state is kept per conversation: the tool call ids are derived from the
// conversation's first user message and the turn, so a tool message whose
// tool_call_id is not the one issued for its turn is refused (HTTP 400), as
// is a request asking for streaming.
//
// It runs on Keel's own HTTP server (runtime/http/http_server.hpp: one I/O
// thread, keep-alive), bound to 127.0.0.1 only. By default it answers on the
// I/O thread itself (an inline lane: an answer is built from memory and
// never blocks), which spends the least CPU per answer; --threads N hands
// requests to N workers instead.
// Its counters and service times (from a complete request to its answer,
// HTTP parsing and writing excluded) are at GET /_stats (?reset=1 zeroes
// them after reading, ?samples=1 adds each service time in order) and are
// printed on SIGTERM or SIGINT.
//
//   keel_model_stub [--port 0] [--tool echo] [--tool-calls 2] [--final done] [--threads 0]
#include <pthread.h>
#include <signal.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cinttypes>
#include <cmath>
#include <cstdio>
#include <ctime>
#include <mutex>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include "runtime/http/http_server.hpp"

namespace {

using nlohmann::json;
using steady = std::chrono::steady_clock;

struct stub_options {
  int port = 0;
  std::string tool = "echo";
  int tool_calls = 2;
  std::string final_text = "done";
  std::string model = "stub";
  int threads = 0;
};

// What the stub has answered since it started (or since the last reset).
class stub_stats {
 public:
  void count_answer(bool tool_call, std::int64_t service_ns) {
    std::lock_guard lock(mu_);
    ++completions_;
    ++(tool_call ? tool_call_answers_ : final_answers_);
    service_ns_.push_back(service_ns);
  }
  void count_rejected() {
    std::lock_guard lock(mu_);
    ++rejected_;
  }
  void count_other() {
    std::lock_guard lock(mu_);
    ++other_;
  }

  // A JSON snapshot; with `reset`, the counters start again from zero; with
  // `samples`, every service time too, in the order the answers were made.
  json snapshot(bool reset, bool samples = false) {
    std::vector<std::int64_t> ns;
    json out;
    {
      std::lock_guard lock(mu_);
      out = {{"completions", completions_}, {"tool_call_answers", tool_call_answers_},
             {"final_answers", final_answers_}, {"rejected", rejected_}, {"other_requests", other_}};
      ns = service_ns_;
      if (reset) {
        completions_ = tool_call_answers_ = final_answers_ = rejected_ = other_ = 0;
        service_ns_.clear();
      }
    }
    if (samples) {
      auto& all = out["samples_us"] = json::array();
      for (auto v : ns) all.push_back(static_cast<double>(v) / 1000.0);
    }
    std::sort(ns.begin(), ns.end());
    auto rank = [&](double p) {
      if (ns.empty()) return 0.0;
      auto k = static_cast<std::size_t>(std::ceil(p * static_cast<double>(ns.size())));
      return static_cast<double>(ns[std::clamp<std::size_t>(k, 1, ns.size()) - 1]) / 1000.0;
    };
    long double sum = 0;
    for (auto v : ns) sum += v;
    out["service_us"] = {{"n", ns.size()},
                         {"mean", ns.empty() ? 0.0 : static_cast<double>(sum / ns.size() / 1000.0L)},
                         {"p50", rank(0.50)},
                         {"p99", rank(0.99)},
                         {"max", ns.empty() ? 0.0 : static_cast<double>(ns.back()) / 1000.0}};
    return out;
  }

 private:
  std::mutex mu_;
  std::uint64_t completions_ = 0, tool_call_answers_ = 0, final_answers_ = 0, rejected_ = 0, other_ = 0;
  std::vector<std::int64_t> service_ns_;
};

std::uint64_t fnv1a(const std::string& s) {
  std::uint64_t h = 14695981039346656037ull;
  for (unsigned char c : s) h = (h ^ c) * 1099511628211ull;
  return h;
}

std::string hex16(std::uint64_t v) {
  char buf[17];
  std::snprintf(buf, sizeof buf, "%016" PRIx64, v);
  return buf;
}

// The text of a message's content: a string, or the text parts of an array.
std::string content_text(const json& m) {
  auto it = m.find("content");
  if (it == m.end() || it->is_null()) return {};
  if (it->is_string()) return it->get<std::string>();
  std::string out;
  if (it->is_array())
    for (const auto& part : *it)
      if (part.is_object() && part.value("type", "") == "text" && part.contains("text") && part["text"].is_string())
        out += part["text"].get<std::string>();
  return out;
}

// The tool call id the stub issues for `turn` (1-based) of the conversation
// whose first user message hashes to `conv`.
std::string call_id(std::uint64_t conv, int turn) { return "call_" + hex16(conv) + "_" + std::to_string(turn); }

void answer_error(keel::httpd::response& res, int status, const std::string& message, const std::string& param = {}) {
  res.status = status;
  json err = {{"error",
               {{"message", message}, {"type", "invalid_request_error"}, {"param", param.empty() ? json() : json(param)},
                {"code", json()}}}};
  res.set_content(err.dump(), "application/json");
}

// Rough and deterministic: 4 characters a token.
int tokens_of(std::size_t chars) { return static_cast<int>((chars + 3) / 4); }

// POST /v1/chat/completions. Returns true when it answered a completion
// (false: refused the request); `tool_call` says which kind.
bool complete(const stub_options& o, const std::string& body, keel::httpd::response& res, bool& tool_call) {
  auto req = json::parse(body, nullptr, false);
  if (req.is_discarded() || !req.is_object()) {
    answer_error(res, 400, "the body is not a JSON object");
    return false;
  }
  if (req.value("stream", false)) {
    answer_error(res, 400, "keel_model_stub answers stream: false only; turn streaming off in the client", "stream");
    return false;
  }
  auto msgs = req.find("messages");
  if (msgs == req.end() || !msgs->is_array() || msgs->empty()) {
    answer_error(res, 400, "messages must be a non-empty array", "messages");
    return false;
  }
  std::string first_user;
  bool have_user = false;
  std::size_t prompt_chars = 0;
  int tool_msgs = 0;
  std::vector<std::string> tool_call_ids;
  for (const auto& m : *msgs) {
    if (!m.is_object() || !m.contains("role") || !m["role"].is_string()) {
      answer_error(res, 400, "every message needs a role", "messages");
      return false;
    }
    auto role = m["role"].get<std::string>();
    auto text = content_text(m);
    prompt_chars += text.size();
    if (role == "user" && !have_user) first_user = text, have_user = true;
    if (role == "tool") {
      ++tool_msgs;
      if (!m.contains("tool_call_id") || !m["tool_call_id"].is_string()) {
        answer_error(res, 400, "a tool message needs tool_call_id", "messages");
        return false;
      }
      tool_call_ids.push_back(m["tool_call_id"].get<std::string>());
    }
  }
  if (!have_user) first_user = content_text(msgs->front());
  auto conv = fnv1a(first_user);
  for (std::size_t i = 0; i < tool_call_ids.size(); ++i) {
    if (tool_call_ids[i] != call_id(conv, static_cast<int>(i) + 1)) {
      answer_error(res, 400,
                   "tool message " + std::to_string(i + 1) + " answers tool_call_id '" + tool_call_ids[i] +
                       "', but this conversation's call " + std::to_string(i + 1) + " was '" +
                       call_id(conv, static_cast<int>(i) + 1) + "'",
                   "messages");
      return false;
    }
  }

  bool offered = false;
  if (auto tools = req.find("tools"); tools != req.end() && tools->is_array())
    for (const auto& t : *tools)
      if (t.is_object() && t.value("type", "") == "function" && t.contains("function") && t["function"].is_object() &&
          t["function"].value("name", "") == o.tool)
        offered = true;
  if (auto tc = req.find("tool_choice"); tc != req.end() && tc->is_string() && *tc == "none") offered = false;

  int turn = tool_msgs + 1;
  tool_call = offered && tool_msgs < o.tool_calls;
  json message = {{"role", "assistant"}, {"refusal", nullptr}};
  int completion_tokens = 0;
  if (tool_call) {
    auto args = json{{"text", "turn " + std::to_string(turn)}}.dump();
    message["content"] = nullptr;
    message["tool_calls"] = json::array(
        {{{"id", call_id(conv, turn)}, {"type", "function"}, {"function", {{"name", o.tool}, {"arguments", args}}}}});
    completion_tokens = tokens_of(o.tool.size() + args.size());
  } else {
    message["content"] = o.final_text;
    completion_tokens = tokens_of(o.final_text.size());
  }
  int prompt_tokens = tokens_of(prompt_chars);
  json out = {{"id", "chatcmpl-" + hex16(conv) + "-" + std::to_string(turn)},
              {"object", "chat.completion"},
              {"created", static_cast<std::int64_t>(std::time(nullptr))},
              {"model", req.value("model", o.model)},
              {"system_fingerprint", nullptr},
              {"choices", json::array({{{"index", 0},
                                        {"message", std::move(message)},
                                        {"logprobs", nullptr},
                                        {"finish_reason", tool_call ? "tool_calls" : "stop"}}})},
              {"usage",
               {{"prompt_tokens", prompt_tokens},
                {"completion_tokens", completion_tokens},
                {"total_tokens", prompt_tokens + completion_tokens}}}};
  res.set_content(out.dump(), "application/json");
  return true;
}

std::string summary_line(const json& s) {
  char buf[512];
  const auto& st = s["service_us"];
  std::snprintf(buf, sizeof buf,
                "keel_model_stub: %llu completions (%llu tool calls, %llu final), %llu refused, %llu other requests; "
                "service time mean %.1f us, p50 %.1f us, p99 %.1f us",
                s["completions"].get<unsigned long long>(), s["tool_call_answers"].get<unsigned long long>(),
                s["final_answers"].get<unsigned long long>(), s["rejected"].get<unsigned long long>(),
                s["other_requests"].get<unsigned long long>(), st["mean"].get<double>(), st["p50"].get<double>(),
                st["p99"].get<double>());
  return buf;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"OpenAI-compatible chat-completions stub for keel_agent_bench: answers at once, as a ReAct model"};
  stub_options o;
  app.add_option("--port", o.port, "Port on 127.0.0.1 (default 0: any free port, printed when ready)")
      ->check(CLI::Range(0, 65535));
  app.add_option("--tool", o.tool, "The tool the model calls (default echo)");
  app.add_option("--tool-calls", o.tool_calls, "Tool calls per conversation before the final answer (default 2)")
      ->check(CLI::Range(0, 1000));
  app.add_option("--final", o.final_text, "The final answer's text (default done)");
  app.add_option("--model", o.model, "The model id GET /v1/models lists (default stub)");
  app.add_option("--threads", o.threads, "Worker threads answering requests; 0: the I/O thread answers (default)")
      ->check(CLI::Range(0, 64));
  CLI11_PARSE(app, argc, argv);

  // SIGTERM and SIGINT are taken by sigwait below, never by a server thread.
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGTERM);
  sigaddset(&stop_signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);

  stub_stats stats;
  keel::httpd::server_options so;
  so.address = "127.0.0.1";
  so.port = o.port;
  so.max_connections = 4096;
  so.max_connections_per_client = 4096;
  so.lanes = {{"completions", o.threads, 100000}};
  auto choose = [](const keel::httpd::request&) { return keel::httpd::route_choice{0, 8u << 20}; };
  auto handle = [&](const keel::httpd::request& req, keel::httpd::response& res) {
    auto t0 = steady::now();
    if (req.method == "POST" && req.path == "/v1/chat/completions") {
      bool tool_call = false;
      if (complete(o, req.body, res, tool_call))
        stats.count_answer(tool_call, std::chrono::duration_cast<std::chrono::nanoseconds>(steady::now() - t0).count());
      else
        stats.count_rejected();
      return;
    }
    stats.count_other();
    if (req.method == "GET" && req.path == "/v1/models") {
      json list = {{"object", "list"},
                   {"data", json::array({{{"id", o.model}, {"object", "model"}, {"created", 0}, {"owned_by", "keel-bench"}}})}};
      res.set_content(list.dump(), "application/json");
    } else if (req.method == "GET" && req.path == "/_stats") {
      res.set_content(stats.snapshot(req.param("reset") == "1", req.param("samples") == "1").dump(), "application/json");
    } else {
      answer_error(res, 404, "keel_model_stub serves POST /v1/chat/completions, GET /v1/models and GET /_stats");
    }
  };
  auto srv = keel::httpd::server::start(so, choose, handle);
  if (!srv) {
    std::fprintf(stderr, "keel_model_stub: cannot listen on 127.0.0.1:%d: %s\n", o.port, srv.err().message.c_str());
    return 1;
  }
  std::printf("keel_model_stub listening on http://127.0.0.1:%d (tool %s, %d tool calls per conversation)\n",
              (*srv)->port(), o.tool.c_str(), o.tool_calls);
  std::fflush(stdout);

  int sig = 0;
  sigwait(&stop_signals, &sig);
  (*srv)->stop();
  std::printf("%s\n", summary_line(stats.snapshot(false)).c_str());
  return 0;
}
