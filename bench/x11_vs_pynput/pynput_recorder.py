#!/usr/bin/python3
"""Baseline recorder for bench/x11_vs_pynput: the capture engine of OpenAdapt
and DuckTrack (pynput), doing nothing but appending one JSON line per event
to a file, as DuckTrack's recorder does.

Run with Debian's system Python (python3-pynput is installed only there):
    /usr/bin/python3 pynput_recorder.py OUT.jsonl READY_FILE
Stops on SIGTERM/SIGINT; the harness counts the lines of OUT.jsonl.
"""
import json
import signal
import sys
import threading
import time

from pynput import keyboard, mouse

out_path, ready_path = sys.argv[1], sys.argv[2]
out = open(out_path, "a", encoding="utf-8")
lock = threading.Lock()


def write(event):
    event["time_stamp"] = time.perf_counter()
    line = json.dumps(event)
    with lock:
        out.write(line + "\n")


def on_press(key):
    write({"action": "press", "name": key.char if hasattr(key, "char") and key.char else str(key)})


def on_release(key):
    write({"action": "release", "name": key.char if hasattr(key, "char") and key.char else str(key)})


def on_move(x, y):
    write({"action": "move", "x": x, "y": y})


def on_click(x, y, button, pressed):
    write({"action": "click", "x": x, "y": y, "button": button.name, "pressed": pressed})


def on_scroll(x, y, dx, dy):
    write({"action": "scroll", "x": x, "y": y, "dx": dx, "dy": dy})


stop = threading.Event()
signal.signal(signal.SIGTERM, lambda *_: stop.set())
signal.signal(signal.SIGINT, lambda *_: stop.set())

kl = keyboard.Listener(on_press=on_press, on_release=on_release)
ml = mouse.Listener(on_move=on_move, on_click=on_click, on_scroll=on_scroll)
kl.start()
ml.start()
kl.wait()
ml.wait()
open(ready_path, "w").close()
while not stop.wait(0.2):
    pass
kl.stop()
ml.stop()
with lock:
    out.flush()
    out.close()
