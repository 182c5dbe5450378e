// Every admin request a node serves, and the child of the supervision tree
// (actors/node_tree.cpp) that serves it: one table, so adding an op is one
// row here plus its handler in that child. The frame router routes by it;
// the children dispatch on the op name among their own handlers.
#pragma once

#include <string>

namespace keel {

struct admin_op {
  const char* name;
  const char* served_by;  // a child's name; "ctlplane": the root supervisor itself
  bool inline_ok = false; // the executor agent's inline lane may take it on the gateway thread (the hot path)
};

// The row for `op`; nullptr for an op this node does not know.
const admin_op* find_admin_op(const std::string& op);

// What to tell a peer whose request found `served_by` not running.
std::string not_running_hint(const std::string& served_by);

// The refusal of an unknown op, naming the ones there are.
std::string unknown_op_message(const std::string& op);

}  // namespace keel
