// A retrieval QA set of our own: a generated memory of customer notes,
// events, support mails and record summaries, with questions whose answers
// are known, in three categories:
//
//   keyword     the answer shares the question's rare content words (some
//               inflected: "invoices" for "invoice"); unfiltered search.
//   entity      filtered to one customer; that customer's other notes, mails
//               and events compete.
//   paraphrase  no content word in common with any answer; unfiltered. The
//               answers are every note of the topic asked about.
//
// Look-alikes are built in: customers share first and last names, every
// topic note exists for many customers with different details, and events,
// mails and summaries reuse the notes' common words (card, plan, invoice,
// renewal). The same seed gives the same corpus, byte for byte, on every
// platform (its own generator, no <random> distributions).
//
// keel_retrieval_bench prints the scores; tests/storage/memory/
// retrieval_qa_test.cpp holds them to floors.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "storage/memory/hybrid_search.hpp"

namespace keel::test {

struct qa_question {
  std::string text;
  std::string category;        // keyword | entity | paraphrase
  std::string about;           // the filter of an entity question, else ""
  std::vector<std::size_t> answers;  // indices into qa_corpus::items
};

struct qa_corpus {
  std::vector<memory::memory_item> items;
  std::vector<qa_question> questions;
};

// At least 2,000 items for `customers` >= 200, and 150+ questions.
qa_corpus make_qa_corpus(std::uint64_t seed = 7, std::size_t customers = 220);

struct qa_miss {
  std::size_t question;              // index into qa_corpus::questions
  std::vector<std::size_t> got;      // item indices of the top 5
};

struct qa_category_score {
  std::size_t questions = 0;
  double recall_at_5 = 0;  // mean of |answers in the top 5| / min(5, |answers|)
  double mrr = 0;          // mean of 1 / rank of the first answer (0 past the top 10)
  std::vector<qa_miss> misses;  // questions with recall@5 < 1
};

// Runs every question through `search` with `base` as the query settings
// (text, filter and k are set per question). `ids[i]` is the memory id of
// corpus item i. Errors: the first failing search.
result<std::map<std::string, qa_category_score>> score_qa(const memory::hybrid_search& search, const qa_corpus& corpus,
                                                          const std::vector<std::uint64_t>& ids,
                                                          const memory::memory_query& base = {});

}  // namespace keel::test
