#!/usr/bin/env python3
"""Checks that every non-test source under src/ includes only the src/ folders
its folder may use (src/DEPS). Exit 0 when the tree keeps the rules, 1 with one
line per broken include otherwise, 2 on a malformed DEPS file.

  check_layers.py SRC_DIR          check a tree
  check_layers.py --selftest       check that a broken rule is reported
"""
import os
import re
import sys
import tempfile

INCLUDE = re.compile(r'^\s*#\s*include\s+"([^"/]+)/[^"]*"', re.M)
TEST_FILE = re.compile(r'(_test\.cc$|test_util|testing)')


def load_rules(path):
    rules = {}
    with open(path, encoding="utf-8") as f:
        for n, line in enumerate(f, 1):
            line = line.split("#", 1)[0].strip()
            if not line:
                continue
            if ":" not in line:
                raise ValueError(f"{path}:{n}: expected 'folder: allowed folders'")
            folder, allowed = line.split(":", 1)
            rules[folder.strip()] = set(allowed.split())
    for folder, allowed in rules.items():
        unknown = allowed - set(rules)
        if unknown:
            raise ValueError(f"{path}: {folder} may include unknown folders {sorted(unknown)}")
    return rules


def check(src):
    rules = load_rules(os.path.join(src, "DEPS"))
    folders = {d for d in os.listdir(src) if os.path.isdir(os.path.join(src, d))}
    errors = []
    for folder in sorted(folders):
        if folder not in rules:
            errors.append(f"src/{folder}: no line in src/DEPS (every folder states what it may include)")
            continue
        for root, _, files in os.walk(os.path.join(src, folder)):
            for name in sorted(files):
                if not name.endswith((".cc", ".h")) or TEST_FILE.search(name):
                    continue
                path = os.path.join(root, name)
                with open(path, encoding="utf-8", errors="replace") as f:
                    text = f.read()
                for m in INCLUDE.finditer(text):
                    target = m.group(1)
                    if target == folder or target not in folders:
                        continue  # own folder, or not a src/ folder (third party, generated)
                    if target not in rules[folder]:
                        line = text.count("\n", 0, m.start()) + 1
                        rel = os.path.relpath(path, os.path.dirname(src))
                        errors.append(f"{rel}:{line}: {folder}/ may not include {target}/ (src/DEPS)")
    return errors


def selftest():
    with tempfile.TemporaryDirectory() as d:
        src = os.path.join(d, "src")
        for folder in ("low", "high"):
            os.makedirs(os.path.join(src, folder))
        with open(os.path.join(src, "DEPS"), "w") as f:
            f.write("low:\nhigh: low\n")
        with open(os.path.join(src, "high", "a.cc"), "w") as f:
            f.write('#include "low/x.h"\n#include "absl/status/status.h"\n')
        with open(os.path.join(src, "low", "b_test.cc"), "w") as f:
            f.write('#include "high/a.h"\n')  # tests are not checked
        if check(src):
            return "a tree that keeps its rules was reported"
        with open(os.path.join(src, "low", "b.cc"), "w") as f:
            f.write('#include "high/a.h"\n')
        errors = check(src)
        if len(errors) != 1 or "low/ may not include high/" not in errors[0]:
            return f"an upward include was not reported exactly once: {errors}"
        os.makedirs(os.path.join(src, "new"))
        if not any("src/new: no line" in e for e in check(src)):
            return "a folder without a DEPS line was not reported"
    return None


def main():
    if sys.argv[1:] == ["--selftest"]:
        problem = selftest()
        print("selftest: " + (problem or "ok"))
        return 1 if problem else 0
    if len(sys.argv) != 2:
        print(__doc__, file=sys.stderr)
        return 2
    try:
        errors = check(sys.argv[1])
    except ValueError as e:
        print(e, file=sys.stderr)
        return 2
    for e in errors:
        print(e)
    print(f"layering: {len(errors)} broken include rule(s)" if errors else "layering: ok")
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
