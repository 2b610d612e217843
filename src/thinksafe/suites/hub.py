"""Fetching a benchmark's official files: from the Hugging Face Hub or a pinned URL.

Every remote source is pinned (a Hub commit, or a URL that names a Git commit), so a suite
loads the same bytes on every machine. ``huggingface_hub`` is imported only when a download is
needed; it reads the user's token (``HF_TOKEN`` or ``huggingface-cli login``) by itself, which
gated datasets need.

Whatever goes wrong (the library is missing, the machine is offline, access is refused, the
file is not there) ends in ONE :class:`~thinksafe.errors.UserError` line that names
``NAME@PATH``, the way to run the suite from a local copy.
"""

from __future__ import annotations

import hashlib
import importlib
import logging
import os
import shutil
import socket
import tempfile
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from thinksafe.errors import MissingExtraError, UserError

HF_DATASETS = "https://huggingface.co/datasets/"
OFFLINE_VARS: tuple[str, ...] = ("THINKSAFE_OFFLINE", "HF_HUB_OFFLINE")
URL_TIMEOUT_S = 30.0
_TRUE = {"1", "true", "yes", "on"}


@dataclass(frozen=True)
class HubFile:
    """One file of a dataset repository on the Hugging Face Hub, at a pinned revision."""

    repo: str
    filename: str
    revision: str
    gated: bool = False

    @property
    def url(self) -> str:
        return f"{HF_DATASETS}{self.repo}/blob/{self.revision}/{self.filename}"


@dataclass(frozen=True)
class UrlFile:
    """One file at a pinned URL (a raw file at a Git commit)."""

    url: str

    @property
    def filename(self) -> str:
        return self.url.rstrip("/").rsplit("/", 1)[-1]


Remote = HubFile | UrlFile


def _offline_var() -> str | None:
    """The first of :data:`OFFLINE_VARS` that asks for no network, or ``None``."""
    for v in OFFLINE_VARS:
        if os.environ.get(v, "").strip().lower() in _TRUE:
            return v
    return None


def offline() -> bool:
    """Whether the user asked for no network (``THINKSAFE_OFFLINE`` or ``HF_HUB_OFFLINE``)."""
    return _offline_var() is not None


_REACHABLE: dict[tuple[str, int], bool] = {}
""":func:`hub_reachable`'s answers, per (host, port), for the rest of the process."""


def hub_reachable(timeout_s: float = 3.0) -> bool:
    """Whether the Hub's host answers a TCP connection at once. Without this, the library
    retries an unreachable Hub for half a minute before failing; with it, an offline machine
    reads the cache (or fails) in a moment. The host is probed once per process: later calls
    give the first answer."""
    endpoint = urlsplit(os.environ.get("HF_ENDPOINT") or "https://huggingface.co")
    address = (endpoint.hostname or "huggingface.co", endpoint.port or 443)
    known = _REACHABLE.get(address)
    if known is None:
        try:
            with socket.create_connection(address, timeout=timeout_s):
                known = True
        except OSError:
            known = False
        _REACHABLE[address] = known
    return known


def way_out(suite: str) -> str:
    """The sentence every download error ends with: how to run from a local copy."""
    if suite == "hf" or suite.startswith("hf:"):
        return "or download the data file yourself and run --suite file:PATH"
    return f"or run from a local copy of the official files with --suite {suite}@PATH"


def import_hub(suite: str) -> Any:
    """The ``huggingface_hub`` module, or a ``MissingExtraError`` naming the install command."""
    try:
        return importlib.import_module("huggingface_hub")
    except ImportError:
        raise MissingExtraError(
            f"suite {suite!r} downloads from the Hugging Face Hub, which needs huggingface_hub:"
            f" pip install huggingface_hub, {way_out(suite)}"
        ) from None


def _status(exc: BaseException) -> int | None:
    response = getattr(exc, "response", None)
    code = getattr(response, "status_code", None)
    return code if isinstance(code, int) else None


def _names(exc: BaseException) -> set[str]:
    return {cls.__name__ for cls in type(exc).__mro__}


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0][:200] if text else type(exc).__name__


def offline_error(suite: str, where: str) -> UserError:
    var = _offline_var() or OFFLINE_VARS[0]
    return UserError(
        f"suite {suite!r} needs {where}, which is not in the local cache, and {var}"
        f" is set (offline), {way_out(suite)}"
    )


def hub_error(exc: BaseException, *, suite: str, repo: str, what: str) -> UserError:
    """One line for a failed Hub call; ``what`` names the file or revision asked for."""
    names = _names(exc)
    status = _status(exc)
    page = f"{HF_DATASETS}{repo}"
    if "GatedRepoError" in names or status in (401, 403):
        return UserError(
            f"{repo} is gated: accept its terms at {page} and log in (huggingface-cli login,"
            f" or set HF_TOKEN), {way_out(suite)}"
        )
    if "RepositoryNotFoundError" in names:
        return UserError(
            f"dataset {repo} was not found on the Hugging Face Hub (or it is private:"
            f" log in with huggingface-cli login), {way_out(suite)}"
        )
    if "RevisionNotFoundError" in names:
        return UserError(f"{repo} has no revision {what}, {way_out(suite)}")
    if "OfflineModeIsEnabled" in names or "LocalEntryNotFoundError" in names:
        if offline() or "OfflineModeIsEnabled" in names:
            return offline_error(suite, f"{repo} ({what}) from the Hugging Face Hub")
        return UserError(
            f"cannot reach the Hugging Face Hub and {repo} ({what}) is not in its cache;"
            f" check your connection, {way_out(suite)}"
        )
    if "EntryNotFoundError" in names:
        return UserError(f"{repo} has no file {what}, {way_out(suite)}")
    return UserError(
        f"could not download {what} from {repo} ({_first_line(exc)}); check your connection,"
        f" {way_out(suite)}"
    )


