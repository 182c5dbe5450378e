#include "tools/keelctl/table.hpp"

#include <unistd.h>

#include <algorithm>
#include <cstdlib>

namespace keel::ui {

namespace {
int color_state = -1;  // -1: decide from the terminal

std::size_t visible_width(const std::string& s) {
  std::size_t n = 0;
  bool esc = false;
  for (unsigned char c : s) {
    if (c == 0x1b) esc = true;
    else if (esc && c == 'm') esc = false;
    else if (!esc && (c & 0xC0) != 0x80) ++n;  // count UTF-8 lead bytes only
  }
  return n;
}

std::string wrap(const char* code, const std::string& s) {
  return color_enabled() ? std::string("\x1b[") + code + "m" + s + "\x1b[0m" : s;
}
}  // namespace

bool color_enabled() {
  if (color_state < 0) color_state = ::isatty(1) && !std::getenv("NO_COLOR") ? 1 : 0;
  return color_state == 1;
}
void set_color(bool on) { color_state = on ? 1 : 0; }

std::string bold(const std::string& s) { return wrap("1", s); }
std::string dim(const std::string& s) { return wrap("2", s); }
std::string green(const std::string& s) { return wrap("32", s); }
std::string yellow(const std::string& s) { return wrap("33", s); }
std::string red(const std::string& s) { return wrap("31", s); }

std::string state(const std::string& s) {
  if (s == "ok" || s == "running" || s == "alive") return green(s);
  if (s == "restarting" || s == "draining" || s == "starting") return yellow(s);
  return red(s);
}

void table::print(std::FILE* out, const std::string& indent) const {
  std::vector<std::size_t> w(headers_.size(), 0);
  for (std::size_t i = 0; i < headers_.size(); ++i) w[i] = visible_width(headers_[i]);
  for (const auto& r : rows_)
    for (std::size_t i = 0; i < r.size() && i < w.size(); ++i) w[i] = std::max(w[i], visible_width(r[i]));
  auto line = [&](const std::vector<std::string>& cells, bool header) {
    std::string s = indent;
    for (std::size_t i = 0; i < w.size(); ++i) {
      std::string cell = i < cells.size() ? cells[i] : "";
      bool last = i + 1 == w.size();
      s += header ? dim(cell) : cell;
      if (!last) s += std::string(w[i] - visible_width(cell) + 2, ' ');
    }
    while (!s.empty() && s.back() == ' ') s.pop_back();
    std::fprintf(out, "%s\n", s.c_str());
  };
  line(headers_, true);
  for (const auto& r : rows_) line(r, false);
}

}  // namespace keel::ui
