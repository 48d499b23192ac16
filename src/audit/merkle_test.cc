// Merkle tree tests against the public RFC 6962 vectors in tests/data/rfc6962
// (read at run time; see that folder's README), plus generated proofs.
#include "audit/merkle.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <sstream>

#include "common/bytes.h"
#include "crypto/crypto.h"

namespace sealtrace::audit {
namespace {

namespace fs = std::filesystem;

fs::path DataDir() {
  if (const char* src = std::getenv("SEALTRACE_SOURCE_DIR"); src && *src) {
    return fs::path(src) / "tests/data/rfc6962";
  }
  // src/audit/merkle_test.cc -> repo root.
  return fs::path(__FILE__).parent_path().parent_path().parent_path() / "tests/data/rfc6962";
}

std::string ReadAll(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::string B64(const nlohmann::json& j) {
  if (j.is_null()) return "";
  auto r = FromBase64(j.get<std::string>());
  EXPECT_TRUE(r.ok()) << j;
  return r.ok() ? *r : "";
}

std::vector<std::string> Proof(const nlohmann::json& j) {
  std::vector<std::string> out;
  if (j.is_null()) return out;
  for (const auto& e : j) out.push_back(B64(e));
  return out;
}

std::vector<fs::path> JsonFiles(const fs::path& dir) {
  std::vector<fs::path> out;
  for (const auto& e : fs::recursive_directory_iterator(dir)) {
    if (e.is_regular_file() && e.path().extension() == ".json") out.push_back(e.path());
  }
  std::sort(out.begin(), out.end());
  return out;
}

struct ReferenceTree {
  std::vector<std::string> leaves;        // leaf inputs
  std::map<uint64_t, std::string> roots;  // size -> root
};

ReferenceTree LoadReference() {
  ReferenceTree t;
  std::istringstream in(ReadAll(DataDir() / "reference-tree.txt"));
  std::string line;
  while (std::getline(in, line)) {
    if (line.empty() || line[0] == '#') continue;
    std::istringstream ls(line);
    std::string kind, hex;
    uint64_t i = 0;
    ls >> kind >> i;
    ls >> hex;  // may be absent (empty leaf)
    auto bytes = FromHex(hex);
    EXPECT_TRUE(bytes.has_value()) << line;
    if (kind == "leaf") {
      EXPECT_EQ(i, t.leaves.size()) << line;
      t.leaves.push_back(bytes.value_or(""));
    } else if (kind == "root") {
      t.roots[i] = bytes.value_or("");
    } else {
      ADD_FAILURE() << "unknown line: " << line;
    }
  }
  return t;
}

TEST(MerkleVectors, ReferenceTreeRootsForEverySize) {
  const ReferenceTree ref = LoadReference();
  ASSERT_FALSE(ref.leaves.empty());
  ASSERT_EQ(ref.roots.size(), ref.leaves.size() + 1);
  MerkleTree tree;
  EXPECT_EQ(ToHex(tree.Root()), ToHex(ref.roots.at(0)));
  for (const auto& leaf : ref.leaves) {
    tree.AppendData(leaf);
    EXPECT_EQ(ToHex(tree.Root()), ToHex(ref.roots.at(tree.size()))) << "size " << tree.size();
  }
  // Historic roots from the full tree.
  for (const auto& [n, root] : ref.roots) {
    auto r = tree.RootAt(n);
    ASSERT_TRUE(r.ok());
    EXPECT_EQ(ToHex(*r), ToHex(root)) << "RootAt " << n;
  }
  EXPECT_FALSE(tree.RootAt(ref.leaves.size() + 1).ok());
}

TEST(MerkleVectors, InclusionFiles) {
  const ReferenceTree ref = LoadReference();
  MerkleTree tree;
  for (const auto& l : ref.leaves) tree.AppendData(l);
  int happy = 0, bad = 0, generated_match = 0;
  for (const auto& path : JsonFiles(DataDir() / "inclusion")) {
    SCOPED_TRACE(path.string());
    auto j = nlohmann::json::parse(ReadAll(path));
    const uint64_t index = j.at("leafIdx").get<uint64_t>();
    const uint64_t size = j.at("treeSize").get<uint64_t>();
    const std::string leaf = B64(j.at("leafHash"));
    const std::string root = B64(j.at("root"));
    const auto proof = Proof(j.at("proof"));
    const bool want_err = j.at("wantErr").get<bool>();
    const absl::Status s = VerifyInclusion(leaf, index, size, proof, root);
    EXPECT_EQ(s.ok(), !want_err) << j.at("desc") << ": " << s;
    (want_err ? bad : happy)++;
    // Our own proof for the same leaf of the reference tree equals the file's.
    if (!want_err && size <= tree.size() && index < size && tree.leaf_hashes()[index] == leaf) {
      auto gen = tree.InclusionProof(index, size);
      ASSERT_TRUE(gen.ok());
      EXPECT_EQ(*gen, proof);
      ++generated_match;
    }
  }
  EXPECT_GT(happy, 0);
  EXPECT_GT(bad, 0);
  std::printf("inclusion vectors: %d must-verify, %d must-fail, %d matched generated proofs\n",
              happy, bad, generated_match);
}

TEST(MerkleVectors, ConsistencyFiles) {
  const ReferenceTree ref = LoadReference();
  MerkleTree tree;
  for (const auto& l : ref.leaves) tree.AppendData(l);
  int happy = 0, bad = 0, generated_match = 0;
  for (const auto& path : JsonFiles(DataDir() / "consistency")) {
    SCOPED_TRACE(path.string());
    auto j = nlohmann::json::parse(ReadAll(path));
    const uint64_t size1 = j.at("size1").get<uint64_t>();
    const uint64_t size2 = j.at("size2").get<uint64_t>();
    const std::string root1 = B64(j.at("root1"));
    const std::string root2 = B64(j.at("root2"));
    const auto proof = Proof(j.at("proof"));
    const bool want_err = j.at("wantErr").get<bool>();
    const absl::Status s = VerifyConsistency(size1, size2, proof, root1, root2);
    EXPECT_EQ(s.ok(), !want_err) << j.at("desc") << ": " << s;
    (want_err ? bad : happy)++;
    if (!want_err && size2 <= tree.size() && *tree.RootAt(size2) == root2) {
      auto gen = tree.ConsistencyProof(size1, size2);
      ASSERT_TRUE(gen.ok());
      EXPECT_EQ(*gen, proof);
      ++generated_match;
    }
  }
  EXPECT_GT(happy, 0);
  EXPECT_GT(bad, 0);
  std::printf("consistency vectors: %d must-verify, %d must-fail, %d matched generated proofs\n",
              happy, bad, generated_match);
}

TEST(MerkleVectors, SubtreeInclusionFiles) {
  int happy = 0, bad = 0;
  for (const auto& path : JsonFiles(DataDir() / "subtreeinclusion")) {
    SCOPED_TRACE(path.string());
    auto j = nlohmann::json::parse(ReadAll(path));
    const absl::Status s = VerifySubtreeInclusion(
        B64(j.at("leafHash")), j.at("leafIdx").get<uint64_t>(), j.at("start").get<uint64_t>(),
        j.at("end").get<uint64_t>(), Proof(j.at("proof")), B64(j.at("root")));
    const bool want_err = j.at("wantErr").get<bool>();
    EXPECT_EQ(s.ok(), !want_err) << j.at("desc") << ": " << s;
    (want_err ? bad : happy)++;
  }
  EXPECT_GT(happy, 0);
  EXPECT_GT(bad, 0);
  std::printf("subtree inclusion vectors: %d must-verify, %d must-fail\n", happy, bad);
}

TEST(MerkleVectors, SubtreeConsistencyFiles) {
  int happy = 0, bad = 0;
  for (const auto& path : JsonFiles(DataDir() / "subtreeconsistency")) {
    SCOPED_TRACE(path.string());
    auto j = nlohmann::json::parse(ReadAll(path));
    const absl::Status s = VerifySubtreeConsistency(
        j.at("start").get<uint64_t>(), j.at("end").get<uint64_t>(), j.at("size").get<uint64_t>(),
        Proof(j.at("proof")), B64(j.at("root1")), B64(j.at("root2")));
    const bool want_err = j.at("wantErr").get<bool>();
    EXPECT_EQ(s.ok(), !want_err) << j.at("desc") << ": " << s;
    (want_err ? bad : happy)++;
  }
  EXPECT_GT(happy, 0);
  EXPECT_GT(bad, 0);
  std::printf("subtree consistency vectors: %d must-verify, %d must-fail\n", happy, bad);
}

// Reference recursive MTH (RFC 9162 §2.1.1), independent of MerkleTree.
std::string Mth(const std::vector<std::string>& leaves, size_t a, size_t b) {
  if (b == a) return EmptyTreeRoot();
  if (b - a == 1) return HashLeaf(leaves[a]);
  size_t k = 1;
  while (k * 2 < b - a) k *= 2;
  return HashChildren(Mth(leaves, a, a + k), Mth(leaves, a + k, b));
}

std::string Flip(std::string s, size_t bit) {
  s[bit / 8] = static_cast<char>(s[bit / 8] ^ (1 << (bit % 8)));
  return s;
}

TEST(MerkleTree, GeneratedProofsVerifyAndMutationsFail) {
  std::vector<std::string> leaves;
  MerkleTree tree;
  constexpr uint64_t kMax = 70;
  for (uint64_t i = 0; i < kMax; ++i) {
    leaves.push_back("leaf-" + std::to_string(i));
    tree.AppendData(leaves.back());
  }
  std::vector<std::string> roots;
  for (uint64_t n = 0; n <= kMax; ++n) {
    roots.push_back(Mth(leaves, 0, n));
    ASSERT_EQ(*tree.RootAt(n), roots[n]) << n;
  }
  for (uint64_t n = 1; n <= kMax; ++n) {
    for (uint64_t i = 0; i < n; ++i) {
      auto p = tree.InclusionProof(i, n);
      ASSERT_TRUE(p.ok());
      const std::string& lh = tree.leaf_hashes()[i];
      ASSERT_TRUE(VerifyInclusion(lh, i, n, *p, roots[n]).ok()) << i << "/" << n;
      EXPECT_FALSE(VerifyInclusion(lh, i + 1, n, *p, roots[n]).ok());
      if (i > 0) {
        EXPECT_FALSE(VerifyInclusion(lh, i - 1, n, *p, roots[n]).ok());
      }
      // (Size n+1 with roots[n] may verify: the size is bound by the signed root,
      // not by the proof.)
      if (n < kMax) {
        EXPECT_FALSE(VerifyInclusion(lh, i, n + 1, *p, roots[n + 1]).ok());
      }
      EXPECT_FALSE(VerifyInclusion(Flip(lh, 7), i, n, *p, roots[n]).ok());
      EXPECT_FALSE(VerifyInclusion(lh, i, n, *p, Flip(roots[n], 100)).ok());
      auto extra = *p;
      extra.push_back(roots[n]);
      EXPECT_FALSE(VerifyInclusion(lh, i, n, extra, roots[n]).ok());
      for (size_t k = 0; k < p->size(); ++k) {
        auto q = *p;
        q[k] = Flip(q[k], 3 + 8 * k);
        EXPECT_FALSE(VerifyInclusion(lh, i, n, q, roots[n]).ok());
        q = *p;
        q.erase(q.begin() + k);
        EXPECT_FALSE(VerifyInclusion(lh, i, n, q, roots[n]).ok());
      }
    }
    for (uint64_t m = 1; m <= n; ++m) {
      auto p = tree.ConsistencyProof(m, n);
      ASSERT_TRUE(p.ok());
      ASSERT_TRUE(VerifyConsistency(m, n, *p, roots[m], roots[n]).ok()) << m << "->" << n;
      if (m == n) continue;
      EXPECT_FALSE(VerifyConsistency(m, n, *p, roots[m - 1], roots[n]).ok());
      EXPECT_FALSE(VerifyConsistency(m, n, *p, roots[m], roots[n - 1]).ok());
      if (m + 1 < n) {
        EXPECT_FALSE(VerifyConsistency(m + 1, n, *p, roots[m], roots[n]).ok());
      }
      for (size_t k = 0; k < p->size(); ++k) {
        auto q = *p;
        q[k] = Flip(q[k], 9);
        EXPECT_FALSE(VerifyConsistency(m, n, q, roots[m], roots[n]).ok());
        q = *p;
        q.erase(q.begin() + k);
        EXPECT_FALSE(VerifyConsistency(m, n, q, roots[m], roots[n]).ok());
      }
      auto extra = *p;
      extra.push_back(roots[0]);
      EXPECT_FALSE(VerifyConsistency(m, n, extra, roots[m], roots[n]).ok());
    }
  }
}

TEST(MerkleTree, ProofRequestsOutOfRangeAreErrors) {
  MerkleTree tree;
  for (int i = 0; i < 5; ++i) tree.AppendData(std::to_string(i));
  EXPECT_FALSE(tree.InclusionProof(5, 5).ok());
  EXPECT_FALSE(tree.InclusionProof(0, 6).ok());
  EXPECT_FALSE(tree.ConsistencyProof(4, 6).ok());
  EXPECT_FALSE(tree.ConsistencyProof(5, 4).ok());
  EXPECT_TRUE(tree.ConsistencyProof(5, 5)->empty());
}

}  // namespace
}  // namespace sealtrace::audit
