// The engine's public operations (engine.hpp) that are a plain call into
// engine::impl (engine_impl.hpp). The operator's decisions live with their
// concern: decide_gate and answer in engine_gates.cpp, retry in
// engine_results.cpp, cancel in engine_compensation.cpp; tick in
// engine_timers.cpp, dirty in engine_commit.cpp.
#include "runtime/workflow/engine_impl.hpp"

namespace keel::wf {

engine::engine(store& db, const workflow_catalog& catalog, engine_options opts)
    : impl_(std::make_unique<impl>(db, catalog, std::move(opts))), state_(impl_.get()) {}
engine::~engine() = default;

status engine::recover() { return impl_->recover(); }
void engine::start(std::uint64_t token, const start_request& req) { impl_->start(token, req); }
void engine::on_result(const step_task& task, const result<nlohmann::json>& outcome) { impl_->on_result(task, outcome); }
result<engine_effects> engine::flush() { return impl_->flush(); }

}  // namespace keel::wf
