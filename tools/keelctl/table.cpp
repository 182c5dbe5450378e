#include "tools/keelctl/table.hpp"

#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>

namespace keel::ui {

namespace {

int color_state = -1;  // -1: decide from the terminal

std::string wrap(const std::string& sgr, const std::string& escaped) {
  return sgr.empty() || !color_enabled() ? escaped : "\x1b[" + sgr + "m" + escaped + "\x1b[0m";
}

}  // namespace

bool color_enabled() {
  if (color_state < 0) color_state = ::isatty(1) && !std::getenv("NO_COLOR") ? 1 : 0;
  return color_state == 1;
}
void set_color(bool on) { color_state = on ? 1 : 0; }

std::string styled::render(std::size_t width) const { return wrap(sgr, one_line(text, width)); }

styled bold(std::string s) { return {"1", std::move(s)}; }
styled bold(styled s) { return {s.sgr.empty() ? "1" : "1;" + s.sgr, std::move(s.text)}; }
styled dim(std::string s) { return {"2", std::move(s)}; }
styled green(std::string s) { return {"32", std::move(s)}; }
styled yellow(std::string s) { return {"33", std::move(s)}; }
styled red(std::string s) { return {"31", std::move(s)}; }

styled state(const std::string& s) {
  if (s == "ok" || s == "running" || s == "alive") return green(s);
  if (s == "restarting" || s == "draining" || s == "starting") return yellow(s);
  return red(s);
}

void print_lines(std::FILE* out, std::string_view text, std::size_t width) {
  auto shown = lines(text, width);
  std::fprintf(out, "%s\n", shown.c_str());
}

void table::print(std::FILE* out, const std::string& indent) const {
  struct shown {
    std::string text;  // escaped and cut
    std::size_t width;
  };
  std::vector<std::size_t> w(headers_.size(), 0);
  std::vector<std::string> heads;
  for (std::size_t i = 0; i < headers_.size(); ++i) {
    heads.push_back(one_line(headers_[i], widths_[i]));
    w[i] = display_width(heads.back());
  }
  std::vector<std::vector<shown>> rows;
  rows.reserve(rows_.size());
  for (const auto& r : rows_) {
    auto& row = rows.emplace_back();
    for (std::size_t i = 0; i < w.size(); ++i) {
      auto text = i < r.size() ? one_line(r[i].text_, widths_[i]) : std::string();
      auto cols = display_width(text);
      w[i] = std::max(w[i], cols);
      row.push_back({std::move(text), cols});
    }
  }
  auto line = [&](auto&& cell_at) {
    std::string s = indent;
    for (std::size_t i = 0; i < w.size(); ++i) {
      auto [text, cols] = cell_at(i);
      s += text;
      if (i + 1 < w.size()) s += std::string(w[i] - cols + 2, ' ');
    }
    while (!s.empty() && s.back() == ' ') s.pop_back();
    std::fprintf(out, "%s\n", s.c_str());
  };
  line([&](std::size_t i) { return std::pair(wrap("2", heads[i]), display_width(heads[i])); });
  for (std::size_t r = 0; r < rows.size(); ++r)
    line([&](std::size_t i) {
      const auto& sgr = i < rows_[r].size() ? rows_[r][i].sgr_ : std::string();
      return std::pair(wrap(sgr, rows[r][i].text), rows[r][i].width);
    });
}

}  // namespace keel::ui
