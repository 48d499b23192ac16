#include "agent/config.h"

#include <toml++/toml.h>

#include <sstream>

#include "crypto/crypto.h"

namespace sealtrace {

absl::StatusOr<AgentConfig> LoadAgentConfig(Env* env, const std::string& path) {
  auto text = env->ReadFile(path);
  if (!text.ok()) return text.status();
  toml::table t;
  try {
    t = toml::parse(*text, path);
  } catch (const toml::parse_error& e) {
    return absl::InvalidArgumentError(path + ":" + std::to_string(e.source().begin.line) + ": " +
                                      std::string(e.description()));
  }
  AgentConfig c;
  c.path = path;
  auto need = [&](std::string_view key, std::optional<std::string> v) -> absl::StatusOr<std::string> {
    if (!v || v->empty()) return absl::InvalidArgumentError(path + ": missing " + std::string(key));
    return *v;
  };
  auto url = need("server.url", t["server"]["url"].value<std::string>());
  if (!url.ok()) return url.status();
  c.server_url = *url;
  c.ca_file = t["server"]["ca_file"].value_or(std::string());
  c.name = t["enrolment"]["name"].value_or(std::string());
  auto cid = need("enrolment.contributor_id", t["enrolment"]["contributor_id"].value<std::string>());
  auto did = need("enrolment.device_id", t["enrolment"]["device_id"].value<std::string>());
  auto tok = need("enrolment.device_token", t["enrolment"]["device_token"].value<std::string>());
  auto pk = need("enrolment.contributor_public_key",
                 t["enrolment"]["contributor_public_key"].value<std::string>());
  for (auto* s : {&cid, &did, &tok, &pk})
    if (!s->ok()) return s->status();
  auto c_id = Id16::FromHex(*cid);
  auto d_id = Id16::FromHex(*did);
  if (!c_id || !d_id) return absl::InvalidArgumentError(path + ": ids must be 32 hex characters");
  c.contributor_id = *c_id;
  c.device_id = *d_id;
  c.device_token = *tok;
  auto pkb = FromBase64(*pk);
  if (!pkb.ok() || pkb->size() != kPublicKeyBytes) {
    return absl::InvalidArgumentError(path + ": contributor_public_key must be base64 of 32 bytes");
  }
  c.contributor_public_key = *pkb;
  std::string base = DirName(path);
  c.spool_dir = t["spool"]["dir"].value_or(JoinPath(base, "spool"));
  c.state_dir = t["spool"]["state_dir"].value_or(JoinPath(base, "state"));
  int64_t quota_mb = t["spool"]["quota_mb"].value_or(int64_t{1024});
  if (quota_mb < 1) return absl::InvalidArgumentError(path + ": spool.quota_mb must be >= 1");
  c.spool_quota_bytes = static_cast<uint64_t>(quota_mb) << 20;
  c.max_segment_age_ms = t["spool"]["max_segment_age_ms"].value_or(int64_t{1000});
  if (c.max_segment_age_ms < 10 || c.max_segment_age_ms > 60'000) {
    return absl::InvalidArgumentError(path + ": spool.max_segment_age_ms must be 10..60000");
  }
  int64_t max_kb = t["spool"]["max_segment_kb"].value_or(int64_t{1024});
  if (max_kb < 1 || max_kb > 16384) {
    return absl::InvalidArgumentError(path + ": spool.max_segment_kb must be 1..16384");
  }
  c.max_segment_bytes = static_cast<uint64_t>(max_kb) << 10;
  c.privacy_config = t["privacy"]["config"].value_or(std::string());
  c.consent = t["privacy"]["consent"].value_or(false);
  c.frames = t["privacy"]["frames"].value_or(false);
  c.consent_scope_hash = t["privacy"]["consent_scope_hash"].value_or(std::string());
  const int64_t batch = t["capture"]["key_batch_ms"].value_or(int64_t{kDefaultKeyBatchMs});
  if (batch < 0 || batch > 50) {
    return absl::InvalidArgumentError(path + ": capture.key_batch_ms must be 0..50");
  }
  c.key_batch_ms = static_cast<int>(batch);
  return c;
}

absl::Status SaveAgentConfig(Env* env, const AgentConfig& c, const std::string& path) {
  toml::table t{
      {"server", toml::table{{"url", c.server_url}}},
      {"enrolment",
       toml::table{{"name", c.name},
                   {"contributor_id", c.contributor_id.Hex()},
                   {"device_id", c.device_id.Hex()},
                   {"device_token", c.device_token},
                   {"contributor_public_key", Base64(c.contributor_public_key)}}},
      {"spool", toml::table{{"dir", c.spool_dir},
                            {"state_dir", c.state_dir},
                            {"quota_mb", static_cast<int64_t>(c.spool_quota_bytes >> 20)},
                            {"max_segment_age_ms", c.max_segment_age_ms},
                            {"max_segment_kb", static_cast<int64_t>(c.max_segment_bytes >> 10)}}},
      {"privacy", toml::table{{"consent", c.consent},
                              {"frames", c.frames},
                              {"consent_scope_hash", c.consent_scope_hash}}},
  };
  if (!c.ca_file.empty()) t["server"].as_table()->insert("ca_file", c.ca_file);
  if (!c.privacy_config.empty()) t["privacy"].as_table()->insert("config", c.privacy_config);
  if (c.key_batch_ms != kDefaultKeyBatchMs) {
    t.insert("capture", toml::table{{"key_batch_ms", static_cast<int64_t>(c.key_batch_ms)}});
  }
  std::ostringstream os;
  os << "# sealtrace agent configuration (written by `sealtrace enroll`).\n"
     << "# Holds the device token: keep it private (mode 0600).\n"
     << t << "\n";
  if (auto s = env->CreateDirs(DirName(path)); !s.ok()) return s;
  return WriteFileAtomic(env, path, os.str(), 0600);
}

}  // namespace sealtrace
