// `keelctl memory import FILE.jsonl`: bulk-adds memory items from a JSON
// Lines file (or - for standard input). Each line is an object
// {text, about?, kind?, source?, ttl_ms?, created_ms?} or a JSON string
// (the text); blank lines are skipped; --about/--kind/--source fill what a
// line leaves out. The whole file is checked first: a bad line is reported
// as FILE:LINE and nothing is sent. Then the items go in memory.import
// batches (one LevelDB commit each) with progress; the node skips items it
// already holds, so an import cut short is finished by running it again.
#pragma once

#include <string>

#include "tools/keelctl/commands.hpp"

namespace keel::ctl {

struct import_options {
  std::string file, about, kind, source;
  int batch = 500;  // items per memory.import call (1..1000)
};

// Exit: ok; usage (an unreadable file or a bad line: nothing sent); failed
// (the node refused a batch: the batches before it stay); unreachable.
int cmd_memory_import(const globals& g, const import_options& o);

}  // namespace keel::ctl
