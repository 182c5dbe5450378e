// Local tracing: spans kept in the node's LevelDB, bounded by count and age
// (oldest pruned first), assembled into the causal tree of one trace for
// `keelctl trace`, and exported as OTLP/JSON for any OpenTelemetry backend.
// Model-call spans use the OpenTelemetry GenAI attribute names (genai::*).
// Attributes pass through the redactor before they are stored.
//
// Key layout:  ctl/span/t/<trace id>/<span id>               span JSON
//              ctl/span/age/<start_us %020lld>/<trace>/<span>  "" (prune order)
// Thread-safety: safe for concurrent use.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "runtime/control/redactor.hpp"
#include "runtime/base/error.hpp"
#include "runtime/base/trace_ids.hpp"
#include "storage/store.hpp"

namespace keel::control {

namespace genai {
inline constexpr const char* operation_name = "gen_ai.operation.name";
inline constexpr const char* system = "gen_ai.system";
inline constexpr const char* request_model = "gen_ai.request.model";
inline constexpr const char* response_model = "gen_ai.response.model";
inline constexpr const char* request_max_tokens = "gen_ai.request.max_tokens";
inline constexpr const char* input_tokens = "gen_ai.usage.input_tokens";
inline constexpr const char* output_tokens = "gen_ai.usage.output_tokens";
}  // namespace genai

struct span {
  std::string trace_id;        // 32 hex (protocol.hpp's new_trace_id)
  std::string span_id;         // 16 hex
  std::string parent_span_id;  // empty for a root
  std::string name;
  std::int64_t start_us = 0, end_us = 0;  // unix microseconds
  nlohmann::json attributes = nlohmann::json::object();
  bool error = false;
  std::string status_message;

  nlohmann::json to_json() const;
  // to_json().dump(), written without building the tree (every span is
  // stored this way).
  std::string to_text() const;
  static span from_json(const nlohmann::json& j);
};

std::int64_t unix_now_us();

struct span_store_options {
  std::size_t max_spans = 100000;
  std::chrono::milliseconds max_age = std::chrono::hours(24 * 7);
};

class span_store {
 public:
  static result<std::unique_ptr<span_store>> open(store& db, span_store_options opts = {},
                                                  std::shared_ptr<const redactor> redact = nullptr);
  span_store(const span_store&) = delete;
  span_store& operator=(const span_store&) = delete;

  // Stores a finished span; prunes the oldest when over max_spans.
  // Errors: bad_request for a span without trace or span id; io.
  status record(span s);
  // The same for many spans in one store batch (spans with bad ids are
  // skipped; the count of them is the error, after the rest are stored).
  status record_many(std::vector<span> spans);
  // Every stored span of one trace, by start time; empty if unknown.
  result<std::vector<span>> trace(const std::string& trace_id) const;
  // Drops spans older than max_age (and the oldest beyond max_spans);
  // returns how many were removed.
  result<std::size_t> prune(std::int64_t now_ms);
  std::size_t size() const;

 private:
  span_store(store& db, span_store_options o, std::shared_ptr<const redactor> r)
      : db_(db), opts_(o), redact_(std::move(r)) {}
  status drop_oldest_locked(std::size_t n, std::int64_t older_than_us, std::size_t& removed);

  store& db_;
  span_store_options opts_;
  std::shared_ptr<const redactor> redact_;
  mutable std::mutex mu_;
  std::size_t count_ = 0;
};

// The causal tree of one trace: children under their parent, by start time.
// A span whose parent is not in the set becomes a root (marked orphan).
struct span_node {
  span s;
  bool orphan = false;
  std::vector<span_node> children;
};
std::vector<span_node> build_tree(std::vector<span> spans);
// Indented text: name, duration, and tokens/cost when present.
std::string render_tree(const std::vector<span_node>& roots);

// OTLP/JSON (ExportTraceServiceRequest) for `spans`; non-hex ids are mapped
// to hex by hashing, the original kept as keel.trace_id / keel.span_id.
nlohmann::json to_otlp_json(const std::vector<span>& spans, const std::string& service_name = "keel");

}  // namespace keel::control
