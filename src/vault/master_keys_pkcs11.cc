// The PKCS#11 backend of MasterKeys (master_keys.h), and OpenMasterKeys.
#include <algorithm>
#include <map>
#include <mutex>
#include <utility>

#include "crypto/pkcs11.h"
#include "vault/master_keys.h"

namespace sealtrace::vault {
namespace {

constexpr char kMasterPrefix[] = "sealtrace-master-v";
constexpr char kBindingPrefix[] = "sealtrace-bind-";

std::string MasterLabel(uint32_t v) { return kMasterPrefix + std::to_string(v); }
std::string BindingLabel(const Id16& c) { return kBindingPrefix + c.Hex(); }

// "sealtrace-master-v12" -> 12; 0 for anything else.
uint32_t VersionOfLabel(std::string_view label) {
  std::string_view p = kMasterPrefix;
  if (label.substr(0, p.size()) != p) return 0;
  std::string_view digits = label.substr(p.size());
  if (digits.empty() || digits.size() > 9 || digits[0] == '0') return 0;
  uint32_t v = 0;
  for (char c : digits) {
    if (c < '0' || c > '9') return 0;
    v = v * 10 + static_cast<uint32_t>(c - '0');
  }
  return v;
}

// A token error as the vault reports it: the operation, then the token's word.
absl::Status Explain(const absl::Status& s, const std::string& what) {
  return absl::Status(s.code(), what + ": " + std::string(s.message()));
}

// The token is opened lazily when it was absent at start (and again at most
// every kRetryMicros): until then every call fails UNAVAILABLE with the reason,
// so a vault whose HSM is down still starts and ingests (ingest needs no
// private key). A refused PIN is never retried (tokens lock after a few).
constexpr int64_t kRetryMicros = 5 * 1000000;

class Pkcs11MasterKeys final : public MasterKeys {
 public:
  Pkcs11MasterKeys(std::shared_ptr<Pkcs11Token> token, bool create_if_missing)
      : create_if_missing_(create_if_missing), token_(std::move(token)) {}
  Pkcs11MasterKeys(Env* env, MasterKeyConfig config, absl::Status why)
      : env_(env),
        config_(std::move(config)),
        create_if_missing_(config_.create_if_missing),
        open_error_(std::move(why)) {}

  absl::Status Init() {
    auto t = Token();
    if (!t.ok()) return t.status();
    if (auto s = Reload(); !s.ok()) return s;
    if (!Versions().empty()) return absl::OkStatus();
    if (auto s = CreateFirst(*t); !s.ok()) return s;
    return Reload();
  }

  std::string Describe() const override {
    std::lock_guard<std::mutex> l(mu_);
    if (token_ != nullptr) return "PKCS#11 " + token_->Describe();
    return "PKCS#11 token \"" + config_.hsm_token + "\" (" + config_.hsm_module + ")";
  }

  std::vector<uint32_t> Versions() const override {
    std::lock_guard<std::mutex> l(mu_);
    return versions_;
  }

  absl::Status Reload() override {
    auto t = Token();
    if (!t.ok()) return t.status();
    auto labels = (*t)->ListKeys(kMasterPrefix);
    if (!labels.ok()) return Explain(labels.status(), "listing master keys");
    std::vector<uint32_t> vs;
    for (const auto& l : *labels) {
      if (uint32_t v = VersionOfLabel(l); v != 0) vs.push_back(v);
    }
    std::sort(vs.begin(), vs.end());
    std::lock_guard<std::mutex> l(mu_);
    versions_ = std::move(vs);
    return absl::OkStatus();
  }

  absl::StatusOr<uint32_t> AddVersion() override {
    auto t = Token();
    if (!t.ok()) return t.status();
    std::vector<uint32_t> vs = Versions();
    const uint32_t next = vs.empty() ? 1 : vs.back() + 1;
    if (auto s = (*t)->GenerateAesKey(MasterLabel(next)); !s.ok()) {
      return Explain(s, "creating master key version " + std::to_string(next));
    }
    if (auto s = Reload(); !s.ok()) return s;
    return next;
  }

  absl::Status RemoveVersion(uint32_t version) override {
    if (auto s = DestroyKey(MasterLabel(version)); !s.ok()) {
      return Explain(s, "destroying master key version " + std::to_string(version));
    }
    return Reload();
  }

  absl::StatusOr<std::string> Wrap(uint32_t version, std::string_view plaintext,
                                   std::string_view ad) override {
    auto out = Encrypt(MasterLabel(version), plaintext, ad);
    if (!out.ok()) return Explain(out.status(), "wrapping under master key version " +
                                                    std::to_string(version));
    return out;
  }

  absl::StatusOr<std::string> Unwrap(uint32_t version, std::string_view wrapped,
                                     std::string_view ad) override {
    auto out = Decrypt(MasterLabel(version), wrapped, ad);
    if (!out.ok()) return Explain(out.status(), "unwrapping under master key version " +
                                                    std::to_string(version));
    return out;
  }

