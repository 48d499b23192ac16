// Internal to src/privacy: what the redactor's rule files share.
//
// The Redactor (redactor.cc) runs one Vectorscan database built from rules.
// A rule is a kind, its patterns (bounded width, so scanning stays linear)
// and a validator that confirms or rejects each candidate match. Rules live
// in files by family:
//   rules_identifiers.cc  payment cards, IBAN, national identifiers, bank data
//   rules_credentials.cc  passwords, PINs and credentials in commands/configs
//   rules_tokens.cc       e-mail, phone, provider tokens, JWT, PEM keys
// Each file exports one Add*Rules function; BuiltinRules() concatenates them.
//
// Validator contract: called from the Vectorscan callback with the candidate
// [from, to) (SOM leftmost); returns true and fills *out with a finding inside
// the text, or false. It may look at most Redactor::kContextBytes (or the
// width it documents, <= kMaxFindingBytes) around the candidate, and must be
// O(candidate width): use skip_until/last_from to skip repeated candidates.
// Validators are pure functions of the text: no state outside ScanState.
//
// Pattern contract for the line-batched scan (Redactor::ScanLines, the path of
// `sealtrace redact`): every pattern reports its start of match (kSom) and has
// no ^/$ anchors; check word or line starts in the validator instead. A
// pattern that breaks this still works, but sends every line it matches back
// through a slower per-line scan.
#pragma once

#include <hs.h>

#include <algorithm>
#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "privacy/redactor.h"

namespace sealtrace::privacy::rules {

inline bool IsDigit(unsigned char c) { return c >= '0' && c <= '9'; }
inline bool IsAlpha(unsigned char c) { return (c | 0x20) >= 'a' && (c | 0x20) <= 'z'; }
inline bool IsAlnum(unsigned char c) { return IsDigit(c) || IsAlpha(c); }
inline bool IsUpper(unsigned char c) { return c >= 'A' && c <= 'Z'; }
inline bool IsLower(unsigned char c) { return c >= 'a' && c <= 'z'; }
// Word bytes for whole-word checks: ASCII alnum, '_' and any non-ASCII byte
// (so UTF-8 letters count as word characters).
inline bool IsWordByte(unsigned char c) { return IsAlnum(c) || c == '_' || c >= 0x80; }
inline bool IsSpace(unsigned char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
}
inline bool IsB64Url(unsigned char c) { return IsAlnum(c) || c == '-' || c == '_'; }
inline bool IsB64Std(unsigned char c) { return IsAlnum(c) || c == '+' || c == '/'; }
inline char Lower(unsigned char c) { return static_cast<char>(IsUpper(c) ? c + 32 : c); }

struct ScanState {
  std::string_view text;
  const Redactor* redactor;
  std::vector<Finding>* out;
  std::vector<size_t>* skip_until;  // per rule: hits starting before this are skipped
  std::vector<size_t>* last_from;   // per rule: last SOM start examined
  size_t pem_end_cache_from = std::string_view::npos;
  size_t pem_end_cache_pos = std::string_view::npos;
  const std::vector<std::string>* never_record;
};

using Validator = bool (*)(ScanState& st, size_t rule, size_t from, size_t to, Finding* out);

inline unsigned char At(const ScanState& st, size_t i) {
  return i < st.text.size() ? static_cast<unsigned char>(st.text[i]) : 0;
}
inline unsigned char Before(const ScanState& st, size_t i) {
  return i > 0 && i <= st.text.size() ? static_cast<unsigned char>(st.text[i - 1]) : 0;
}

// Extends from `pos` over bytes accepted by `pred`, at most `max` bytes.
template <typename Pred>
size_t Extend(const ScanState& st, size_t pos, size_t max, Pred pred) {
  size_t lim = std::min(st.text.size(), pos + max);
  while (pos < lim && pred(static_cast<unsigned char>(st.text[pos]))) ++pos;
  return pos;
}

struct PatternSpec {
  const char* expr;
  unsigned flags;
};

constexpr unsigned kSom = HS_FLAG_SOM_LEFTMOST;
constexpr unsigned kCi = HS_FLAG_CASELESS;

// The pattern that makes a rule a whole-text rule (defined in redactor.cc):
// its validator runs once per scanned text (once per line in ScanLines), adds
// its findings to st.out itself and returns false. For rules whose candidates
// Vectorscan would report at nearly every offset (phone numbers, bare AWS
// secrets, digit runs); each finding still depends only on a bounded
// neighbourhood (<= Redactor::kHoldBytes), and the scan is linear.
extern const char kWholeTextPattern[];

// Password cues ending in a ':' or '=' separator (with optional quote/space).
#define SEALTRACE_RULE_SEP R"(["']?\s{0,3}(?:[:=]|\xEF\xBC\x9A)>?\s{0,3})"

}  // namespace sealtrace::privacy::rules

namespace sealtrace::privacy {

struct Redactor::Rule {
  Kind kind;
  std::vector<rules::PatternSpec> patterns;
  rules::Validator validate;
};

namespace rules {
using Rule = Redactor::Rule;
void AddIdentifierRules(std::vector<Rule>* r);
void AddCredentialRules(std::vector<Rule>* r);
void AddTokenRules(std::vector<Rule>* r);
// The never-record rule (its patterns come from RedactorOptions).
Rule NeverRecordRule();
}  // namespace rules

}  // namespace sealtrace::privacy
