#include "audit/checkpoint.h"

#include <sodium.h>

#include <cstdio>
#include <utility>

#include "absl/strings/str_cat.h"
#include "common/bytes.h"
#include "common/env.h"
#include "crypto/crypto.h"

namespace sealtrace::audit {
namespace {

constexpr char kEmDashSpaceC[] = "\xE2\x80\x94 ";
constexpr std::string_view kEmDashSpace = kEmDashSpaceC;
constexpr uint8_t kAlgEd25519 = 0x01;
constexpr char kSignerPrefixC[] = "PRIVATE+KEY+";
constexpr std::string_view kSignerPrefix = kSignerPrefixC;

absl::Status Malformed(std::string_view what) {
  return absl::InvalidArgumentError(absl::StrCat("malformed signed note: ", std::string(what)));
}
absl::Status BadCheckpoint(std::string_view what) {
  return absl::InvalidArgumentError(absl::StrCat("malformed checkpoint: ", std::string(what)));
}

// Decodes one UTF-8 code point at s[*i]; returns -1 if invalid.
int32_t NextCodePoint(std::string_view s, size_t* i) {
  const auto c = static_cast<uint8_t>(s[*i]);
  if (c < 0x80) {
    ++*i;
    return c;
  }
  int len = 0;
  int32_t cp = 0;
  int32_t min = 0;
  if ((c & 0xE0) == 0xC0) {
    len = 2, cp = c & 0x1F, min = 0x80;
  } else if ((c & 0xF0) == 0xE0) {
    len = 3, cp = c & 0x0F, min = 0x800;
  } else if ((c & 0xF8) == 0xF0) {
    len = 4, cp = c & 0x07, min = 0x10000;
  } else {
    return -1;
  }
  if (*i + len > s.size()) return -1;
  for (int k = 1; k < len; ++k) {
    const auto b = static_cast<uint8_t>(s[*i + k]);
    if ((b & 0xC0) != 0x80) return -1;
    cp = (cp << 6) | (b & 0x3F);
  }
  if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return -1;
  *i += len;
  return cp;
}

bool IsUnicodeSpace(int32_t cp) {
  return cp == 0x20 || (cp >= 0x09 && cp <= 0x0D) || cp == 0x85 || cp == 0xA0 || cp == 0x1680 ||
         (cp >= 0x2000 && cp <= 0x200A) || cp == 0x2028 || cp == 0x2029 || cp == 0x202F ||
         cp == 0x205F || cp == 0x3000;
}

// Valid UTF-8 without control characters other than '\n'.
absl::Status CheckNoteChars(std::string_view s) {
  size_t i = 0;
  while (i < s.size()) {
    const size_t at = i;
    const int32_t cp = NextCodePoint(s, &i);
    if (cp < 0) return Malformed(absl::StrCat("invalid UTF-8 at byte ", at));
    if (cp < 0x20 && cp != '\n') return Malformed(absl::StrCat("control character at byte ", at));
  }
  return absl::OkStatus();
}

std::string KeyIdHex(uint32_t id) {
  char buf[9];
  std::snprintf(buf, sizeof(buf), "%08x", id);
  return buf;
}

absl::StatusOr<uint32_t> ParseKeyIdHex(std::string_view hex) {
  if (hex.size() != 8) return absl::InvalidArgumentError("key id must be 8 hex digits");
  uint32_t v = 0;
  for (char c : hex) {
    int d = 0;
    if (c >= '0' && c <= '9') {
      d = c - '0';
    } else if (c >= 'a' && c <= 'f') {
      d = c - 'a' + 10;
    } else {
      return absl::InvalidArgumentError("key id must be lowercase hex");
    }
    v = (v << 4) | static_cast<uint32_t>(d);
  }
  return v;
}

// Splits "<name>+<hex>+<base64>" at the first two '+' (names cannot contain '+').
absl::Status SplitKey(std::string_view key, std::string_view* name, std::string_view* hex,
                      std::string_view* b64) {
  const size_t p1 = key.find('+');
  if (p1 == std::string_view::npos) return absl::InvalidArgumentError("key: missing '+'");
  const size_t p2 = key.find('+', p1 + 1);
  if (p2 == std::string_view::npos) return absl::InvalidArgumentError("key: missing second '+'");
  // The base64 part may itself contain '+'.
  *name = key.substr(0, p1);
  *hex = key.substr(p1 + 1, p2 - p1 - 1);
  *b64 = key.substr(p2 + 1);
  if (!IsValidKeyName(*name)) return absl::InvalidArgumentError("key: invalid key name");
  return absl::OkStatus();
}

}  // namespace

uint32_t Ed25519KeyId(std::string_view name, std::string_view public_key) {
  std::string in(name);
  in.push_back('\n');
  in.push_back(static_cast<char>(kAlgEd25519));
  in.append(public_key);
  const std::string h = Sha256(in);
  return (static_cast<uint32_t>(static_cast<uint8_t>(h[0])) << 24) |
         (static_cast<uint32_t>(static_cast<uint8_t>(h[1])) << 16) |
         (static_cast<uint32_t>(static_cast<uint8_t>(h[2])) << 8) |
         static_cast<uint32_t>(static_cast<uint8_t>(h[3]));
}

bool IsValidKeyName(std::string_view name) {
  if (name.empty() || name.size() > 1024) return false;
  size_t i = 0;
  while (i < name.size()) {
    const int32_t cp = NextCodePoint(name, &i);
    if (cp < 0x20 || cp == '+' || cp == 0x7F || IsUnicodeSpace(cp)) return false;
  }
  return true;
}

// ---------------------------------------------------------------------------
// NoteVerifier / NoteSigner

absl::StatusOr<NoteVerifier> NoteVerifier::FromPublicKey(std::string_view name,
                                                         std::string_view public_key) {
  if (!IsValidKeyName(name)) return absl::InvalidArgumentError("verifier key: invalid key name");
  if (public_key.size() != crypto_sign_PUBLICKEYBYTES) {
    return absl::InvalidArgumentError("verifier key: Ed25519 public key must be 32 bytes");
  }
  NoteVerifier v;
  v.name_ = std::string(name);
  v.public_key_ = std::string(public_key);
  v.key_id_ = Ed25519KeyId(name, public_key);
  return v;
}

absl::StatusOr<NoteVerifier> NoteVerifier::FromVerifierKey(std::string_view vkey) {
  std::string_view name, hex, b64;
  if (auto s = SplitKey(vkey, &name, &hex, &b64); !s.ok()) {
    return absl::InvalidArgumentError(absl::StrCat("verifier ", s.message()));
  }
  auto id = ParseKeyIdHex(hex);
  if (!id.ok()) return absl::InvalidArgumentError(absl::StrCat("verifier ", id.status().message()));
  auto raw = FromBase64(b64);
  if (!raw.ok()) return absl::InvalidArgumentError("verifier key: invalid base64");
  if (raw->size() != 1 + crypto_sign_PUBLICKEYBYTES ||
      static_cast<uint8_t>((*raw)[0]) != kAlgEd25519) {
    return absl::InvalidArgumentError("verifier key: not an Ed25519 (type 0x01) key");
  }
  auto v = FromPublicKey(name, std::string_view(*raw).substr(1));
  if (!v.ok()) return v.status();
  if (v->key_id_ != *id) return absl::InvalidArgumentError("verifier key: key id does not match");
  return v;
}

std::string NoteVerifier::VerifierKey() const {
  std::string raw(1, static_cast<char>(kAlgEd25519));
  raw += public_key_;
  return absl::StrCat(name_, "+", KeyIdHex(key_id_), "+", Base64(raw));
}

bool NoteVerifier::Verify(std::string_view text, std::string_view signature) const {
  if (signature.size() != crypto_sign_BYTES || public_key_.size() != crypto_sign_PUBLICKEYBYTES) {
    return false;
  }
  return crypto_sign_verify_detached(
             reinterpret_cast<const unsigned char*>(signature.data()),
             reinterpret_cast<const unsigned char*>(text.data()), text.size(),
             reinterpret_cast<const unsigned char*>(public_key_.data())) == 0;
}

NoteSigner::NoteSigner(NoteSigner&& o) noexcept
    : verifier_(std::move(o.verifier_)), sk_(o.sk_), external_(std::move(o.external_)) {
  sodium_memzero(o.sk_.data(), o.sk_.size());
}
NoteSigner& NoteSigner::operator=(NoteSigner&& o) noexcept {
  if (this != &o) {
    verifier_ = std::move(o.verifier_);
    sk_ = o.sk_;
    external_ = std::move(o.external_);
    sodium_memzero(o.sk_.data(), o.sk_.size());
  }
  return *this;
}
NoteSigner::~NoteSigner() { sodium_memzero(sk_.data(), sk_.size()); }

absl::StatusOr<NoteSigner> NoteSigner::FromSeed(std::string_view name, std::string_view seed) {
  InitCrypto();
  if (seed.size() != crypto_sign_SEEDBYTES)
    return absl::InvalidArgumentError("seed must be 32 bytes");
  NoteSigner s;
  std::string pk(crypto_sign_PUBLICKEYBYTES, '\0');
  crypto_sign_seed_keypair(reinterpret_cast<unsigned char*>(pk.data()), s.sk_.data(),
                           reinterpret_cast<const unsigned char*>(seed.data()));
  auto v = NoteVerifier::FromPublicKey(name, pk);
  if (!v.ok()) return v.status();
  s.verifier_ = *std::move(v);
  return s;
}

absl::StatusOr<NoteSigner> NoteSigner::Generate(std::string_view name, Env* env) {
  if (env == nullptr) env = Env::Default();
  std::string seed(crypto_sign_SEEDBYTES, '\0');
  env->RandomBytes(seed.data(), seed.size());
  auto s = FromSeed(name, seed);
  sodium_memzero(seed.data(), seed.size());
  return s;
}

absl::StatusOr<NoteSigner> NoteSigner::FromSignerKey(std::string_view skey) {
  if (skey.substr(0, kSignerPrefix.size()) != kSignerPrefix) {
    return absl::InvalidArgumentError("signer key: missing PRIVATE+KEY+ prefix");
  }
  std::string_view name, hex, b64;
  if (auto s = SplitKey(skey.substr(kSignerPrefix.size()), &name, &hex, &b64); !s.ok()) {
    return absl::InvalidArgumentError(absl::StrCat("signer ", s.message()));
  }
  auto id = ParseKeyIdHex(hex);
  if (!id.ok()) return absl::InvalidArgumentError(absl::StrCat("signer ", id.status().message()));
  auto raw = FromBase64(b64);
  if (!raw.ok()) return absl::InvalidArgumentError("signer key: invalid base64");
  if (raw->size() != 1 + crypto_sign_SEEDBYTES || static_cast<uint8_t>((*raw)[0]) != kAlgEd25519) {
    sodium_memzero(raw->data(), raw->size());
    return absl::InvalidArgumentError("signer key: not an Ed25519 (type 0x01) key");
  }
  auto s = FromSeed(name, std::string_view(*raw).substr(1));
  sodium_memzero(raw->data(), raw->size());
  if (!s.ok()) return s.status();
  if (s->key_id() != *id) return absl::InvalidArgumentError("signer key: key id does not match");
  return s;
}

std::string NoteSigner::SignerKey() const {
  if (external_) return "";
  std::string raw(1, static_cast<char>(kAlgEd25519));
  raw.append(reinterpret_cast<const char*>(sk_.data()), crypto_sign_SEEDBYTES);
  std::string out = absl::StrCat(kSignerPrefixC, name(), "+", KeyIdHex(key_id()), "+", Base64(raw));
  sodium_memzero(raw.data(), raw.size());
  return out;
}

absl::StatusOr<NoteSigner> NoteSigner::External(std::string_view name,
                                                std::string_view public_key, SignFn sign) {
  if (!sign) return absl::InvalidArgumentError("external signer: no signing function");
  auto v = NoteVerifier::FromPublicKey(name, public_key);
  if (!v.ok()) return v.status();
  NoteSigner s;
  s.verifier_ = *std::move(v);
  s.external_ = std::move(sign);
  return s;
}

absl::StatusOr<NoteSignature> NoteSigner::Sign(std::string_view text) const {
  NoteSignature sig;
  sig.name = name();
  sig.key_id = key_id();
  if (external_) {
    auto raw = external_(text);
    if (!raw.ok()) return raw.status();
    if (raw->size() != crypto_sign_BYTES || !verifier_.Verify(text, *raw)) {
      return absl::InternalError("external signer: the signature does not verify");
    }
    sig.signature = *std::move(raw);
    return sig;
  }
  sig.signature.resize(crypto_sign_BYTES);
  crypto_sign_detached(reinterpret_cast<unsigned char*>(sig.signature.data()), nullptr,
                       reinterpret_cast<const unsigned char*>(text.data()), text.size(),
                       sk_.data());
  return sig;
}

// ---------------------------------------------------------------------------
// Signed notes

absl::StatusOr<SignedNote> ParseSignedNote(std::string_view note) {
  if (note.size() > kMaxNoteBytes) return Malformed("note larger than 1 MiB");
  if (auto s = CheckNoteChars(note); !s.ok()) return s;
  if (note.empty() || note.back() != '\n') return Malformed("does not end with a newline");
  const size_t split = note.rfind("\n\n");
  if (split == std::string_view::npos) return Malformed("no blank line before the signatures");
  SignedNote out;
  out.text = std::string(note.substr(0, split + 1));
  std::string_view rest = note.substr(split + 2);
  if (rest.empty()) return Malformed("no signature lines");
  size_t line_no = 0;
  while (!rest.empty()) {
    ++line_no;
    const size_t nl = rest.find('\n');  // present: note ends with '\n'
    std::string_view line = rest.substr(0, nl);
    rest.remove_prefix(nl + 1);
    const std::string where = absl::StrCat("signature line ", line_no, ": ");
    if (out.signatures.size() >= kMaxSignatures) return Malformed("too many signatures");
    if (line.substr(0, kEmDashSpace.size()) != kEmDashSpace) {
      return Malformed(where + "does not start with an em dash and a space");
    }
    line.remove_prefix(kEmDashSpace.size());
    const size_t sp = line.find(' ');
    if (sp == std::string_view::npos) return Malformed(where + "missing space before signature");
    const std::string_view name = line.substr(0, sp);
    const std::string_view b64 = line.substr(sp + 1);
    if (!IsValidKeyName(name)) return Malformed(where + "invalid key name");
    auto raw = FromBase64(b64);
    if (!raw.ok()) return Malformed(where + "signature is not valid base64");
    if (raw->size() < 5) return Malformed(where + "signature shorter than key id + 1 byte");
    NoteSignature sig;
    sig.name = std::string(name);
    sig.key_id = (static_cast<uint32_t>(static_cast<uint8_t>((*raw)[0])) << 24) |
                 (static_cast<uint32_t>(static_cast<uint8_t>((*raw)[1])) << 16) |
                 (static_cast<uint32_t>(static_cast<uint8_t>((*raw)[2])) << 8) |
                 static_cast<uint32_t>(static_cast<uint8_t>((*raw)[3]));
    sig.signature = raw->substr(4);
    out.signatures.push_back(std::move(sig));
  }
  return out;
}

std::string FormatSignedNote(const SignedNote& note) {
  std::string out = note.text;
  out.push_back('\n');
  for (const auto& s : note.signatures) {
    std::string raw;
    raw.push_back(static_cast<char>(s.key_id >> 24));
    raw.push_back(static_cast<char>(s.key_id >> 16));
    raw.push_back(static_cast<char>(s.key_id >> 8));
    raw.push_back(static_cast<char>(s.key_id));
    raw += s.signature;
    absl::StrAppend(&out, kEmDashSpaceC, s.name, " ", Base64(raw), "\n");
  }
  return out;
}

absl::StatusOr<std::string> SignNote(std::string_view text,
                                     const std::vector<const NoteSigner*>& signers) {
  if (text.empty() || text.back() != '\n') return Malformed("text must end with a newline");
  if (auto s = CheckNoteChars(text); !s.ok()) return s;
  if (signers.empty()) return absl::InvalidArgumentError("no signers");
  SignedNote note;
  note.text = std::string(text);
  for (const NoteSigner* s : signers) {
    auto sig = s->Sign(text);
    if (!sig.ok()) return sig.status();
    note.signatures.push_back(*std::move(sig));
  }
  std::string out = FormatSignedNote(note);
  // The result must parse back to the same text (e.g. text ending in a blank
  // line would move the split point).
  auto back = ParseSignedNote(out);
  if (!back.ok() || back->text != note.text)
    return Malformed("text cannot be signed unambiguously");
  return out;
}

absl::StatusOr<std::string> AddSignature(std::string_view note, const NoteSigner& signer) {
  auto parsed = ParseSignedNote(note);
  if (!parsed.ok()) return parsed.status();
  for (const auto& s : parsed->signatures) {
    if (s.name == signer.name() && s.key_id == signer.key_id()) {
      return absl::AlreadyExistsError("note already carries a signature by this key");
    }
  }
  auto sig = signer.Sign(parsed->text);
  if (!sig.ok()) return sig.status();
  parsed->signatures.push_back(*std::move(sig));
  if (parsed->signatures.size() > kMaxSignatures) return Malformed("too many signatures");
  return FormatSignedNote(*parsed);
}

absl::StatusOr<OpenedNote> OpenNote(std::string_view note, const std::vector<NoteVerifier>& known) {
  auto parsed = ParseSignedNote(note);
  if (!parsed.ok()) return parsed.status();
  OpenedNote out;
  out.text = std::move(parsed->text);
  for (auto& sig : parsed->signatures) {
    const NoteVerifier* match = nullptr;
    for (const auto& v : known) {
      if (v.name() == sig.name && v.key_id() == sig.key_id) {
        match = &v;
        break;
      }
    }
    if (match == nullptr) {
      out.unverified.push_back(std::move(sig));
      continue;
    }
    for (const auto& done : out.verified) {
      if (done.name == sig.name && done.key_id == sig.key_id) {
        return absl::InvalidArgumentError(
            absl::StrCat("signed note: duplicate signature by key ", sig.name));
      }
    }
    if (!match->Verify(out.text, sig.signature)) {
      return absl::PermissionDeniedError(
          absl::StrCat("signed note: signature by known key ", sig.name, "+", KeyIdHex(sig.key_id),
                       " does not verify (text or signature altered)"));
    }
    out.verified.push_back(std::move(sig));
  }
  if (out.verified.empty()) {
    return absl::PermissionDeniedError("signed note: no signature by a known key");
  }
  return out;
}

// ---------------------------------------------------------------------------
// Checkpoints

std::string FormatCheckpointBody(const Checkpoint& cp) {
  std::string out = absl::StrCat(cp.origin, "\n", cp.size, "\n", Base64(cp.root_hash), "\n");
  for (const auto& e : cp.extensions) absl::StrAppend(&out, e, "\n");
  return out;
}

absl::StatusOr<Checkpoint> ParseCheckpointBody(std::string_view text) {
  if (text.empty() || text.back() != '\n') return BadCheckpoint("does not end with a newline");
  if (!CheckNoteChars(text).ok()) return BadCheckpoint("invalid UTF-8 or control character");
  std::vector<std::string_view> lines;
  std::string_view rest = text;
  while (!rest.empty()) {
    const size_t nl = rest.find('\n');
    lines.push_back(rest.substr(0, nl));
    rest.remove_prefix(nl + 1);
  }
  if (lines.size() < 3) return BadCheckpoint("fewer than three lines");
  for (size_t i = 0; i < lines.size(); ++i) {
    if (lines[i].empty()) return BadCheckpoint(absl::StrCat("line ", i + 1, " is empty"));
  }
  Checkpoint cp;
  cp.origin = std::string(lines[0]);
  const std::string_view size = lines[1];
  if (size.size() > 20) return BadCheckpoint("tree size too long");
  if (size.size() > 1 && size[0] == '0') return BadCheckpoint("tree size has a leading zero");
  uint64_t v = 0;
  for (char c : size) {
    if (c < '0' || c > '9') return BadCheckpoint("tree size is not a decimal number");
    const uint64_t d = static_cast<uint64_t>(c - '0');
    if (v > (UINT64_MAX - d) / 10) return BadCheckpoint("tree size overflows 64 bits");
    v = v * 10 + d;
  }
  cp.size = v;
  auto root = FromBase64(lines[2]);
  if (!root.ok()) return BadCheckpoint("root hash is not valid base64");
  if (root->size() != 32) return BadCheckpoint("root hash is not 32 bytes");
  if (Base64(*root) != lines[2]) return BadCheckpoint("root hash is not canonical base64");
  cp.root_hash = *std::move(root);
  for (size_t i = 3; i < lines.size(); ++i) cp.extensions.emplace_back(lines[i]);
  return cp;
}

absl::StatusOr<std::string> SignCheckpoint(const Checkpoint& cp, const NoteSigner& signer) {
  if (cp.origin != signer.name()) {
    return absl::InvalidArgumentError("checkpoint origin must equal the signing key name");
  }
  const std::string body = FormatCheckpointBody(cp);
  auto check = ParseCheckpointBody(body);
  if (!check.ok()) return check.status();
  if (!(*check == cp)) return BadCheckpoint("checkpoint does not round-trip");
  return SignNote(body, {&signer});
}

absl::StatusOr<VerifiedCheckpoint> VerifyCheckpoint(std::string_view note,
                                                    const std::vector<NoteVerifier>& known,
                                                    std::string_view expected_origin) {
  auto opened = OpenNote(note, known);
  if (!opened.ok()) return opened.status();
  auto cp = ParseCheckpointBody(opened->text);
  if (!cp.ok()) return cp.status();
  if (!expected_origin.empty() && cp->origin != expected_origin) {
    return absl::PermissionDeniedError(absl::StrCat("checkpoint origin \"", cp->origin,
                                                    "\" is not the expected \"",
                                                    std::string(expected_origin), "\""));
  }
  VerifiedCheckpoint out;
  bool log_signed = false;
  for (const auto& s : opened->verified) {
    if (s.name == cp->origin && !log_signed) {
      log_signed = true;
      out.signers.insert(out.signers.begin(), s.name);
    } else {
      out.signers.push_back(s.name);
    }
  }
  if (!log_signed) {
    return absl::PermissionDeniedError(
        "checkpoint is not signed by a known key of its origin (the log's key)");
  }
  out.checkpoint = *std::move(cp);
  return out;
}

}  // namespace sealtrace::audit
