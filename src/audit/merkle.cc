#include "audit/merkle.h"

#include <bit>
#include <cstdlib>

#include "absl/strings/str_cat.h"
#include "crypto/crypto.h"
#include "sodium.h"

namespace sealtrace::audit {
namespace {

absl::Status Bad(std::string_view what) {
  return absl::InvalidArgumentError(absl::StrCat("merkle proof rejected: ", std::string(what)));
}

// Largest power of two strictly less than n (n >= 2).
uint64_t SplitPoint(uint64_t n) { return std::bit_floor(n - 1); }

absl::Status CheckHashes(const std::vector<std::string>& proof) {
  for (size_t i = 0; i < proof.size(); ++i) {
    if (proof[i].size() != kHashSize) {
      return Bad(
          absl::StrCat("proof element ", i, " is ", proof[i].size(), " bytes, want ", kHashSize));
    }
  }
  return absl::OkStatus();
}

absl::Status CheckMatch(std::string_view computed, std::string_view expected,
                        std::string_view what) {
  if (expected.size() != kHashSize || !ConstantTimeEquals(computed, expected)) {
    return Bad(absl::StrCat(std::string(what), " does not match the computed root"));
  }
  return absl::OkStatus();
}

}  // namespace

std::string HashLeaf(std::string_view data) {
  crypto_hash_sha256_state st;
  crypto_hash_sha256_init(&st);
  const unsigned char prefix = 0x00;
  crypto_hash_sha256_update(&st, &prefix, 1);
  crypto_hash_sha256_update(&st, reinterpret_cast<const unsigned char*>(data.data()), data.size());
  std::string out(kHashSize, '\0');
  crypto_hash_sha256_final(&st, reinterpret_cast<unsigned char*>(out.data()));
  return out;
}

std::string HashChildren(std::string_view left, std::string_view right) {
  crypto_hash_sha256_state st;
  crypto_hash_sha256_init(&st);
  const unsigned char prefix = 0x01;
  crypto_hash_sha256_update(&st, &prefix, 1);
  crypto_hash_sha256_update(&st, reinterpret_cast<const unsigned char*>(left.data()), left.size());
  crypto_hash_sha256_update(&st, reinterpret_cast<const unsigned char*>(right.data()),
                            right.size());
  std::string out(kHashSize, '\0');
  crypto_hash_sha256_final(&st, reinterpret_cast<unsigned char*>(out.data()));
  return out;
}

std::string EmptyTreeRoot() { return Sha256(""); }

absl::Status VerifyInclusion(std::string_view leaf_hash, uint64_t index, uint64_t size,
                             const std::vector<std::string>& proof, std::string_view root) {
  if (index >= size) return Bad(absl::StrCat("leaf index ", index, " >= tree size ", size));
  if (leaf_hash.size() != kHashSize) return Bad("leaf hash is not 32 bytes");
  if (auto s = CheckHashes(proof); !s.ok()) return s;
  uint64_t fn = index;
  uint64_t sn = size - 1;
  std::string r(leaf_hash);
  for (const std::string& p : proof) {
    if (sn == 0) return Bad("proof has more nodes than the tree path");
    if ((fn & 1) || fn == sn) {
      r = HashChildren(p, r);
      while (!(fn & 1) && fn != 0) {
        fn >>= 1;
        sn >>= 1;
      }
    } else {
      r = HashChildren(r, p);
    }
    fn >>= 1;
    sn >>= 1;
  }
  if (sn != 0) return Bad("proof has fewer nodes than the tree path");
  return CheckMatch(r, root, "root");
}

absl::Status VerifyConsistency(uint64_t size1, uint64_t size2,
                               const std::vector<std::string>& proof, std::string_view root1,
                               std::string_view root2) {
  if (size2 < size1) return Bad(absl::StrCat("size1 ", size1, " > size2 ", size2));
  if (size1 == 0) return Bad("consistency proof from the empty tree is meaningless");
  if (size1 == size2) {
    if (!proof.empty()) return Bad("sizes are equal but the proof is not empty");
    if (root1.size() != root2.size() || !ConstantTimeEquals(root1, root2)) {
      return Bad("sizes are equal but the roots differ");
    }
    return absl::OkStatus();
  }
  if (proof.empty()) return Bad("empty proof");
  if (root1.size() != kHashSize || root2.size() != kHashSize) return Bad("root is not 32 bytes");
  if (auto s = CheckHashes(proof); !s.ok()) return s;

  std::vector<std::string_view> path;
  path.reserve(proof.size() + 1);
  if (std::has_single_bit(size1)) path.push_back(root1);
  for (const auto& p : proof) path.push_back(p);

  uint64_t fn = size1 - 1;
  uint64_t sn = size2 - 1;
  while (fn & 1) {
    fn >>= 1;
    sn >>= 1;
  }
  std::string fr(path[0]);
  std::string sr(path[0]);
  for (size_t i = 1; i < path.size(); ++i) {
    if (sn == 0) return Bad("proof has more nodes than needed");
    const std::string_view c = path[i];
    if ((fn & 1) || fn == sn) {
      fr = HashChildren(c, fr);
      sr = HashChildren(c, sr);
      while (!(fn & 1) && fn != 0) {
        fn >>= 1;
        sn >>= 1;
      }
    } else {
      sr = HashChildren(sr, c);
    }
    fn >>= 1;
    sn >>= 1;
  }
  if (sn != 0) return Bad("proof has fewer nodes than needed");
  if (auto s = CheckMatch(fr, root1, "old root"); !s.ok()) return s;
  return CheckMatch(sr, root2, "new root");
}

bool IsValidSubtree(uint64_t start, uint64_t end) {
  if (start >= end) return false;
  const uint64_t n = end - start;
  if (n > (uint64_t{1} << 63)) return false;
  return start % std::bit_ceil(n) == 0;
}

absl::Status VerifySubtreeConsistency(uint64_t start, uint64_t end, uint64_t size,
                                      const std::vector<std::string>& proof,
                                      std::string_view subtree_hash, std::string_view root) {
  // draft-ietf-plants-merkle-tree-certs, "Verifying a Subtree Consistency Proof".
  if (start == end) {
    // The empty subtree is in every tree that reaches its position; its hash is
    // the empty-tree root and it needs no proof.
    if (end > size) return Bad(absl::StrCat("subtree end ", end, " > tree size ", size));
    if (!proof.empty()) return Bad("empty subtree but the proof is not empty");
    if (!ConstantTimeEquals(subtree_hash, EmptyTreeRoot())) {
      return Bad("empty subtree hash is not the empty-tree root");
    }
    return absl::OkStatus();
  }
  if (!IsValidSubtree(start, end)) {
    return Bad(absl::StrCat("invalid subtree [", start, ", ", end, ")"));
  }
  if (size < end) return Bad(absl::StrCat("subtree end ", end, " > tree size ", size));
  if (auto s = CheckHashes(proof); !s.ok()) return s;
  uint64_t fn = start;
  uint64_t sn = end - 1;
  uint64_t tn = size - 1;
  auto shift = [&] {
    fn >>= 1;
    sn >>= 1;
    tn >>= 1;
  };
  if (sn == tn) {
    while (fn != sn) shift();
  } else {
    while (fn != sn && (sn & 1)) shift();
  }
  size_t next = 0;
  std::string fr;
  std::string sr;
  if (fn == sn) {
    fr = sr = std::string(subtree_hash);
  } else {
    if (proof.empty()) return Bad("empty proof");
    fr = sr = proof[next++];
  }
  for (; next < proof.size(); ++next) {
    const std::string& p = proof[next];
    if (tn == 0) return Bad("proof has more nodes than needed");
    if ((sn & 1) || sn == tn) {
      if (fn < sn) fr = HashChildren(p, fr);
      sr = HashChildren(p, sr);
      while (!(sn & 1)) shift();
    } else {
      sr = HashChildren(sr, p);
    }
    shift();
  }
  if (tn != 0) return Bad("proof has fewer nodes than needed");
  // Plain byte comparisons: with an empty proof the subtree hash is the root
  // itself (the vectors accept any equal byte strings there).
  if (!ConstantTimeEquals(fr, subtree_hash)) return Bad("subtree hash does not match");
  if (!ConstantTimeEquals(sr, root)) return Bad("root does not match the computed root");
  return absl::OkStatus();
}

absl::Status VerifySubtreeInclusion(std::string_view leaf_hash, uint64_t index, uint64_t start,
                                    uint64_t end, const std::vector<std::string>& proof,
                                    std::string_view subtree_hash) {
  if (!IsValidSubtree(start, end)) {
    return Bad(absl::StrCat("invalid subtree [", start, ", ", end, ")"));
  }
  if (index < start || index >= end) {
    return Bad(absl::StrCat("leaf index ", index, " outside subtree [", start, ", ", end, ")"));
  }
  if (leaf_hash.size() != kHashSize) return Bad("leaf hash is not 32 bytes");
  if (subtree_hash.size() != kHashSize) return Bad("subtree hash is not 32 bytes");
  const uint64_t i = index - start;
  // Inclusion of the one-leaf subtree [i, i+1) in the tree of end-start leaves.
  return VerifySubtreeConsistency(i, i + 1, end - start, proof, leaf_hash, subtree_hash);
}

// ---------------------------------------------------------------------------

void MerkleTree::AppendLeafHash(std::string_view leaf_hash) {
  if (leaf_hash.size() != kHashSize) std::abort();
  levels_[0].emplace_back(leaf_hash);
  for (size_t l = 0; levels_[l].size() % 2 == 0; ++l) {
    if (l + 1 == levels_.size()) levels_.emplace_back();
    const auto& lv = levels_[l];
    levels_[l + 1].push_back(HashChildren(lv[lv.size() - 2], lv[lv.size() - 1]));
  }
}

std::string MerkleTree::Root() const {
  const uint64_t n = size();
  if (n == 0) return EmptyTreeRoot();
  std::string acc;
  for (size_t k = 0; k < levels_.size(); ++k) {
    if (!((n >> k) & 1)) continue;
    const std::string& node = levels_[k].back();
    acc = acc.empty() ? node : HashChildren(node, acc);
  }
  return acc;
}

std::string MerkleTree::RangeHash(uint64_t start, uint64_t n) const {
  if (n == 0) return EmptyTreeRoot();
  if (std::has_single_bit(n)) {
    const int level = std::countr_zero(n);
    return levels_[level][start >> level];
  }
  const uint64_t k = SplitPoint(n);
  return HashChildren(RangeHash(start, k), RangeHash(start + k, n - k));
}

absl::StatusOr<std::string> MerkleTree::RootAt(uint64_t n) const {
  if (n > size()) {
    return absl::OutOfRangeError(absl::StrCat("tree size ", n, " > current size ", size()));
  }
  if (n == size()) return Root();
  return RangeHash(0, n);
}

void MerkleTree::Path(uint64_t m, uint64_t start, uint64_t n, std::vector<std::string>* out) const {
  if (n <= 1) return;
  const uint64_t k = SplitPoint(n);
  if (m < k) {
    Path(m, start, k, out);
    out->push_back(RangeHash(start + k, n - k));
  } else {
    Path(m - k, start + k, n - k, out);
    out->push_back(RangeHash(start, k));
  }
}

absl::StatusOr<std::vector<std::string>> MerkleTree::InclusionProof(uint64_t index,
                                                                    uint64_t n) const {
  if (n > size()) {
    return absl::OutOfRangeError(absl::StrCat("tree size ", n, " > current size ", size()));
  }
  if (index >= n) {
    return absl::OutOfRangeError(absl::StrCat("leaf index ", index, " >= tree size ", n));
  }
  std::vector<std::string> out;
  Path(index, 0, n, &out);
  return out;
}

void MerkleTree::SubProof(uint64_t m, uint64_t start, uint64_t n, bool b,
                          std::vector<std::string>* out) const {
  if (m == n) {
    if (!b) out->push_back(RangeHash(start, n));
    return;
  }
  const uint64_t k = SplitPoint(n);
  if (m <= k) {
    SubProof(m, start, k, b, out);
    out->push_back(RangeHash(start + k, n - k));
  } else {
    SubProof(m - k, start + k, n - k, false, out);
    out->push_back(RangeHash(start, k));
  }
}

absl::StatusOr<std::vector<std::string>> MerkleTree::ConsistencyProof(uint64_t size1,
                                                                      uint64_t size2) const {
  if (size2 > size()) {
    return absl::OutOfRangeError(absl::StrCat("tree size ", size2, " > current size ", size()));
  }
  if (size1 > size2) {
    return absl::InvalidArgumentError(absl::StrCat("old size ", size1, " > new size ", size2));
  }
  std::vector<std::string> out;
  if (size1 == 0 || size1 == size2) return out;
  SubProof(size1, 0, size2, true, &out);
  return out;
}

}  // namespace sealtrace::audit
