// gen_redaction_corpus: writes the labelled redaction evaluation corpus as TSV
// (family, labels, text) to stdout. Usage: gen_redaction_corpus [seed] [per_family]
#include <cstdio>
#include <cstdlib>
#include <iostream>

#include "gen_redaction_corpus/corpus.h"

int main(int argc, char** argv) {
  uint64_t seed = argc > 1 ? std::strtoull(argv[1], nullptr, 10) : 20240601;
  size_t per_family = argc > 2 ? std::strtoull(argv[2], nullptr, 10) : 200;
  for (const auto& line : sealtrace::corpus::Generate(seed, per_family)) {
    std::cout << sealtrace::corpus::FormatTsv(line) << '\n';
  }
  return std::cout.good() ? 0 : 1;
}
