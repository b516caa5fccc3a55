"""Rebuild tests/data/useragents/corpus.tsv.gz from public packages (see the README next to it).

    .venv/bin/python scripts/build_useragent_corpus.py

Downloads with the ordinary clients (`pip download`, `npm pack`) into a temporary folder; no
string is written by hand. Each distinct user agent gets one row: split, label, category, source,
user agent. A user agent that two sources label differently (bot and human) is dropped. The
split is by a hash of the string: "dev" rows may be read to write patterns and allow-list
entries, "held-out" rows are only measured.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import subprocess
import sys
import tarfile
import tempfile
import zipfile
from pathlib import Path

import yaml

OUT = Path(__file__).resolve().parent.parent / "tests" / "data" / "useragents" / "corpus.tsv.gz"
VERSIONS = {
    "device-detector": "6.5.1",  # PyPI sdist shipping matomo-org/device-detector's fixtures
    "fake-useragent": "2.2.0",  # PyPI
    "crawler-user-agents": "1.60.0",  # npm
    "user-agents": "2.1.198",  # npm
    "top-user-agents": "2.1.138",  # npm
}
# Matomo's bot categories -> our families (tracker.useragent.FAMILIES)
MATOMO_BOTS = {
    "Crawler": "crawler", "Search bot": "crawler", "Site Monitor": "monitor", "Network Monitor": "monitor",
    "Benchmark": "monitor", "Security Checker": "scanner", "Security search bot": "scanner",
    "AI Data Scraper": "ai-agent", "AI Search Crawler": "ai-agent", "AI Assistant": "ai-agent", "AI Agent": "ai-agent",
    "Feed Fetcher": "feed", "Feed Parser": "feed", "Feed Reader": "feed", "Read-it-later Service": "feed",
    "Social Media Agent": "preview", "Validator": "seo", "Search tools": "seo",
}  # fmt: skip
# crawler-user-agents' tags -> our families, the first tag that maps wins
CUA_TAGS = {
    "ai-crawler": "ai-agent", "monitoring": "monitor", "scanner": "scanner", "social-preview": "preview",
    "feed-reader": "feed", "archiver": "archiver", "seo": "seo", "browser-automation": "headless",
    "http-library": "http-client", "search-engine": "crawler", "academic": "crawler", "advertising": "crawler",
}  # fmt: skip
# Matomo's mobile apps that are social or messaging apps: their in-app browsers are the traffic itself
IN_APP = {
    "Facebook", "Facebook Lite", "Facebook Messenger", "Facebook Messenger Lite", "Instagram", "TikTok", "Snapchat",
    "Pinterest", "Twitter", "Threads", "Line", "WeChat", "LinkedIn", "KakaoTalk", "Viber", "Sina Weibo", "QQ",
    "Telegram", "Discord", "Reddit", "Tumblr", "Apple iMessage", "Douyin", "Kik", "Skype",
}  # fmt: skip
# Matomo's libraries that show the page to a person: iOS's in-app Safari (SFSafariViewController) is an
# in-app browser, not a program fetching for itself. Every other library stays automated.
IN_APP_LIBRARIES = {"Safari View Service"}
# Office apps fetching a link before the browser opens it (the classifier's family "office-prefetch")
OFFICE_TOKENS = ("ms-office", "microsoft office", "microsoft outlook")
IN_APP_TOKENS = (
    "FBAN/", "FBAV/", "FB_IAB", "Instagram ", "musical_ly", "BytedanceWebview", "MicroMessenger", "Snapchat",
)  # fmt: skip


def run(*cmd: str, cwd: Path) -> None:
    subprocess.run(cmd, cwd=cwd, check=True, capture_output=True)


def fetch(tmp: Path) -> None:
    pip = [sys.executable, "-m", "pip", "download", "-q", "--no-deps", "-d", str(tmp)]
    run(*pip, "--no-binary", ":all:", f"device-detector=={VERSIONS['device-detector']}", cwd=tmp)
    run(*pip, f"fake-useragent=={VERSIONS['fake-useragent']}", cwd=tmp)
    for name in ("crawler-user-agents", "user-agents", "top-user-agents"):
        run("npm", "pack", "-q", f"{name}@{VERSIONS[name]}", cwd=tmp)
    for archive in tmp.glob("*.t*gz"):
        with tarfile.open(archive) as tar:
            tar.extractall(tmp / archive.name.split("-")[0], filter="data")
    for wheel in tmp.glob("*.whl"):
        zipfile.ZipFile(wheel).extractall(tmp / "fake")


def rows(tmp: Path):
    """(label, category, source, user agent) from every source."""
    fixtures = next(tmp.glob("device_detector/device_detector-*/device_detector/tests/fixtures/upstream"))
    for path in sorted(fixtures.glob("*.yml")):
        for entry in yaml.load(path.read_text(), Loader=yaml.CSafeLoader) or []:
            ua = entry["user_agent"]
            if "bot" in entry:
                yield "bot", MATOMO_BOTS.get((entry["bot"] or {}).get("category") or "", "bot"), "matomo", ua
                continue
            client = entry.get("client") or {}
            kind, name = client.get("type"), client.get("name") or ""
            if kind == "library" and name in IN_APP_LIBRARIES:
                yield "human", "in-app", "matomo", ua
            elif kind == "library":
                yield "bot", "http-client", "matomo", ua
            elif kind == "feed reader":
                yield "bot", "feed", "matomo", ua
            elif any(token in ua.lower() for token in OFFICE_TOKENS):
                yield "human", "office", "matomo", ua
            elif name in IN_APP:
                yield "human", "in-app", "matomo", ua
            else:
                yield "human", "browser" if kind == "browser" else "app", "matomo", ua
    cua = json.loads(next(tmp.glob("crawler/package/crawler-user-agents.json")).read_text())
    for entry in cua:
        family = next((CUA_TAGS[t] for t in entry.get("tags", []) if t in CUA_TAGS), "bot")
        for ua in entry.get("instances", []):
            yield "bot", family, "crawler-user-agents", ua
    humans = [
        ("user-agents", [e["userAgent"] for e in
                         json.loads(next(tmp.glob("user/package/dist/user-agents.json")).read_text())]),
        ("top-user-agents", json.loads(next(tmp.glob("top/package/src/index.json")).read_text())),
        ("fake-useragent", [json.loads(line)["useragent"] for line in
                            next(tmp.glob("fake/fake_useragent/data/browsers.jsonl")).read_text().splitlines()]),
    ]  # fmt: skip
    for source, uas in humans:
        for ua in uas:
            yield "human", "in-app" if any(t in ua for t in IN_APP_TOKENS) else "browser", source, ua


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        fetch(Path(tmp))
        seen: dict[str, tuple[str, str, str]] = {}
        conflicts: set[str] = set()
        for label, category, source, ua in rows(Path(tmp)):
            ua = ua.strip()
            if not ua or "\t" in ua or "\n" in ua:
                continue
            if ua in seen and seen[ua][0] != label:
                conflicts.add(ua)
            seen.setdefault(ua, (label, category, source))
    OUT.parent.mkdir(parents=True, exist_ok=True)
    counts: dict[tuple[str, str], int] = {}
    with gzip.open(OUT, "wt", encoding="utf-8", compresslevel=9) as out:
        out.write("split\tlabel\tcategory\tsource\tuser_agent\n")
        for ua, (label, category, source) in sorted(seen.items()):
            if ua in conflicts:
                continue
            split = "held-out" if hashlib.sha1(ua.encode()).digest()[0] % 2 else "dev"
            out.write(f"{split}\t{label}\t{category}\t{source}\t{ua}\n")
            counts[split, label] = counts.get((split, label), 0) + 1
    print(f"{OUT}: {counts}; {len(conflicts)} user agents labelled both bot and human were dropped")


if __name__ == "__main__":
    main()
