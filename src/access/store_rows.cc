#include "access/store_rows.h"

#include <nlohmann/json.hpp>

#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "crypto/crypto.h"

namespace sealtrace::access {
namespace {
using json = nlohmann::json;
}  // namespace

std::string EncodeGrantRow(const Grant& g) {
  return json{{"id", g.id},
              {"requester_id", g.requester_id},
              {"requester_role", RoleName(g.requester_role)},
              {"grantee_id", g.grantee_id},
              {"grantee_role", RoleName(g.grantee_role)},
              {"purpose", g.purpose},
              {"contributors", g.scope.contributors},
              {"datasets", g.scope.datasets},
              {"from_us", g.scope.from_us},
              {"to_us", g.scope.to_us},
              {"channels", g.scope.channels},
              {"created_us", g.created_us},
              {"not_before_us", g.not_before_us},
              {"expires_us", g.expires_us},
              {"status", GrantStatusName(g.status)},
              {"approver_id", g.approver_id},
              {"approver_role", RoleName(g.approver_role)},
              {"decided_us", g.decided_us},
              {"seal", g.seal}}
      .dump();
}

absl::StatusOr<Grant> DecodeGrantRow(std::string_view text) {
  try {
    json j = json::parse(text);
    Grant g;
    g.id = j.at("id").get<std::string>();
    g.requester_id = j.at("requester_id").get<std::string>();
    g.requester_role =
        RoleFromName(j.at("requester_role").get<std::string>()).value_or(Role::kContributor);
    g.grantee_id = j.at("grantee_id").get<std::string>();
    g.grantee_role =
        RoleFromName(j.at("grantee_role").get<std::string>()).value_or(Role::kContributor);
    g.purpose = j.at("purpose").get<std::string>();
    g.scope.contributors = j.at("contributors").get<std::vector<std::string>>();
    g.scope.datasets = j.at("datasets").get<std::vector<std::string>>();
    g.scope.from_us = j.at("from_us").get<int64_t>();
    g.scope.to_us = j.at("to_us").get<int64_t>();
    g.scope.channels = j.at("channels").get<uint32_t>();
    g.created_us = j.at("created_us").get<int64_t>();
    g.not_before_us = j.at("not_before_us").get<int64_t>();
    g.expires_us = j.at("expires_us").get<int64_t>();
    g.status =
        GrantStatusFromName(j.at("status").get<std::string>()).value_or(GrantStatus::kDenied);
    g.approver_id = j.at("approver_id").get<std::string>();
    g.approver_role =
        RoleFromName(j.at("approver_role").get<std::string>()).value_or(Role::kContributor);
    g.decided_us = j.at("decided_us").get<int64_t>();
    g.seal = j.at("seal").get<std::string>();
    return g;
  } catch (const std::exception& e) {
    return absl::DataLossError(std::string("malformed grant row: ") + e.what());
  }
}

std::string EncodeProposalRow(const StateProposal& p) {
  return json{{"id", p.id},
              {"proposer_id", p.proposer_id},
              {"state", ProgrammeStateName(p.state)},
              {"reason", p.reason},
              {"created_us", p.created_us},
              {"expires_us", p.expires_us},
              {"status", static_cast<int>(p.status)},
              {"confirmer_id", p.confirmer_id}}
      .dump();
}

absl::StatusOr<StateProposal> DecodeProposalRow(std::string_view text) {
  try {
    json j = json::parse(text);
    StateProposal p;
    p.id = j.at("id").get<std::string>();
    p.proposer_id = j.at("proposer_id").get<std::string>();
    auto st = ProgrammeStateFromName(j.at("state").get<std::string>());
    if (!st) return absl::DataLossError("malformed proposal row: state");
    p.state = *st;
    p.reason = j.at("reason").get<std::string>();
    p.created_us = j.at("created_us").get<int64_t>();
    p.expires_us = j.at("expires_us").get<int64_t>();
    p.status = static_cast<ProposalStatus>(j.at("status").get<int>());
    p.confirmer_id = j.at("confirmer_id").get<std::string>();
    return p;
  } catch (const std::exception& e) {
    return absl::DataLossError(std::string("malformed proposal row: ") + e.what());
  }
}

std::string EncodePasskeyRow(const PasskeyRecord& k) {
  return json{{"credential_id", Base64Url(k.credential_id)},
              {"principal_id", k.principal_id},
              {"alg", k.alg},
              {"public_key", Base64Url(k.public_key)},
              {"sign_count", k.sign_count},
              {"label", k.label},
              {"created_us", k.created_us},
              {"last_used_us", k.last_used_us},
              {"revoked_us", k.revoked_us}}
      .dump(-1, ' ', false, json::error_handler_t::replace);
}

absl::StatusOr<PasskeyRecord> DecodePasskeyRow(std::string_view text) {
  try {
    json j = json::parse(text);
    PasskeyRecord k;
    auto id = FromBase64Url(j.at("credential_id").get<std::string>());
    auto pk = FromBase64Url(j.at("public_key").get<std::string>());
    if (!id.ok() || !pk.ok()) return absl::DataLossError("malformed passkey row: base64");
    k.credential_id = *id;
    k.public_key = *pk;
    k.principal_id = j.at("principal_id").get<std::string>();
    k.alg = j.at("alg").get<int>();
    k.sign_count = j.at("sign_count").get<uint32_t>();
    k.label = j.at("label").get<std::string>();
    k.created_us = j.at("created_us").get<int64_t>();
    k.last_used_us = j.at("last_used_us").get<int64_t>();
    k.revoked_us = j.at("revoked_us").get<int64_t>();
    return k;
  } catch (const std::exception& e) {
    return absl::DataLossError(std::string("malformed passkey row: ") + e.what());
  }
}

std::string EncodeCodeRow(const OneTimeCode& c) {
  return json{{"kind", c.kind},
              {"principal_id", c.principal_id},
              {"contributor_id", c.contributor_id},
              {"issuer_id", c.issuer_id},
              {"label", c.label},
              {"created_us", c.created_us},
              {"expires_us", c.expires_us}}
      .dump();
}

absl::StatusOr<OneTimeCode> DecodeCodeRow(std::string_view text) {
  try {
    json j = json::parse(text);
    OneTimeCode c;
    c.kind = j.at("kind").get<std::string>();
    c.principal_id = j.at("principal_id").get<std::string>();
    c.contributor_id = j.at("contributor_id").get<std::string>();
    c.issuer_id = j.at("issuer_id").get<std::string>();
    c.label = j.value("label", "");
    c.created_us = j.at("created_us").get<int64_t>();
    c.expires_us = j.at("expires_us").get<int64_t>();
    return c;
  } catch (const std::exception& e) {
    return absl::DataLossError(std::string("malformed code row: ") + e.what());
  }
}

std::string JoinScopes(const std::vector<std::string>& scopes) { return absl::StrJoin(scopes, ","); }

std::vector<std::string> SplitScopes(std::string_view joined) {
  std::vector<std::string> out;
  for (absl::string_view part :
       absl::StrSplit(absl::string_view(joined.data(), joined.size()), ',', absl::SkipEmpty())) {
    out.emplace_back(part.data(), part.size());
  }
  return out;
}

void SetRoleFromRow(std::string_view role_name, Principal* p) {
  auto r = RoleFromName(role_name);
  p->role = r.value_or(Role::kContributor);
  if (!r) p->disabled = true;
}

}  // namespace sealtrace::access
