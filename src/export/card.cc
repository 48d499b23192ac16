#include "export/card.h"

#include "absl/strings/str_cat.h"
#include "nlohmann/json.hpp"

namespace sealtrace::exporter {
namespace {

using ojson = nlohmann::ordered_json;

std::string Str(const ojson& j) {
  if (j.is_string()) return j.get<std::string>();
  return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

// Markdown table cell: no pipes or newlines.
std::string Cell(const ojson& j) {
  std::string s = Str(j);
  std::string out;
  for (char c : s) {
    if (c == '|') {
      out += "\\|";
    } else if (c == '\n' || c == '\r') {
      out += ' ';
    } else {
      out.push_back(c);
    }
  }
  return out;
}

}  // namespace

absl::StatusOr<std::string> CardMarkdown(std::string_view card_json) {
  ojson c;
  try {
    c = ojson::parse(card_json);
  } catch (const std::exception&) {
    return absl::InvalidArgumentError("card is not valid JSON");
  }
  std::string md;
  auto line = [&](const std::string& s) {
    md += s;
    md += "\n";
  };
  try {
    line(absl::StrCat("# Dataset card: ", Str(c["dataset_id"])));
    line("");
    line("Human computer-use demonstrations recorded with sealtrace, reduced to actions,");
    line("redacted on the recording device, pseudonymised and timing-anonymised on export.");
    line("");
    line("## Release");
    line("");
    line("| field | value |");
    line("|---|---|");
    for (const char* k : {"dataset_id", "created_utc", "grant_id", "purpose", "status"}) {
      if (c.contains(k)) line(absl::StrCat("| ", k, " | ", Cell(c[k]), " |"));
    }
    line("");
    line("Audit checkpoint at export time:");
    line("");
    line("```");
    line(Str(c["audit_checkpoint"]));
    line("```");
    line("");
    line("## What is inside");
    line("");
    line("| count | value |");
    line("|---|---|");
    for (auto it = c["counts"].begin(); it != c["counts"].end(); ++it) {
      if (it.value().is_object()) continue;
      line(absl::StrCat("| ", it.key(), " | ", Cell(it.value()), " |"));
    }
    line("");
    line("Steps per action kind:");
    line("");
    line("| kind | steps |");
    line("|---|---|");
    for (auto it = c["counts"]["steps_by_kind"].begin(); it != c["counts"]["steps_by_kind"].end();
         ++it) {
      line(absl::StrCat("| ", it.key(), " | ", Cell(it.value()), " |"));
    }
    line("");
    line("Formats and shards:");
    line("");
    line("| file | format | episodes | bytes | sha256 |");
    line("|---|---|---|---|---|");
    for (const auto& s : c["shards"]) {
      line(absl::StrCat("| ", Cell(s["file"]), " | ", Cell(s["format"]), " | ", Cell(s["episodes"]),
                        " | ", Cell(s["bytes"]), " | ", Cell(s["sha256"]), " |"));
    }
    line("");
    line("## Privacy transforms");
    line("");
    for (const auto& t : c["transforms"]) {
      line(absl::StrCat("### ", Str(t["name"])));
      line("");
      line(Str(t["description"]));
      line("");
      line("Parameters:");
      line("");
      for (auto it = t["parameters"].begin(); it != t["parameters"].end(); ++it) {
        line(absl::StrCat("- `", it.key(), "`: ", Str(it.value())));
      }
      line("");
    }
    line("## Differential privacy");
    line("");
    const ojson& dp = c["differential_privacy"];
    for (auto it = dp.begin(); it != dp.end(); ++it) {
      if (it.key() == "cells") continue;
      line(absl::StrCat("- `", it.key(), "`: ", Str(it.value())));
    }
    line("");
    line("Noisy counts are in `stats_dp.json`.");
    line("");
    line("## Action reduction parameters");
    line("");
    for (auto it = c["reduction"].begin(); it != c["reduction"].end(); ++it) {
      line(absl::StrCat("- `", it.key(), "`: ", Str(it.value())));
    }
    line("");
    line("## Skipped segments");
    line("");
    if (c["skipped_segments"].empty()) {
      line("None.");
    } else {
      line("Segment references are keyed hashes (the operator's export report has the ids).");
      line("");
      line("| segment | reason |");
      line("|---|---|");
      for (const auto& s : c["skipped_segments"]) {
        line(absl::StrCat("| ", Cell(s["segment"]), " | ", Cell(s["reason"]), " |"));
      }
    }
    line("");
    line("## Known limits");
    line("");
    for (const auto& l : c["limits"]) line(absl::StrCat("- ", Str(l)));
  } catch (const std::exception&) {
    return absl::InvalidArgumentError("card JSON lacks required fields");
  }
  return md;
}

}  // namespace sealtrace::exporter
