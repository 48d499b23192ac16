// Redactor: finds secrets and personal data in text and replaces them.
//
// One engine for the whole recorder: the privacy gate (typed text, window
// titles), `sealtrace redact` and the evaluation tool all use this class.
//
// How it works: a Vectorscan (Hyperscan) multi-pattern database, compiled once
// per Redactor, proposes candidates; per-kind validators confirm each one
// (Luhn for cards, mod-97 for IBAN, SSN ranges, JWT header JSON, token prefixes
// and lengths, entropy for passwords and generic secrets). Overlapping
// confirmed findings are merged into one.
//
// Cost: linear in the input. Every pattern has a bounded width, every
// validator looks at a bounded neighbourhood (<= kMaxFindingBytes around the
// candidate), and candidates inside an already examined token are skipped, so
// long runs, binary garbage and invalid UTF-8 cost O(n) time and O(findings)
// memory. The input is treated as bytes; invalid UTF-8 is never an error.
//
// Ownership and thread-safety: a Redactor is immutable after Create() and is
// shared via std::shared_ptr<const Redactor>. Scan()/Redact() may be called
// concurrently from any number of threads: the database is shared, and each
// call borrows a Vectorscan scratch from an internal pool (one per concurrent
// caller, grown on demand).
//
// Failure: Create() returns an error if the database cannot be compiled or
// scratch cannot be allocated; callers (the recorder) must then refuse to
// record. Scan() returns an error only if Vectorscan fails at run time.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

struct hs_database;
struct hs_scratch;

namespace sealtrace::privacy {

enum class Kind : uint8_t {
  kPaymentCard,
  kIban,
  kUsSsn,
  kEmail,
  kPhone,
  kAwsAccessKey,
  kAwsSecretKey,
  kGithubToken,
  kGitlabToken,
  kSlackToken,
  kSlackWebhook,
  kStripeKey,
  kGoogleApiKey,
  kNpmToken,
  kOpenaiKey,
  kJwt,
  kPrivateKey,
  kPassword,
  kGenericSecret,
  kNeverRecord,
  // National identifiers, each confirmed by its check digits or format.
  kUkNino,
  kNlBsn,
  kEsDni,  // DNI and NIE
  kItCodiceFiscale,
  kInAadhaar,
  kInPan,
  kBrCpf,
  kPlPesel,
  kSePersonnummer,
  kFrNir,
  kCaSin,
  kAuTfn,
  kDeSteuerId,
  kUsItin,
  // Banking and card context; personal data in forms.
  kCardSecurityCode,  // CVV/CVC beside a card number or after its cue
  kCardExpiry,        // expiry beside a card number or after its cue
  kUsRoutingNumber,   // ABA routing number (checksum) after a cue
  kBankAccount,       // account number after a cue
  kUkSortCode,        // sort code (with or without the account beside it)
  kDateOfBirth,       // a date after a birth-date cue
  // Credentials beyond passwords.
  kPin,
  kBasicAuth,  // HTTP Basic credentials (Authorization header, base64 user:pass)
  kCount,
};

// Stable machine-readable name, e.g. "payment_card". Used in markers and JSON.
std::string_view KindName(Kind kind);
// Inverse of KindName; false if unknown.
bool KindFromName(std::string_view name, Kind* kind);
// "[REDACTED:<name>]".
std::string Placeholder(Kind kind);
// Upper bound of the length bucket for RedactionMarker: 8, 16, 32, 64, ...
uint32_t LengthBucket(size_t length);

// A confirmed finding: bytes [begin, end) of the scanned text.
struct Finding {
  Kind kind;
  size_t begin;
  size_t end;
  bool operator==(const Finding&) const = default;
};

struct RedactorOptions {
  // Contributor-supplied never-record words or phrases: matched
  // case-insensitively (ASCII case folding) as whole words. Empty entries are
  // ignored. Each must be at most kMaxFindingBytes long.
  std::vector<std::string> never_record;
};

class Redactor {
 public:
  // The longest finding that stream users (StreamRedactor, the gate) must be
  // able to see whole, and the context validators look at around it. Stream
  // users hold back kHoldBytes of text before deciding. Longer secrets (very
  // long JWTs, PEM blocks) are still caught: a finding that runs into the
  // undecided tail is continued by the stream user (see StreamRedactor).
  static constexpr size_t kMaxFindingBytes = 512;
  static constexpr size_t kContextBytes = 32;
  static constexpr size_t kHoldBytes = kMaxFindingBytes + kContextBytes;

  static absl::StatusOr<std::shared_ptr<const Redactor>> Create(
      const RedactorOptions& options = {});
  ~Redactor();
  Redactor(const Redactor&) = delete;
  Redactor& operator=(const Redactor&) = delete;

  // Findings in `text`, sorted by begin, non-overlapping (overlaps merged).
  absl::StatusOr<std::vector<Finding>> Scan(std::string_view text) const;

  // Findings of every line of `text` ('\n'-separated; the '\n' belongs to no
  // line), each line redacted exactly as Scan(line) would (no context or
  // look-back across lines), with offsets into `text`; sorted by begin.
  // Faster than one Scan per line: one Vectorscan pass over many lines.
  absl::StatusOr<std::vector<Finding>> ScanLines(std::string_view text) const;

