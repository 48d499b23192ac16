// sealtrace-a11y-helper: follows the accessibility focus on the session's
// AT-SPI bus and tells the recorder the focused element's role and whether it
// hides its text (a password field). Protocol: a11y_protocol.h.
//
// A process of its own so GLib, D-Bus and libatspi stay out of the recorder.
// It turns the session's accessibility on (org.a11y.Status IsEnabled), as a
// screen reader does, so Chromium and Electron expose their trees.
//
// Bounded against a slow or hostile bus: every AT-SPI call times out
// (atspi_set_timeout), no names or text are read (roles, states and input-type
// attributes only), the search for a focused element visits at most
// kMaxVisit nodes, and answers go out after at most kSettleMs even if the bus
// is silent.
#include <atspi/atspi.h>
#include <gio/gio.h>
#include <glib-unix.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

#include "capture/hidden/a11y_protocol.h"

namespace {

using sealtrace::hidden::SanitizeRole;

constexpr guint kSettleMs = 120;  // quiet time for a trigger's focus events
constexpr int kMaxVisit = 300;    // nodes looked at per focused-element search

struct Focus {
  guint pid = 0;
  bool hidden = false;
  std::string role = "unknown";
  gint64 at_us = 0;  // g_get_monotonic_time() of the report
};

Focus g_focus;
GMainLoop* g_loop = nullptr;
std::string g_in;

void Send(const std::string& line) {
  std::string l = line + "\n";
  for (size_t at = 0; at < l.size();) {
    ssize_t w = write(1, l.data() + at, l.size() - at);
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) _exit(0);  // the recorder is gone
    at += static_cast<size_t>(w);
  }
}

bool AttributeSaysPassword(AtspiAccessible* acc) {
  GError* err = nullptr;
  GHashTable* attrs = atspi_accessible_get_attributes(acc, &err);
  if (err) g_error_free(err);
  if (!attrs) return false;
  bool pw = false;
  for (const char* key : {"text-input-type", "input-type", "type"}) {
    auto* v = static_cast<const char*>(g_hash_table_lookup(attrs, key));
    if (v && g_ascii_strcasecmp(v, "password") == 0) pw = true;
  }
  g_hash_table_unref(attrs);
  return pw;
}

Focus Describe(AtspiAccessible* acc) {
  Focus f;
  GError* err = nullptr;
  f.pid = atspi_accessible_get_process_id(acc, &err);
  if (err) {
    g_error_free(err);
    err = nullptr;
    f.pid = 0;
  }
  AtspiRole role = atspi_accessible_get_role(acc, &err);
  if (err) {
    g_error_free(err);
    err = nullptr;
    role = ATSPI_ROLE_INVALID;
  }
  gchar* name = atspi_accessible_get_role_name(acc, &err);
  if (err) g_error_free(err);
  f.role = SanitizeRole(name ? name : "unknown");
  g_free(name);
  f.hidden = role == ATSPI_ROLE_PASSWORD_TEXT || f.role.find("password") != std::string::npos ||
             AttributeSaysPassword(acc);
  f.at_us = g_get_monotonic_time();
  return f;
}

bool g_debug = false;  // SEALTRACE_A11Y_DEBUG=1: event types on stderr (no content)

void OnFocusEvent(AtspiEvent* ev, void*) {
  if (g_debug && ev) fprintf(stderr, "a11y event %s detail1=%d\n", ev->type, ev->detail1);
  if (!ev || !ev->source || ev->detail1 != 1) return;
  g_focus = Describe(ev->source);
  Send("f " + std::to_string(g_focus.pid) + " " + (g_focus.hidden ? "1" : "0") + " " +
       g_focus.role);
}

// The application on the bus with process `pid`, or nullptr (caller unrefs).
AtspiAccessible* AppOf(guint pid) {
  AtspiAccessible* desktop = atspi_get_desktop(0);
  if (!desktop) return nullptr;
  GError* err = nullptr;
  gint n = atspi_accessible_get_child_count(desktop, &err);
  if (err) {
    g_error_free(err);
    n = 0;
  }
  AtspiAccessible* found = nullptr;
  for (gint i = 0; i < n && i < 512 && !found; ++i) {
    AtspiAccessible* app = atspi_accessible_get_child_at_index(desktop, i, &err);
    if (err) {
      g_error_free(err);
      err = nullptr;
      continue;
    }
    if (!app) continue;
    guint p = atspi_accessible_get_process_id(app, &err);
    if (err) {
      g_error_free(err);
      err = nullptr;
    } else if (p == pid) {
      found = app;
      continue;
    }
    g_object_unref(app);
  }
  g_object_unref(desktop);
  return found;
}

bool HasState(AtspiAccessible* acc, AtspiStateType s) {
  AtspiStateSet* set = atspi_accessible_get_state_set(acc);
  if (!set) return false;
  bool has = atspi_state_set_contains(set, s);
  g_object_unref(set);
  return has;
}

