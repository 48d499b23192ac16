#include "audit/checkpoint.h"

#include <gtest/gtest.h>

#include "audit/merkle.h"
#include "crypto/crypto.h"

namespace sealtrace::audit {
namespace {

Checkpoint MakeCp(uint64_t size = 42) {
  Checkpoint cp;
  cp.origin = "sealtrace.local/audit";
  cp.size = size;
  cp.root_hash = Sha256("root");
  return cp;
}

NoteSigner Key(const std::string& name) { return *NoteSigner::Generate(name); }

TEST(Checkpoint, RoundTripAndKeyText) {
  NoteSigner log = Key("sealtrace.local/audit");
  Checkpoint cp = MakeCp();
  cp.extensions = {"ext one"};
  auto note = SignCheckpoint(cp, log);
  ASSERT_TRUE(note.ok()) << note.status();
  auto v = VerifyCheckpoint(*note, {log.verifier()}, "sealtrace.local/audit");
  ASSERT_TRUE(v.ok()) << v.status();
  EXPECT_EQ(v->checkpoint, cp);
  EXPECT_EQ(v->signers, std::vector<std::string>{"sealtrace.local/audit"});
  // Verifier and signer key texts round-trip.
  auto vk = NoteVerifier::FromVerifierKey(log.verifier().VerifierKey());
  ASSERT_TRUE(vk.ok()) << vk.status();
  EXPECT_TRUE(VerifyCheckpoint(*note, {*vk}).ok());
  auto sk = NoteSigner::FromSignerKey(log.SignerKey());
  ASSERT_TRUE(sk.ok()) << sk.status();
  EXPECT_EQ(sk->verifier().VerifierKey(), log.verifier().VerifierKey());
  // Signature line shape: em dash, space, name, space, base64.
  EXPECT_NE(note->find("\n\n\xE2\x80\x94 sealtrace.local/audit "), std::string::npos);
}

TEST(Checkpoint, GoNoteVerifierKeyVector) {
  // Key from the golang.org/x/mod/sumdb/note documentation example.
  auto v = NoteVerifier::FromVerifierKey(
      "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW");
  ASSERT_TRUE(v.ok()) << v.status();
  EXPECT_EQ(v->key_id(), 0xc74f20a3u);
  EXPECT_FALSE(NoteVerifier::FromVerifierKey(
                   "PeterNeumann+c74f20a4+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW")
                   .ok());
  // And a signed note from the same documentation verifies.
  const std::string note =
      "If you think cryptography is the answer to your problem,\n"
      "then you don't know what your problem is.\n"
      "\n"
      "\xE2\x80\x94 PeterNeumann "
      "x08go/ZJkuBS9UG/"
      "SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=\n";
  auto opened = OpenNote(note, {*v});
  ASSERT_TRUE(opened.ok()) << opened.status();
  EXPECT_EQ(opened->verified.size(), 1u);
}

TEST(Checkpoint, WrongKeyIsRefused) {
  NoteSigner log = Key("sealtrace.local/audit");
  NoteSigner other = Key("sealtrace.local/audit");  // same name, different key
  auto note = SignCheckpoint(MakeCp(), log);
  ASSERT_TRUE(note.ok());
  auto v = VerifyCheckpoint(*note, {other.verifier()});
  EXPECT_EQ(v.status().code(), absl::StatusCode::kPermissionDenied) << v.status();
}

TEST(Checkpoint, EditedLinesAreRefused) {
  NoteSigner log = Key("sealtrace.local/audit");
  auto note = SignCheckpoint(MakeCp(42), log);
  ASSERT_TRUE(note.ok());
  std::string edited = *note;
  edited.replace(edited.find("\n42\n"), 4, "\n43\n");
  EXPECT_FALSE(VerifyCheckpoint(edited, {log.verifier()}).ok());
  std::string root_edit = *note;
  const size_t p = root_edit.find('\n', root_edit.find("\n42\n") + 1) + 1;  // root line start
  root_edit[p] = root_edit[p] == 'A' ? 'B' : 'A';
  EXPECT_FALSE(VerifyCheckpoint(root_edit, {log.verifier()}).ok());
  std::string origin_edit = *note;
  origin_edit.replace(0, 9, "evilcorp.");
  EXPECT_FALSE(VerifyCheckpoint(origin_edit, {log.verifier()}).ok());
}

TEST(Checkpoint, MultipleSignaturesAndWitnesses) {
  NoteSigner log = Key("sealtrace.local/audit");
  NoteSigner witness = Key("works-council.example/witness");
  NoteSigner stranger = Key("stranger.example/w");
  auto note = SignCheckpoint(MakeCp(), log);
  ASSERT_TRUE(note.ok());
  auto cosigned = AddSignature(*note, witness);
  ASSERT_TRUE(cosigned.ok());
  cosigned = AddSignature(*cosigned, stranger);
  ASSERT_TRUE(cosigned.ok());
  EXPECT_FALSE(AddSignature(*cosigned, witness).ok());  // no duplicate

  auto v = VerifyCheckpoint(*cosigned, {log.verifier(), witness.verifier()});
  ASSERT_TRUE(v.ok()) << v.status();
  EXPECT_EQ(v->signers,
            (std::vector<std::string>{"sealtrace.local/audit", "works-council.example/witness"}));
  // Unknown signatures are ignored; a witness alone is not the log.
  EXPECT_FALSE(VerifyCheckpoint(*cosigned, {witness.verifier()}).ok());
  // A known key whose signature is broken rejects the whole note.
  std::string broken = *cosigned;
  const size_t w = broken.find("works-council.example/witness ");
  const size_t sig = broken.find(' ', w) + 10;
  broken[sig] = broken[sig] == 'A' ? 'B' : 'A';
  EXPECT_FALSE(VerifyCheckpoint(broken, {log.verifier(), witness.verifier()}).ok());
  EXPECT_TRUE(VerifyCheckpoint(broken, {log.verifier()}).ok());  // witness unknown: ignored
}

TEST(Checkpoint, KeyRotationVerifiesOldAndNew) {
  NoteSigner old_key = Key("sealtrace.local/audit");
  NoteSigner new_key = Key("sealtrace.local/audit");
  auto old_note = SignCheckpoint(MakeCp(10), old_key);
  auto new_note = SignCheckpoint(MakeCp(20), new_key);
  ASSERT_TRUE(old_note.ok() && new_note.ok());
  const std::vector<NoteVerifier> known = {new_key.verifier(), old_key.verifier()};
  EXPECT_EQ(VerifyCheckpoint(*old_note, known)->checkpoint.size, 10u);
  EXPECT_EQ(VerifyCheckpoint(*new_note, known)->checkpoint.size, 20u);
  EXPECT_FALSE(VerifyCheckpoint(*old_note, {new_key.verifier()}).ok());
}

TEST(Checkpoint, MalformedInputGetsClearErrors) {
  NoteSigner log = Key("sealtrace.local/audit");
  const std::string good = *SignCheckpoint(MakeCp(), log);
  const std::vector<NoteVerifier> k = {log.verifier()};
  const std::string sigline = good.substr(good.find("\n\n") + 2);
  struct Case {
    std::string name, note, want;
  };
  const std::string root_b64 = Base64(Sha256("root"));
  std::vector<Case> cases = {
      {"empty", "", "newline"},
      {"no blank line", "a\n1\n" + root_b64 + "\n", "blank line"},
      {"no signatures", "a\n1\n" + root_b64 + "\n\n", "no signature"},
      {"hyphen not em dash", "a\n1\n" + root_b64 + "\n\n- a AAAAAAA=\n", "em dash"},
      {"bad base64", "a\n1\n" + root_b64 + "\n\n\xE2\x80\x94 a !!!!\n", "base64"},
      {"short sig", "a\n1\n" + root_b64 + "\n\n\xE2\x80\x94 a AAAA\n", "shorter"},
      {"control char", "a\x01\n1\n" + root_b64 + "\n\n" + sigline, "control"},
      {"bad utf8", "a\xff\n1\n" + root_b64 + "\n\n" + sigline, "UTF-8"},
      {"no final newline", good.substr(0, good.size() - 1), "newline"},
      {"name with plus", "a\n1\n" + root_b64 + "\n\n\xE2\x80\x94 a+b AAAAAAA=\n", "key name"},
  };
  for (const auto& c : cases) {
    auto r = VerifyCheckpoint(c.note, k);
    ASSERT_FALSE(r.ok()) << c.name;
    EXPECT_NE(r.status().message().find(c.want), std::string::npos) << c.name << ": " << r.status();
  }
  // Body-level errors (parsed directly).
  struct Body {
    std::string text, want;
  };
  std::vector<Body> bodies = {
      {"a\n1\n", "three lines"},
      {"a\n01\n" + root_b64 + "\n", "leading zero"},
      {"a\n1x\n" + root_b64 + "\n", "decimal"},
      {"a\n99999999999999999999\n" + root_b64 + "\n", "overflows"},
      {"a\n1\nAAAA\n", "32 bytes"},
      {"a\n1\n" + root_b64 + "\n\nx\n", "empty"},
      {"\n1\n" + root_b64 + "\n", "empty"},
      {"a\n-1\n" + root_b64 + "\n", "decimal"},
  };
  for (const auto& b : bodies) {
    auto r = ParseCheckpointBody(b.text);
    ASSERT_FALSE(r.ok()) << b.text;
    EXPECT_NE(r.status().message().find(b.want), std::string::npos) << b.text << r.status();
  }
  EXPECT_EQ(ParseCheckpointBody("a\n0\n" + Base64(EmptyTreeRoot()) + "\n")->size, 0u);
  // Bad verifier keys.
  for (const char* vk : {"", "a", "a+b+c", "a+c74f20a3+AAAA", "a b+c74f20a3+ARpc",
                         "PeterNeumann+C74F20A3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW"}) {
    EXPECT_FALSE(NoteVerifier::FromVerifierKey(vk).ok()) << vk;
  }
  // Signing refuses an origin that differs from the key name.
  Checkpoint other = MakeCp();
  other.origin = "other/log";
  EXPECT_FALSE(SignCheckpoint(other, log).ok());
}

}  // namespace
}  // namespace sealtrace::audit
