// `keelctl memory reembed`: re-embeds every memory item with the node's
// embedder (after a change of embedder, or to repair stored vectors) and
// follows its progress by polling memory.status: a redrawn bar on a
// terminal, one line per tenth otherwise, the final state with --json.
// Without --wait it only starts the re-embed and says how to follow it.
#pragma once

#include "tools/keelctl/commands.hpp"

namespace keel::ctl {

// Exit: ok when the re-embed finished (or was started, without wait);
// failed when it failed (the node's reason is printed); unreachable.
int cmd_memory_reembed(const globals& g, bool wait);

}  // namespace keel::ctl
