#include "audit/signer.h"

#include <sodium.h>

#include <optional>
#include <sstream>

#include "absl/strings/str_cat.h"
#include "common/env.h"

namespace sealtrace::audit {

AuditSigner::AuditSigner(Env* env, std::string path, NoteSigner current,
                         std::vector<NoteVerifier> retired)
    : env_(env),
      path_(std::move(path)),
      current_(std::move(current)),
      retired_(std::move(retired)) {}

absl::StatusOr<std::unique_ptr<AuditSigner>> AuditSigner::Open(Env* env, const std::string& path) {
  if (env == nullptr) env = Env::Default();
  auto text = env->ReadFile(path);
  if (!text.ok()) return text.status();
  std::istringstream in(*text);
  sodium_memzero(text->data(), text->size());
  std::string line;
  std::optional<NoteSigner> current;
  std::vector<NoteVerifier> retired;
  int line_no = 0;
  while (std::getline(in, line)) {
    ++line_no;
    if (line.empty() || line[0] == '#') continue;
    if (line.rfind("PRIVATE+KEY+", 0) == 0) {
      if (current.has_value()) {
        return absl::InvalidArgumentError(absl::StrCat(path, ":", line_no, ": second current key"));
      }
      auto s = NoteSigner::FromSignerKey(line);
      sodium_memzero(line.data(), line.size());
      if (!s.ok()) {
        return absl::InvalidArgumentError(
            absl::StrCat(path, ":", line_no, ": ", s.status().message()));
      }
      current.emplace(*std::move(s));
    } else if (line.rfind("retired ", 0) == 0) {
      auto v = NoteVerifier::FromVerifierKey(std::string_view(line).substr(8));
      if (!v.ok()) {
        return absl::InvalidArgumentError(
            absl::StrCat(path, ":", line_no, ": ", v.status().message()));
      }
      retired.push_back(*std::move(v));
    } else {
      return absl::InvalidArgumentError(absl::StrCat(path, ":", line_no, ": unrecognised line"));
    }
  }
  if (!current.has_value())
    return absl::InvalidArgumentError(absl::StrCat(path, ": no current key"));
  return std::unique_ptr<AuditSigner>(
      new AuditSigner(env, path, *std::move(current), std::move(retired)));
}

absl::StatusOr<std::unique_ptr<AuditSigner>> AuditSigner::OpenOrCreate(Env* env,
                                                                       const std::string& path,
                                                                       const std::string& name) {
  if (env == nullptr) env = Env::Default();
  if (env->FileExists(path)) {
    auto s = Open(env, path);
    if (!s.ok()) return s.status();
    if ((*s)->name() != name) {
      return absl::FailedPreconditionError(absl::StrCat(path, ": key is named \"", (*s)->name(),
                                                        "\", the log origin is \"", name, "\""));
    }
    return s;
  }
  auto key = NoteSigner::Generate(name, env);
  if (!key.ok()) return key.status();
  std::unique_ptr<AuditSigner> s(new AuditSigner(env, path, *std::move(key), {}));
  std::lock_guard<std::mutex> l(s->mu_);
  if (auto st = s->SaveLocked(); !st.ok()) return st;
  return s;
}

absl::Status AuditSigner::SaveLocked() const {
  std::string text =
      "# sealtrace audit checkpoint signing key. SECRET: keep mode 0600, never share.\n";
  absl::StrAppend(&text, current_.SignerKey(), "\n");
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
  auto fresh = NoteSigner::Generate(current_.name(), env_);
  if (!fresh.ok()) return fresh.status();
  NoteVerifier old = current_.verifier();
  NoteSigner previous = std::move(current_);
  current_ = *std::move(fresh);
  retired_.push_back(old);
  if (absl::Status s = SaveLocked(); !s.ok()) {
    // Keep signing with the key that is on disk.
    retired_.pop_back();
    current_ = std::move(previous);
    return s;
  }
  return absl::OkStatus();
}

}  // namespace sealtrace::audit
