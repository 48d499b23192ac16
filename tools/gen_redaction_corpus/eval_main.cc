// redaction_eval: generates the labelled corpus and prints recall and precision
// per kind for the redactor. Usage: redaction_eval [seed] [per_family]
#include <cstdlib>
#include <iostream>

#include "gen_redaction_corpus/eval.h"

int main(int argc, char** argv) {
  uint64_t seed = argc > 1 ? std::strtoull(argv[1], nullptr, 10) : 20240601;
  size_t per_family = argc > 2 ? std::strtoull(argv[2], nullptr, 10) : 200;
  sealtrace::privacy::RedactorOptions opts;
  opts.never_record = sealtrace::corpus::NeverRecordWords();
  auto r = sealtrace::privacy::Redactor::Create(opts);
  if (!r.ok()) {
    std::cerr << "redactor: " << r.status() << "\n";
    return 2;
  }
  auto res = sealtrace::corpus::Evaluate(**r, sealtrace::corpus::Generate(seed, per_family));
  if (!res.ok()) {
    std::cerr << "eval: " << res.status() << "\n";
    return 2;
  }
  std::cout << res->Table();
  return res->Recall() >= 0.99 && res->NegativesUntouched() >= 0.99 ? 0 : 1;
}
