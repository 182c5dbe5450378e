// Terminal output for keelctl: aligned tables and colour that appears only
// when stdout is a terminal (and NO_COLOR is unset).
#pragma once

#include <cstdio>
#include <string>
#include <vector>

namespace keel::ui {

bool color_enabled();
void set_color(bool on);

std::string bold(const std::string& s);
std::string dim(const std::string& s);
std::string green(const std::string& s);
std::string yellow(const std::string& s);
std::string red(const std::string& s);
// Colours a state word: ok/running green, restarting/draining yellow, else red.
std::string state(const std::string& s);

class table {
 public:
  explicit table(std::vector<std::string> headers) : headers_(std::move(headers)) {}
  void add(std::vector<std::string> row) { rows_.push_back(std::move(row)); }
  bool empty() const { return rows_.empty(); }
  // Columns are padded by visible width (colour codes do not count).
  void print(std::FILE* out, const std::string& indent = "") const;

 private:
  std::vector<std::string> headers_;
  std::vector<std::vector<std::string>> rows_;
};

}  // namespace keel::ui
