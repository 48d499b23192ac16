// Dataset card: the human-readable (Markdown) and machine-readable (JSON)
// description shipped with every export: what is inside, the grant and
// purpose, the transforms and their parameters, ε spent, the audit checkpoint
// at export time, counts, and skipped segments with reasons.
//
// The Exporter builds the JSON card; CardMarkdown renders it. Pure functions,
// thread-safe.
#pragma once

#include <string>
#include <string_view>

#include "absl/status/statusor.h"

namespace sealtrace::exporter {

// Renders the card JSON (as written to card.json) as Markdown.
absl::StatusOr<std::string> CardMarkdown(std::string_view card_json);

}  // namespace sealtrace::exporter
