"""Refresh the vendored bot-pattern lists in tracker/data/ from their npm packages.

    .venv/bin/python scripts/refresh_bot_patterns.py [--isbot VERSION] [--crawler-user-agents VERSION]

Fetches each package with `npm pack` (the npm registry, no node needed to read them), keeps its
pattern data and its licence, and prints what changed. Re-run it, run
`.venv/bin/pytest tests/test_useragent.py` and `make bench-useragents`, and commit tracker/data/.
crawlerdetect needs no refresh: it is a PyPI dependency (bump it in setup.cfg).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import tarfile
import tempfile
from pathlib import Path

DATA = Path(__file__).resolve().parent.parent / "tracker" / "data"


def npm_pack(name: str, version: str, into: Path) -> tuple[str, Path]:
    """Download and unpack name@version; returns the exact version and the package folder."""
    out = subprocess.run(
        ["npm", "pack", "--json", f"{name}@{version}"], cwd=into, check=True, capture_output=True, text=True
    ).stdout
    info = json.loads(out)[0]
    with tarfile.open(into / info["filename"]) as tar:
        tar.extractall(into / name, filter="data")
    return info["version"], into / name / "package"


def isbot_patterns(package: Path) -> list[str]:
    """isbot 5.x inlines src/patterns.json into index.js as a JSON array literal."""
    source = (package / "index.js").read_text()
    start = source.index("var patterns_default = ") + len("var patterns_default = ")
    end = source.index("];", start) + 1
    return json.loads(source[start:end])


def write(name: str, payload: dict, licence: Path) -> None:
    path = DATA / f"{name}.json"
    old = json.loads(path.read_text()) if path.exists() else {"patterns": []}
    path.write_text(json.dumps(payload, indent=1, ensure_ascii=False) + "\n")
    (DATA / f"{name}.LICENSE").write_text(licence.read_text())
    before = {json.dumps(p, sort_keys=True) for p in old["patterns"]}
    after = {json.dumps(p, sort_keys=True) for p in payload["patterns"]}
    print(
        f"{name} {old.get('version', '-')} -> {payload['version']}: {len(after)} patterns, "
        f"+{len(after - before)} -{len(before - after)}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--isbot", default="5")
    parser.add_argument("--crawler-user-agents", default="1")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        version, package = npm_pack("isbot", args.isbot, Path(tmp))
        write(
            "isbot",
            {"source": "npm isbot", "version": version, "license": "Unlicense", "patterns": isbot_patterns(package)},
            package / "LICENSE",
        )
        version, package = npm_pack("crawler-user-agents", args.crawler_user_agents, Path(tmp))
        entries = json.loads((package / "crawler-user-agents.json").read_text())
        patterns = [{"pattern": e["pattern"], "tags": e.get("tags", [])} for e in entries]
        write(
            "crawler-user-agents",
            {"source": "npm crawler-user-agents", "version": version, "license": "MIT", "patterns": patterns},
            package / "LICENSE",
        )


if __name__ == "__main__":
    main()
