#include "adapters/connectors/connector.hpp"

#include "runtime/base/duration.hpp"

namespace keel::connectors {

result<sync_report> run_sync_pass(store& db, const std::string& name, const char* kind, bool full,
                                  connector_state& state, const std::function<void(connector_state&)>& on_full,
                                  const std::function<status(sync_report&)>& pass) {
  auto loaded = load_state(db, name, kind);
  if (!loaded) return loaded.err();
  state = std::move(loaded.value());
  if (full && on_full) on_full(state);
  sync_report report;
  auto r = pass(report);
  if (!r) {
    state.status = "error";
    ++state.errors;
    state.last_error = r.err().message;
  } else {
    state.status = "idle";
    state.last_error.clear();
    state.last_sync_ms = unix_now_ms();
  }
  if (auto s = save_state(db, state); !s && r) return s.err();
  if (!r) return r.err();
  return report;
}

}  // namespace keel::connectors
