// Row encodings shared by the AccessStore implementations (SQLite and
// PostgreSQL), so both store exactly the same bytes for a grant or proposal:
// a grant or programme-state proposal is one JSON document (the grant's HMAC
// seal covers its fields, so a row edited in the database is detected by
// AccessService, not here); token scopes are one comma-separated column.
//
// Failure: Decode* return DATA_LOSS for a malformed row (never throw).
// Thread-safety: pure functions.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "access/access_store.h"

namespace sealtrace::access {

std::string EncodeGrantRow(const Grant& g);
absl::StatusOr<Grant> DecodeGrantRow(std::string_view text);

std::string EncodeProposalRow(const StateProposal& p);
absl::StatusOr<StateProposal> DecodeProposalRow(std::string_view text);

// Passkeys and single-use codes keep their fields in one JSON document too.
std::string EncodePasskeyRow(const PasskeyRecord& k);
absl::StatusOr<PasskeyRecord> DecodePasskeyRow(std::string_view text);
std::string EncodeCodeRow(const OneTimeCode& c);
absl::StatusOr<OneTimeCode> DecodeCodeRow(std::string_view text);

std::string JoinScopes(const std::vector<std::string>& scopes);
std::vector<std::string> SplitScopes(std::string_view joined);

// Sets p->role from its stored name; an unknown name (a row written by a newer
// binary or edited by hand) leaves the principal disabled: never usable.
void SetRoleFromRow(std::string_view role_name, Principal* p);

}  // namespace sealtrace::access
