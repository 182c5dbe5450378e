// keelctl's human output: colour only when stdout is a terminal (and NO_COLOR
// is unset), lines printed with ui::print, and aligned tables. Whatever came
// from the node is data and goes through terminal_text.hpp on the way out:
// ui::print escapes and bounds every string argument, a table escapes and
// cuts every cell, and a colour wraps escaped text. The only raw bytes
// keelctl writes are its own format strings and colour codes, so a command
// that prints with these cannot forget to make the node's data safe.
// (--json output does not come through here: it is the node's data as is.)
#pragma once

#include <cstdio>
#include <string>
#include <string_view>
#include <tuple>
#include <type_traits>
#include <vector>

#include "tools/keelctl/terminal_text.hpp"

namespace keel::ui {

bool color_enabled();
void set_color(bool on);

// Text shown in a colour when colour is on. The text is data: it is escaped
// (and cut) when printed, then wrapped in the colour's codes.
struct styled {
  std::string sgr;  // SGR parameters, e.g. "1;33"; empty: no colour
  std::string text;
  // Escaped and cut to `width` columns, then coloured.
  std::string render(std::size_t width = detail_width) const;
};

styled bold(std::string s);
styled bold(styled s);  // adds bold to a colour
styled dim(std::string s);
styled green(std::string s);
styled yellow(std::string s);
styled red(std::string s);
// Colours a state word: ok/running green, restarting/draining yellow, else red.
styled state(const std::string& s);

// A printf format that is a string literal (checked at compile time): the
// one part of a line keelctl prints unescaped.
struct format {
  template <std::size_t N>
  consteval format(const char (&s)[N]) : text(s) {}
  const char* text;
};

namespace detail {
inline std::string held(std::string_view s) { return one_line(s); }
inline std::string held(const char* s) { return one_line(s ? s : ""); }
inline std::string held(const styled& s) { return s.render(); }
template <class T>
  requires std::is_arithmetic_v<T>
T held(T v) {
  return v;
}
inline const char* arg(const std::string& s) { return s.c_str(); }
template <class T>
  requires std::is_arithmetic_v<T>
T arg(T v) {
  return v;
}
}  // namespace detail

// std::fprintf(out, f, args...) for a line of human output, where every
// string argument (std::string, string_view, const char*) is data: it is
// escaped and cut to detail_width columns. styled arguments are escaped,
// cut and coloured; numbers are formatted as printf formats them. Line
// breaks belong in the format.
template <class... A>
void print(std::FILE* out, format f, const A&... a) {
  std::tuple<decltype(detail::held(a))...> h{detail::held(a)...};
  std::apply(
      [&](const auto&... x) {
        std::fprintf(out, f.text, detail::arg(x)...);
      },
      h);
}

// A block of lines from the node (a JSON dump, a trace tree), each escaped
// and cut to `width` columns, and a final line break.
void print_lines(std::FILE* out, std::string_view text, std::size_t width = detail_width);

// One cell of a table: data, optionally coloured.
class cell {
 public:
  cell(std::string text) : text_(std::move(text)) {}
  cell(const char* text) : text_(text) {}
  cell(styled s) : text_(std::move(s.text)), sgr_(std::move(s.sgr)) {}

 private:
  friend class table;
  std::string text_;
  std::string sgr_;
};

// Rows of cells under headers, columns aligned by display width. Every cell
// is escaped and cut (to cell_width columns unless width() says otherwise)
// when printed; a colour is added after, so it never counts toward the width.
class table {
 public:
  explicit table(std::vector<std::string> headers) : headers_(std::move(headers)), widths_(headers_.size(), cell_width) {}
  // Cuts the cells of column `col` to `columns` columns.
  table& width(std::size_t col, std::size_t columns) {
    if (col < widths_.size()) widths_[col] = columns;
    return *this;
  }
  void add(std::vector<cell> row) { rows_.push_back(std::move(row)); }
  bool empty() const { return rows_.empty(); }
  void print(std::FILE* out, const std::string& indent = "") const;

 private:
  std::vector<std::string> headers_;
  std::vector<std::size_t> widths_;
  std::vector<std::vector<cell>> rows_;
};

}  // namespace keel::ui