// Breadth-first through the app's active window for the focused element.
AtspiAccessible* FindFocused(AtspiAccessible* app) {
  GQueue q = G_QUEUE_INIT;
  GError* err = nullptr;
  gint n = atspi_accessible_get_child_count(app, &err);
  if (err) {
    g_error_free(err);
    return nullptr;
  }
  for (gint i = 0; i < n && i < 64; ++i) {
    AtspiAccessible* w = atspi_accessible_get_child_at_index(app, i, &err);
    if (err) {
      g_error_free(err);
      err = nullptr;
      continue;
    }
    if (!w) continue;
    if (HasState(w, ATSPI_STATE_ACTIVE)) {
      g_queue_push_tail(&q, w);
    } else {
      g_object_unref(w);
    }
  }
  AtspiAccessible* found = nullptr;
  int visited = 0;
  while (!g_queue_is_empty(&q)) {
    auto* a = static_cast<AtspiAccessible*>(g_queue_pop_head(&q));
    if (found || ++visited > kMaxVisit) {
      g_object_unref(a);
      continue;
    }
    if (HasState(a, ATSPI_STATE_FOCUSED)) {
      found = a;
      continue;
    }
    gint c = atspi_accessible_get_child_count(a, &err);
    if (err) {
      g_error_free(err);
      err = nullptr;
      c = 0;
    }
    for (gint i = 0; i < c && i < 256; ++i) {
      AtspiAccessible* ch = atspi_accessible_get_child_at_index(a, i, &err);
      if (err) {
        g_error_free(err);
        err = nullptr;
        continue;
      }
      if (ch) g_queue_push_tail(&q, ch);
    }
    g_object_unref(a);
  }
  return found;
}

struct Pending {
  std::string id;
  guint pid;
  gint64 asked_us;
};

gboolean AnswerLater(gpointer data) {
  auto* p = static_cast<Pending*>(data);
  Focus f;
  if (p->pid == 0 || g_focus.pid == p->pid) {
    f = g_focus;
  } else if (AtspiAccessible* app = AppOf(p->pid)) {
    f.pid = p->pid;
    if (AtspiAccessible* acc = FindFocused(app)) {
      f = Describe(acc);
      g_object_unref(acc);
    }
    g_object_unref(app);
  } else {
    f.pid = p->pid;
    f.role = "none";  // this application does not use the accessibility bus
  }
  Send("a " + p->id + " " + std::to_string(f.pid) + " " + (f.hidden ? "1" : "0") + " " + f.role);
  delete p;
  return G_SOURCE_REMOVE;
}

void HandleQuery(const std::string& line) {
  // "q <id> <pid>"
  char id[24];
  unsigned pid = 0;
  if (line.size() > 64 || sscanf(line.c_str(), "q %20[0-9] %u", id, &pid) != 2) return;
  g_timeout_add(kSettleMs, AnswerLater, new Pending{id, pid, g_get_monotonic_time()});
}

gboolean OnStdin(gint fd, GIOCondition cond, gpointer) {
  char buf[1024];
  ssize_t n = read(fd, buf, sizeof(buf));
  if (n <= 0) {
    g_main_loop_quit(g_loop);
    return G_SOURCE_REMOVE;
  }
  for (ssize_t i = 0; i < n; ++i) {
    if (buf[i] == '\n') {
      HandleQuery(g_in);
      g_in.clear();
    } else if (g_in.size() < 128) {
      g_in.push_back(buf[i]);
    }
  }
  (void)cond;
  return G_SOURCE_CONTINUE;
}

// Screen readers set this; toolkits that check it (Chromium, Electron) then
// build their accessibility trees.
bool EnableAccessibility() {
  GError* err = nullptr;
  GDBusConnection* bus = g_bus_get_sync(G_BUS_TYPE_SESSION, nullptr, &err);
  if (!bus) {
    if (err) g_error_free(err);
    return false;
  }
  GVariant* r = g_dbus_connection_call_sync(
      bus, "org.a11y.Bus", "/org/a11y/bus", "org.freedesktop.DBus.Properties", "Set",
      g_variant_new("(ssv)", "org.a11y.Status", "IsEnabled", g_variant_new_boolean(TRUE)), nullptr,
      G_DBUS_CALL_FLAGS_NONE, 2000, nullptr, &err);
  bool ok = r != nullptr;
  if (r) g_variant_unref(r);
  if (err) g_error_free(err);
  g_object_unref(bus);
  return ok;
}

}  // namespace

int main() {
  g_debug = getenv("SEALTRACE_A11Y_DEBUG") != nullptr;
  // Without a session bus libatspi aborts; say why and let the recorder retry.
  GError* bus_err = nullptr;
  GDBusConnection* session = g_bus_get_sync(G_BUS_TYPE_SESSION, nullptr, &bus_err);
  if (!session) {
    if (bus_err) g_error_free(bus_err);
    Send("e no-session-bus");
    return 3;
  }
  g_object_unref(session);
  const bool enabled = EnableAccessibility();
  if (atspi_init() < 0) {
    Send("e no-bus");
    return 3;
  }
  atspi_set_timeout(300, 2000);
  AtspiEventListener* l = atspi_event_listener_new(OnFocusEvent, nullptr, nullptr);
  GError* err = nullptr;
  if (!atspi_event_listener_register(l, "object:state-changed:focused", &err)) {
    if (err) g_error_free(err);
    Send("e cannot-listen");
    return 4;
  }
  g_loop = g_main_loop_new(nullptr, FALSE);
  g_unix_fd_add(0, static_cast<GIOCondition>(G_IO_IN | G_IO_HUP | G_IO_ERR), OnStdin, nullptr);
  Send("hello " + std::to_string(sealtrace::hidden::kProtocolVersion) + " " +
       (enabled ? "1" : "0"));
  g_main_loop_run(g_loop);
  atspi_event_listener_deregister(l, "object:state-changed:focused", nullptr);
  g_object_unref(l);
  atspi_exit();
  return 0;
}
