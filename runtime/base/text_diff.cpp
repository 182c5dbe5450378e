#include "runtime/base/text_diff.hpp"

#include <algorithm>
#include <cstdint>
#include <string_view>
#include <vector>

namespace keel {

namespace {

// Runs of non-space and runs of space, in order: joining them gives the text back.
std::vector<std::string_view> words_of(std::string_view s) {
  std::vector<std::string_view> out;
  std::size_t i = 0;
  while (i < s.size()) {
    bool space = s[i] == ' ' || s[i] == '\t' || s[i] == '\n' || s[i] == '\r';
    std::size_t j = i;
    while (j < s.size() && (s[j] == ' ' || s[j] == '\t' || s[j] == '\n' || s[j] == '\r') == space) ++j;
    out.push_back(s.substr(i, j - i));
    i = j;
  }
  return out;
}

std::vector<std::string_view> lines_of(std::string_view s) {
  std::vector<std::string_view> out;
  std::size_t i = 0;
  while (i < s.size()) {
    auto nl = s.find('\n', i);
    auto end = nl == std::string_view::npos ? s.size() : nl + 1;
    out.push_back(s.substr(i, end - i));
    i = end;
  }
  return out;
}

bool is_space(std::string_view w) { return !w.empty() && (w[0] == ' ' || w[0] == '\t' || w[0] == '\n' || w[0] == '\r'); }

// Longest common subsequence over units, then a walk that groups runs of
// removals and additions into one mark each.
text_diff_result diff_units(const std::vector<std::string_view>& a, const std::vector<std::string_view>& b, bool by_line) {
  const std::size_t n = a.size(), m = b.size();
  std::vector<std::vector<std::uint32_t>> lcs(n + 1, std::vector<std::uint32_t>(m + 1, 0));
  for (std::size_t i = n; i-- > 0;)
    for (std::size_t j = m; j-- > 0;)
      lcs[i][j] = a[i] == b[j] ? lcs[i + 1][j + 1] + 1 : std::max(lcs[i + 1][j], lcs[i][j + 1]);
  text_diff_result r;
  std::string del, ins;
  auto flush = [&] {
    if (!del.empty()) r.diff += "[-" + del + "-]";
    if (!ins.empty()) r.diff += "{+" + ins + "+}";
    del.clear();
    ins.clear();
  };
  std::size_t i = 0, j = 0;
  while (i < n || j < m) {
    if (i < n && j < m && a[i] == b[j]) {
      flush();
      r.diff += a[i];
      ++i, ++j;
    } else if (j < m && (i == n || lcs[i][j + 1] >= lcs[i + 1][j])) {
      ins += b[j];
      if (by_line || !is_space(b[j])) ++r.added;
      ++j;
    } else {
      del += a[i];
      if (by_line || !is_space(a[i])) ++r.removed;
      ++i;
    }
  }
  flush();
  return r;
}

}  // namespace

text_diff_result diff_words(const std::string& before, const std::string& after, std::size_t max_words) {
  if (before == after) return {};
  auto a = words_of(before), b = words_of(after);
  if (a.size() + b.size() <= max_words) return diff_units(a, b, false);
  auto r = diff_units(lines_of(before), lines_of(after), true);
  r.by_line = true;
  return r;
}

}  // namespace keel
