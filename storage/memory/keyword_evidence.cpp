#include "storage/memory/keyword_evidence.hpp"

#include <algorithm>
#include <unordered_map>

#include "storage/memory/text_tokens.hpp"

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
      for (const auto* p : next->others) s.alternatives.push_back({*p, w_glossary, true});
      ++next;
    }
    s.own.assign(terms.begin() + static_cast<std::ptrdiff_t>(i), terms.begin() + static_cast<std::ptrdiff_t>(end));
    i = end;
    if (s.own.size() == 1) {
      if (std::find(single.begin(), single.end(), s.own[0]) != single.end()) continue;
      single.push_back(s.own[0]);
      if (synonyms)
        for (auto syn : synonyms->of(s.own[0])) s.alternatives.push_back({{std::string(syn)}, w_synonym, false});
    }
    plan.slots.push_back(std::move(s));
  }
  return plan;
}

namespace {

// A plan resolved against an index: every term's idf and contributions to
// the labels, and each slot by term index, so that scoring items is
// arithmetic only.
struct compiled_plan {
  struct phrase {
    std::vector<std::size_t> terms;
    double weight = 1, whole = 0;  // whole: the sum of its terms' idf
  };
  struct slot {
    phrase own;  // own.whole: the slot's importance
    std::vector<phrase> alternatives;
  };
  std::vector<bm25_index::term_contributions> found;
  std::vector<slot> slots;  // parallel to the plan's
  double total = 0;         // the importances' sum
};

compiled_plan compile(const bm25_index& index, const keyword_plan& plan, const std::vector<std::uint64_t>& labels) {
  compiled_plan c;
  const auto terms = plan.all_terms();
  c.found = index.contributions(terms, labels);
  std::unordered_map<std::string, std::size_t> of;
  for (std::size_t j = 0; j < terms.size(); ++j) of.emplace(terms[j], j);
  for (const auto& s : plan.slots) {
    compiled_plan::slot cs;
    bool said_otherwise = false;  // some item holds an alternative
    for (const auto& a : s.alternatives) {
      compiled_plan::phrase p{{}, a.weight, 0};
      for (const auto& t : a.terms) {
        p.terms.push_back(of.at(t));
        p.whole += c.found[p.terms.back()].idf;
        said_otherwise = said_otherwise || c.found[p.terms.back()].known;
      }
      if (p.whole > 0) cs.alternatives.push_back(std::move(p));
    }
    for (const auto& t : s.own) {
      cs.own.terms.push_back(of.at(t));
      const auto& f = c.found[cs.own.terms.back()];
      if (f.known || said_otherwise) cs.own.whole += f.idf;
    }
    c.total += cs.own.whole;
    c.slots.push_back(std::move(cs));
  }
  return c;
}

}  // namespace

std::vector<query_slot> describe_plan(const bm25_index& index, const keyword_plan& plan) {
  const auto c = compile(index, plan, {});
  std::vector<query_slot> out;
  for (std::size_t i = 0; i < plan.slots.size(); ++i) {
    query_slot qs{join_terms(plan.slots[i].own), c.total > 0 ? c.slots[i].own.whole / c.total : 0.0, {}};
    for (const auto& a : plan.slots[i].alternatives)
      qs.alternatives.push_back(join_terms(a.terms) + (a.glossary ? " (glossary)" : " (synonym)"));
    out.push_back(std::move(qs));
  }
  return out;
}

std::vector<double> keyword_shares(const bm25_index& index, const keyword_plan& plan,
                                   const std::vector<std::uint64_t>& labels) {
  const auto c = compile(index, plan, labels);
  std::vector<double> out(labels.size(), 0.0);
  if (c.total <= 0) return out;
  auto credit = [&](const compiled_plan::phrase& p, std::size_t label) {
    double sum = 0;  // words an item lacks, or that no item holds, count against it
    for (auto j : p.terms) sum += c.found[j].by_label[label];
    return std::min(1.0, sum / p.whole);
  };
  for (std::size_t i = 0; i < labels.size(); ++i) {
    double sum = 0;
    for (const auto& s : c.slots) {
      if (s.own.whole <= 0) continue;
      double best = credit(s.own, i);
      for (const auto& a : s.alternatives)
        if (a.weight > best) best = std::max(best, a.weight * credit(a, i));
      sum += s.own.whole * best;
    }
    out[i] = sum / c.total;
  }
  return out;
}

}  // namespace keel::memory
