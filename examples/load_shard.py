#!/usr/bin/env python3
"""Load a sealtrace dataset shard and iterate its steps (standard library only).

Usage:
  python3 examples/load_shard.py DATASET_DIR/shard-00000.agentnet.jsonl
  python3 examples/load_shard.py DATASET_DIR/shard-00000.computer13.jsonl
  python3 examples/load_shard.py --verify DATASET_DIR   # check shard sha256 against manifest.json

Each line of a shard is one episode. AgentNet-style shards hold `traj` steps whose
value.code is a pyautogui call (coordinates normalised to 0..1); computer_13 shards hold
`steps` whose `actions` are OSWorld computer_13 dicts in pixels. The schema is described in
docs/DATASET.md.
"""
import ast
import collections
import hashlib
import json
import os
import sys


def episodes(path):
    """Yields one episode dict per JSONL line."""
    with open(path, encoding="utf-8") as f:
        for lineno, line in enumerate(f, 1):
            line = line.strip()
            if not line:
                continue
            try:
                yield json.loads(line)
            except json.JSONDecodeError as e:
                raise SystemExit(f"{path}:{lineno}: not JSON: {e}")


def steps(episode):
    """Yields (index, kind, action) for both formats; action is code or a dict list."""
    if "traj" in episode:  # AgentNet / OpenCUA style
        for s in episode["traj"]:
            yield s["index"], s.get("kind", ""), s["value"]["code"]
    else:  # OSWorld computer_13
        for s in episode["steps"]:
            yield s["index"], s.get("kind", ""), s["actions"]


def verify(dataset_dir):
    with open(os.path.join(dataset_dir, "manifest.json"), encoding="utf-8") as f:
        manifest = json.load(f)
    bad = 0
    for shard in manifest["shards"]:
        with open(os.path.join(dataset_dir, shard["file"]), "rb") as f:
            digest = hashlib.sha256(f.read()).hexdigest()
        if digest != shard["sha256"]:
            print(f"MISMATCH {shard['file']}")
            bad += 1
    print(f"verified {len(manifest['shards'])} shards, {bad} mismatches")
    return 1 if bad else 0


def main(argv):
    if len(argv) == 3 and argv[1] == "--verify":
        return verify(argv[2])
    if len(argv) != 2:
        print(__doc__)
        return 2
    kinds = collections.Counter()
    n_episodes = n_steps = 0
    contributors = set()
    for ep in episodes(argv[1]):
        n_episodes += 1
        contributors.add(ep["contributor"])
        for index, kind, action in steps(ep):
            n_steps += 1
            kinds[kind] += 1
            if isinstance(action, str):
                ast.parse(action)  # every code string is valid Python
    print(f"episodes {n_episodes}")
    print(f"steps {n_steps}")
    print(f"contributors {len(contributors)}")
    for kind, n in sorted(kinds.items()):
        print(f"kind {kind} {n}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
