// Offline verification of an audit log against a saved checkpoint, as run by
// `sealtrace audit verify`. Works on any AuditStore; reports in plain lines
// (no entry content is printed, only indexes, sizes and hashes).
//
// Checks:
//  1. the saved checkpoint's signature verifies with the given verifier keys;
//  2. every stored leaf's data re-hashes to its stored leaf hash;
//  3. the current tree (recomputed from the data) is consistent with the saved
//     checkpoint: it has at least that many leaves and an RFC 9162 consistency
//     proof from the checkpoint's size to the current size verifies; any
//     rewrite or truncation of history fails here;
//  4. if a contributor is given: each of that contributor's entries covered by
//     the checkpoint has an inclusion proof that verifies against the
//     checkpoint's signed root.
// Pure function of its inputs; thread-safe.
#pragma once

#include <string>
#include <vector>

#include "audit/checkpoint.h"
#include "audit/store.h"

namespace sealtrace::audit {

struct VerifyResult {
  bool ok = false;
  std::vector<std::string> lines;  // human-readable, one finding per line
};

VerifyResult VerifyStoreAgainstCheckpoint(AuditStore& store, std::string_view checkpoint_note,
                                          const std::vector<NoteVerifier>& verifiers,
                                          std::string_view contributor = {});

// Opens the SQLite log at `db_path` read-only and runs the checks above.
// `verifier_keys` are "<name>+<hex>+<base64>" verifier key strings.
VerifyResult VerifyAuditLogFile(const std::string& db_path, std::string_view checkpoint_note,
                                const std::vector<std::string>& verifier_keys,
                                std::string_view contributor = {});

}  // namespace sealtrace::audit
