// Recall/precision of the redactor on the labelled corpus (docs/REDACTION.md).
#pragma once

#include <map>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "gen_redaction_corpus/corpus.h"
#include "privacy/redactor.h"

namespace sealtrace::corpus {

struct KindStats {
  size_t positives = 0;       // labelled spans of this kind
  size_t detected = 0;        // ... fully covered by findings (of any kind)
  size_t kind_correct = 0;    // ... covered by a finding of this kind
  size_t findings = 0;        // findings the redactor reported with this kind
  size_t false_findings = 0;  // ... overlapping no labelled span
  double Recall() const { return positives ? double(detected) / positives : 1.0; }
  double Precision() const { return findings ? double(findings - false_findings) / findings : 1.0; }
};

struct EvalResult {
  std::map<std::string, KindStats> kinds;
  size_t lines = 0;
  size_t negative_lines = 0;
  size_t negative_untouched = 0;
  std::map<std::string, size_t> negative_touched_by_family;
  size_t positives = 0, detected = 0;
  double Recall() const { return positives ? double(detected) / positives : 1.0; }
  double NegativesUntouched() const {
    return negative_lines ? double(negative_untouched) / negative_lines : 1.0;
  }
  // Markdown table, one row per kind, plus totals. Never prints corpus text.
  std::string Table() const;
};

absl::StatusOr<EvalResult> Evaluate(const privacy::Redactor& redactor,
                                    const std::vector<Line>& lines);

}  // namespace sealtrace::corpus
