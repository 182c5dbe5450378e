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
  std::unordered_map<std::string, const bm25_index::term_contributions*> of;
  for (std::size_t j = 0; j < terms.size(); ++j) of[terms[j]] = &found[j];
  auto idf_sum = [&](const std::vector<std::string>& phrase) {
    double sum = 0;
    for (const auto& t : phrase) sum += of.at(t)->idf;
    return sum;
  };
  auto credit = [&](const std::vector<std::string>& phrase, std::size_t label) {
    double sum = 0;
    for (const auto& t : phrase) sum += of.at(t)->by_label[label];
    const double whole = idf_sum(phrase);
    return whole > 0 ? std::min(1.0, sum / whole) : 0.0;
  };
  std::vector<double> importance(plan.slots.size(), 0.0);
  double total = 0;
  for (std::size_t s = 0; s < plan.slots.size(); ++s) {
    const auto& slot = plan.slots[s];
    bool said_otherwise = false;  // some item holds an alternative
    for (const auto& a : slot.alternatives)
      for (const auto& t : a.terms) said_otherwise = said_otherwise || of.at(t)->known;
    for (const auto& t : slot.own)
      if (of.at(t)->known || said_otherwise) importance[s] += of.at(t)->idf;
    total += importance[s];
  }
  std::vector<double> out(labels.size(), 0.0);
  if (total <= 0) return out;
  for (std::size_t i = 0; i < labels.size(); ++i) {
    double sum = 0;
    for (std::size_t s = 0; s < plan.slots.size(); ++s) {
      if (importance[s] <= 0) continue;
      const auto& slot = plan.slots[s];
      double own = 0;  // the own words an item lacks, or no item holds, count against it
      for (const auto& t : slot.own) own += of.at(t)->by_label[i];
      double best = std::min(1.0, own / importance[s]);
      for (const auto& a : slot.alternatives)
        if (a.weight > best) best = std::max(best, a.weight * credit(a.terms, i));
      sum += importance[s] * best;
    }
    out[i] = sum / total;
  }
  return out;
}

}  // namespace keel::memory
