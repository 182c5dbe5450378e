#include "tools/cli/parse_errors.hpp"

#include <cstdio>
#include <string>

namespace keel::cli {

int report_parse_error(const CLI::App& app, const CLI::ParseError& e, const char* tool, int usage_code) {
  bool command_missing = dynamic_cast<const CLI::RequiredError*>(&e) != nullptr &&
                         std::string(e.what()).find("subcommand") != std::string::npos;
  if (!command_missing) return app.exit(e) == 0 ? 0 : usage_code;
  // The command path the user got as far as: "keelctl memory".
  std::string path = tool;
  const CLI::App* at = &app;
  while (!at->get_subcommands().empty()) {
    at = at->get_subcommands().front();
    path += " " + at->get_name();
  }
  auto rest = at->remaining();
  if (rest.empty()) rest = app.remaining();
  if (!rest.empty() && rest.front().rfind("-", 0) != 0)
    std::fprintf(stderr, "%s: unknown command '%s'; `%s --help` lists the commands\n", path.c_str(), rest.front().c_str(),
                 path.c_str());
  else
    std::fprintf(stderr, "%s: which command? `%s --help` lists them\n", path.c_str(), path.c_str());
  return usage_code;
}

}  // namespace keel::cli
