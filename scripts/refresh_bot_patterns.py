"""Refresh the vendored bot-pattern lists in tracker/data/ from their npm packages.

    .venv/bin/python scripts/refresh_bot_patterns.py [--isbot VERSION] [--crawler-user-agents VERSION]
        [--device-detector VERSION]

Fetches isbot and crawler-user-agents with `npm pack` (the npm registry, no node needed to read
them) and Matomo device-detector's regexes from the PyPI sdist of its Python port (`pip download`),
keeps their pattern data and licence, and prints what changed. From device-detector: its bots,
feed readers and libraries (automated) and its mobile apps, media players and PIM clients (apps a
person uses), each regex as Matomo writes it; the few that nest a look-around inside another,
which tracker.useragent's two engines cannot split, are left out and named. Re-run it, run
`.venv/bin/pytest tests/test_useragent.py` and `make bench-useragents`, and commit tracker/data/.
crawlerdetect needs no refresh: it is a PyPI dependency (bump it in setup.cfg).
"""

from __future__ import annotations

import argparse
import json
import re
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

import yaml

DATA = Path(__file__).resolve().parent.parent / "tracker" / "data"
# device-detector's regex files, by what tracker.useragent does with them
MATOMO_LISTS = {
    "bots": ["bots.yml"],
    "feed_readers": ["client/feed_readers.yml"],
    "libraries": ["client/libraries.yml"],
    "apps": ["client/mobile_apps.yml", "client/mediaplayers.yml", "client/pim.yml"],
}
LGPL = Path("/usr/share/common-licenses/LGPL-3")


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


def device_detector(version: str, into: Path) -> tuple[str, Path]:
    """Download and unpack the sdist of PyPI device-detector==version; returns the regexes folder."""
    pip = [sys.executable, "-m", "pip", "download", "-q", "--no-deps", "--no-binary", ":all:", "-d", str(into)]
    subprocess.run([*pip, f"device-detector=={version}"], check=True, capture_output=True)
    archive = next(into.glob("device_detector-*.tar.gz"))
    with tarfile.open(archive) as tar:
        tar.extractall(into / "dd", filter="data")
    return archive.name.removeprefix("device_detector-").removesuffix(".tar.gz"), next(
        (into / "dd").glob("device_detector-*/device_detector/regexes/upstream")
    )


def nested_lookaround(regex: str) -> bool:
    """A look-around inside another (`(?!(?:a|b))`): tracker.useragent's Rust engine runs a look-around
    pattern's core without its look-arounds, and cannot cut this one out."""
    outer = re.sub(r"\(\?<?[!=](?:[^()]|\([^()]*\))*\)", "", regex)
    return bool(re.search(r"\(\?<?[!=]", outer))


def matomo_lists(regexes: Path) -> dict[str, list[dict[str, str]]]:
    lists = {}
    for key, files in MATOMO_LISTS.items():
        entries = [e for f in files for e in yaml.safe_load((regexes / f).read_text()) or []]
        for e in entries:
            if nested_lookaround(e["regex"]):
                print(f"device-detector {key}: left out {e['name']!r}: {e['regex'][:80]}")
        kept = [e for e in entries if not nested_lookaround(e["regex"])]
        lists[key] = [{"regex": e["regex"], "name": str(e["name"])} for e in kept]
    return lists


def write(name: str, payload: dict, licence: Path) -> None:
    path = DATA / f"{name}.json"
    old = json.loads(path.read_text()) if path.exists() else {"patterns": []}
    path.write_text(json.dumps(payload, indent=1, ensure_ascii=False) + "\n")
    (DATA / f"{name}.LICENSE").write_text(licence.read_text())
    before = {json.dumps(p, sort_keys=True) for p in _flat(old)}
    after = {json.dumps(p, sort_keys=True) for p in _flat(payload)}
    print(
        f"{name} {old.get('version', '-')} -> {payload['version']}: {len(after)} patterns, "
        f"+{len(after - before)} -{len(before - after)}"
    )


def _flat(payload: dict) -> list:
    patterns = payload.get("patterns", [])
    return patterns if isinstance(patterns, list) else [p for ps in patterns.values() for p in ps]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--isbot", default="5")
    parser.add_argument("--crawler-user-agents", default="1")
    parser.add_argument("--device-detector", default="6.5.1")
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
        version, regexes = device_detector(args.device_detector, Path(tmp))
        licence = Path(tmp) / "device-detector.LICENSE"  # the sdist ships none; its regex files name LGPL v3
        licence.write_text(
            "Matomo device-detector's regexes (https://github.com/matomo-org/device-detector, regexes/*.yml):\n"
            "@license http://www.gnu.org/licenses/lgpl.html LGPL v3 or later\n\n" + LGPL.read_text()
        )
        write(
            "device-detector",
            {
                "source": "PyPI device-detector sdist, device_detector/regexes/upstream (Matomo device-detector)",
                "version": version,
                "license": "LGPL-3.0-or-later",
                "patterns": matomo_lists(regexes),
            },
            licence,
        )


if __name__ == "__main__":
    main()
