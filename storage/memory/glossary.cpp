#include "storage/memory/glossary.hpp"

#include <algorithm>
#include <fstream>
#include <sstream>

#include "storage/memory/text_tokens.hpp"

namespace keel::memory {

const std::string& builtin_glossary_text();  // generated from config/glossary.txt

namespace {

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t' || s.front() == '\r')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r')) s.remove_suffix(1);
  return s;
}

}  // namespace

std::uint32_t glossary::intern(phrase p) {
  auto key = join_terms(p);
  auto [it, fresh] = id_of_.try_emplace(key, static_cast<std::uint32_t>(phrases_.size()));
  if (fresh) {
    starting_[p.front()].push_back(it->second);
    phrases_.push_back(std::move(p));
  }
  return it->second;
}

result<glossary> glossary::parse(std::string_view text, std::string_view origin) {
  glossary g;
  g.source_ = std::string(text);
  std::size_t line_no = 0;
  while (!text.empty()) {
    auto nl = text.find('\n');
    auto line = text.substr(0, nl);
    text = nl == std::string_view::npos ? std::string_view() : text.substr(nl + 1);
    ++line_no;
    auto where = std::string(origin) + ":" + std::to_string(line_no) + ": ";
    if (auto hash = line.find('#'); hash != std::string_view::npos) line = line.substr(0, hash);
    line = trim(line);
    if (line.empty()) continue;
    auto arrow = line.find("=>");
    if (arrow != std::string_view::npos && line.find("=>", arrow + 2) != std::string_view::npos)
      return error{errc::config, where + "\"=>\" appears twice; a group is \"a, b\" or \"a, b => c, d\""};
    auto phrases_of = [&](std::string_view side, std::vector<std::uint32_t>& ids) -> status {
      while (true) {
        auto comma = side.find(',');
        auto raw = trim(side.substr(0, comma));
        if (raw.empty()) return error{errc::config, where + "an empty phrase; separate phrases by single commas"};
        auto terms = text_terms(raw);
        if (terms.empty())
          return error{errc::config, where + "\"" + std::string(raw) + "\" has only stop words, which search ignores; use a word that carries meaning"};
        if (terms.size() == 1 && text_words(raw).size() > 1)
          return error{errc::config, where + "\"" + std::string(raw) + "\" is just \"" + terms[0] +
                                         "\" to search (its other words are stop words), which would match far more than it says; "
                                         "write the one word if that is what you mean, or a longer phrase"};
        auto id = g.intern(std::move(terms));
        if (std::find(ids.begin(), ids.end(), id) == ids.end()) ids.push_back(id);
        if (comma == std::string_view::npos) return ok_t{};
        side.remove_prefix(comma + 1);
      }
    };
    group grp;
    if (arrow == std::string_view::npos) {
      if (auto st = phrases_of(line, grp.from); !st) return st.err();
      if (grp.from.size() < 2)
        return error{errc::config, where + "a group needs at least two different phrases (\"refund, money back\")"};
      grp.to = grp.from;
    } else {
      if (auto st = phrases_of(line.substr(0, arrow), grp.from); !st) return st.err();
      if (auto st = phrases_of(line.substr(arrow + 2), grp.to); !st) return st.err();
    }
    const auto index = static_cast<std::uint32_t>(g.groups_.size());
    for (auto id : grp.from) g.groups_from_[id].push_back(index);
    g.groups_.push_back(std::move(grp));
  }
  return g;
}

result<glossary> glossary::load(const std::string& path) {
  std::ifstream in(path);
  if (!in) return error{errc::not_found, "cannot read the glossary " + path + "; check the path in memory.glossary"};
  std::stringstream text;
  text << in.rdbuf();
  return parse(text.str(), path);
}

const glossary& glossary::builtin() {
  static const glossary g = [] {
    auto parsed = parse(builtin_glossary_text(), "config/glossary.txt");
    // The build parses it too (a unit test), so this cannot fail in a
    // released binary; an empty glossary is the safe answer if it did.
    return parsed ? std::move(*parsed) : glossary{};
  }();
  return g;
}

result<glossary> glossary::load_all(const std::vector<std::string>& names) {
  glossary all;
  for (const auto& name : names) {
    if (name == "builtin") {
      all.merge(builtin());
      continue;
    }
    auto g = load(name);
    if (!g) return g.err();
    all.merge(*g);
  }
  return all;
}

void glossary::merge(const glossary& other) {
  source_ += other.source_;
  if (!other.source_.empty() && other.source_.back() != '\n') source_ += '\n';
  for (const auto& grp : other.groups_) {
    group mine;
    for (auto id : grp.from) mine.from.push_back(intern(other.phrases_[id]));
    for (auto id : grp.to) mine.to.push_back(intern(other.phrases_[id]));
    const auto index = static_cast<std::uint32_t>(groups_.size());
    for (auto id : mine.from) groups_from_[id].push_back(index);
    groups_.push_back(std::move(mine));
  }
}

std::vector<glossary::match> glossary::find(const std::vector<std::string>& terms) const {
  std::vector<match> out;
  for (std::size_t i = 0; i < terms.size();) {
    std::size_t best_len = 0;
    std::uint32_t best = 0;
    if (auto s = starting_.find(terms[i]); s != starting_.end())
      for (auto id : s->second) {
        const auto& p = phrases_[id];
        if (p.size() <= best_len || i + p.size() > terms.size() || !groups_from_.count(id)) continue;
        if (std::equal(p.begin(), p.end(), terms.begin() + static_cast<std::ptrdiff_t>(i))) best_len = p.size(), best = id;
      }
    if (best_len == 0) {
      ++i;
      continue;
    }
    match m{i, i + best_len, {}};
    std::vector<std::uint32_t> seen{best};
    for (auto g : groups_from_.at(best))
      for (auto id : groups_[g].to)
        if (std::find(seen.begin(), seen.end(), id) == seen.end()) {
          seen.push_back(id);
          m.others.push_back(&phrases_[id]);
        }
    if (!m.others.empty()) out.push_back(std::move(m));
    i += best_len;
  }
  return out;
}

}  // namespace keel::memory
