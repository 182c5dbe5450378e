// Durable state of workflow instances, in the node's LevelDB. Key layout:
//
//   wf/hist/<instance>/<seq %012d>  one history event (msgpack JSON)
//   wf/inst/<instance>              instance summary (JSON), rewritten on state changes
//   wf/active/<instance>            present while the instance has not ended
//   wf/ended/<ended_ms %015d>/<id>  retention index of ended instances
//   wf/idem/<idempotency key>       a step's recorded result (JSON)
//   wf/start/<idempotency key>      a run-workflow key -> {instance, input_hash}
//   wf/sched/<workflow>             a schedule's progress (JSON, runtime/workflow/schedule.hpp)
//
// Writers collect puts and deletes in a write_batch and commit it
// atomically (one LevelDB WriteBatch): the event and the state it changes
// always land together. Readers may run on any thread.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "runtime/base/error.hpp"
#include "storage/store.hpp"

namespace keel {

namespace wfkey {
std::string hist(const std::string& id, std::uint64_t seq);
std::string hist_prefix(const std::string& id);
std::string inst(const std::string& id);
std::string active(const std::string& id);
std::string ended(std::int64_t ended_ms, const std::string& id);
std::string idem(const std::string& key);
std::string start(const std::string& key);
std::string sched(const std::string& workflow);
}  // namespace wfkey

// Stored history events are msgpack-encoded JSON objects.
std::string encode_event(const nlohmann::json& event);
result<nlohmann::json> decode_event(const std::string& bytes);

class workflow_store {
 public:
  explicit workflow_store(store& db) : db_(db) {}

  // Atomic; with sync=true durable across a machine crash on return.
  status commit(const write_batch& batch, bool sync);

  result<std::optional<nlohmann::json>> get_json(const std::string& key) const;
  // Ids of instances that have not ended.
  result<std::vector<std::string>> active_ids() const;
  // Every event of an instance, in order.
  result<std::vector<nlohmann::json>> history(const std::string& id) const;
  // Instance summaries, newest first, at most `limit`.
  result<std::vector<nlohmann::json>> summaries(std::size_t limit) const;
  // Ended instances whose ended_ms <= cutoff: (id) oldest first, at most limit.
  result<std::vector<std::string>> ended_before(std::int64_t cutoff_ms, std::size_t limit) const;
  // Every key under a prefix (for pruning).
  result<std::vector<std::string>> keys_with_prefix(const std::string& prefix) const;

 private:
  store& db_;
};

}  // namespace keel
