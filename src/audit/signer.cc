#include "audit/signer.h"

#include <sodium.h>

#include <optional>
#include <sstream>

#include "absl/strings/str_cat.h"
#include "common/bytes.h"
#include "common/env.h"
#include "crypto/crypto.h"
#include "crypto/pkcs11.h"

namespace sealtrace::audit {
namespace {

// A NoteSigner whose private half is the token key `label`.
absl::StatusOr<NoteSigner> TokenSigner(const AuditSigner::TokenFn& token, const std::string& label,
                                       std::string_view name, std::string_view public_key) {
  return NoteSigner::External(
      name, public_key, [token, label](std::string_view text) -> absl::StatusOr<std::string> {
        auto t = token();
        if (!t.ok()) return t.status();
        return (*t)->SignEd25519(label, text);
      });
}

}  // namespace

AuditSigner::AuditSigner(Env* env, std::string path, NoteSigner current,
                         std::vector<NoteVerifier> retired)
    : env_(env),
      path_(std::move(path)),
      current_(std::move(current)),
      retired_(std::move(retired)) {}

absl::StatusOr<std::unique_ptr<AuditSigner>> AuditSigner::Open(Env* env, const std::string& path,
                                                               TokenFn token) {
  if (env == nullptr) env = Env::Default();
  auto text = env->ReadFile(path);
  if (!text.ok()) return text.status();
  std::istringstream in(*text);
  sodium_memzero(text->data(), text->size());
  std::string line;
  std::optional<NoteSigner> current;
  std::string hsm_label;
  std::vector<NoteVerifier> retired;
  int line_no = 0;
  auto bad = [&](const std::string& why) {
    return absl::InvalidArgumentError(absl::StrCat(path, ":", line_no, ": ", why));
  };
  while (std::getline(in, line)) {
    ++line_no;
    if (line.empty() || line[0] == '#') continue;
    const bool local = line.rfind("PRIVATE+KEY+", 0) == 0;
    const bool in_hsm = line.rfind("hsm ", 0) == 0;
    if ((local || in_hsm) && current.has_value()) return bad("second current key");
    if (local) {
      auto s = NoteSigner::FromSignerKey(line);
      sodium_memzero(line.data(), line.size());
      if (!s.ok()) return bad(std::string(s.status().message()));
      current.emplace(*std::move(s));
    } else if (in_hsm) {
      std::string_view rest = std::string_view(line).substr(4);
      size_t sp = rest.find(' ');
      if (sp == std::string_view::npos || sp == 0) return bad("want \"hsm <label> <verifier key>\"");
      auto v = NoteVerifier::FromVerifierKey(rest.substr(sp + 1));
      if (!v.ok()) return bad(std::string(v.status().message()));
      if (!token) return bad("the current key is in an HSM, and no HSM is configured");
      hsm_label = std::string(rest.substr(0, sp));
      auto s = TokenSigner(token, hsm_label, v->name(), v->public_key());
      if (!s.ok()) return bad(std::string(s.status().message()));
      current.emplace(*std::move(s));
    } else if (line.rfind("retired ", 0) == 0) {
      auto v = NoteVerifier::FromVerifierKey(std::string_view(line).substr(8));
      if (!v.ok()) return bad(std::string(v.status().message()));
      retired.push_back(*std::move(v));
    } else {
      return bad("unrecognised line");
    }
  }
  if (!current.has_value())
    return absl::InvalidArgumentError(absl::StrCat(path, ": no current key"));
  std::unique_ptr<AuditSigner> out(
      new AuditSigner(env, path, *std::move(current), std::move(retired)));
  out->token_ = std::move(token);
  out->hsm_label_ = std::move(hsm_label);
  return out;
}

absl::StatusOr<NoteSigner> AuditSigner::NewKey(const std::string& name, std::string* label) const {
  label->clear();
  if (!token_) return NoteSigner::Generate(name, env_);
  auto t = token_();
  if (!t.ok()) return t.status();
  const std::string l = "sealtrace-audit-" + ToHex(RandomBytes(8));
  if (auto s = (*t)->GenerateEd25519Key(l); !s.ok()) return s;
  auto pk = (*t)->Ed25519PublicKey(l);
  if (!pk.ok()) return pk.status();
  auto s = TokenSigner(token_, l, name, *pk);
  if (s.ok()) *label = l;
  return s;
}

absl::StatusOr<std::unique_ptr<AuditSigner>> AuditSigner::OpenOrCreate(Env* env,
                                                                       const std::string& path,
                                                                       const std::string& name,
                                                                       TokenFn token) {
  if (env == nullptr) env = Env::Default();
  if (env->FileExists(path)) {
    auto s = Open(env, path, std::move(token));
    if (!s.ok()) return s.status();
    if ((*s)->name() != name) {
      return absl::FailedPreconditionError(absl::StrCat(path, ": key is named \"", (*s)->name(),
                                                        "\", the log origin is \"", name, "\""));
    }
    return s;
  }
  // A placeholder key until NewKey (which needs the object for its token).
  auto placeholder = NoteSigner::Generate(name, env);
  if (!placeholder.ok()) return placeholder.status();
  std::unique_ptr<AuditSigner> s(new AuditSigner(env, path, *std::move(placeholder), {}));
  s->token_ = std::move(token);
  std::lock_guard<std::mutex> l(s->mu_);
  auto key = s->NewKey(name, &s->hsm_label_);
  if (!key.ok()) return key.status();
  s->current_ = *std::move(key);
  if (auto st = s->SaveLocked(); !st.ok()) return st;
  return s;
}

absl::Status AuditSigner::SaveLocked() const {
  std::string text =
      "# sealtrace audit checkpoint signing key. SECRET: keep mode 0600, never share.\n";
  if (current_.external()) {
    absl::StrAppend(&text, "hsm ", hsm_label_, " ", current_.verifier().VerifierKey(), "\n");
  } else {
    absl::StrAppend(&text, current_.SignerKey(), "\n");
  }
  for (const auto& v : retired_) absl::StrAppend(&text, "retired ", v.VerifierKey(), "\n");
  absl::Status s = WriteFileAtomic(env_, path_, text, 0600);
  sodium_memzero(text.data(), text.size());
  return s;
}

std::string AuditSigner::name() const {
  std::lock_guard<std::mutex> l(mu_);
  return current_.name();
}

std::string AuditSigner::VerifierKey() const {
  std::lock_guard<std::mutex> l(mu_);
  return current_.verifier().VerifierKey();
}

std::vector<NoteVerifier> AuditSigner::Verifiers() const {
  std::lock_guard<std::mutex> l(mu_);
  std::vector<NoteVerifier> out{current_.verifier()};
  out.insert(out.end(), retired_.begin(), retired_.end());
  return out;
}

absl::StatusOr<std::string> AuditSigner::SignCheckpoint(const Checkpoint& cp) const {
  std::lock_guard<std::mutex> l(mu_);
  return audit::SignCheckpoint(cp, current_);
}

absl::StatusOr<std::string> AuditSigner::Cosign(std::string_view note) const {
  std::lock_guard<std::mutex> l(mu_);
  return AddSignature(note, current_);
}

absl::Status AuditSigner::Rotate() {
  std::lock_guard<std::mutex> l(mu_);
  std::string label;
  auto fresh = NewKey(current_.name(), &label);
  if (!fresh.ok()) return fresh.status();
  NoteVerifier old = current_.verifier();
  NoteSigner previous = std::move(current_);
  std::string previous_label = std::move(hsm_label_);
  current_ = *std::move(fresh);
  hsm_label_ = label;
  retired_.push_back(old);
  if (absl::Status s = SaveLocked(); !s.ok()) {
    // Keep signing with the key that is on disk.
    retired_.pop_back();
    current_ = std::move(previous);
    hsm_label_ = std::move(previous_label);
    if (auto t = token_ ? token_() : absl::StatusOr<Pkcs11Token*>(nullptr); t.ok() && *t) {
      (*t)->DestroyKey(label).IgnoreError();
    }
    return s;
  }
  // The retired private key is of no further use: destroy it in the token.
  if (!previous_label.empty() && token_) {
    if (auto t = token_(); t.ok()) (*t)->DestroyKey(previous_label).IgnoreError();
  }
  return absl::OkStatus();
}

}  // namespace sealtrace::audit
