"""Get the Treasury files (from a folder or a URL), parse them and build the panel."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from pathlib import Path

from bot.data.entities import Group
from bot.data.panel import Panel, build_panel
from bot.data.parse import ParsedFile, parse_file
from bot.data.sources import HEADLINE, RELEASE_FILES, file_url
from bot.errors import ParseError, TicAlertError


def read_dir(directory: Path, names: Iterable[str] = RELEASE_FILES) -> dict[str, bytes]:
    """The release's files (or ``names``, e.g. every parsed file: ``PARSERS``) present in
    ``directory``; the headline file is required."""
    if not directory.is_dir():
        raise TicAlertError(f"data dir {directory}: not a directory")
    files = {n: (directory / n).read_bytes() for n in names if (directory / n).is_file()}
    if HEADLINE not in files:
        raise TicAlertError(f"data dir {directory}: no {HEADLINE} (the release's headline file)")
    return files


def fetch_all(get: Callable[[str], bytes], base_url: str) -> dict[str, bytes]:
    """The release's files (RELEASE_FILES), fetched with ``get(url)``."""
    return {name: get(file_url(base_url, name)) for name in RELEASE_FILES}


def only_release_files(files: dict[str, bytes]) -> dict[str, bytes]:
    """Of ``files`` (e.g. all a store holds), those a release's panel is built from."""
    return {name: files[name] for name in RELEASE_FILES if name in files}


def panel_from_bytes(files: dict[str, bytes], groups: Iterable[Group]) -> Panel:
    """Parse every file (a bad one raises ParseError naming it) and merge them."""
    parsed: list[ParsedFile] = [parse_file(name, data) for name, data in files.items()]
    check_release_months(parsed)
    return build_panel(parsed, groups)


def check_release_months(parsed: list[ParsedFile]) -> None:
    """No file holds a month after the release's own (the headline file's newest month): such a
    date is a slipped digit, and would otherwise become the file's vintage and the panel's end."""
    headline = next((f for f in parsed if f.name == HEADLINE), None)
    if headline is None:
        return
    release = headline.frame["period"].max()
    for f in parsed:
        if len(f.frame) and (newest := f.frame["period"].max()) > release:
            raise ParseError(f.name, None, f"data months up to the release's {release}", f"{newest}")
