// The control plane: the root supervisor of the node's tree
// (actors/node_tree.cpp), registered as "ctlplane", and the admin requests
// about the tree it answers: ping, status, agents, executors, send and
// fault.crash. It asks the children with non-blocking requests and answers
// through the gateway.
#pragma once

#include "actors/supervisor.hpp"

namespace keel {

void control_plane_request(supervisor_self self, const inbound& in);

}  // namespace keel