  absl::Status CreateBinding(const Id16& c) override {
    absl::Status s = GenerateAes(BindingLabel(c));
    if (s.ok() || absl::IsAlreadyExists(s)) return absl::OkStatus();
    return Explain(s, "creating the binding key of contributor " + c.Hex());
  }

  absl::StatusOr<std::string> Bind(const Id16& c, std::string_view plaintext,
                                   std::string_view ad) override {
    auto out = Encrypt(BindingLabel(c), plaintext, ad);
    if (!out.ok()) return Explain(out.status(), "binding the key of contributor " + c.Hex());
    return out;
  }

  absl::StatusOr<std::string> Unbind(const Id16& c, std::string_view wrapped,
                                     std::string_view ad) override {
    auto out = Decrypt(BindingLabel(c), wrapped, ad);
    if (absl::IsNotFound(out.status())) {
      return absl::NotFoundError("contributor " + c.Hex() + " has no binding key (destroyed)");
    }
    if (!out.ok()) return Explain(out.status(), "opening the key of contributor " + c.Hex());
    return out;
  }

  absl::Status DestroyBinding(const Id16& c) override {
    absl::Status s = DestroyKey(BindingLabel(c));
    if (s.ok() || absl::IsNotFound(s)) return absl::OkStatus();
    return Explain(s, "destroying the binding key of contributor " + c.Hex());
  }

  absl::Status Check() override {
    auto t = Token();
    if (!t.ok()) return t.status();
    if (Versions().empty()) {
      if (auto s = Reload(); !s.ok()) return s;
    }
    std::vector<uint32_t> vs = Versions();
    if (vs.empty()) return absl::FailedPreconditionError("no master key in " + (*t)->Describe());
    auto has = (*t)->HasKey(MasterLabel(vs.back()));
    if (!has.ok()) return has.status();
    if (!*has) {
      return absl::FailedPreconditionError("master key version " + std::to_string(vs.back()) +
                                           " is missing from " + (*t)->Describe());
    }
    return absl::OkStatus();
  }

  bool InHsm() const override { return true; }

  // The open token, opening it now if it was absent (see kRetryMicros).
  absl::StatusOr<Pkcs11Token*> Token() override {
    std::lock_guard<std::mutex> l(open_mu_);
    {
      std::lock_guard<std::mutex> g(mu_);
      if (token_ != nullptr) return token_.get();
    }
    const int64_t now = env_->NowMonoMicros();
    const bool pin_refused = absl::IsPermissionDenied(open_error_);
    if (pin_refused || (last_try_us_ != 0 && now - last_try_us_ < kRetryMicros)) {
      return absl::UnavailableError("the HSM is not available: " + std::string(open_error_.message()));
    }
    last_try_us_ = now;
    auto t = OpenConfiguredToken(env_, config_);
    if (!t.ok()) {
      open_error_ = t.status();
      return absl::UnavailableError("the HSM is not available: " + std::string(open_error_.message()));
    }
    // As at a start with the token present: a token without a master key gets
    // version 1 (unless the store already holds wrapped keys).
    auto has = (*t)->ListKeys(kMasterPrefix);
    if (has.ok() && has->empty()) {
      if (auto s = CreateFirst(t->get()); !s.ok()) {
        open_error_ = s;
        return absl::UnavailableError("the HSM is not available: " + std::string(s.message()));
      }
    }
    std::lock_guard<std::mutex> g(mu_);
    token_ = *std::move(t);
    return token_.get();
  }
 private:
  // Master key version 1 in a token that holds none.
  absl::Status CreateFirst(Pkcs11Token* t) {
    if (!create_if_missing_) {
      return absl::FailedPreconditionError(
          t->Describe() + " holds no sealtrace master key, but the metadata store holds "
          "contributor keys wrapped under one: refusing to make a new one that opens none of them "
          "(is this the vault's token?)");
    }
    if (auto s = t->GenerateAesKey(MasterLabel(1)); !s.ok()) {
      return Explain(s, "creating master key version 1 in " + t->Describe());
    }
    return absl::OkStatus();
  }
  absl::Status GenerateAes(const std::string& label) {
    auto t = Token();
    return t.ok() ? (*t)->GenerateAesKey(label) : t.status();
  }
  absl::Status DestroyKey(const std::string& label) {
    auto t = Token();
    return t.ok() ? (*t)->DestroyKey(label) : t.status();
  }
  absl::StatusOr<std::string> Encrypt(const std::string& label, std::string_view p,
                                      std::string_view ad) {
    auto t = Token();
    if (!t.ok()) return t.status();
    return (*t)->Encrypt(label, p, ad);
  }
  absl::StatusOr<std::string> Decrypt(const std::string& label, std::string_view w,
                                      std::string_view ad) {
    auto t = Token();
    if (!t.ok()) return t.status();
    return (*t)->Decrypt(label, w, ad);
  }

