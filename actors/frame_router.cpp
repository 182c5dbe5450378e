#include "actors/frame_router.hpp"

#include <caf/actor_system.hpp>
#include <caf/send.hpp>

#include "actors/admin_ops.hpp"
#include "actors/agent_common.hpp"
#include "actors/contracts.hpp"
#include "runtime/fabric/inline_lane.hpp"

#include <algorithm>

namespace keel {

using proto::msg_type;

void gateway_bridge::refuse(const inbound& msg, const char* code, const std::string& why) {
  if (!gw_) return;
  auto reply_type = msg.env.type == msg_type::request ? msg_type::response : msg_type::error;
  gw_->send(msg.peer, proto::make_error_reply(reply_type, msg.env.cid, msg.env.trace, {code, why}));
}

std::optional<std::string> gateway_bridge::refusal(const std::string& principal, const std::optional<keel::principal>& who,
                                                   msg_type type) {
  if (!who || who->revoked) return "the key '" + principal + "' has been revoked; ask the operator to authorize a new one";
  bool executor_frame = type == msg_type::hello || type == msg_type::heartbeat || type == msg_type::task_result ||
                        type == msg_type::goodbye;
  if (executor_frame && who->role != "executor")
    return "the key '" + who->name + "' is an admin key; executors need an executor key";
  if (!executor_frame && who->role != "admin")
    return "the key '" + who->name + "' is an executor key: it cannot send admin requests";
  return std::nullopt;
}

bool gateway_bridge::admit(inbound& msg) {
  if (!auth_) return true;
  auto who = auth_->by_name(msg.principal);
  if (auto why = refusal(msg.principal, who, msg.env.type)) {
    refuse(msg, errc::forbidden, *why);
    return false;
  }
  if (msg.env.type == msg_type::hello) {
    auto& f = msg.env.fields;
    f["principal"] = who->name;
    f["name"] = who->name;
    if (!who->caps.empty() && f.contains("caps") && f["caps"].is_array()) {
      nlohmann::json allowed = nlohmann::json::array();
      for (const auto& c : f["caps"])
        if (c.is_string() && std::find(who->caps.begin(), who->caps.end(), c.get<std::string>()) != who->caps.end())
          allowed.push_back(c);
      f["caps"] = allowed;
    }
    if (!who->labels.empty()) f["labels"] = who->labels;
  }
  return true;
}

bool gateway_bridge::on_view(const inbound_view& in) {
  // Only while nothing of this burst waits for the mailbox: frames are
  // handled in arrival order.
  if (!lane_ || !to_executor_agent_.empty()) return false;
  const auto& v = in.view;
  if (v.type == msg_type::request) {
    auto name = v.find("op").as_str();
    const auto* served = name ? find_admin_op(std::string(*name)) : nullptr;
    if (!served || !served->inline_ok || std::string_view(served->served_by) != "executor") return false;
  } else if (v.type != msg_type::task_result) {
    return false;
  }
  // A refusal is on_message()'s to say.
  if (auth_ && refusal(in.principal, auth_->by_name(in.principal), v.type)) return false;
  return lane_->try_handle(in);
}

void gateway_bridge::on_message(inbound&& msg) {
  if (!admit(msg)) return;
  switch (msg.env.type) {
    case msg_type::task_result:
    case msg_type::hello:
    case msg_type::heartbeat:
    case msg_type::goodbye:
      break;
    case msg_type::request: {
      const auto& op = msg.env.fields.find("op");
      if (op == msg.env.fields.end() || !op->is_string())
        return refuse(msg, errc::bad_request, "a request needs \"op\" as a string");
      const auto& name = op->get_ref<const std::string&>();
      const auto* served = find_admin_op(name);
      if (!served) return refuse(msg, errc::bad_request, unknown_op_message(name));
      if (std::string_view(served->served_by) != "executor") return route(msg, served->served_by);
      break;
    }
    default:
      return refuse(msg, errc::bad_request,
                    std::string("a node does not accept '") + proto::to_string(msg.env.type) + "' messages");
  }
  // For the executor agent, through its mailbox: on_view() offered the
  // lane what it may take.
  to_executor_agent_.push_back(std::move(msg));
  // Bounded: a long burst is handed over in slices, so the agent starts
  // early and a batch never holds much memory.
  if (to_executor_agent_.size() >= 256) on_burst_end();
}

void gateway_bridge::on_burst_end() {
  if (to_executor_agent_.empty()) return;
  auto target = sys_.registry().get(registry_key("executor"));
  if (!target) {
    // Executor frames are dropped (the executor retries on its next
    // heartbeat); requests are told to retry.
    for (const auto& msg : to_executor_agent_)
      if (msg.env.type == msg_type::request)
        refuse(msg, errc::unavailable, "the executor agent is restarting; retry in a moment (see `keelctl agents`)");
    to_executor_agent_.clear();
    return;
  }
  // What the lane answered on this thread goes out first: the agent's
  // answers to this batch must not overtake it (an executor's drain
  // acknowledgement after a task leased to it inline).
  if (gw_) gw_->flush_local_sends();
  auto batch = peer_batch{std::move(to_executor_agent_), lane_ ? lane_->batch_posted() : nullptr};
  to_executor_agent_ = {};
  to_executor_agent_.reserve(batch.items.size());
  caf::anon_send(caf::actor_cast<caf::actor>(target), peer_atom::value, std::move(batch));
}

void gateway_bridge::route(inbound& msg, const std::string& child) {
  auto target = sys_.registry().get(registry_key(child));
  if (!target) return refuse(msg, errc::unavailable, not_running_hint(child));
  caf::anon_send(caf::actor_cast<caf::actor>(target), peer_atom::value, peer_msg{std::move(msg)});
}

}  // namespace keel
