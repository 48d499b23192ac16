#include "privacy/redactor.h"
#include "privacy/hs_compile.h"
#include "privacy/redactor_rules.h"

#include <hs.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <cstring>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"

namespace sealtrace::privacy {
namespace {
using namespace rules;  // NOLINT: the rule helpers are this file's vocabulary
constexpr std::array<std::string_view, static_cast<size_t>(Kind::kCount)> kKindNames = {
    "payment_card",   "iban",           "us_ssn",         "email",
    "phone",          "aws_access_key", "aws_secret_key", "github_token",
    "gitlab_token",   "slack_token",    "slack_webhook",  "stripe_key",
    "google_api_key", "npm_token",      "openai_key",     "jwt",
    "private_key",    "password",       "generic_secret", "never_record",
    // National identifiers.
    "uk_nino", "nl_bsn", "es_dni", "it_codice_fiscale", "in_aadhaar", "in_pan", "br_cpf",
    "pl_pesel", "se_personnummer", "fr_nir", "ca_sin", "au_tfn", "de_steuer_id", "us_itin",
    // Banking and card context, personal data in forms.
    "card_security_code", "card_expiry", "us_routing_number", "bank_account", "uk_sort_code",
    "date_of_birth",
    // Credentials beyond passwords.
    "pin", "basic_auth",
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
  std::vector<std::string> exprs;
  std::vector<unsigned> flags;
  for (size_t i = 0; i < r->rules_.size(); ++i) {
    for (const auto& p : r->rules_[i].patterns) {
      exprs.push_back(p.expr);
      flags.push_back(p.flags);
      r->pattern_rule_.push_back(static_cast<uint32_t>(i));
    }
  }
  if (!r->never_record_.empty()) {
    size_t rule = r->rules_.size();
    r->rules_.push_back(NeverRecordRule());
    for (const auto& w : r->never_record_) {
      exprs.push_back(EscapeLiteral(w));
      flags.push_back(kSom | kCi);
      r->pattern_rule_.push_back(static_cast<uint32_t>(rule));
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
    return absl::InternalError(absl::StrCat("redaction engine: cannot compile pattern ", expr,
                                            ": ", std::string(compiled.status().message())));
  }
  r->db_ = *compiled;
  if (hs_alloc_scratch(r->db_, &r->proto_scratch_) != HS_SUCCESS)
    return absl::ResourceExhaustedError("redaction engine: cannot allocate scratch");
  return std::shared_ptr<const Redactor>(std::move(r));
}

Redactor::~Redactor() {
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
  const std::vector<uint32_t>* pattern_rule;
};

int OnMatch(unsigned int id, unsigned long long from, unsigned long long to, unsigned int,
            void* ctx) {
  auto* c = static_cast<CallbackCtx*>(ctx);
  uint32_t rule = (*c->pattern_rule)[id];
  Finding f{};
  if ((*c->rules)[rule].validate(*c->st, rule, static_cast<size_t>(from), static_cast<size_t>(to),
                                 &f) &&
      f.end > f.begin) {
    c->st->out->push_back(f);
  }
  return 0;
}

int KindPriority(Kind k) {
  switch (k) {
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

// Sorts and merges overlapping findings. The merged finding takes the kind of
// the most specific member (KindPriority).
std::vector<Finding> Merge(std::vector<Finding> v) {
  std::sort(v.begin(), v.end(), [](const Finding& a, const Finding& b) {
    return a.begin != b.begin ? a.begin < b.begin : a.end > b.end;
  });
  std::vector<Finding> out;
  for (const Finding& f : v) {
    if (!out.empty() && f.begin < out.back().end) {
      Finding& m = out.back();
      // Prefer the more specific kind (secrets > identifiers > contact data >
      // cue-based); ties: the longer finding.
      size_t mlen = m.end - m.begin, flen = f.end - f.begin;
      int mp = KindPriority(m.kind), fp = KindPriority(f.kind);
      if (fp < mp || (fp == mp && flen > mlen)) m.kind = f.kind;
      m.end = std::max(m.end, f.end);
    } else {
      out.push_back(f);
    }
  }
  return out;
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
  CallbackCtx ctx{&st, &rules_, &pattern_rule_};
  hs_scratch* scratch = AcquireScratch();
  if (!scratch) return absl::ResourceExhaustedError("redaction engine: cannot allocate scratch");
  hs_error_t rc =
      hs_scan(db_, text.data(), static_cast<unsigned>(text.size()), 0, scratch, OnMatch, &ctx);
  ReleaseScratch(scratch);
  if (rc != HS_SUCCESS) return absl::InternalError(absl::StrCat("redaction scan failed: ", rc));
  return Merge(std::move(raw));
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
constexpr size_t kStreamBatch = 256;
}

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
