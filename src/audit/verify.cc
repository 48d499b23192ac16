#include "audit/verify.h"

#include "absl/strings/str_cat.h"
#include "audit/entry.h"
#include "audit/merkle.h"
#include "audit/sqlite_store.h"
#include "common/bytes.h"

namespace sealtrace::audit {
namespace {
constexpr uint64_t kReadBatch = 4096;

VerifyResult Fail(VerifyResult r, std::string line) {
  r.ok = false;
  r.lines.push_back("FAIL " + std::move(line));
  return r;
}
}  // namespace

VerifyResult VerifyStoreAgainstCheckpoint(AuditStore& store, std::string_view checkpoint_note,
                                          const std::vector<NoteVerifier>& verifiers,
                                          std::string_view contributor) {
  VerifyResult r;
  auto vcp = VerifyCheckpoint(checkpoint_note, verifiers);
  if (!vcp.ok()) return Fail(r, absl::StrCat("checkpoint: ", vcp.status().message()));
  const Checkpoint& cp = vcp->checkpoint;
  std::string signers;
  for (const auto& s : vcp->signers) absl::StrAppend(&signers, signers.empty() ? "" : ", ", s);
  r.lines.push_back(absl::StrCat("ok   checkpoint signature (", signers, "): origin ", cp.origin,
                                 ", size ", cp.size, ", root ", ToHex(cp.root_hash)));

  auto size = store.Size();
  if (!size.ok()) return Fail(r, absl::StrCat("log: ", size.status().message()));
  MerkleTree tree;
  uint64_t bad_rows = 0;
  for (uint64_t begin = 0; begin < *size; begin += kReadBatch) {
    const uint64_t end = std::min(*size, begin + kReadBatch);
    auto leaves = store.ReadLeaves(begin, end);
    if (!leaves.ok()) return Fail(r, absl::StrCat("log: ", leaves.status().message()));
    if (leaves->size() != end - begin) {
      return Fail(r, absl::StrCat("log: leaves missing in [", begin, ", ", end, ")"));
    }
    for (const StoredLeaf& leaf : *leaves) {
      if (leaf.index != tree.size()) {
        return Fail(r, absl::StrCat("log: leaf ", tree.size(), " missing"));
      }
      const std::string h = HashLeaf(leaf.data);
      if (h != leaf.leaf_hash) {
        ++bad_rows;
        r.lines.push_back(absl::StrCat("FAIL leaf ", leaf.index,
                                       ": data does not match its stored hash (row edited)"));
      }
      tree.AppendLeafHash(h);  // the tree of what the data says now
    }
  }
  r.lines.push_back(absl::StrCat(bad_rows == 0 ? "ok  " : "FAIL", " ", tree.size(),
                                 " leaves re-hashed, ", bad_rows, " mismatching rows"));
  bool ok = bad_rows == 0;

  if (cp.size > tree.size()) {
    return Fail(
        r, absl::StrCat("REWRITE: the log has ", tree.size(), " leaves but the checkpoint covers ",
                        cp.size, " (history truncated)"));
  }
  const std::string current_root = tree.Root();
  if (cp.size == 0) {
    if (cp.root_hash != EmptyTreeRoot()) return Fail(r, "checkpoint of size 0 has a wrong root");
    r.lines.push_back("ok   empty checkpoint: any log extends it");
  } else {
    auto proof = tree.ConsistencyProof(cp.size, tree.size());
    absl::Status s =
        proof.ok() ? VerifyConsistency(cp.size, tree.size(), *proof, cp.root_hash, current_root)
                   : proof.status();
    if (!s.ok()) {
      ok = false;  // keep going: the contributor's own entries are still checked
      r.lines.push_back(absl::StrCat(
          "FAIL REWRITE: the current log (", tree.size(), " leaves, root ", ToHex(current_root),
          ") is not an extension of the checkpoint (", s.message(), ")"));
    } else {
      r.lines.push_back(absl::StrCat("ok   consistency: checkpoint size ", cp.size,
                                     " is a prefix of the current log (", tree.size(),
                                     " leaves, root ", ToHex(current_root), "), proof of ",
                                     proof->size(), " hashes"));
    }
  }

  if (!contributor.empty()) {
    auto idx = store.LeavesForContributor(contributor);
    if (!idx.ok()) return Fail(r, absl::StrCat("log: ", idx.status().message()));
    uint64_t proven = 0, later = 0, failed = 0;
    for (uint64_t i : *idx) {
      if (i >= cp.size) {
        ++later;
        continue;
      }
      auto leaves = store.ReadLeaves(i, i + 1);
      if (!leaves.ok() || leaves->size() != 1) {
        ++failed;
        r.lines.push_back(absl::StrCat("FAIL entry ", i, ": cannot be read"));
        continue;
      }
      auto e = ParseEntry((*leaves)[0].data);
      if (!e.ok() || e->subject_contributor != contributor) {
        ++failed;
        r.lines.push_back(
            absl::StrCat("FAIL entry ", i, ": not a valid entry for this contributor"));
        continue;
      }
      auto proof = tree.InclusionProof(i, cp.size);
      absl::Status s = proof.ok() ? VerifyInclusion(HashLeaf((*leaves)[0].data), i, cp.size, *proof,
                                                    cp.root_hash)
                                  : proof.status();
      if (!s.ok()) {
        ++failed;
        r.lines.push_back(absl::StrCat("FAIL entry ", i,
                                       ": inclusion proof against the checkpoint: ", s.message()));
        continue;
      }
      ++proven;
    }
    r.lines.push_back(absl::StrCat(failed == 0 ? "ok  " : "FAIL", " contributor entries: ", proven,
                                   " proven included in the checkpoint, ", failed, " failed, ",
                                   later, " newer than the checkpoint (not yet covered)"));
    ok = ok && failed == 0;
  }
  r.ok = ok;
  r.lines.push_back(ok ? "VERIFIED" : "NOT VERIFIED");
  return r;
}

VerifyResult VerifyAuditLogFile(const std::string& db_path, std::string_view checkpoint_note,
                                const std::vector<std::string>& verifier_keys,
                                std::string_view contributor) {
  VerifyResult r;
  std::vector<NoteVerifier> verifiers;
  for (const auto& k : verifier_keys) {
    auto v = NoteVerifier::FromVerifierKey(k);
    if (!v.ok()) return Fail(r, absl::StrCat("verifier key: ", v.status().message()));
    verifiers.push_back(*std::move(v));
  }
  if (verifiers.empty()) return Fail(r, "no verifier key given");
  SqliteAuditStore::Options opt;
  opt.read_only = true;
  opt.create_if_missing = false;
  auto store = SqliteAuditStore::Open(db_path, opt);
  if (!store.ok()) return Fail(r, std::string(store.status().message()));
  return VerifyStoreAgainstCheckpoint(**store, checkpoint_note, verifiers, contributor);
}

}  // namespace sealtrace::audit
