// How keel and keelctl answer a command line they cannot parse. CLI11
// reports a word that names no command as "A subcommand is required";
// here it is named for what it is ("unknown command 'X'"), a missing
// command is asked for, and each message says where the list is. Every
// other parse error is CLI11's own; --help and --version print as usual.
#pragma once

#include <CLI/CLI.hpp>

namespace keel::cli {

// Prints what is wrong with the command line (or the help asked for) and
// returns the exit code: 0 for --help and --version, else `usage_code`.
// `tool` is the program's name as the user types it. With `json`, the
// error is one JSON object on stdout, {"ok": false, "error": {"code":
// "bad_request", "message"}}, as keelctl --json reports every error.
int report_parse_error(const CLI::App& app, const CLI::ParseError& e, const char* tool, int usage_code,
                       bool json = false);

}  // namespace keel::cli
