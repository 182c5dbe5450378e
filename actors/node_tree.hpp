// The node's supervision tree (declared in node_tree.cpp) and the start
// functions of its children that are not agents.
#pragma once

#include "actors/supervisor.hpp"

namespace keel {

// The whole tree, root first: what run_node spawns.
tree_spec node_tree(const node_config& cfg);

}  // namespace keel
