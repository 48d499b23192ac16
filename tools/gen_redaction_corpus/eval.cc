#include "gen_redaction_corpus/eval.h"

#include <cstdio>

namespace sealtrace::corpus {

absl::StatusOr<EvalResult> Evaluate(const privacy::Redactor& redactor,
                                    const std::vector<Line>& lines) {
  EvalResult res;
  for (const Line& line : lines) {
    ++res.lines;
    auto found = redactor.Scan(line.text);
    if (!found.ok()) return found.status();
    if (line.labels.empty()) {
      ++res.negative_lines;
      if (found->empty()) {
        ++res.negative_untouched;
      } else {
        res.negative_touched_by_family[line.family]++;
      }
    }
    for (const Label& l : line.labels) {
      KindStats& ks = res.kinds[l.kind];
      ++ks.positives;
      ++res.positives;
      // Covered: every byte of the label lies inside some finding.
      size_t covered = 0;
      bool right_kind = false;
      for (const auto& f : *found) {
        size_t b = std::max(f.begin, l.begin), e = std::min(f.end, l.end);
        if (e > b) {
          covered += e - b;
          if (privacy::KindName(f.kind) == l.kind) right_kind = true;
        }
      }
      if (covered == l.end - l.begin) {
        ++ks.detected;
        ++res.detected;
        if (right_kind) ++ks.kind_correct;
      }
    }
    for (const auto& f : *found) {
      KindStats& ks = res.kinds[std::string(privacy::KindName(f.kind))];
      ++ks.findings;
      bool hit = false;
      for (const Label& l : line.labels) hit |= f.begin < l.end && l.begin < f.end;
      if (!hit) ++ks.false_findings;
    }
  }
  return res;
}

std::string EvalResult::Table() const {
  std::string t =
      "| kind | positives | detected | recall | right kind | findings | false | precision |\n"
      "|---|---:|---:|---:|---:|---:|---:|---:|\n";
  char buf[256];
  for (const auto& [kind, s] : kinds) {
    std::snprintf(buf, sizeof buf, "| %s | %zu | %zu | %.4f | %zu | %zu | %zu | %.4f |\n",
                  kind.c_str(), s.positives, s.detected, s.Recall(), s.kind_correct, s.findings,
                  s.false_findings, s.Precision());
    t += buf;
  }
  std::snprintf(buf, sizeof buf,
                "\nlines %zu; positives %zu, detected %zu, recall %.4f; negative lines %zu, "
                "untouched %zu (%.4f)\n",
                lines, positives, detected, Recall(), negative_lines, negative_untouched,
                NegativesUntouched());
  t += buf;
  for (const auto& [fam, n] : negative_touched_by_family) {
    std::snprintf(buf, sizeof buf, "  touched negatives in %s: %zu\n", fam.c_str(), n);
    t += buf;
  }
  return t;
}

}  // namespace sealtrace::corpus
