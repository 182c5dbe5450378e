// keelctl connectors: one request each ("connectors.list", "connectors.sync")
// and an aligned table for people; --json prints the node's answer as is.
#include "tools/keelctl/connector_commands.hpp"

#include <cstdio>

#include "runtime/base/duration.hpp"
#include "tools/keelctl/table.hpp"

namespace keel::ctl {

namespace {

using nlohmann::json;

std::string num(const json& j, const char* key) {
  return j.contains(key) && j[key].is_number() ? j[key].dump() : "-";
}

std::string cursor_text(const json& c) {
  std::string cur = c.value("cursor", "");
  auto off = c.value("offset", std::uint64_t{0});
  if (cur.empty() && off > 0) cur = "offset " + std::to_string(off);
  return cur.empty() ? "-" : cur;
}

std::string rate_text(const json& c) {
  const auto& r = c.value("rate_limit", json::object());
  if (!r.is_object() || !r.contains("per_second")) return "-";
  char buf[96];
  std::snprintf(buf, sizeof buf, "%.3g/s, %.1f tokens", r.value("per_second", 0.0), r.value("tokens", 0.0));
  std::string out = buf;
  if (r.value("paused_ms", 0) > 0) out += ", paused " + std::to_string(r.value("paused_ms", 0)) + "ms";
  return out;
}

int list(const globals& g) {
  auto r = call(g, "connectors.list", json::object(), g.timeout);
  if (!r) return report(g, r.err());
  if (g.json) return print_json(*r), exit_ok;
  const auto& all = r->value("connectors", json::array());
  if (all.empty()) {
    std::printf("no connectors configured (add a connectors: section to the node config; docs/connectors.md)\n");
    return exit_ok;
  }
  ui::table t({"NAME", "KIND", "STATE", "LAST SYNC", "CURSOR", "IN", "OUT", "DUP", "DLQ", "ERRORS", "RATE LIMIT"});
  t.width(4, 24);
  for (const auto& c : all) {
    auto last = c.value("last_sync_ms", std::int64_t{0});
    std::string state = c.value("status", "idle");
    if (c.value("queued", false)) state += " (queued)";
    t.add({c.value("name", "?"), c.value("kind", "?"), ui::state(state == "idle" ? "ok" : state),
           last ? format_ago(last, unix_now_ms()) : "never", cursor_text(c), num(c, "records_in"),
           num(c, "events_out"), num(c, "duplicates"), num(c, "dead_lettered"), num(c, "errors"), rate_text(c)});
  }
  t.print(stdout);
  for (const auto& c : all)
    if (!c.value("last_error", "").empty())
      ui::print(stdout, "%s %s\n", ui::red(c.value("name", "?") + ":"), c.value("last_error", ""));
  return exit_ok;
}

int sync(const globals& g, const std::string& name, bool full) {
  // A sync can take a while (pages, rate limits): a minute unless --timeout says otherwise.
  auto r = call(g, "connectors.sync", {{"name", name}, {"full", full}}, wait_for(g, std::chrono::seconds(60)));
  if (!r) return report(g, r.err());
  if (g.json) return print_json(*r), exit_ok;
  ui::print(stdout, "%s: %s records in, %s events out, %s duplicates, %s dead-lettered (%s commits)\n", name,
            num(*r, "records_in"), num(*r, "events_out"), num(*r, "duplicates"), num(*r, "dead_lettered"), num(*r, "commits"));
  if (r->value("dead_lettered", 0) > 0) std::printf("see why: keelctl dlq list\n");
  return exit_ok;
}

}  // namespace

connector_cli::connector_cli(CLI::App& app) {
  list_ = app.add_subcommand("connectors", "Connectors: state, last sync, cursor, records in/out, errors, rate limits");
  sync_ = list_->add_subcommand("sync", "Run one sync of a pull connector now and print what it did. Waits up to 60s, or "
                                       "keelctl's --timeout when given (the sync goes on in the node if keelctl stops waiting)");
  sync_->add_option("name", name_, "Connector name (keelctl connectors)")->required();
  sync_->add_flag("--full", full_, "Forget the cursor and read everything again (stored events still deduplicate)");
  list_->fallthrough();
  sync_->fallthrough();
}

std::optional<int> connector_cli::run(const globals& g) const {
  if (*sync_) return sync(g, name_, full_);
  if (*list_) return list(g);
  return std::nullopt;
}

}  // namespace keel::ctl
