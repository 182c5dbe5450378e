// Reading what real processes left on disk: whole files, lines, and the
// file.append witness (one "key<TAB>line" per idempotency key, every
// delivery logged in FILE.invocations), and which files hold a text.
#pragma once

#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include "tests/support/text_match.hpp"

namespace keel::test {

inline std::string read_all(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

inline std::vector<std::string> read_lines(const std::string& path) {
  std::ifstream in(path);
  std::vector<std::string> out;
  for (std::string l; std::getline(in, l);) out.push_back(l);
  return out;
}

// key -> how many lines carry it
inline std::map<std::string, int> count_keys(const std::vector<std::string>& lines) {
  std::map<std::string, int> out;
  for (const auto& l : lines) out[l.substr(0, l.find('\t'))]++;
  return out;
}

// Every regular file under `root` whose bytes contain `needle`.
inline std::vector<std::string> files_containing(const std::string& root, const std::string& needle) {
  std::vector<std::string> hits;
  for (const auto& e : std::filesystem::recursive_directory_iterator(root))
    if (e.is_regular_file() && has(read_all(e.path()), needle)) hits.push_back(e.path().string());
  return hits;
}

}  // namespace keel::test
