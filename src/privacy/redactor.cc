#include "privacy/redactor.h"

#include <hs.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <cstring>
#include <map>
#include <utility>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "privacy/hs_compile.h"
#include "privacy/redactor_rules.h"

namespace sealtrace::privacy {
namespace rules {
// Whole-text rules. A rule whose pattern is exactly this expression (it
// matches [0, 1) of every non-empty text) has its validator called once per
// scanned text, with the candidate [0, 1): for candidates that a byte-class
// scan finds much faster than Vectorscan can (character-class runs with no
// literal to anchor on, which Vectorscan reports at nearly every offset). Such
// a validator may add any number of findings inside st.text to st.out itself
// and then returns false; each finding must depend only on a bounded
// neighbourhood of it (<= kHoldBytes), as for any rule, so that stream users
// see the same findings. It is linear in the text. In ScanLines the engine
// calls it once per line instead of letting Vectorscan match it.
extern const char kWholeTextPattern[] = R"(^[\s\S])";
}  // namespace rules

namespace {
using namespace rules;  // NOLINT: the rule helpers are this file's vocabulary
constexpr std::array<std::string_view, static_cast<size_t>(Kind::kCount)> kKindNames = {
    "payment_card",
    "iban",
    "us_ssn",
    "email",
    "phone",
    "aws_access_key",
    "aws_secret_key",
    "github_token",
    "gitlab_token",
    "slack_token",
    "slack_webhook",
    "stripe_key",
    "google_api_key",
    "npm_token",
    "openai_key",
    "jwt",
    "private_key",
    "password",
    "generic_secret",
    "never_record",
    // National identifiers.
    "uk_nino",
    "nl_bsn",
    "es_dni",
    "it_codice_fiscale",
    "in_aadhaar",
    "in_pan",
    "br_cpf",
    "pl_pesel",
    "se_personnummer",
    "fr_nir",
    "ca_sin",
    "au_tfn",
    "de_steuer_id",
    "us_itin",
    // Banking and card context, personal data in forms.
    "card_security_code",
    "card_expiry",
    "us_routing_number",
    "bank_account",
    "uk_sort_code",
    "date_of_birth",
    // Credentials beyond passwords.
    "pin",
    "basic_auth",
};
}  // namespace

// ---------------------------------------------------------------------------
// Public helpers

std::string_view KindName(Kind kind) {
  size_t i = static_cast<size_t>(kind);
  return i < kKindNames.size() ? kKindNames[i] : "unknown";
}

bool KindFromName(std::string_view name, Kind* kind) {
  for (size_t i = 0; i < kKindNames.size(); ++i) {
    if (kKindNames[i] == name) {
      *kind = static_cast<Kind>(i);
      return true;
    }
  }
  return false;
}

std::string Placeholder(Kind kind) {
  std::string s = "[REDACTED:";
  s.append(KindName(kind));
  s.push_back(']');
  return s;
}

uint32_t LengthBucket(size_t length) {
  uint64_t b = 8;
  while (b < length && b < (1ull << 31)) b <<= 1;
  return static_cast<uint32_t>(b);
}
double ShannonEntropy(std::string_view s) {
  if (s.empty()) return 0;
  std::array<int, 256> counts{};
  for (unsigned char c : s) counts[c]++;
  double h = 0;
  const double n = static_cast<double>(s.size());
  for (int c : counts) {
    if (c == 0) continue;
    double p = c / n;
    h -= p * std::log2(p);
  }
  return h;
}

namespace {

std::vector<Redactor::Rule> BuiltinRules() {
  std::vector<Redactor::Rule> r;
  AddIdentifierRules(&r);
  AddTokenRules(&r);
  AddCredentialRules(&r);
  return r;
}

std::string EscapeLiteral(std::string_view w) {
  std::string out;
  static const char* hex = "0123456789abcdef";
  for (unsigned char c : w) {
    if (IsAlnum(c)) {
      out.push_back(static_cast<char>(c));
    } else {
      out += "\\x";
      out.push_back(hex[c >> 4]);
      out.push_back(hex[c & 15]);
    }
  }
  return out;
}

int OnMatch(unsigned int id, unsigned long long from, unsigned long long to, unsigned int,
            void* ctx);

// How ScanLines treats a pattern when many lines share one Vectorscan scan.
// kLineExact: its matches inside a line are exactly its matches in that line
// scanned alone: it reports its start of match (a match reaching back into an
// earlier line is seen as such and that line is scanned again alone) and has
// no anchor. \b is the same at a line start and at the start of a text ('\n'
// is not a word byte). kLineRescan: no start of match, so a line with one of
// its matches is scanned again alone. kLineAnchored: ^ or $ (or multi-line
// mode), whose meaning changes at a line boundary: the main scan ignores it,
// a small multi-line database of such patterns finds the lines where it
// matches, and those lines are scanned again alone. kLineUnsafe (\A \z \Z \G,
// \Q, an inline (?m), single-match or combination flags): ScanLines scans
// line by line. Conservative: anything that looks like an anchor is one.
enum LineMode : uint8_t { kLineExact, kLineWholeText, kLineRescan, kLineAnchored, kLineUnsafe };

LineMode PatternLineMode(const char* expr, unsigned flags) {
  if (flags & (HS_FLAG_SINGLEMATCH | HS_FLAG_COMBINATION | HS_FLAG_QUIET)) return kLineUnsafe;
  bool in_class = false, anchored = (flags & HS_FLAG_MULTILINE) != 0;
  for (size_t i = 0; expr[i] != 0; ++i) {
    char c = expr[i];
    if (c == '\\') {
      char n = expr[i + 1];
      if (n == 0) return kLineUnsafe;
      if (!in_class && (n == 'A' || n == 'z' || n == 'Z' || n == 'G' || n == 'Q'))
        return kLineUnsafe;
      ++i;
      continue;
    }
    if (in_class) {
      if (c == ']') in_class = false;
      continue;
    }
    if (c == '[') {
      in_class = true;
      if (expr[i + 1] == '^') ++i;
      if (expr[i + 1] == ']') ++i;  // a literal ']' first in the class
      continue;
    }
    if (c == '^' || c == '$') anchored = true;
    if (c == '(' && expr[i + 1] == '?') {
      for (size_t j = i + 2; expr[j] != 0 && (IsAlpha(expr[j]) || expr[j] == '-'); ++j)
        if (expr[j] == 'm') return kLineUnsafe;
    }
  }
  if (in_class) return kLineUnsafe;
  if (anchored) return kLineAnchored;
  return (flags & HS_FLAG_SOM_LEFTMOST) ? kLineExact : kLineRescan;
}

}  // namespace

// ---------------------------------------------------------------------------
// Redactor

absl::StatusOr<std::shared_ptr<const Redactor>> Redactor::Create(const RedactorOptions& options) {
  std::shared_ptr<Redactor> r(new Redactor());
  r->rules_ = BuiltinRules();
  for (const std::string& w : options.never_record) {
    if (w.empty()) continue;
    if (w.size() > kMaxFindingBytes)
      return absl::InvalidArgumentError(
          absl::StrCat("never-record entry longer than ", kMaxFindingBytes, " bytes"));
    r->never_record_.push_back(w);
  }
  // Vectorscan patterns: one per distinct (expression, flags). Rules that
  // share a pattern (several identifier rules validate the same digit runs)
  // share its matches: each match is handed to each of them, in rule order.
  // Vectorscan does not merge identical expressions; each copy would cost a
  // full automaton over the text.
  std::vector<std::string> exprs;
  std::vector<unsigned> flags;
  std::vector<std::pair<uint32_t, uint32_t>> pattern_of_rule;  // (pattern id, rule)
  std::map<std::pair<std::string, unsigned>, uint32_t> seen;
  auto add = [&](std::string expr, unsigned f, size_t rule) {
    auto [it, fresh] = seen.try_emplace({expr, f}, static_cast<uint32_t>(exprs.size()));
    if (fresh) {
      exprs.push_back(std::move(expr));
      flags.push_back(f);
    }
    pattern_of_rule.emplace_back(it->second, static_cast<uint32_t>(rule));
  };
  for (size_t i = 0; i < r->rules_.size(); ++i)
    for (const auto& p : r->rules_[i].patterns) add(p.expr, p.flags, i);
  if (!r->never_record_.empty()) {
    size_t rule = r->rules_.size();
    r->rules_.push_back(NeverRecordRule());
    for (const auto& w : r->never_record_) add(EscapeLiteral(w), kSom | kCi, rule);
  }
  std::stable_sort(pattern_of_rule.begin(), pattern_of_rule.end(),
                   [](const auto& a, const auto& b) { return a.first < b.first; });
  // A rule listing one pattern twice is handed each match once.
  pattern_of_rule.erase(std::unique(pattern_of_rule.begin(), pattern_of_rule.end()),
                        pattern_of_rule.end());
  r->pattern_rules_at_.assign(exprs.size() + 1, 0);
  for (const auto& [pattern, rule] : pattern_of_rule) {
    r->pattern_rules_.push_back(rule);
    ++r->pattern_rules_at_[pattern + 1];
  }
  for (size_t id = 0; id < exprs.size(); ++id)
    r->pattern_rules_at_[id + 1] += r->pattern_rules_at_[id];
  // Whole-text rules, and how one Vectorscan pass can serve many lines.
  r->pattern_line_mode_.assign(exprs.size(), kLineExact);
  r->lines_in_one_scan_ = true;
  for (size_t id = 0; id < exprs.size(); ++id) {
    LineMode m = exprs[id] == kWholeTextPattern && !(flags[id] & HS_FLAG_MULTILINE)
                     ? kLineWholeText
                     : PatternLineMode(exprs[id].c_str(), flags[id]);
    r->pattern_line_mode_[id] = m;
    if (m == kLineWholeText) r->whole_text_patterns_.push_back(static_cast<uint32_t>(id));
    if (m == kLineUnsafe) r->lines_in_one_scan_ = false;
    if (m == kLineAnchored) {
      r->anchored_exprs_.push_back(exprs[id]);
      r->anchored_flags_.push_back((flags[id] & ~HS_FLAG_SOM_LEFTMOST) | HS_FLAG_MULTILINE);
    }
  }
  std::vector<const char*> cexprs;
  std::vector<unsigned> ids;
  for (size_t i = 0; i < exprs.size(); ++i) {
    cexprs.push_back(exprs[i].c_str());
    ids.push_back(static_cast<unsigned>(i));
  }
  int expr = -1;
  auto compiled = CompileHsBlockDatabase(cexprs, flags, ids, &expr);
  if (!compiled.ok()) {
    return absl::InternalError(absl::StrCat("redaction engine: cannot compile pattern ", expr, ": ",
                                            std::string(compiled.status().message())));
  }
  r->db_ = *compiled;
  if (hs_alloc_scratch(r->db_, &r->proto_scratch_) != HS_SUCCESS)
    return absl::ResourceExhaustedError("redaction engine: cannot allocate scratch");
  return std::shared_ptr<const Redactor>(std::move(r));
}

Redactor::~Redactor() {
  if (anchors_db_) hs_free_database(anchors_db_);
  for (hs_scratch* s : free_scratch_) hs_free_scratch(s);
  if (proto_scratch_) hs_free_scratch(proto_scratch_);
  if (db_) hs_free_database(db_);
}

hs_scratch* Redactor::AcquireScratch() const {
  {
    std::lock_guard<std::mutex> l(mu_);
    if (!free_scratch_.empty()) {
      hs_scratch* s = free_scratch_.back();
      free_scratch_.pop_back();
      return s;
    }
  }
  hs_scratch* s = nullptr;
  if (hs_clone_scratch(proto_scratch_, &s) != HS_SUCCESS) return nullptr;
  return s;
}

void Redactor::ReleaseScratch(hs_scratch* s) const {
  std::lock_guard<std::mutex> l(mu_);
  free_scratch_.push_back(s);
}

namespace {
struct CallbackCtx {
  ScanState* st;
  const std::vector<Redactor::Rule>* rules;
  const uint32_t* pattern_rules;  // rules of pattern id: [at[id], at[id + 1])
  const uint32_t* pattern_rules_at;
};

int OnMatch(unsigned int id, unsigned long long from, unsigned long long to, unsigned int,
            void* ctx) {
  auto* c = static_cast<CallbackCtx*>(ctx);
  for (uint32_t k = c->pattern_rules_at[id]; k < c->pattern_rules_at[id + 1]; ++k) {
    const uint32_t rule = c->pattern_rules[k];
    Finding f{};
    if ((*c->rules)[rule].validate(*c->st, rule, static_cast<size_t>(from), static_cast<size_t>(to),
                                   &f) &&
        f.end > f.begin) {
      c->st->out->push_back(f);
    }
  }
  return 0;
}

int KindPriority(Kind k) {
  switch (k) {
    // Decoded and checked as user:password: more specific than any token
    // shape (a 40-byte Basic value also has the AWS secret key's shape).
    case Kind::kBasicAuth:
      return -1;
    case Kind::kPaymentCard:
    case Kind::kIban:
    case Kind::kUsSsn:
    case Kind::kUkNino:
    case Kind::kNlBsn:
    case Kind::kEsDni:
    case Kind::kItCodiceFiscale:
    case Kind::kInAadhaar:
    case Kind::kInPan:
    case Kind::kBrCpf:
    case Kind::kPlPesel:
    case Kind::kSePersonnummer:
    case Kind::kFrNir:
    case Kind::kCaSin:
    case Kind::kAuTfn:
    case Kind::kDeSteuerId:
    case Kind::kUsItin:
    case Kind::kCardSecurityCode:
    case Kind::kCardExpiry:
    case Kind::kUsRoutingNumber:
    case Kind::kBankAccount:
    case Kind::kUkSortCode:
    case Kind::kDateOfBirth:
      return 1;
    case Kind::kEmail:
    case Kind::kPhone:
      return 2;
    case Kind::kPassword:
    case Kind::kGenericSecret:
    case Kind::kPin:
      return 3;
    case Kind::kNeverRecord:
      return 4;
    default:
      return 0;  // provider-specific secrets
  }
}

// Sorts and merges overlapping findings and appends them to *out, shifted by
// `offset`. The merged finding takes the kind of the most specific member
// (KindPriority).
void MergeInto(std::vector<Finding>& v, size_t offset, std::vector<Finding>* out) {
  std::sort(v.begin(), v.end(), [](const Finding& a, const Finding& b) {
    return a.begin != b.begin ? a.begin < b.begin : a.end > b.end;
  });
  const size_t first = out->size();
  for (const Finding& f : v) {
    if (out->size() > first && f.begin + offset < out->back().end) {
      Finding& m = out->back();
      // Prefer the more specific kind (secrets > identifiers > contact data >
      // cue-based); ties: the longer finding.
      size_t mlen = m.end - m.begin, flen = f.end - f.begin;
      int mp = KindPriority(m.kind), fp = KindPriority(f.kind);
      if (fp < mp || (fp == mp && flen > mlen)) m.kind = f.kind;
      m.end = std::max(m.end, f.end + offset);
    } else {
      out->push_back({f.kind, f.begin + offset, f.end + offset});
    }
  }
}

// What ScanLines keeps while Vectorscan runs over a block of lines. The
// validators see one line at a time (ScanState::text is the line), so their
// context stops at the line as when the line is scanned alone; their
// per-rule state is reset between lines. A match that starts before its line
// (a pattern that can match '\n') may hide, by leftmost start of match, a
// match of the same end inside the line: such a line, and a line whose match
// arrives after a later line's (Vectorscan may report a match a byte late),
// is scanned again on its own afterwards.
struct LinesCtx {
  std::string_view block;
  size_t base = 0;  // offset of block in the caller's text
  const std::vector<Redactor::Rule>* rules = nullptr;
  const uint32_t* pattern_rules = nullptr;  // as in CallbackCtx
  const uint32_t* pattern_rules_at = nullptr;
  const std::vector<uint8_t>* line_mode = nullptr;
  const std::vector<uint32_t>* whole_text_patterns = nullptr;
  const std::vector<size_t>* anchored_lines = nullptr;  // sorted line begins (block offsets)
  size_t anchored_next = 0;
  ScanState* st = nullptr;
  std::vector<Finding>* raw = nullptr;   // the current line's findings (line offsets)
  std::vector<Finding>* out = nullptr;   // everything so far (text offsets)
  std::vector<size_t>* dirty = nullptr;  // block offsets of lines to scan again
  std::vector<uint32_t> touched;         // rules whose state the current line used
  size_t line_begin = 0, line_end = 0;   // current line [begin, end); end: '\n' or block end
  bool line_dirty = false;