  // `text` with every finding replaced by Placeholder(kind). If `findings` is
  // non-null it receives the findings (offsets into `text`).
  absl::StatusOr<std::string> Redact(std::string_view text,
                                     std::vector<Finding>* findings = nullptr) const;

  // Replaces the (sorted, non-overlapping) findings in `text` by placeholders.
  static std::string Apply(std::string_view text, const std::vector<Finding>& findings);

  // Implementation detail, public for the Vectorscan callback.
  struct Rule;

 private:
  Redactor() = default;
  hs_scratch* AcquireScratch() const;
  void ReleaseScratch(hs_scratch* s) const;
  // ScanLines' parts. Each appends findings (offsets in `text`) to *out.
  // Scans [b, e) of text on its own.
  absl::Status ScanOneLine(std::string_view text, size_t b, size_t e,
                           std::vector<Finding>* out) const;
  // Scans every line of text on its own.
  absl::Status ScanEachLine(std::string_view text, std::vector<Finding>* out) const;
  // Scratch for the anchored patterns' database (compiled on first use);
  // false when it cannot be had (then ScanLines scans line by line);
  // *scratch stays null when there are no anchored patterns.
  bool AnchorsScratch(hs_scratch** scratch) const;
  // Scans blocks of many lines in one call each; lines that need a scan of
  // their own are added to *dirty.
  absl::Status ScanBlocks(std::string_view text, hs_scratch* anchors_scratch,
                          std::vector<Finding>* out, std::vector<size_t>* dirty) const;
  // Replaces what the shared pass found in the `dirty` lines by a scan of
  // each of them on its own.
  absl::Status RescanDirtyLines(std::string_view text, std::vector<size_t> dirty,
                                std::vector<Finding>* out) const;

  hs_database* db_ = nullptr;
  std::vector<Rule> rules_;  // indexed by rule id
  // Vectorscan pattern id -> its rules: pattern_rules_[pattern_rules_at_[id]
  // .. pattern_rules_at_[id + 1]) (rules with the same pattern share it).
  std::vector<uint32_t> pattern_rules_;
  std::vector<uint32_t> pattern_rules_at_;
  // ScanLines: how each pattern is treated when many lines share one scan
  // (redactor.cc, LineMode), the whole-text patterns, and the anchored ones,
  // which a small database compiled on the first ScanLines call finds.
  std::vector<uint8_t> pattern_line_mode_;     // pattern id -> LineMode
  std::vector<uint32_t> whole_text_patterns_;  // their pattern ids
  bool lines_in_one_scan_ = false;             // ScanLines may scan many lines at once
  std::vector<std::string> anchored_exprs_;
  std::vector<unsigned> anchored_flags_;
  mutable std::once_flag anchors_once_;
  mutable hs_database* anchors_db_ = nullptr;
  mutable bool anchors_ok_ = false;
  std::vector<std::string> never_record_;
  hs_scratch* proto_scratch_ = nullptr;
  mutable std::mutex mu_;
  mutable std::vector<hs_scratch*> free_scratch_;
};

// Incremental redaction of one text stream that arrives in pieces (a run of
// typed text, a long line read in chunks). Offsets in findings are absolute
// within the current run (bytes since the last EndRun()).
//
// Hold bound: text is emitted once it is at least Redactor::kHoldBytes behind
// the end of what was appended (or when the run ends). A finding that starts
// in the emitted part is therefore seen whole with its context, so a secret
// split across Append() calls is found exactly as if it came in one piece.
// Text is decided in batches (up to 32 KiB of new text per scan), so each
// byte is scanned about once.
// Memory: at most ~2 * kHoldBytes plus one batch plus the last appended piece.
// A finding that still reaches the undecided end when it must be emitted
// (a secret longer than kMaxFindingBytes) is continued: following text is
// redacted as the same kind up to the next whitespace (for private keys: up to
// and including the "-----END ...-----" line).
//
// Not thread-safe (one instance per stream); the Redactor may be shared.
class StreamRedactor {
 public:
  explicit StreamRedactor(std::shared_ptr<const Redactor> redactor);

  // Appends `text`. Appends the redacted form of the newly decided prefix to
  // *out and its findings to *findings (either may be null).
  absl::Status Append(std::string_view text, std::string* out, std::vector<Finding>* findings);
  // Ends the run: decides and emits everything pending; the next Append starts
  // a new run (offsets restart at 0, no look-back across runs).
  absl::Status EndRun(std::string* out, std::vector<Finding>* findings);

 private:
  absl::Status Decide(bool final, std::string* out, std::vector<Finding>* findings);

  std::shared_ptr<const Redactor> redactor_;
  std::string buf_;          // text from buf_base_ (context + undecided)
  size_t buf_base_ = 0;      // absolute offset of buf_[0]
  size_t decided_ = 0;       // absolute offset: everything before is emitted
  bool continuing_ = false;  // a finding runs on past decided_
  Kind continue_kind_ = Kind::kCount;
};

// Helpers exposed for tests and for the corpus tool.
bool LuhnValid(std::string_view digits);
bool IbanValid(std::string_view compact);  // uppercase, no spaces
double ShannonEntropy(std::string_view s);

}  // namespace sealtrace::privacy
