// The re-embed runs on the node (memory_service's re-embed thread); this
// side starts it with memory.reembed and polls memory.status's `reembed`
// every 250 ms until it is no longer running. Polling is fine here: the
// status op is answered from the worker without touching LevelDB.
#include "tools/keelctl/memory_reembed.hpp"

#include <unistd.h>

#include <cstdio>
#include <string>
#include <thread>

#include "runtime/base/duration.hpp"
#include "tools/keelctl/progress.hpp"
#include "tools/keelctl/table.hpp"

namespace keel::ctl {

using nlohmann::json;

int cmd_memory_reembed(const globals& g, bool wait) {
  // Waits until the re-embed ends, or for as long as the user's --timeout says.
  const auto give_up = std::chrono::steady_clock::now() + g.timeout;
  auto started = call(g, "memory.reembed", json::object(), g.timeout);
  if (!started) return report(g, started.err());
  if (!wait) {
    if (g.json) return print_json(*started), exit_ok;
    std::printf("%s; follow it with `keelctl memory status`\n",
                started->value("started", false) ? "re-embed started" : "a re-embed is already running");
    return exit_ok;
  }
  const bool tty = !g.json && ::isatty(1);
  int last_tenth = -1;
  for (json st = (*started)["reembed"];; std::this_thread::sleep_for(std::chrono::milliseconds(250))) {
    if (g.timeout_given && std::chrono::steady_clock::now() >= give_up) {
      if (tty) std::printf("\n");
      return report(g, {errc::timeout, "no answer from the node at " + g.endpoint + " within " + format_duration(g.timeout) +
                                           " saying the re-embed ended; it goes on in the node: follow it with "
                                           "`keelctl memory status`"});
    }
    auto status = call(g, "memory.status", json::object(), g.timeout);
    if (!status) return report(g, status.err());
    st = (*status)["reembed"];
    auto done = st.value("done", std::size_t{0}), total = st.value("total", std::size_t{0});
    auto state = st.value("state", std::string());
    if (tty) {
      std::printf("\rre-embedding %s %zu/%zu (%d%%)", bar(done, total).c_str(), done, total, percent(done, total));
      std::fflush(stdout);
    } else if (!g.json && percent(done, total) / 10 != last_tenth) {
      last_tenth = percent(done, total) / 10;
      std::printf("re-embedded %zu/%zu (%d%%)\n", done, total, percent(done, total));
      std::fflush(stdout);
    }
    if (state == "running") continue;
    if (tty) std::printf("\n");
    if (state == "failed")
      return report(g, {errc::io, "re-embed failed: " + st.value("error", std::string("?")) +
                                      "; fix the cause (see the node log) and run `keelctl memory reembed` again"});
    if (g.json) return print_json(json{{"reembed", st}}), exit_ok;
    ui::print(stdout, "re-embedded %zu item(s) with %s; the index was rebuilt\n", done, status->value("embedder", std::string("?")));
    return exit_ok;
  }
}

}  // namespace keel::ctl
