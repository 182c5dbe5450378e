#include "tools/cli/parse_errors.hpp"

#include <cstdio>
#include <string>

#include <nlohmann/json.hpp>

namespace keel::cli {

namespace {

// The deepest command the user got as far as, and its path ("keelctl memory").
const CLI::App* reached(const CLI::App& app, const char* tool, std::string& path) {
  path = tool;
  const CLI::App* at = &app;
  while (!at->get_subcommands().empty()) {
    at = at->get_subcommands().front();
    path += " " + at->get_name();
  }
  return at;
}

// Our line for a missing or unknown command; empty for any other error.
std::string command_error(const CLI::App& app, const CLI::ParseError& e, const char* tool) {
  bool command_missing = dynamic_cast<const CLI::RequiredError*>(&e) != nullptr &&
                         std::string(e.what()).find("subcommand") != std::string::npos;
  if (!command_missing) return {};
  std::string path;
  const CLI::App* at = reached(app, tool, path);
  auto rest = at->remaining();
  if (rest.empty()) rest = app.remaining();
  if (!rest.empty() && rest.front().rfind("-", 0) != 0)
    return path + ": unknown command '" + rest.front() + "'; `" + path + " --help` lists the commands";
  return path + ": which command? `" + path + " --help` lists them";
}

}  // namespace

int report_parse_error(const CLI::App& app, const CLI::ParseError& e, const char* tool, int usage_code, bool json) {
  if (e.get_exit_code() == 0) return app.exit(e);  // --help, --version
  auto ours = command_error(app, e, tool);
  if (json) {
    std::string path;
    reached(app, tool, path);
    auto message = ours.empty() ? path + ": " + e.what() + "; `" + path + " --help` shows the usage" : ours;
    nlohmann::json out = {{"ok", false}, {"error", {{"code", "bad_request"}, {"message", message}}}};
    std::printf("%s\n", out.dump(2, ' ', false, nlohmann::json::error_handler_t::replace).c_str());
    return usage_code;
  }
  if (ours.empty()) return app.exit(e) == 0 ? 0 : usage_code;
  std::fprintf(stderr, "%s\n", ours.c_str());
  return usage_code;
}

}  // namespace keel::cli
