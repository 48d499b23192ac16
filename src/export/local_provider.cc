#include "export/local_provider.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "nlohmann/json.hpp"

namespace sealtrace::exporter {

void KeyMap::Add(const Id16& contributor, SecretKey sk) {
  keys_[contributor] = std::make_shared<SecretKey>(std::move(sk));
}

const SecretKey* KeyMap::Find(const Id16& contributor) const {
  auto it = keys_.find(contributor);
  return it == keys_.end() ? nullptr : it->second.get();
}

absl::StatusOr<KeyMap> KeyMap::FromJson(std::string_view text) {
  nlohmann::json j;
  try {
    j = nlohmann::json::parse(text);
  } catch (const std::exception&) {
    return absl::InvalidArgumentError("key file is not valid JSON");
  }
  if (!j.is_object()) return absl::InvalidArgumentError("key file must be a JSON object");
  KeyMap m;
  for (auto it = j.begin(); it != j.end(); ++it) {
    std::optional<Id16> id = Id16::FromHex(it.key());
    if (!id) return absl::InvalidArgumentError("key file: a key is not a 32-hex-char id");
    if (!it.value().is_string()) return absl::InvalidArgumentError("key file: value not a string");
    absl::StatusOr<std::string> raw = FromBase64(it.value().get<std::string>());
    if (!raw.ok() || raw->size() != kSecretKeyBytes) {
      return absl::InvalidArgumentError(
          absl::StrCat("key file: secret key of ", id->Hex(), " is not base64 of 32 bytes"));
    }
    m.Add(*id, SecretKey(*raw));
  }
  return m;
}

absl::Status InMemorySegmentProvider::AddHeader(std::string name, std::string_view prefix) {
  absl::StatusOr<SegmentHeader> h = ParseSegmentHeader(prefix);
  if (!h.ok()) {
    unlisted_.emplace_back(name, std::string(h.status().message()));
    return h.status();
  }
  if (names_.count(h->segment_id)) {
    unlisted_.emplace_back(name, "duplicate segment id");
    return absl::AlreadyExistsError("duplicate segment id");
  }
  SegmentInfo info;
  info.segment_id = h->segment_id;
  info.contributor_id = h->contributor_id;
  info.device_id = h->device_id;
  info.sequence = h->sequence;
  info.start_mono_us = h->start_mono_us;
  info.frame = (h->flags & kFlagFramePayload) != 0;
  infos_.push_back(info);
  names_[h->segment_id] = std::move(name);
  return absl::OkStatus();
}

absl::Status InMemorySegmentProvider::AddFile(std::string name, std::string bytes) {
  absl::Status s = AddHeader(name, bytes);
  if (s.ok()) bytes_[name] = std::move(bytes);
  return s;
}

absl::StatusOr<std::vector<SegmentInfo>> InMemorySegmentProvider::List() { return infos_; }

absl::StatusOr<OpenedSegment> InMemorySegmentProvider::OpenNamed(const std::string& name,
                                                                 const Id16& contributor) {
  ++opens_;
  const SecretKey* sk = keys_.Find(contributor);
  if (sk == nullptr) return absl::PermissionDeniedError("no key for this contributor");
  absl::StatusOr<std::string> bytes = Read(name);
  if (!bytes.ok()) return bytes.status();
  return OpenSegment(*bytes, BoxPublicKeyOf(*sk), *sk);
}

absl::StatusOr<OpenedSegment> InMemorySegmentProvider::Open(const SegmentInfo& s) {
  auto it = names_.find(s.segment_id);
  if (it == names_.end()) return absl::NotFoundError("segment not in scope");
  return OpenNamed(it->second, s.contributor_id);
}

absl::StatusOr<OpenedSegment> InMemorySegmentProvider::OpenFrame(const Id16& frame_id) {
  auto it = names_.find(frame_id);
  if (it == names_.end()) return absl::NotFoundError("frame segment not in scope");
  auto info = std::find_if(infos_.begin(), infos_.end(),
                           [&](const SegmentInfo& i) { return i.segment_id == frame_id; });
  if (info == infos_.end() || !info->frame) {
    return absl::InvalidArgumentError("not a frame segment");
  }
  return OpenNamed(it->second, info->contributor_id);
}

absl::StatusOr<std::unique_ptr<DirectorySegmentProvider>> DirectorySegmentProvider::Create(
    Env* env, std::string dir, KeyMap keys) {
  absl::StatusOr<std::vector<std::string>> names = env->ListDir(dir);
  if (!names.ok()) return names.status();
  std::sort(names->begin(), names->end());
  std::unique_ptr<DirectorySegmentProvider> p(
      new DirectorySegmentProvider(env, dir, std::move(keys)));
  for (const std::string& n : *names) {
    if (n.empty() || n[0] == '.') continue;
    absl::StatusOr<std::string> bytes = env->ReadFile(JoinPath(dir, n));
    if (!bytes.ok()) {
      p->unlisted_.emplace_back(n, std::string(bytes.status().message()));
      continue;
    }
    p->AddHeader(n, *bytes).IgnoreError();  // recorded in unlisted()
  }
  return p;
}

absl::StatusOr<std::string> DirectorySegmentProvider::Read(const std::string& name) {
  return env_->ReadFile(JoinPath(dir_, name));
}

}  // namespace sealtrace::exporter
