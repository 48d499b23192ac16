// x11_record_probe: runs X11Source on $DISPLAY (or --display) until SIGINT or
// SIGTERM and prints what it captured as counts, never content:
//   {"events":N,"key_down":..,"key_up":..,"typed_chars":..,"button_down":..,
//    "button_up":..,"scroll":..,"move":..,"focus":..,"status":"OK"}
// Every event is serialized (as the encoder would) and then discarded: the
// probe writes nothing to disk. Used by bench/x11_vs_pynput/run.sh.
#include <signal.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

#include "capture/x11/x11_source.h"

namespace {

sealtrace::X11Source* g_source = nullptr;

void OnSignal(int) {
  if (g_source) g_source->Stop();
}

class CountingSink : public sealtrace::EventSink {
 public:
  void OnEvent(sealtrace::v1::Event e) override {
    ++events;
    bytes += e.SerializeAsString().size();
    if (e.has_key()) {
      if (e.key().down()) {
        ++key_down;
        if (!e.key().text().empty()) ++typed_chars;
      } else {
        ++key_up;
      }
    } else if (e.has_pointer()) {
      switch (e.pointer().kind()) {
        case sealtrace::v1::PointerEvent::MOVE:
          ++move;
          break;
        case sealtrace::v1::PointerEvent::BUTTON_DOWN:
          ++button_down;
          break;
        case sealtrace::v1::PointerEvent::BUTTON_UP:
          ++button_up;
          break;
        case sealtrace::v1::PointerEvent::SCROLL:
          ++scroll;
          break;
        default:
          break;
      }
    } else if (e.has_focus()) {
      ++focus;
    }
  }
  uint64_t events = 0, bytes = 0, key_down = 0, key_up = 0, typed_chars = 0, button_down = 0,
           button_up = 0, scroll = 0, move = 0, focus = 0;
};

}  // namespace

int main(int argc, char** argv) {
  sealtrace::X11Source::Options opt;
  const char* ready_file = nullptr;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (a == "--display" && i + 1 < argc) {
      opt.display = argv[++i];
    } else if (a == "--hz" && i + 1 < argc) {
      opt.pointer_hz = std::atoi(argv[++i]);
    } else if (a == "--key-batch-ms" && i + 1 < argc) {
      opt.key_batch_ms = std::atoi(argv[++i]);
    } else if (a == "--ready-file" && i + 1 < argc) {
      ready_file = argv[++i];
    } else {
      std::fprintf(stderr,
                   "usage: x11_record_probe [--display :N] [--hz 60] [--key-batch-ms 0] "
                   "[--ready-file PATH]\n");
      return 2;
    }
  }
  // Strings in events are always valid UTF-8; we only count them.
  sealtrace::X11Source src(std::move(opt));
  g_source = &src;
  struct sigaction sa;
  std::memset(&sa, 0, sizeof(sa));
  sa.sa_handler = OnSignal;
  sigaction(SIGINT, &sa, nullptr);
  sigaction(SIGTERM, &sa, nullptr);
  absl::Status st = src.Start();
  if (!st.ok()) {
    std::fprintf(stderr, "x11_record_probe: %s\n", st.ToString().c_str());
    return 1;
  }
  sealtrace::SourceInfo info = src.Info();
  std::fprintf(stderr, "x11_record_probe: %s%s%s\n", info.description.c_str(),
               info.warning.empty() ? "" : "; ", info.warning.c_str());
  if (ready_file) {
    if (FILE* f = std::fopen(ready_file, "w")) std::fclose(f);
  }
  CountingSink sink;
  st = src.Run(&sink);
  sealtrace::X11Source::Stats s = src.stats();
  std::printf(
      "{\"events\":%llu,\"bytes\":%llu,\"key_down\":%llu,\"key_up\":%llu,\"typed_chars\":%llu,"
      "\"button_down\":%llu,\"button_up\":%llu,\"scroll\":%llu,\"move\":%llu,\"focus\":%llu,"
      "\"raw_motion\":%llu,\"keymap_reloads\":%llu,\"status\":\"%s\"}\n",
      (unsigned long long)sink.events, (unsigned long long)sink.bytes,
      (unsigned long long)sink.key_down, (unsigned long long)sink.key_up,
      (unsigned long long)sink.typed_chars, (unsigned long long)sink.button_down,
      (unsigned long long)sink.button_up, (unsigned long long)sink.scroll,
      (unsigned long long)sink.move, (unsigned long long)sink.focus,
      (unsigned long long)s.raw_motion_events, (unsigned long long)s.keymap_reloads,
      st.ok() ? "OK" : std::string(absl::StatusCodeToString(st.code())).c_str());
  std::fflush(stdout);
  return st.ok() ? 0 : 3;
}
