// Internal to the engine: the state its read-only views (engine_views.cpp)
// share with its decision logic (engine::impl in engine_impl.hpp extends it).
#pragma once

#include <memory>
#include <string>
#include <unordered_map>

#include "runtime/workflow/engine.hpp"
#include "runtime/workflow/instance.hpp"
#include "storage/workflow_store.hpp"

namespace keel::wf {

struct engine_state {
  engine_state(store& s, const workflow_catalog& c, engine_options o)
      : db(s), ws(s), catalog(c), opts(std::move(o)) {}

  store& db;
  workflow_store ws;
  const workflow_catalog& catalog;
  engine_options opts;
  std::unordered_map<std::string, std::unique_ptr<instance>> active;  // unfinished instances
};

}  // namespace keel::wf
