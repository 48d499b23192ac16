// A large mixed text for redaction throughput (bench/redact_bench.cc):
// prose, service logs, web access logs, code, configs, CSV with numbers and
// long numeric ids, hashes and base64 blobs, and ~2 % of lines from the
// labelled evaluation corpus (tools/gen_redaction_corpus: secrets,
// identifiers and their look-alikes). Deterministic: the same seed and size
// give the same bytes on every platform (own splitmix64 PRNG).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

namespace sealtrace::bench {

// About `bytes` bytes (whole lines, each ending in '\n').
std::string MixedRedactionInput(size_t bytes, uint64_t seed = 20240601);

// Adversarial inputs for the linear-time cases: long digit runs, long
// alphanumeric runs, digit groups, repeated cues, binary garbage.
std::string AdversarialRedactionInput(size_t bytes);

}  // namespace sealtrace::bench
