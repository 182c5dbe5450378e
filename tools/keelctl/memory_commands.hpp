// keelctl's canonical-memory commands (docs/memory.md):
//   records put|get|list|search|history|forget|purge,
//   memory add|import|search|forget|prune|status|reembed,
//   dlq list|show|replay.
// memory_cli adds them to the app before parsing; run() executes the one
// that was given (nullopt when the command line named another command).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>

#include "tools/keelctl/commands.hpp"
#include "tools/keelctl/memory_import.hpp"

namespace keel::ctl {

class memory_cli {
 public:
  explicit memory_cli(CLI::App& app);
  std::optional<int> run(const globals& g) const;

 private:
  CLI::App *rec_put_, *rec_get_, *rec_list_, *rec_history_, *rec_search_, *rec_forget_, *rec_purge_;
  CLI::App *mem_add_, *mem_import_, *mem_search_, *mem_forget_, *mem_prune_, *mem_status_;
  CLI::App* mem_reembed_;
  CLI::App *dlq_list_, *dlq_show_, *dlq_replay_;
  std::string type_, id_, fields_, source_, at_, field_, value_;
  std::int64_t expect_version_ = -1;
  bool replace_ = false, yes_ = false;
  std::string text_, about_, kind_, ttl_, since_;
  std::vector<std::string> kinds_;
  int k_ = 5;
  bool explain_ = false, dry_run_ = false, all_ = false;
  bool no_wait_ = false;
  double min_score_ = 0;
  double vector_floor_ = -1;  // unset: the node's default
  std::uint64_t number_ = 0;
  import_options import_;
  int limit_ = 50;
};

}  // namespace keel::ctl
