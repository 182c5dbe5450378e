#include "tools/keelctl/memory_import.hpp"

#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <vector>

#include "runtime/base/json_text.hpp"
#include "runtime/fabric/import_item.hpp"
#include "tools/keelctl/progress.hpp"
#include "tools/keelctl/table.hpp"

namespace keel::ctl {

namespace {

using nlohmann::json;

constexpr std::size_t max_call_bytes = 512 * 1024;    // well under the node's 1 MiB frame

// One line as the item memory.import takes, or why it cannot be one.
result<json> item_of(const std::string& line, const import_options& o) {
  std::string why;
  auto j = parse_json_text(line, &why);
  if (j.is_discarded()) return error{errc::bad_request, why};
  if (j.is_string()) j = json{{"text", j}};
  if (auto ok = fabric::check_import_item(j); !ok) return ok.err();
  if (!j.contains("about") && !o.about.empty()) j["about"] = o.about;
  if (!j.contains("kind") && !o.kind.empty()) j["kind"] = o.kind;
  if (!j.contains("source") && !o.source.empty()) j["source"] = o.source;
  return j;
}

result<std::vector<json>> read_items(const import_options& o) {
  std::ifstream file;
  if (o.file != "-") {
    file.open(o.file);
    if (!file) return error{errc::bad_request, "cannot read " + o.file + "; check the path (or pass - for standard input)"};
  }
  std::istream& in = o.file == "-" ? std::cin : file;
  const std::string name = o.file == "-" ? "stdin" : o.file;
  std::vector<json> items;
  std::string line;
  for (std::size_t n = 1; std::getline(in, line); ++n) {
    if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
    auto it = item_of(line, o);
    if (!it) return error{errc::bad_request, name + ":" + std::to_string(n) + ": " + it.err().message +
                                                 "; fix the line and run the import again (nothing was sent)"};
    items.push_back(std::move(*it));
  }
  if (items.empty()) return error{errc::bad_request, name + " holds no items; write one JSON object per line, e.g. {\"text\": \"...\"}"};
  return items;
}

}  // namespace

int cmd_memory_import(const globals& g, const import_options& o) {
  auto items = read_items(o);
  if (!items) return report(g, items.err()), exit_usage;
  const std::size_t total = items->size();
  const bool tty = !g.json && ::isatty(1);
  const auto start = std::chrono::steady_clock::now();
  auto rate = [&](std::size_t done) {
    double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    return s > 0 ? static_cast<double>(done) / s : 0.0;
  };
  std::size_t sent = 0, added = 0, skipped = 0, total_items = 0;
  int last_tenth = -1;
  while (sent < total) {
    json batch = json::array();
    std::size_t bytes = 0;
    while (sent + batch.size() < total && batch.size() < static_cast<std::size_t>(o.batch)) {
      const auto& it = (*items)[sent + batch.size()];
      auto size = it.dump().size();
      if (!batch.empty() && bytes + size > max_call_bytes) break;
      bytes += size;
      batch.push_back(it);
    }
    auto r = call(g, "memory.import", {{"items", batch}}, g.timeout);
    if (!r) {
      if (tty) std::printf("\n");
      auto e = r.err();
      e.message += "; " + std::to_string(sent) + " of " + std::to_string(total) +
                   " item(s) were sent before it; run the same import again to go on (items already there are skipped)";
      return report(g, e);
    }
    sent += batch.size();
    added += r->value("added", std::size_t{0});
    skipped += r->value("skipped", std::size_t{0});
    total_items = r->value("total_items", std::size_t{0});
    if (tty) {
      std::printf("\rimporting %s %zu/%zu (%d%%) %.0f items/s", bar(sent, total).c_str(), sent, total, percent(sent, total), rate(sent));
      std::fflush(stdout);
    } else if (!g.json && percent(sent, total) / 10 != last_tenth) {
      last_tenth = percent(sent, total) / 10;
      std::printf("imported %zu/%zu (%d%%)\n", sent, total, percent(sent, total));
      std::fflush(stdout);
    }
  }
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  if (g.json)
    return print_json(json{{"added", added}, {"skipped", skipped}, {"lines", total}, {"seconds", seconds},
                           {"items_per_second", rate(total)}, {"total_items", total_items}}),
           exit_ok;
  if (tty) std::printf("\n");
  ui::print(stdout, "imported %zu item(s)%s in %.1f s (%.0f items/s); memory holds %zu\n", added,
            skipped ? " (" + std::to_string(skipped) + " already there, skipped)" : std::string(), seconds, rate(total),
            total_items);
  return exit_ok;
}

}  // namespace keel::ctl
