// `keel cluster up|down`: a node and N executors on this machine, in the
// background. `up` starts a keeper process (its own session and process
// group) that runs the node and the executors, restarts any that die, and
// records every pid in DIR/cluster.json. `up` returns once all executors
// have registered. `down` stops the keeper, then anything it left behind
// (by pid and by process group), so it works even after a kill -9 of `up`
// or of the keeper.
#pragma once

#include <string>

namespace keel {

struct cluster_options {
  int executors = 2;
  std::string listen = "tcp://127.0.0.1:7401";
  std::string data_dir = "./keel-data";
  std::string node_config;      // empty: embedded defaults
  std::string executor_config;  // empty: built-in defaults
  int concurrency = 8;
  int ready_timeout_s = 30;
};

int cluster_up(const cluster_options& opts, const std::string& self_exe);
int cluster_down(const std::string& data_dir);
// The keeper's main loop (`keel cluster run`, started by cluster_up).
int cluster_keep(const cluster_options& opts, const std::string& self_exe);

}  // namespace keel
