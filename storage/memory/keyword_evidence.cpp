#include "storage/memory/keyword_evidence.hpp"

#include <algorithm>
#include <unordered_map>

namespace keel::memory {

namespace {

void add_once(std::vector<std::string>& to, const std::string& t) {
  if (std::find(to.begin(), to.end(), t) == to.end()) to.push_back(t);
}

}  // namespace

std::vector<std::string> keyword_plan::alternative_terms() const {
  std::vector<std::string> own, out;
  for (const auto& s : slots)
    for (const auto& t : s.own) add_once(own, t);
  for (const auto& s : slots)
    for (const auto& a : s.alternatives)
      for (const auto& t : a.terms)
        if (std::find(own.begin(), own.end(), t) == own.end()) add_once(out, t);
  return out;
}

std::vector<std::string> keyword_plan::all_terms() const {
  std::vector<std::string> out;
  for (const auto& s : slots) {
    for (const auto& t : s.own) add_once(out, t);
    for (const auto& a : s.alternatives)
      for (const auto& t : a.terms) add_once(out, t);
  }
  return out;
}

keyword_plan plan_keywords(const std::vector<std::string>& terms, const glossary* glossary, const synonym_table* synonyms,
                           double w_glossary, double w_synonym) {
  keyword_plan plan;
  std::vector<glossary::match> phrases;
  if (glossary) phrases = glossary->find(terms);
  auto next = phrases.begin();
  std::vector<std::string> single;  // single-word slots so far: a repeated word is one slot
  for (std::size_t i = 0; i < terms.size();) {
    keyword_plan::slot s;
    std::size_t end = i + 1;
    if (next != phrases.end() && next->first == i) {
      end = next->last;
      for (const auto* p : next->others) s.alternatives.push_back({*p, w_glossary});
      ++next;
    }
    s.own.assign(terms.begin() + static_cast<std::ptrdiff_t>(i), terms.begin() + static_cast<std::ptrdiff_t>(end));
    i = end;
    if (s.own.size() == 1) {
      if (std::find(single.begin(), single.end(), s.own[0]) != single.end()) continue;
      single.push_back(s.own[0]);
      if (synonyms)
        for (auto syn : synonyms->of(s.own[0])) s.alternatives.push_back({{std::string(syn)}, w_synonym});
    }
    plan.slots.push_back(std::move(s));
  }
  return plan;
}

std::vector<double> keyword_shares(const bm25_index& index, const keyword_plan& plan,
                                   const std::vector<std::uint64_t>& labels) {
  const auto terms = plan.all_terms();
  const auto found = index.contributions(terms, labels);
  std::unordered_map<std::string, std::size_t> of;
  for (std::size_t j = 0; j < terms.size(); ++j) of.emplace(terms[j], j);
  // The plan by term index, resolved once: the loop over items below does
  // arithmetic only.
  struct phrase {
    std::vector<std::size_t> terms;
    double weight = 1, whole = 0;  // whole: the sum of its terms' idf
  };
  struct slot {
    phrase own;  // own.whole: the slot's importance
    std::vector<phrase> alternatives;
  };
  std::vector<slot> slots;
  double total = 0;
  for (const auto& s : plan.slots) {
    slot c;
    bool said_otherwise = false;  // some item holds an alternative
    for (const auto& a : s.alternatives) {
      phrase p{{}, a.weight, 0};
      for (const auto& t : a.terms) {
        p.terms.push_back(of.at(t));
        p.whole += found[p.terms.back()].idf;
        said_otherwise = said_otherwise || found[p.terms.back()].known;
      }
      if (p.whole > 0) c.alternatives.push_back(std::move(p));
    }
    for (const auto& t : s.own) {
      c.own.terms.push_back(of.at(t));
      const auto& f = found[c.own.terms.back()];
      if (f.known || said_otherwise) c.own.whole += f.idf;
    }
    if (c.own.whole <= 0) continue;
    total += c.own.whole;
    slots.push_back(std::move(c));
  }
  std::vector<double> out(labels.size(), 0.0);
  if (total <= 0) return out;
  auto credit = [&](const phrase& p, std::size_t label) {
    double sum = 0;  // words an item lacks, or that no item holds, count against it
    for (auto j : p.terms) sum += found[j].by_label[label];
    return std::min(1.0, sum / p.whole);
  };
  for (std::size_t i = 0; i < labels.size(); ++i) {
    double sum = 0;
    for (const auto& s : slots) {
      double best = credit(s.own, i);
      for (const auto& a : s.alternatives)
        if (a.weight > best) best = std::max(best, a.weight * credit(a, i));
      sum += s.own.whole * best;
    }
    out[i] = sum / total;
  }
  return out;
}

}  // namespace keel::memory