  void Validate(uint32_t id, size_t from, size_t to) {
    for (uint32_t k = pattern_rules_at[id]; k < pattern_rules_at[id + 1]; ++k) {
      const uint32_t rule = pattern_rules[k];
      touched.push_back(rule);
      Finding f{};
      if ((*rules)[rule].validate(*st, rule, from, to, &f) && f.end > f.begin) raw->push_back(f);
    }
  }
  void StartLine(size_t b) {
    line_begin = b;
    const void* nl = std::memchr(block.data() + b, '\n', block.size() - b);
    line_end = nl ? static_cast<size_t>(static_cast<const char*>(nl) - block.data()) : block.size();
    // A line where an anchored pattern matches is scanned again alone.
    while (anchored_next < anchored_lines->size() && (*anchored_lines)[anchored_next] < b)
      ++anchored_next;
    line_dirty = anchored_next < anchored_lines->size() && (*anchored_lines)[anchored_next] == b;
    st->text = block.substr(b, line_end - b);
    // Whole-text rules: what Vectorscan reports for the line alone, [0, 1).
    if (line_end > b && !line_dirty)
      for (uint32_t id : *whole_text_patterns) Validate(id, 0, 1);
  }
  void FinishLine() {
    if (line_dirty) {
      dirty->push_back(line_begin);
    } else if (!raw->empty()) {
      MergeInto(*raw, base + line_begin, out);
    }
    raw->clear();
    for (uint32_t rule : touched) {
      (*st->skip_until)[rule] = 0;
      (*st->last_from)[rule] = std::string_view::npos;
    }
    touched.clear();
    st->pem_end_cache_from = st->pem_end_cache_pos = std::string_view::npos;
  }
  // Finishes lines up to the one holding block[pos] (pos is not a '\n').
  void AdvanceTo(size_t pos) {
    while (pos > line_end) {
      FinishLine();
      StartLine(line_end + 1);
    }
  }
  void FinishBlock() {
    FinishLine();
    while (line_end < block.size()) {
      StartLine(line_end + 1);
      FinishLine();
    }
  }
};

int OnLineMatch(unsigned int id, unsigned long long from, unsigned long long to, unsigned int,
                void* ctx) {
  auto* c = static_cast<LinesCtx*>(ctx);
  const uint8_t mode = (*c->line_mode)[id];
  // Whole-text rules run per line (StartLine); anchored patterns are found by
  // their own database.
  if (mode == kLineWholeText || mode == kLineAnchored || to == 0) return 0;
  const size_t last = static_cast<size_t>(to) - 1;
  if (c->block[last] == '\n') return 0;  // ends with a line break: no line has it
  if (last < c->line_begin) {
    // Late for a line already finished: scan that line again on its own.
    const void* nl = memrchr(c->block.data(), '\n', last);
    c->dirty->push_back(nl ? static_cast<size_t>(static_cast<const char*>(nl) - c->block.data()) + 1
                           : 0);
    return 0;
  }
  c->AdvanceTo(last);
  if (c->line_dirty) return 0;
  if (mode == kLineRescan || from < c->line_begin) {
    c->line_dirty = true;
    return 0;
  }
  c->Validate(id, static_cast<size_t>(from) - c->line_begin,
              static_cast<size_t>(to) - c->line_begin);
  return 0;
}
}  // namespace

absl::StatusOr<std::vector<Finding>> Redactor::Scan(std::string_view text) const {
  std::vector<Finding> raw;
  if (text.empty()) return raw;
  if (text.size() > 0xffffffffu) return absl::InvalidArgumentError("text too large to scan");
  std::vector<size_t> skip(rules_.size(), 0);
  std::vector<size_t> last_from(rules_.size(), std::string_view::npos);
  ScanState st{
      text,          this, &raw, &skip, &last_from, std::string_view::npos, std::string_view::npos,
      &never_record_};
  CallbackCtx ctx{&st, &rules_, pattern_rules_.data(), pattern_rules_at_.data()};
  hs_scratch* scratch = AcquireScratch();
  if (!scratch) return absl::ResourceExhaustedError("redaction engine: cannot allocate scratch");
  hs_error_t rc =
      hs_scan(db_, text.data(), static_cast<unsigned>(text.size()), 0, scratch, OnMatch, &ctx);
  ReleaseScratch(scratch);
  if (rc != HS_SUCCESS) return absl::InternalError(absl::StrCat("redaction scan failed: ", rc));
  std::vector<Finding> out;
  MergeInto(raw, 0, &out);
  return out;
}

absl::Status Redactor::ScanOneLine(std::string_view text, size_t b, size_t e,
                                   std::vector<Finding>* out) const {
  auto f = Scan(text.substr(b, e - b));
  if (!f.ok()) return f.status();
  for (const Finding& x : *f) out->push_back({x.kind, x.begin + b, x.end + b});
  return absl::OkStatus();
}

absl::Status Redactor::ScanEachLine(std::string_view text, std::vector<Finding>* out) const {
  for (size_t b = 0; b < text.size();) {
    const void* nl = std::memchr(text.data() + b, '\n', text.size() - b);
    size_t e = nl ? static_cast<size_t>(static_cast<const char*>(nl) - text.data()) : text.size();
    if (auto s = ScanOneLine(text, b, e, out); !s.ok()) return s;
    b = e + 1;
  }
  return absl::OkStatus();
}

bool Redactor::AnchorsScratch(hs_scratch** scratch) const {
  *scratch = nullptr;
  if (anchored_exprs_.empty()) return true;
  // The anchored patterns' database, compiled once, on first use (the
  // recorder never calls ScanLines).
  std::call_once(anchors_once_, [this] {
    std::vector<const char*> e;
    std::vector<unsigned> ids;
    for (size_t i = 0; i < anchored_exprs_.size(); ++i) {
      e.push_back(anchored_exprs_[i].c_str());
      ids.push_back(static_cast<unsigned>(i));
    }
    auto db = CompileHsBlockDatabase(e, anchored_flags_, ids);
    if (db.ok()) {
      anchors_db_ = *db;
      anchors_ok_ = true;
    }
  });
  if (anchors_ok_ && hs_alloc_scratch(anchors_db_, scratch) == HS_SUCCESS) return true;
  if (*scratch) hs_free_scratch(*scratch);
  *scratch = nullptr;
  return false;
}

namespace {

// The start of every line of `block` where an anchored pattern matches,
// sorted and unique.
absl::Status MarkAnchoredLines(hs_database* db, hs_scratch* scratch, std::string_view block,
                               std::vector<size_t>* anchored_lines) {
  struct AnchorsCtx {
    std::string_view block;
    std::vector<size_t>* lines;
    size_t line_begin = 0, line_end = 0;  // last line marked
  } actx{block, anchored_lines};
  hs_error_t rc = hs_scan(
      db, block.data(), static_cast<unsigned>(block.size()), 0, scratch,
      [](unsigned, unsigned long long, unsigned long long to, unsigned, void* p) {
        auto* a = static_cast<AnchorsCtx*>(p);
        if (to == 0) return 0;
        const size_t last = static_cast<size_t>(to) - 1;
        if (a->block[last] == '\n') return 0;  // ends with a line break: no line has it
        if (!a->lines->empty() && last >= a->line_begin && last < a->line_end) return 0;
        const void* nl = memrchr(a->block.data(), '\n', last);
        a->line_begin =
            nl ? static_cast<size_t>(static_cast<const char*>(nl) - a->block.data()) + 1 : 0;
        const void* nr = std::memchr(a->block.data() + last, '\n', a->block.size() - last);
        a->line_end = nr ? static_cast<size_t>(static_cast<const char*>(nr) - a->block.data())
                         : a->block.size();
        a->lines->push_back(a->line_begin);
        return 0;
      },
      &actx);
  if (rc != HS_SUCCESS) return absl::InternalError(absl::StrCat("redaction scan failed: ", rc));
  std::sort(anchored_lines->begin(), anchored_lines->end());
  anchored_lines->erase(std::unique(anchored_lines->begin(), anchored_lines->end()),
                        anchored_lines->end());
  return absl::OkStatus();
}

}  // namespace

absl::Status Redactor::ScanBlocks(std::string_view text, hs_scratch* anchors_scratch,
                                  std::vector<Finding>* out, std::vector<size_t>* dirty) const {
  hs_scratch* scratch = AcquireScratch();
  if (!scratch) return absl::ResourceExhaustedError("redaction engine: cannot allocate scratch");
  std::vector<Finding> raw;
  std::vector<size_t> skip(rules_.size(), 0);
  std::vector<size_t> last_from(rules_.size(), std::string_view::npos);
  ScanState st{{},
               this,
               &raw,
               &skip,
               &last_from,
               std::string_view::npos,
               std::string_view::npos,
               &never_record_};
  // Blocks of whole lines that Vectorscan can take in one call (< 4 GiB).
  constexpr size_t kMaxBlock = size_t{1} << 30;
  absl::Status status;
  for (size_t b = 0; b < text.size();) {
    size_t e = text.size();
    if (e - b > kMaxBlock) {
      const void* nl = memrchr(text.data() + b, '\n', kMaxBlock);
      if (!nl) {
        status = absl::InvalidArgumentError("text too large to scan");
        break;
      }
      e = static_cast<size_t>(static_cast<const char*>(nl) - text.data()) + 1;
    }
    const std::string_view block = text.substr(b, e - b);
    std::vector<size_t> anchored_lines;
    if (anchors_scratch) {
      status = MarkAnchoredLines(anchors_db_, anchors_scratch, block, &anchored_lines);
      if (!status.ok()) break;
    }
    LinesCtx ctx;
    ctx.block = block;
    ctx.base = b;
    ctx.rules = &rules_;
    ctx.pattern_rules = pattern_rules_.data();
    ctx.pattern_rules_at = pattern_rules_at_.data();
    ctx.line_mode = &pattern_line_mode_;
    ctx.whole_text_patterns = &whole_text_patterns_;
    ctx.anchored_lines = &anchored_lines;
    ctx.st = &st;
    ctx.raw = &raw;
    ctx.out = out;
    ctx.dirty = dirty;
    const size_t first_dirty = dirty->size();
    ctx.StartLine(0);
    hs_error_t rc = hs_scan(db_, ctx.block.data(), static_cast<unsigned>(ctx.block.size()), 0,
                            scratch, OnLineMatch, &ctx);
    if (rc != HS_SUCCESS) {
      status = absl::InternalError(absl::StrCat("redaction scan failed: ", rc));
      break;
    }
    ctx.FinishBlock();
    for (size_t k = first_dirty; k < dirty->size(); ++k) (*dirty)[k] += b;
    b = e;
  }
  ReleaseScratch(scratch);
  return status;
}

absl::Status Redactor::RescanDirtyLines(std::string_view text, std::vector<size_t> dirty,
                                        std::vector<Finding>* out) const {
  if (dirty.empty()) return absl::OkStatus();
  std::sort(dirty.begin(), dirty.end());
  dirty.erase(std::unique(dirty.begin(), dirty.end()), dirty.end());
  std::vector<size_t> ends;
  for (size_t d : dirty) {
    const void* nl = std::memchr(text.data() + d, '\n', text.size() - d);
    ends.push_back(nl ? static_cast<size_t>(static_cast<const char*>(nl) - text.data())
                      : text.size());
  }
  std::vector<Finding> kept;
  size_t k = 0;
  for (const Finding& f : *out) {
    while (k < dirty.size() && ends[k] < f.begin) ++k;
    if (k < dirty.size() && f.begin >= dirty[k]) continue;  // inside dirty line k
    kept.push_back(f);
  }
  *out = std::move(kept);
  for (size_t i = 0; i < dirty.size(); ++i) {
    if (auto s = ScanOneLine(text, dirty[i], ends[i], out); !s.ok()) return s;
  }
  std::stable_sort(out->begin(), out->end(),
                   [](const Finding& a, const Finding& b) { return a.begin < b.begin; });
  return absl::OkStatus();
}

absl::StatusOr<std::vector<Finding>> Redactor::ScanLines(std::string_view text) const {
  std::vector<Finding> out;
  hs_scratch* anchors_scratch = nullptr;
  // Some pattern would mean something else across lines (kLineUnsafe), or
  // the anchored patterns cannot be told apart: one scan per line.
  if (!lines_in_one_scan_ || !AnchorsScratch(&anchors_scratch)) {
    if (auto s = ScanEachLine(text, &out); !s.ok()) return s;
    return out;
  }
  std::vector<size_t> dirty;
  absl::Status s = ScanBlocks(text, anchors_scratch, &out, &dirty);
  if (anchors_scratch) hs_free_scratch(anchors_scratch);
  if (!s.ok()) return s;
  // Lines to scan on their own: drop what the shared pass found in them.
  if (auto r = RescanDirtyLines(text, std::move(dirty), &out); !r.ok()) return r;
  return out;
}

std::string Redactor::Apply(std::string_view text, const std::vector<Finding>& findings) {
  std::string out;
  out.reserve(text.size());
  size_t pos = 0;
  for (const Finding& f : findings) {
    if (f.begin < pos || f.end > text.size()) continue;
    out.append(text.substr(pos, f.begin - pos));
    out += Placeholder(f.kind);
    pos = f.end;
  }
  out.append(text.substr(pos));
  return out;
}

absl::StatusOr<std::string> Redactor::Redact(std::string_view text,
                                             std::vector<Finding>* findings) const {
  auto f = Scan(text);
  if (!f.ok()) return f.status();
  std::string out = Apply(text, *f);
  if (findings) *findings = std::move(*f);
  return out;
}

// ---------------------------------------------------------------------------
// StreamRedactor

namespace {
// New text decided per scan once the hold bound is reached: each scan covers
// the batch plus kHoldBytes of context on either side, so with 32 KiB every
// byte is scanned about 1.03 times (with 256 it was about 5 times).
constexpr size_t kStreamBatch = 32 << 10;
}  // namespace

StreamRedactor::StreamRedactor(std::shared_ptr<const Redactor> redactor)
    : redactor_(std::move(redactor)) {}

absl::Status StreamRedactor::Append(std::string_view text, std::string* out,
                                    std::vector<Finding>* findings) {
  buf_.append(text);
  size_t end = buf_base_ + buf_.size();
  if (end - decided_ >= Redactor::kHoldBytes + kStreamBatch) return Decide(false, out, findings);
  return absl::OkStatus();
}

absl::Status StreamRedactor::EndRun(std::string* out, std::vector<Finding>* findings) {
  absl::Status s = Decide(true, out, findings);
  buf_.clear();
  buf_base_ = 0;
  decided_ = 0;
  continuing_ = false;
  return s;
}

absl::Status StreamRedactor::Decide(bool final, std::string* out, std::vector<Finding>* findings) {
  const size_t end = buf_base_ + buf_.size();
  auto local = [&](size_t abs) { return abs - buf_base_; };
  // 1. A finding that ran into the undecided tail last time continues.
  if (continuing_) {
    size_t e;
    if (continue_kind_ == Kind::kPrivateKey) {
      size_t p = buf_.find("-----END", local(decided_));
      size_t close = p == std::string::npos ? std::string::npos : buf_.find("-----", p + 8);
      e = close == std::string::npos ? end : buf_base_ + close + 5;
    } else {
      size_t i = local(decided_);
      while (i < buf_.size() && !IsSpace(buf_[i])) ++i;
      e = buf_base_ + i;
    }
    if (e > decided_ && findings) findings->push_back({continue_kind_, decided_, e});
    decided_ = e;
    if (e < end || final) continuing_ = false;
    if (continuing_) {
      // Keep only the context.
      size_t keep_from = decided_ > Redactor::kHoldBytes ? decided_ - Redactor::kHoldBytes : 0;
      if (keep_from > buf_base_) {
        buf_.erase(0, keep_from - buf_base_);
        buf_base_ = keep_from;
      }
      return absl::OkStatus();
    }
  }
  size_t target = final ? end : (end > Redactor::kHoldBytes ? end - Redactor::kHoldBytes : 0);
  if (target <= decided_ && !final) return absl::OkStatus();
  auto scanned = redactor_->Scan(buf_);
  if (!scanned.ok()) return scanned.status();
  size_t new_decided = std::max(target, decided_);
  std::vector<Finding> take;
  for (const Finding& lf : *scanned) {
    Finding f{lf.kind, lf.begin + buf_base_, lf.end + buf_base_};
    if (f.end <= decided_) continue;
    if (f.begin >= new_decided && f.begin >= target) break;
    f.begin = std::max(f.begin, decided_);
    take.push_back(f);
    new_decided = std::max(new_decided, f.end);
  }
  if (out) {
    size_t pos = decided_;
    for (const Finding& f : take) {
      out->append(buf_, local(pos), f.begin - pos);
      out->append(Placeholder(f.kind));
      pos = f.end;
    }
    out->append(buf_, local(pos), new_decided - pos);
  }
  if (!take.empty() && take.back().end == end && !final) {
    continuing_ = true;
    continue_kind_ = take.back().kind;
  }
  if (findings) findings->insert(findings->end(), take.begin(), take.end());
  decided_ = new_decided;
  size_t keep_from = decided_ > Redactor::kHoldBytes ? decided_ - Redactor::kHoldBytes : 0;
  if (keep_from > buf_base_) {
    buf_.erase(0, keep_from - buf_base_);
    buf_base_ = keep_from;
  }
  return absl::OkStatus();
}

}  // namespace sealtrace::privacy