@contextmanager
def quiet_hub_logs() -> Iterator[None]:
    """Keep huggingface_hub's retry warnings off the terminal during one call: a failure is
    reported as one line of ours."""
    logger = logging.getLogger("huggingface_hub")
    level = logger.level
    logger.setLevel(logging.ERROR)
    try:
        yield
    finally:
        logger.setLevel(level)


def _hub_for(suite: str, where: str) -> tuple[Any, bool]:
    """The huggingface_hub module and whether to use only its cache (offline). Offline without
    the library there is no cache to read, which is reported as being offline."""
    local_only = offline() or not hub_reachable()
    try:
        return import_hub(suite), local_only
    except MissingExtraError:
        if local_only:
            raise offline_error(suite, where) from None
        raise


def hub_download(remote: HubFile, *, suite: str) -> Path:
    """The local path of ``remote``, from the Hugging Face cache or downloaded into it.
    Offline (``THINKSAFE_OFFLINE``/``HF_HUB_OFFLINE``), only the cache is read."""
    where = f"{remote.repo} ({remote.filename}) from the Hugging Face Hub"
    hub, local_only = _hub_for(suite, where)
    try:
        with quiet_hub_logs():
            path = hub.hf_hub_download(
                repo_id=remote.repo,
                filename=remote.filename,
                repo_type="dataset",
                revision=remote.revision,
                local_files_only=local_only,
            )
    except Exception as exc:  # every failure becomes one line naming NAME@PATH
        raise hub_error(exc, suite=suite, repo=remote.repo, what=remote.filename) from None
    return Path(str(path))


def hub_snapshot(repo: str, *, revision: str, patterns: list[str], suite: str) -> Path:
    """A local folder holding the files of ``repo`` that match ``patterns`` (offline: only
    from the cache)."""
    what = ", ".join(patterns)
    hub, local_only = _hub_for(suite, f"{repo} ({what}) from the Hugging Face Hub")
    try:
        with quiet_hub_logs():
            folder = hub.snapshot_download(
                repo_id=repo,
                repo_type="dataset",
                revision=revision,
                allow_patterns=patterns,
                local_files_only=local_only,
            )
    except Exception as exc:
        raise hub_error(exc, suite=suite, repo=repo, what=what) from None
    return Path(str(folder))


def hub_list_files(repo: str, *, revision: str | None, suite: str) -> list[str]:
    """The file paths of a dataset repository at ``revision`` (``None``: the default branch).
    This needs the network; offline, name the file with the ``file`` option instead."""
    where = f"the file list of {repo} from the Hugging Face Hub (or name one with --file)"
    if offline():
        raise offline_error(suite, where)
    hub = import_hub(suite)
    try:
        with quiet_hub_logs():
            files = hub.list_repo_files(repo, repo_type="dataset", revision=revision)
    except Exception as exc:
        what = f"the file list ({revision or 'default branch'})"
        raise hub_error(exc, suite=suite, repo=repo, what=what) from None
    return [str(f) for f in files]


def hub_file(repo: str, filename: str, *, revision: str | None, suite: str) -> Path:
    """Like :func:`hub_download` for an unpinned ``hf:DATASET`` file."""
    return hub_download(HubFile(repo, filename, revision or "main"), suite=suite)


def cache_dir() -> Path:
    """Where downloaded URLs are kept: ``$THINKSAFE_CACHE``, else ``$XDG_CACHE_HOME/thinksafe``,
    else ``~/.cache/thinksafe``."""
    explicit = os.environ.get("THINKSAFE_CACHE")
    if explicit:
        return Path(explicit).expanduser()
    xdg = os.environ.get("XDG_CACHE_HOME")
    base = Path(xdg).expanduser() if xdg else Path.home() / ".cache"
    return base / "thinksafe"


def url_download(remote: UrlFile, *, suite: str) -> Path:
    """The local path of a pinned URL, downloaded once into :func:`cache_dir`."""
    key = hashlib.sha256(remote.url.encode("utf-8")).hexdigest()[:16]
    target = cache_dir() / "downloads" / key / remote.filename
    if target.is_file():
        return target
    if offline():
        raise offline_error(suite, remote.url)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=".part-")
    try:
        with (
            os.fdopen(fd, "wb") as out,
            urllib.request.urlopen(remote.url, timeout=URL_TIMEOUT_S) as response,
        ):
            shutil.copyfileobj(response, out)
        os.replace(tmp, target)
    except (urllib.error.URLError, OSError, ValueError) as exc:
        Path(tmp).unlink(missing_ok=True)
        reason = getattr(exc, "reason", None) or _first_line(exc)
        raise UserError(
            f"could not download {remote.url} ({reason}); check your connection, {way_out(suite)}"
        ) from None
    return target


def fetch(remote: Remote, *, suite: str) -> Path:
    """The local path of one remote file."""
    if isinstance(remote, HubFile):
        return hub_download(remote, suite=suite)
    return url_download(remote, suite=suite)


def is_url(value: str) -> bool:
    return value.startswith(("https://", "http://"))


def sha256_file(path: Path) -> str:
    """The SHA-256 of a file's bytes, recorded so a run says exactly what it read."""
    digest = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def describe(remote: Remote) -> dict[str, str]:
    """A JSON-able description of a remote source."""
    if isinstance(remote, HubFile):
        return {
            "hub": remote.repo,
            "file": remote.filename,
            "revision": remote.revision,
            "url": remote.url,
        }
    return {"url": remote.url}
