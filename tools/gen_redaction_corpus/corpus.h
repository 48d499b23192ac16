// Labelled evaluation corpus for the redactor (see docs/REDACTION.md).
//
// Deterministic: the same seed gives the same lines on every platform (own
// PRNG, no std distributions). Independent of src/privacy: positives are built
// from the formats' definitions (Luhn check digits, IBAN mod-97 check digits,
// SSN ranges, token prefixes and alphabets), negatives are look-alikes that a
// correct redactor must leave alone.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace sealtrace::corpus {

struct Label {
  std::string kind;  // redactor kind name, e.g. "payment_card"
  size_t begin = 0;  // byte offsets in Line::text
  size_t end = 0;
};

struct Line {
  std::string family;  // "pos:<kind>" or "neg:<look-alike family>"
  std::string text;
  std::vector<Label> labels;  // empty for negatives
};

// Never-record words the corpus uses; pass them to the redactor under test.
std::vector<std::string> NeverRecordWords();

// `per_family` lines for each positive kind and each negative family.
std::vector<Line> Generate(uint64_t seed, size_t per_family);

// One line as TSV: family, labels ("kind:begin:end,..." or "-"), text.
std::string FormatTsv(const Line& line);

}  // namespace sealtrace::corpus
