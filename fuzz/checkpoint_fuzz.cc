// libFuzzer target: signed-note / checkpoint / verifier-key parsers.
// Seeds: fuzz/corpus/checkpoint/. Must never crash; errors are Status values.
#include <cstddef>
#include <cstdint>
#include <string>

#include "audit/checkpoint.h"
#include "crypto/crypto.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  // Public key of the seed corpus checkpoints (seed 0x07 x 32; test key only).
  static const sealtrace::audit::NoteVerifier* verifier = [] {
    sealtrace::InitCrypto();
    auto v = sealtrace::audit::NoteVerifier::FromVerifierKey(
        "sealtrace.local/audit+c9e12f54+AepKbGPinFIKvvVQexMuxfmVR3auvr57kkIe6mkURtIs");
    if (!v.ok()) __builtin_trap();
    return new sealtrace::audit::NoteVerifier(*v);
  }();
  const std::string in(reinterpret_cast<const char*>(data), size);
  auto note = sealtrace::audit::ParseSignedNote(in);
  if (note.ok()) {
    // Re-formatting a parsed note must parse back to the same text.
    auto again = sealtrace::audit::ParseSignedNote(sealtrace::audit::FormatSignedNote(*note));
    if (!again.ok() || again->text != note->text) __builtin_trap();
    (void)sealtrace::audit::ParseCheckpointBody(note->text);
  }
  (void)sealtrace::audit::ParseCheckpointBody(in);
  if (verifier != nullptr) (void)sealtrace::audit::VerifyCheckpoint(in, {*verifier});
  (void)sealtrace::audit::NoteVerifier::FromVerifierKey(in);
  (void)sealtrace::audit::NoteSigner::FromSignerKey(in);
  return 0;
}