  Env* env_ = nullptr;
  MasterKeyConfig config_;
  const bool create_if_missing_;
  std::mutex open_mu_;  // one open attempt at a time; guards open_error_, last_try_us_
  absl::Status open_error_;
  int64_t last_try_us_ = 0;
  mutable std::mutex mu_;  // guards token_ (set once) and versions_
  std::shared_ptr<Pkcs11Token> token_;
  std::vector<uint32_t> versions_;  // ascending
};

}  // namespace

absl::StatusOr<std::unique_ptr<MasterKeys>> OpenPkcs11MasterKeys(
    std::shared_ptr<Pkcs11Token> token, bool create_if_missing) {
  auto keys = std::make_unique<Pkcs11MasterKeys>(std::move(token), create_if_missing);
  if (auto s = keys->Init(); !s.ok()) return s;
  return std::unique_ptr<MasterKeys>(std::move(keys));
}

absl::StatusOr<std::shared_ptr<Pkcs11Token>> OpenConfiguredToken(Env* env,
                                                                 const MasterKeyConfig& c) {
  auto pin = ReadPkcs11Pin(env, c.hsm_pin_file, "SEALTRACE_HSM_PIN");
  if (!pin.ok()) return pin.status();
  auto token = Pkcs11Token::Open(Pkcs11Config{c.hsm_module, c.hsm_token, *pin});
  if (!token.ok()) return token.status();
  return std::shared_ptr<Pkcs11Token>(*std::move(token));
}

absl::StatusOr<std::unique_ptr<MasterKeys>> OpenMasterKeys(Env* env, const MasterKeyConfig& c) {
  if (c.hsm_module.empty()) return OpenFileMasterKeys(env, c.key_file, c.create_if_missing);
  auto token = OpenConfiguredToken(env, c);
  if (token.ok()) return OpenPkcs11MasterKeys(*std::move(token), c.create_if_missing);
  // A token that is absent now may come back: start without it (reads fail
  // closed, ingest goes on). Anything else (wrong PIN, no module, a PIN file
  // others can read) is a configuration error and refuses to start.
  if (!absl::IsUnavailable(token.status())) return token.status();
  return std::unique_ptr<MasterKeys>(
      std::make_unique<Pkcs11MasterKeys>(env, c, token.status()));
}

absl::StatusOr<MasterKeyConfig> ParseHsmConf(std::string_view text) {
  MasterKeyConfig c;
  int line_no = 0;
  auto trim = [](std::string_view v) {
    while (!v.empty() && (v.front() == ' ' || v.front() == '\t')) v.remove_prefix(1);
    while (!v.empty() && (v.back() == ' ' || v.back() == '\t' || v.back() == '\r')) {
      v.remove_suffix(1);
    }
    return v;
  };
  while (!text.empty()) {
    ++line_no;
    size_t nl = text.find('\n');
    std::string_view line = trim(text.substr(0, nl));
    text.remove_prefix(nl == std::string_view::npos ? text.size() : nl + 1);
    if (line.empty() || line[0] == '#') continue;
    const std::string where = "hsm.conf line " + std::to_string(line_no);
    size_t eq = line.find('=');
    if (eq == std::string_view::npos) {
      return absl::InvalidArgumentError(where + ": want \"name = value\"");
    }
    std::string_view name = trim(line.substr(0, eq));
    std::string value(trim(line.substr(eq + 1)));
    std::string* field = name == "module"     ? &c.hsm_module
                         : name == "token"    ? &c.hsm_token
                         : name == "pin_file" ? &c.hsm_pin_file
                                              : nullptr;
    if (field == nullptr) {
      return absl::InvalidArgumentError(where + ": unknown name \"" + std::string(name) +
                                        "\" (want module, token, pin_file)");
    }
    if (value.empty() || value.find('\0') != std::string::npos) {
      return absl::InvalidArgumentError(where + ": empty or invalid value");
    }
    if (!field->empty()) return absl::InvalidArgumentError(where + ": duplicate " + std::string(name));
    *field = std::move(value);
  }
  if (c.hsm_module.empty() || c.hsm_token.empty()) {
    return absl::InvalidArgumentError("hsm.conf needs module and token");
  }
  if (c.hsm_token.size() > 32) {
    return absl::InvalidArgumentError("hsm.conf: a token label is at most 32 bytes");
  }
  return c;
}

std::string EncodeHsmConf(const MasterKeyConfig& c) {
  std::string out =
      "# sealtrace: this vault's keys live in a PKCS#11 token (docs/DEPLOY.md, \"Keys in an "
      "HSM\").\n# The PIN is read from pin_file or $SEALTRACE_HSM_PIN, never from here.\n";
  out += "module = " + c.hsm_module + "\n";
  out += "token = " + c.hsm_token + "\n";
  if (!c.hsm_pin_file.empty()) out += "pin_file = " + c.hsm_pin_file + "\n";
  return out;
}

}  // namespace sealtrace::vault
