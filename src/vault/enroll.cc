#include "vault/enroll.h"

#include <sodium.h>
#include <spdlog/spdlog.h>

#include <nlohmann/json.hpp>

#include "crypto/crypto.h"
#include "vault/ingest.h"

namespace sealtrace::vault {
namespace {

// Decodes one UTF-8 code point at s[*i]; returns -1 on invalid encoding.
int32_t NextCodePoint(std::string_view s, size_t* i) {
  auto b = [&](size_t k) { return static_cast<uint8_t>(s[k]); };
  uint8_t c = b(*i);
  int n;
  int32_t cp;
  if (c < 0x80) {
    ++*i;
    return c;
  } else if ((c & 0xE0) == 0xC0) {
    n = 1;
    cp = c & 0x1F;
  } else if ((c & 0xF0) == 0xE0) {
    n = 2;
    cp = c & 0x0F;
  } else if ((c & 0xF8) == 0xF0) {
    n = 3;
    cp = c & 0x07;
  } else {
    return -1;
  }
  if (*i + n >= s.size()) return -1;  // needs bytes *i+1 .. *i+n
  for (int k = 1; k <= n; ++k) {
    uint8_t d = b(*i + k);
    if ((d & 0xC0) != 0x80) return -1;
    cp = (cp << 6) | (d & 0x3F);
  }
  static const int32_t kMin[4] = {0, 0x80, 0x800, 0x10000};
  if (cp < kMin[n] || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return -1;  // overlong etc.
  *i += n + 1;
  return cp;
}

bool IsSpaceCodePoint(int32_t cp) {
  return cp == ' ' || cp == 0xA0 || cp == 0x1680 || (cp >= 0x2000 && cp <= 0x200A) ||
         cp == 0x2028 || cp == 0x2029 || cp == 0x202F || cp == 0x205F || cp == 0x3000 ||
         cp == 0xFEFF;
}

std::string ErrorJson(const std::string& code, const std::string& message) {
  nlohmann::json j = {{"error", code}, {"message", message}};
  return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

}  // namespace

absl::Status ValidateContributorName(std::string_view name) {
  if (name.empty()) return absl::InvalidArgumentError("name is empty");
  if (name.size() > kMaxNameChars * 4) return absl::InvalidArgumentError("name is too long");
  size_t i = 0, count = 0;
  int32_t first = -1, last = -1;
  while (i < name.size()) {
    int32_t cp = NextCodePoint(name, &i);
    if (cp < 0) return absl::InvalidArgumentError("name is not valid UTF-8");
    if (cp < 0x20 || (cp >= 0x7F && cp < 0xA0) || cp == 0x2028 || cp == 0x2029 ||
        (cp >= 0x200B && cp <= 0x200F) || (cp >= 0x202A && cp <= 0x202E) ||
        (cp >= 0x2066 && cp <= 0x2069) || cp == 0xFEFF) {
      return absl::InvalidArgumentError("name contains a control or formatting character");
    }
    if (first < 0) first = cp;
    last = cp;
    ++count;
  }
  if (count > kMaxNameChars) {
    return absl::InvalidArgumentError("name is longer than " + std::to_string(kMaxNameChars) +
                                      " characters");
  }
  if (IsSpaceCodePoint(first) || IsSpaceCodePoint(last)) {
    return absl::InvalidArgumentError("name starts or ends with whitespace");
  }
  return absl::OkStatus();
}

absl::StatusOr<EnrollBody> ParseEnrollBody(std::string_view body) {
  if (body.size() > kMaxEnrollBodyBytes) {
    return absl::InvalidArgumentError("enrolment request body is too large");
  }
  nlohmann::json j;
  try {
    j = nlohmann::json::parse(body.begin(), body.end(), nullptr, /*allow_exceptions=*/false);
  } catch (const std::exception&) {
    return absl::InvalidArgumentError("enrolment request is not valid JSON");
  }
  if (j.is_discarded()) return absl::InvalidArgumentError("enrolment request is not valid JSON");
  if (!j.is_object()) return absl::InvalidArgumentError("enrolment request must be a JSON object");
  EnrollBody out;
  auto code = j.find("device_code");
  if (code != j.end() && !code->is_null()) {
    if (!code->is_string() || code->get<std::string>().empty() ||
        code->get<std::string>().size() > 128) {
      return absl::InvalidArgumentError("\"device_code\" must be a non-empty string");
    }
    out.device_code = code->get<std::string>();
  }
  auto inv = j.find("invitation");
  if (inv != j.end() && !inv->is_null()) {
    if (!inv->is_string() || inv->get<std::string>().empty() ||
        inv->get<std::string>().size() > 128) {
      return absl::InvalidArgumentError("\"invitation\" must be a non-empty string");
    }
    out.invitation = inv->get<std::string>();
  }
  auto it = j.find("name");
  if (it == j.end() || it->is_null()) {
    if (!out.device_code.empty() || !out.invitation.empty()) return out;
    return absl::InvalidArgumentError("enrolment request needs a string member \"name\"");
  }
  if (!it->is_string()) {
    return absl::InvalidArgumentError("enrolment request needs a string member \"name\"");
  }
  out.name = it->get<std::string>();
  if (auto s = ValidateContributorName(out.name); !s.ok()) return s;
  return out;
}

int EnrollResult::http_status() const {
  switch (outcome) {
    case EnrollOutcome::kEnrolled:
      return 200;
    case EnrollOutcome::kUnauthenticated:
      return 401;
    case EnrollOutcome::kInvalid:
      return 400;
    case EnrollOutcome::kNameTaken:
      return 409;
    case EnrollOutcome::kCodeRefused:
      return 403;
    default:
      return 503;
  }
}

std::string EnrollResult::ToJson() const {
  if (outcome != EnrollOutcome::kEnrolled) {
    return ErrorJson(EnrollOutcomeName(outcome), message);
  }
  nlohmann::json j = {{"contributor_id", contributor_id},
                      {"device_id", device_id},
                      {"device_token", device_token},
                      {"contributor_public_key", Base64(contributor_public_key)},
                      {"key_id", key_id}};
  return j.dump();
}

EnrollService::EnrollService(MetadataStore* store, KeyService* keys, Env* env,
                             VaultMetrics* metrics, std::string enrolment_secret)
    : store_(store),
      keys_(keys),
      env_(env),
      metrics_(metrics),
      secret_hash_(Sha256(enrolment_secret)) {
  sodium_memzero(enrolment_secret.data(), enrolment_secret.size());
}

EnrollResult EnrollService::Enroll(const EnrollRequest& req) {
  EnrollResult r = Handle(req);
  if (metrics_ != nullptr) metrics_->CountEnroll(r.outcome);
  if (r.outcome == EnrollOutcome::kEnrolled) {
    spdlog::info("enroll: device {} for {} contributor {}", r.device_id,
                 r.new_contributor ? "new" : "existing", r.contributor_id);
  } else {
    spdlog::info("enroll: refused ({}): {}", EnrollOutcomeName(r.outcome), r.message);
  }
  return r;
}

absl::Status EnrollService::Abandon(const EnrollResult& r) {
  auto device = Id16::FromHex(r.device_id);
  auto contributor = Id16::FromHex(r.contributor_id);
  if (!device || !contributor) return absl::InvalidArgumentError("not an enrolment result");
  absl::Status s = store_->DeleteEnrolment(*device, *contributor, r.new_contributor);
  if (s.ok()) {
    spdlog::warn("enroll: device {} abandoned (the access layer could not record it)", r.device_id);
  }
  return s;
}

absl::StatusOr<ContributorRecord> EnrollService::CreateContributor(const std::string& name,
                                                                   bool* taken) {
  *taken = false;
  auto found = store_->FindContributorByName(name);
  if (!found.ok()) return found.status();
  if (found->has_value()) {
    *taken = true;
    return **found;
  }
  ContributorRecord c;
  env_->RandomBytes(c.id.b.data(), c.id.b.size());
  auto pk = keys_->CreateContributorKey(c.id);
  if (!pk.ok()) return pk.status();
  c.name = name;
  c.public_key = *pk;
  c.created_us = env_->NowWallMicros();
  absl::Status s = store_->CreateContributor(c);
  if (s.ok()) return c;
  // Lost a race for the name (or failed): shred the unused key.
  keys_->DestroyContributorKey(c.id).IgnoreError();
  if (absl::IsAlreadyExists(s)) *taken = true;
  return s;
}

absl::StatusOr<ContributorRecord> EnrollService::ContributorForCode(const std::string& code,
                                                                    EnrollResult* refused) {
  if (!device_code_check_) {
    refused->outcome = EnrollOutcome::kCodeRefused;
    refused->message = "this vault does not accept device codes (no access layer)";
    return absl::PermissionDeniedError(refused->message);
  }
  auto hex = device_code_check_(code);
  if (!hex.ok()) {
    const bool denied = absl::IsPermissionDenied(hex.status());
    refused->outcome = denied ? EnrollOutcome::kCodeRefused : EnrollOutcome::kStorageError;
    refused->message = std::string(hex.status().message());
    return hex.status();
  }
  auto id = Id16::FromHex(*hex);
  if (!id) return absl::InternalError("device code names a malformed contributor id");
  auto c = store_->GetContributor(*id);
  if (!c.ok()) return c.status();
  if (!c->has_value()) {
    refused->outcome = EnrollOutcome::kCodeRefused;
    refused->message = "the contributor who created this device code no longer exists";
    return absl::PermissionDeniedError(refused->message);
  }
  return **c;
}

EnrollResult EnrollService::Handle(const EnrollRequest& req) {
  EnrollResult r;
  auto body = ParseEnrollBody(req.body);
  auto secret = ParseBearer(req.authorization);
  const bool secret_ok = secret && ConstantTimeEquals(Sha256(*secret), secret_hash_);
  const bool joining = body.ok() && !body->device_code.empty();
  const bool invited = body.ok() && !joining && !body->invitation.empty();
  if (!secret_ok && !joining && !invited) {
    r.outcome = EnrollOutcome::kUnauthenticated;
    r.message = "missing or wrong enrolment secret";
    return r;
  }
  if (!body.ok()) {
    r.outcome = EnrollOutcome::kInvalid;
    r.message = std::string(body.status().message());
    return r;
  }
  auto storage_error = [&](const absl::Status& s) {
    r.outcome = EnrollOutcome::kStorageError;
    r.message = "store unavailable: " + std::string(s.message());
    return r;
  };
  std::string name = body.ok() ? body->name : "";
  if (invited) {
    if (!invitation_check_) {
      r.outcome = EnrollOutcome::kCodeRefused;
      r.message = "this vault does not accept invitations (no access layer)";
      return r;
    }
    auto invited_name = invitation_check_(body->invitation);
    if (!invited_name.ok()) {
      r.outcome = absl::IsPermissionDenied(invited_name.status()) ? EnrollOutcome::kCodeRefused
                                                                  : EnrollOutcome::kStorageError;
      r.message = std::string(invited_name.status().message());
      return r;
    }
    name = *invited_name;
  }
  bool taken = false;
  absl::StatusOr<ContributorRecord> contributor =
      joining ? ContributorForCode(body->device_code, &r) : CreateContributor(name, &taken);
  if (joining && r.outcome == EnrollOutcome::kCodeRefused) return r;
  if (taken) {
    if (contributor.ok() && name_taken_audit_) name_taken_audit_(contributor->id.Hex());
    r.outcome = EnrollOutcome::kNameTaken;
    r.message = "the name \"" + name +
                "\" belongs to an existing contributor. Enrolment never adds a device to an "
                "existing contributor: to add this device, sign in to the dashboard on your "
                "enrolled account, create a device code (Devices), and run `sealtrace enroll "
                "--device-code CODE`. Otherwise choose another name.";
    return r;
  }
  if (!contributor.ok()) return storage_error(contributor.status());
  auto pk = keys_->PublicKey(contributor->id);
  if (!pk.ok()) return storage_error(pk.status());

  DeviceRecord d;
  d.contributor_id = contributor->id;
  d.created_us = env_->NowWallMicros();
  std::string token;
  absl::Status s;
  for (int attempt = 0; attempt < 3; ++attempt) {
    env_->RandomBytes(d.id.b.data(), d.id.b.size());
    token = NewDeviceToken(env_);
    d.token_sha256 = Sha256(token);
    s = store_->CreateDevice(d);
    if (!absl::IsAlreadyExists(s)) break;  // a 128/256-bit collision: only in broken RNGs
  }
  if (!s.ok()) return storage_error(s);

  r.outcome = EnrollOutcome::kEnrolled;
  r.contributor_id = contributor->id.Hex();
  r.device_id = d.id.Hex();
  r.device_token = std::move(token);
  r.contributor_public_key = *pk;
  r.key_id = ToHex(KeyIdOf(*pk));
  r.new_contributor = !joining;
  r.via = joining ? "device_code" : invited ? "invitation" : "secret";
  r.name = name;
  return r;
}

absl::StatusOr<std::string> LoadOrCreateSecretFile(Env* env, const std::string& path) {
  if (!env->FileExists(path)) {
    std::string raw(32, '\0');
    env->RandomBytes(raw.data(), raw.size());
    std::string text = Base64Url(raw) + "\n";
    sodium_memzero(raw.data(), raw.size());
    absl::Status s = WriteFileAtomic(env, path, text, 0600);
    sodium_memzero(text.data(), text.size());
    if (!s.ok()) return s;
  }
  if (auto s = CheckPrivateFileMode(path); !s.ok()) return s;
  auto text = env->ReadFile(path);
  if (!text.ok()) return text.status();
  std::string secret = *text;
  sodium_memzero(text->data(), text->size());
  while (!secret.empty() &&
         (secret.back() == '\n' || secret.back() == '\r' || secret.back() == ' ')) {
    secret.pop_back();
  }
  if (secret.size() < 16) {
    return absl::FailedPreconditionError("secret file " + path + " is empty or too short");
  }
  return secret;
}

}  // namespace sealtrace::vault
