// RateReporter: google-benchmark's console output, plus each benchmark's rate
// per second (keyed by its function name, without "/real_time" or arguments),
// so a benchmark's main() prints ratios against a baseline measured in the
// same run (docs/BENCHMARKS.md). Not thread-safe (benchmark reports serially).
#pragma once

#include <benchmark/benchmark.h>

#include <cstdio>
#include <map>
#include <string>
#include <vector>

namespace sealtrace::bench {

class RateReporter : public benchmark::ConsoleReporter {
 public:
  void ReportRuns(const std::vector<Run>& runs) override {
    ConsoleReporter::ReportRuns(runs);
    for (const auto& r : runs) {
      if (r.error_occurred || r.run_type != Run::RT_Iteration) continue;
      const double us = r.GetAdjustedRealTime();  // per iteration, microseconds
      if (us > 0) rate_[r.run_name.function_name] = 1e6 / us;
    }
  }
  // "  <name>  <rate>/s  baseline <rate>/s  ratio <r>", when both ran.
  void PrintRatio(const std::string& name, const std::string& baseline) const {
    auto a = rate_.find(name), b = rate_.find(baseline);
    if (a == rate_.end() || b == rate_.end()) return;
    std::printf("  %-40s %10.0f/s   baseline %10.0f/s   ratio %.4f\n", name.c_str(), a->second,
                b->second, a->second / b->second);
  }
  const std::map<std::string, double>& rates() const { return rate_; }

 private:
  std::map<std::string, double> rate_;
};

}  // namespace sealtrace::bench
