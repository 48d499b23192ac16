// RFC 6962 / RFC 9162 Merkle tree hashing (SHA-256) with inclusion and
// consistency proofs, plus the subtree proofs of draft-ietf-plants-merkle-tree-certs
// (formerly draft-davidben-tls-merkle-tree-certs, appendix B).
//
// Hashes are raw 32-byte strings. leaf = SHA-256(0x00 || data),
// node = SHA-256(0x01 || left || right), root of the empty tree = SHA-256("").
//
// Verification functions never trust their inputs: every malformed proof
// (wrong index or size, missing or extra nodes, wrong-length hashes, flipped
// bits) yields a non-OK Status. They are pure and thread-safe.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace sealtrace::audit {

constexpr size_t kHashSize = 32;

std::string HashLeaf(std::string_view data);
std::string HashChildren(std::string_view left, std::string_view right);
std::string EmptyTreeRoot();

// Verifies that `leaf_hash` is leaf `index` of the tree of `size` leaves
// whose root is `root` (RFC 9162 §2.1.3.2).
absl::Status VerifyInclusion(std::string_view leaf_hash, uint64_t index, uint64_t size,
                             const std::vector<std::string>& proof, std::string_view root);

// Verifies that the tree of `size1` leaves with `root1` is a prefix of the
// tree of `size2` leaves with `root2` (RFC 9162 §2.1.4.2). size1 == size2 needs
// an empty proof and equal roots. A proof from the empty tree (size1 == 0) is
// refused as meaningless (RFC 9162 defines proofs for 0 < size1); callers that
// hold an empty-tree checkpoint compare its root with EmptyTreeRoot() instead.
absl::Status VerifyConsistency(uint64_t size1, uint64_t size2,
                               const std::vector<std::string>& proof, std::string_view root1,
                               std::string_view root2);

// Subtrees [start, end): valid iff start < end and start is a multiple of
// bit_ceil(end - start).
bool IsValidSubtree(uint64_t start, uint64_t end);
// Verifies that `leaf_hash` is leaf `index` (absolute) inside the valid
// subtree [start, end) whose hash is `subtree_hash`.
absl::Status VerifySubtreeInclusion(std::string_view leaf_hash, uint64_t index, uint64_t start,
                                    uint64_t end, const std::vector<std::string>& proof,
                                    std::string_view subtree_hash);
// Verifies that the valid subtree [start, end) with `subtree_hash` is part of
// the tree of `size` leaves with `root`.
absl::Status VerifySubtreeConsistency(uint64_t start, uint64_t end, uint64_t size,
                                      const std::vector<std::string>& proof,
                                      std::string_view subtree_hash, std::string_view root);

// An append-only Merkle tree over leaf hashes held in memory.
//
// Keeps every complete node (level 0 = leaf hashes, level k = hashes of the
// perfect subtrees of 2^k leaves), about 2x the leaf hashes. Append is
// amortised O(1), Root() is O(log n) (it folds the "frontier": the perfect
// subtrees named by the set bits of the size), RootAt/proofs are O(log^2 n).
//
// Not thread-safe: callers serialise access (AuditLog holds a mutex).
class MerkleTree {
 public:
  MerkleTree() : levels_(1) {}

  // `leaf_hash` must be kHashSize bytes (aborts otherwise: a programming error).
  void AppendLeafHash(std::string_view leaf_hash);
  void AppendData(std::string_view data) { AppendLeafHash(HashLeaf(data)); }

  uint64_t size() const { return levels_[0].size(); }
  const std::vector<std::string>& leaf_hashes() const { return levels_[0]; }

  std::string Root() const;
  // Root of the first `size` leaves; error if size > this->size().
  absl::StatusOr<std::string> RootAt(uint64_t size) const;
  // RFC 9162 PATH(index, D[0:size]).
  absl::StatusOr<std::vector<std::string>> InclusionProof(uint64_t index, uint64_t size) const;
  // RFC 9162 PROOF(size1, D[0:size2]); empty for size1 == size2 or size1 == 0.
  absl::StatusOr<std::vector<std::string>> ConsistencyProof(uint64_t size1, uint64_t size2) const;

 private:
  // Hash of D[start, start+n) where start is a multiple of bit_ceil(n) and the
  // range lies inside the tree.
  std::string RangeHash(uint64_t start, uint64_t n) const;
  void Path(uint64_t m, uint64_t start, uint64_t n, std::vector<std::string>* out) const;
  void SubProof(uint64_t m, uint64_t start, uint64_t n, bool b,
                std::vector<std::string>* out) const;

  std::vector<std::vector<std::string>> levels_;
};

}  // namespace sealtrace::audit
