#!/usr/bin/env python3
"""Print the URI of this machine's Debian mirror, read from its own APT configuration.

    scripts/apt-mirror.py main|security [SOURCE_FILE...]

main: the first enabled ``deb`` source carrying a release suite (``bookworm``, not ``bookworm-updates``);
security: the first carrying a ``*-security`` suite. Reads one-line ``.list`` files and deb822 ``.sources``
files (default: /etc/apt/sources.list and /etc/apt/sources.list.d/*). Prints nothing and exits 1 when there
is none. scripts/build-images.sh uses it so that the images are built from the site's own mirror or proxy.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

Source = tuple[str, list[str]]


def one_line_sources(text: str) -> Iterator[Source]:
    for line in text.splitlines():
        words = line.split("#", 1)[0].split()
        if words[:1] != ["deb"]:
            continue
        words = words[1:]
        if words and words[0].startswith("["):
            # Options: `[arch=amd64 signed-by=...]`, possibly spread over several words.
            while words and not words[0].endswith("]"):
                words = words[1:]
            words = words[1:]
        if len(words) >= 2:
            yield words[0], [words[1]]


def deb822_sources(text: str) -> Iterator[Source]:
    for stanza in text.split("\n\n"):
        fields: dict[str, list[str]] = {}
        for line in stanza.splitlines():
            if line.startswith("#") or line[:1].isspace() or ":" not in line:
                continue
            key, _, value = line.partition(":")
            fields[key.strip().lower()] = value.split()
        enabled = fields.get("enabled", ["yes"]) != ["no"]
        if enabled and "deb" in fields.get("types", []):
            for uri in fields.get("uris", []):
                yield uri, fields.get("suites", [])


def carries(kind: str, suites: list[str]) -> bool:
    if kind == "security":
        return any(suite.endswith("-security") for suite in suites)
    return any("-" not in suite and "/" not in suite for suite in suites)


def mirror(kind: str, files: list[Path]) -> str | None:
    for path in files:
        if not path.is_file():
            continue
        text = path.read_text(encoding="utf-8", errors="replace")
        parse = deb822_sources if path.suffix == ".sources" else one_line_sources
        for uri, suites in parse(text):
            if carries(kind, suites):
                return uri.rstrip("/")
    return None


def default_files() -> list[Path]:
    directory = Path("/etc/apt/sources.list.d")
    listed = sorted(directory.glob("*.list")) + sorted(directory.glob("*.sources"))
    return [Path("/etc/apt/sources.list"), *listed]


def main(argv: list[str]) -> int:
    if not argv or argv[0] not in ("main", "security"):
        print(__doc__.strip().splitlines()[2].strip(), file=sys.stderr)
        return 2
    files = [Path(name) for name in argv[1:]] or default_files()
    found = mirror(argv[0], files)
    if found is None:
        return 1
    print(found)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
