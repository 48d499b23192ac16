// Recall/precision of the redactor on the generated labelled corpus
// (tools/gen_redaction_corpus, docs/REDACTION.md). Prints the per-kind table.
#include "gen_redaction_corpus/eval.h"

#include <gtest/gtest.h>

#include <iostream>

namespace sealtrace::corpus {
namespace {

TEST(RedactionEval, CorpusRecallAndNegatives) {
  privacy::RedactorOptions o;
  o.never_record = NeverRecordWords();
  auto r = privacy::Redactor::Create(o);
  ASSERT_TRUE(r.ok()) << r.status();
  for (uint64_t seed : {20240601ull, 7ull}) {
    auto lines = Generate(seed, 200);
    ASSERT_GT(lines.size(), 5000u);
    auto res = Evaluate(**r, lines);
    ASSERT_TRUE(res.ok()) << res.status();
    std::cout << "seed " << seed << "\n" << res->Table();
    EXPECT_GE(res->Recall(), 0.99);
    EXPECT_GE(res->NegativesUntouched(), 0.99);
    for (const auto& [kind, s] : res->kinds) {
      if (s.positives > 0) {
        EXPECT_GE(s.Recall(), 0.95) << kind;
      }
    }
    EXPECT_EQ(res->kinds.size(), static_cast<size_t>(privacy::Kind::kCount));
  }
}

TEST(RedactionEval, GeneratorIsDeterministic) {
  auto a = Generate(42, 20), b = Generate(42, 20), c = Generate(43, 20);
  ASSERT_EQ(a.size(), b.size());
  for (size_t i = 0; i < a.size(); ++i) EXPECT_EQ(FormatTsv(a[i]), FormatTsv(b[i]));
  bool differs = false;
  for (size_t i = 0; i < std::min(a.size(), c.size()); ++i) differs |= a[i].text != c[i].text;
  EXPECT_TRUE(differs);
}

}  // namespace
}  // namespace sealtrace::corpus
