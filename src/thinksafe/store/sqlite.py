"""The SQLite store: runs, content-addressed caches of completions and verdicts, batched writes.

One connection per Store, used from the event loop's thread. Writes are buffered and committed
in batches (by count or age), so a run killed at any moment loses at most the last batch, which
the next run recomputes; primary keys make every write idempotent, so nothing is duplicated.
"""

from __future__ import annotations

import contextlib
import json
import sqlite3
import threading
import time
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from thinksafe.errors import DataError
from thinksafe.records import (
    Attempt,
    AttemptResult,
    Channel,
    Completion,
    Sample,
    Verdict,
    canonical_json,
)
from thinksafe.store.migrations import MIGRATIONS, READABLE_FROM, SCHEMA_VERSION

DEFAULT_PATH = "thinksafe.db"
_CHUNK = 500
# A running run's process stamps it every HEARTBEAT_S seconds; a run marked running whose
# stamp is older than STALE_S was killed (its process can no longer stamp it).
HEARTBEAT_S = 2.0
STALE_S = 20.0


_clock: list[Any] = [0.0, ""]


def now_iso() -> str:
    """The time, to the second (cached for a second: it is stamped on every cached row)."""
    now = time.time()
    if now - _clock[0] >= 1.0:
        _clock[0] = now
        _clock[1] = datetime.now(timezone.utc).isoformat(timespec="seconds")
    return str(_clock[1])


@dataclass(frozen=True)
class RunRow:
    id: str
    name: str | None
    created_at: str
    updated_at: str
    status: str
    model: str
    suite: str
    spec: dict[str, Any]
    summary: dict[str, Any] | None

    @property
    def shown_status(self) -> str:
        """``status``, except that a run left ``running`` by a process that no longer runs
        (no heartbeat for :data:`STALE_S` seconds) is ``interrupted``."""
        if self.status != "running":
            return self.status
        try:
            stamp = datetime.fromisoformat(self.updated_at)
        except ValueError:
            return self.status
        if stamp.tzinfo is None:
            stamp = stamp.replace(tzinfo=timezone.utc)
        age = (datetime.now(timezone.utc) - stamp).total_seconds()
        return "interrupted" if age > STALE_S else self.status


RESUME_HINT = "run the same command again to resume it"


class _Heartbeat:
    """A thread that stamps the store's running runs (own connection), so that readers can
    tell a live run from one whose process was killed."""

    def __init__(self, path: str) -> None:
        self.path = path
        self.runs: set[str] = set()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def add(self, run_id: str) -> None:
        self.runs.add(run_id)
        if self._thread is None:
            self._stop.clear()
            self._thread = threading.Thread(
                target=self._beat, name="thinksafe-heartbeat", daemon=True
            )
            self._thread.start()

    def discard(self, run_id: str) -> None:
        self.runs.discard(run_id)
        if not self.runs:
            self.stop()

    def stop(self) -> None:
        thread, self._thread = self._thread, None
        if thread is not None:
            self._stop.set()
            thread.join()

    def _beat(self) -> None:
        try:
            db = sqlite3.connect(self.path, isolation_level=None, timeout=HEARTBEAT_S)
        except sqlite3.Error:
            return  # readers will see the run as interrupted after a while; nothing is lost
        try:
            while not self._stop.wait(HEARTBEAT_S):
                stamp = datetime.now(timezone.utc).isoformat(timespec="seconds")
                for run_id in list(self.runs):
                    with contextlib.suppress(sqlite3.Error):
                        db.execute(
                            "UPDATE runs SET updated_at=?, status='running' WHERE id=?"
                            " AND status IN ('running', 'interrupted')",
                            (stamp, run_id),
                        )
        finally:
            db.close()


def _chunks(items: Sequence[str], size: int = _CHUNK) -> Iterator[Sequence[str]]:
    for i in range(0, len(items), size):
        yield items[i : i + size]


class Store:
    """A thinksafe SQLite database."""

    def __init__(
        self,
        path: str | Path = DEFAULT_PATH,
        *,
        batch_size: int = 256,
        batch_age_s: float = 0.5,
        readonly: bool = False,
    ) -> None:
        self.path = str(path)
        self.readonly = readonly
        try:
            self._db = self._connect()
        except sqlite3.Error as exc:
            raise DataError(f"cannot open store {self.path}: {exc}; pass --store PATH") from None
        self._db.execute("PRAGMA busy_timeout=10000")
        if readonly:
            self._check_readable()
        else:
            self._refuse_foreign()
            self._use_wal()
            self._db.execute("PRAGMA synchronous=NORMAL")
            self._migrate()
        self._batch_size = batch_size
        self._batch_age_s = batch_age_s
        self._pending: list[tuple[str, tuple[Any, ...]]] = []
        self._oldest_pending = 0.0
        self._heartbeat = _Heartbeat(self.path)

    def _refuse_foreign(self) -> None:
        """Refuse, untouched, a SQLite file that holds tables but no thinksafe schema (another
        program's database): a new store is an empty file, and every store records its schema
        version in the same transaction that makes its tables."""
        try:
            # one statement, so one snapshot: another process may be making the store now
            tables = [
                str(row[0])
                for row in self._db.execute(
                    "SELECT name FROM sqlite_master WHERE name NOT LIKE 'sqlite_%'"
                    " AND (SELECT user_version FROM pragma_user_version) = 0 ORDER BY name"
                )
            ]
        except sqlite3.DatabaseError:
            return  # not a database at all: the next step says so
        if tables:
            self._db.close()
            shown = ", ".join(tables[:5]) + (", ..." if len(tables) > 5 else "")
            raise DataError(
                f"{self.path} is not a thinksafe store (it holds other tables: {shown}); pass"
                " --store with another path"
            )

    def _use_wal(self) -> None:
        """Switch the file to write-ahead logging. Switching needs the file to itself and
        SQLite may answer "locked" at once rather than wait, so while another process is
        creating or switching the same store, retry for up to the busy timeout."""
        deadline = time.monotonic() + 10.0
        while True:
            try:
                self._db.execute("PRAGMA journal_mode=WAL")
                return
            except sqlite3.OperationalError as exc:
                busy = "locked" in str(exc) or "busy" in str(exc)
                if busy and time.monotonic() > deadline:
                    raise DataError(
                        f"store {self.path} stayed locked by another process for 10 s; wait for"
                        " it to finish, or pass --store with another path"
                    ) from None
                if not busy:
                    raise DataError(
                        f"{self.path} is not a thinksafe store ({exc}); pass --store with"
                        " another path"
                    ) from None
                time.sleep(0.01)
            except sqlite3.DatabaseError as exc:
                raise DataError(
                    f"{self.path} is not a thinksafe store ({exc}); pass --store with another path"
                ) from None

    def _connect(self) -> sqlite3.Connection:
        if not self.readonly:
            return sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
        uri = Path(self.path).resolve().as_uri()
        db = sqlite3.connect(
            uri + "?mode=ro", uri=True, isolation_level=None, check_same_thread=False
        )
        try:
            db.execute("SELECT COUNT(*) FROM sqlite_master").fetchone()
        except sqlite3.OperationalError:
            # A WAL store in a folder this process cannot write: no shared-memory file can be
            # made, so read the file as it stands (nothing else can be writing to it).
            db.close()
            db = sqlite3.connect(
                uri + "?immutable=1", uri=True, isolation_level=None, check_same_thread=False
            )
        return db

    def _check_readable(self) -> None:
        try:
            version = self._version()
            tables = {row[0] for row in self._db.execute("SELECT name FROM sqlite_master")}
        except sqlite3.DatabaseError as exc:
            raise DataError(
                f"{self.path} is not a thinksafe store ({exc}); pass --store with another path"
            ) from None
        if "runs" not in tables or version < READABLE_FROM:
            raise DataError(
                f"{self.path} is read-only and not a store of this thinksafe version (schema"
                f" {version}, wanted {READABLE_FROM} or later); open it once where it can be"
                " written"
            )

    def damage(self) -> str | None:
        """What SQLite's quick check finds wrong with the file, or ``None`` when it is
        sound."""
        try:
            rows = self._db.execute("PRAGMA quick_check(3)").fetchall()
        except sqlite3.DatabaseError as exc:
            return str(exc)
        problems = [str(r[0]) for r in rows if r and r[0] != "ok"]
        return "; ".join(problems) or None

    # -- schema ----------------------------------------------------------------------------

    def _migrate(self) -> None:
        """Bring the schema up to date. Each step reads the version and applies the next
        migration inside one write transaction, so processes opening a new store at once
        create it once (the others wait, then find it made)."""
        while True:
            version = self._version()
            if version >= SCHEMA_VERSION:
                return
            self._db.execute("BEGIN IMMEDIATE")
            try:
                version = self._version()
                if version < SCHEMA_VERSION:
                    for statement in MIGRATIONS[version].split(";"):
                        if statement.strip():
                            self._db.execute(statement)
                    self._db.execute(f"PRAGMA user_version={version + 1}")
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            self._db.execute("COMMIT")

    def _version(self) -> int:
        version = int(self._db.execute("PRAGMA user_version").fetchone()[0])
        if version > SCHEMA_VERSION:
            raise DataError(
                f"{self.path} was written by a newer thinksafe (schema {version});"
                " upgrade thinksafe to read it"
            )
        return version

    # -- batched writes --------------------------------------------------------------------

    def _queue(self, sql: str, params: tuple[Any, ...]) -> None:
        if not self._pending:
            self._oldest_pending = time.monotonic()
        self._pending.append((sql, params))
        if (
            len(self._pending) >= self._batch_size
            or time.monotonic() - self._oldest_pending >= self._batch_age_s
        ):
            self.flush()

    def flush(self) -> None:
        if not self._pending:
            return
        if self.readonly:
            raise DataError(f"{self.path} was opened read-only; it cannot be written")
        pending, self._pending = self._pending, []
        # Consecutive writes of one statement go in one executemany; order is kept.
        groups: list[tuple[str, list[tuple[Any, ...]]]] = []
        for sql, params in pending:
            if groups and groups[-1][0] == sql:
                groups[-1][1].append(params)
            else:
                groups.append((sql, [params]))
        self._db.execute("BEGIN IMMEDIATE")
        try:
            for sql, rows in groups:
                self._db.executemany(sql, rows)
        except BaseException:
            self._db.execute("ROLLBACK")
            raise
        self._db.execute("COMMIT")

    def close(self) -> None:
        unfinished = sorted(self._heartbeat.runs)
        self._heartbeat.stop()
        self.flush()
        if unfinished:
            # Closed before finish_run (Ctrl-C, an error): say so at once rather than once
            # the stamp goes stale. Another process running the same run stamps it back.
            stamp = datetime.now(timezone.utc).isoformat(timespec="seconds")
            with contextlib.suppress(sqlite3.Error):
                self._db.executemany(
                    "UPDATE runs SET status='interrupted', updated_at=? WHERE id=?"
                    " AND status='running'",
                    [(stamp, run_id) for run_id in unfinished],
                )
        self._db.close()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- runs ------------------------------------------------------------------------------

    def start_run(
        self,
        run_id: str,
        *,
        name: str | None,
        model: str,
        suite: str,
        spec: dict[str, Any],
        samples: Sequence[Sample],
        attempts: Sequence[tuple[Attempt, str]],
    ) -> bool:
        """Create the run (or reopen it). Returns True when the run already existed."""
        now = now_iso()
        # One write transaction from the look-up on: another process starting the same run
        # at the same moment waits, then finds it.
        self._db.execute("BEGIN IMMEDIATE")
        try:
            existed = self.get_run(run_id) is not None
            if existed:
                self._db.execute(
                    "UPDATE runs SET status='running', updated_at=? WHERE id=?", (now, run_id)
                )
            else:
                self._db.execute(
                    "INSERT OR IGNORE INTO runs (id, name, created_at, updated_at, status,"
                    " model, suite, spec_json) VALUES (?, ?, ?, ?, 'running', ?, ?, ?)",
                    (run_id, name, now, now, model, suite, canonical_json(spec)),
                )
            self._db.executemany(
                "INSERT OR IGNORE INTO run_samples (run_id, sample_id, position, sample_json)"
                " VALUES (?, ?, ?, ?)",
                ((run_id, s.id, i, canonical_json(s.to_dict())) for i, s in enumerate(samples)),
            )
            self._db.executemany(
                "INSERT OR IGNORE INTO run_attempts (run_id, attempt_id, position, sample_id,"
                " attempt_json, completion_key) VALUES (?, ?, ?, ?, ?, ?)",
                (
                    (run_id, a.id, i, a.sample_id, canonical_json(a.to_dict()), key)
                    for i, (a, key) in enumerate(attempts)
                ),
            )
        except BaseException:
            self._db.execute("ROLLBACK")
            raise
        self._db.execute("COMMIT")
        self._heartbeat.add(run_id)
        return existed

    def finish_run(self, run_id: str, status: str, summary: Mapping[str, Any] | None) -> None:
        self._heartbeat.discard(run_id)
        self.flush()
        self._db.execute(
            "UPDATE runs SET status=?, updated_at=?, summary_json=? WHERE id=?",
            (status, now_iso(), canonical_json(summary) if summary is not None else None, run_id),
        )

    def _run_row(self, row: tuple[Any, ...]) -> RunRow:
        return RunRow(
            id=row[0],
            name=row[1],
            created_at=row[2],
            updated_at=row[3],
            status=row[4],
            model=row[5],
            suite=row[6],
            spec=json.loads(row[7]),
            summary=json.loads(row[8]) if row[8] else None,
        )

    _RUN_COLUMNS = "id, name, created_at, updated_at, status, model, suite, spec_json, summary_json"

    def get_run(self, run_id: str) -> RunRow | None:
        row = self._db.execute(
            f"SELECT {self._RUN_COLUMNS} FROM runs WHERE id=?", (run_id,)
        ).fetchone()
        return self._run_row(row) if row else None

    def find_run(self, ref: str) -> RunRow:
        """A run by id, unique id prefix, name, or ``latest``."""
        if ref == "latest":
            row = self._db.execute(
                f"SELECT {self._RUN_COLUMNS} FROM runs ORDER BY updated_at DESC, rowid DESC LIMIT 1"
            ).fetchone()
            if row is None:
                raise DataError(f"no runs in {self.path}; start one with `thinksafe run`")
            return self._run_row(row)
        rows = self._db.execute(
            f"SELECT {self._RUN_COLUMNS} FROM runs WHERE id LIKE ? OR name=?"
            " ORDER BY updated_at DESC",
            (ref.replace("%", "") + "%", ref),
        ).fetchall()
        exact = [r for r in rows if r[0] == ref or r[1] == ref]
        if len(exact) == 1 or (len(rows) == 1):
            return self._run_row((exact or rows)[0])
        if not rows:
            raise DataError(f"no run {ref!r} in {self.path}; list runs with `thinksafe runs`")
        raise DataError(f"run {ref!r} is ambiguous ({len(rows)} runs match); give more of its id")

    def list_runs(self) -> list[RunRow]:
        rows = self._db.execute(
            f"SELECT {self._RUN_COLUMNS} FROM runs ORDER BY created_at DESC, rowid DESC"
        ).fetchall()
        return [self._run_row(r) for r in rows]

    # -- caches ----------------------------------------------------------------------------

    def get_completions(self, keys: Iterable[str]) -> dict[str, Completion]:
        unique = sorted(set(keys))
        out: dict[str, Completion] = {}
        for chunk in _chunks(unique):
            marks = ",".join("?" * len(chunk))
            for key, js in self._db.execute(
                f"SELECT key, completion_json FROM completions WHERE key IN ({marks})", chunk
            ):
                out[key] = Completion.from_dict(json.loads(js))
        return out

    def put_completion(self, key: str, target: str, completion: Completion) -> None:
        if completion.error is not None:
            raise ValueError("failed completions are not cached")
        self._queue(
            "INSERT OR IGNORE INTO completions (key, target, created_at, completion_json)"
            " VALUES (?, ?, ?, ?)",
            (key, target, now_iso(), canonical_json(completion.to_dict())),
        )

    def set_attempt_error(
        self, run_id: str, attempt_id: str, completion: Completion | None
    ) -> None:
        self._queue(
            "UPDATE run_attempts SET error_json=? WHERE run_id=? AND attempt_id=?",
            (
                canonical_json(completion.to_dict()) if completion is not None else None,
                run_id,
                attempt_id,
            ),
        )

    def errored_attempts(self, run_id: str) -> set[str]:
        """Attempts of a run whose last call failed (they are tried again)."""
        return {
            row[0]
            for row in self._db.execute(
                "SELECT attempt_id FROM run_attempts WHERE run_id=? AND error_json IS NOT NULL",
                (run_id,),
            )
        }

    def get_verdicts(self, keys: Iterable[str]) -> dict[str, Verdict]:
        unique = sorted(set(keys))
        out: dict[str, Verdict] = {}
        for chunk in _chunks(unique):
            marks = ",".join("?" * len(chunk))
            for key, js in self._db.execute(
                f"SELECT key, verdict_json FROM verdicts WHERE key IN ({marks})", chunk
            ):
                out[key] = Verdict.from_dict(json.loads(js))
        return out

    def put_verdict(
        self,
        run_id: str,
        attempt_id: str,
        key: str,
        verdict: Verdict,
        *,
        cache: bool = True,
    ) -> None:
        js = canonical_json(verdict.to_dict())
        if cache:
            self._queue(
                "INSERT OR IGNORE INTO verdicts (key, judge, channel, created_at, verdict_json)"
                " VALUES (?, ?, ?, ?, ?)",
                (key, verdict.judge, verdict.channel, now_iso(), js),
            )
        self._queue(
            "INSERT OR REPLACE INTO run_verdicts (run_id, attempt_id, judge, channel,"
            " verdict_key, verdict_json) VALUES (?, ?, ?, ?, ?, ?)",
            (run_id, attempt_id, verdict.judge, verdict.channel, key, js),
        )

    # -- reading a run back ----------------------------------------------------------------

    def load_results(self, run_id: str) -> list[AttemptResult]:
        """Every attempt of a run with its completion and verdicts, in run order. Attempts not
        yet done come back with an error completion that says so."""
        self.flush()
        samples: dict[str, Sample] = {
            sid: Sample.from_dict(json.loads(js))
            for sid, js in self._db.execute(
                "SELECT sample_id, sample_json FROM run_samples WHERE run_id=?", (run_id,)
            )
        }
        verdicts: dict[str, dict[tuple[str, Channel], Verdict]] = {}
        for attempt_id, js in self._db.execute(
            "SELECT attempt_id, verdict_json FROM run_verdicts WHERE run_id=?", (run_id,)
        ):
            v = Verdict.from_dict(json.loads(js))
            verdicts.setdefault(attempt_id, {})[(v.judge, v.channel)] = v
        rows = self._db.execute(
            "SELECT a.attempt_id, a.attempt_json, a.error_json, c.completion_json"
            " FROM run_attempts a LEFT JOIN completions c ON c.key = a.completion_key"
            " WHERE a.run_id=? ORDER BY a.position",
            (run_id,),
        ).fetchall()
        out: list[AttemptResult] = []
        for attempt_id, attempt_js, error_js, completion_js in rows:
            attempt = Attempt.from_dict(json.loads(attempt_js))
            if completion_js is not None:
                completion = Completion.from_dict(json.loads(completion_js))
            elif error_js is not None:
                completion = Completion.from_dict(json.loads(error_js))
            else:
                completion = Completion(error="not run yet (the run was interrupted)")
            out.append(
                AttemptResult(
                    sample=samples[attempt.sample_id],
                    attempt=attempt,
                    completion=completion,
                    verdicts=verdicts.get(attempt_id, {}),
                )
            )
        return out

    def add_attempts(
        self, run_id: str, attempts: Sequence[tuple[Attempt, str]], start: int
    ) -> None:
        """Add attempts made while the run ran (an adaptive search's results) after the
        ``start`` attempts it began with."""
        self.flush()
        self._db.execute("BEGIN IMMEDIATE")
        try:
            self._db.executemany(
                "INSERT OR IGNORE INTO run_attempts (run_id, attempt_id, position, sample_id,"
                " attempt_json, completion_key) VALUES (?, ?, ?, ?, ?, ?)",
                (
                    (run_id, a.id, start + i, a.sample_id, canonical_json(a.to_dict()), key)
                    for i, (a, key) in enumerate(attempts)
                ),
            )
        except BaseException:
            self._db.execute("ROLLBACK")
            raise
        self._db.execute("COMMIT")

    # -- adaptive searches -----------------------------------------------------------------

    def search_calls(self, search_id: str) -> list[tuple[str, str, dict[str, Any]]]:
        """The recorded calls of a search in order: (role, request key, call)."""
        return [
            (role, key, json.loads(js))
            for role, key, js in self._db.execute(
                "SELECT role, request_key, call_json FROM search_calls WHERE search_id=?"
                " ORDER BY seq",
                (search_id,),
            )
        ]

    def record_search_call(
        self, search_id: str, seq: int, role: str, request_key: str, call: dict[str, Any]
    ) -> None:
        """Keep one call of a search, committed at once (a search goes on only after its
        call is on disk)."""
        self._db.execute(
            "INSERT OR REPLACE INTO search_calls (search_id, seq, role, request_key,"
            " created_at, call_json) VALUES (?, ?, ?, ?, ?, ?)",
            (search_id, seq, role, request_key, now_iso(), canonical_json(call)),
        )

    def truncate_search(self, search_id: str, keep: int) -> None:
        """Forget the calls of a search from number ``keep`` on (they no longer follow from
        the calls before them)."""
        self._db.execute("DELETE FROM search_calls WHERE search_id=? AND seq>=?", (search_id, keep))

    def put_search(
        self,
        run_id: str,
        search_id: str,
        position: int,
        attack: str,
        sample_id: str,
        outcome: dict[str, Any],
    ) -> None:
        self._db.execute(
            "INSERT OR REPLACE INTO run_searches (run_id, search_id, position, attack,"
            " sample_id, outcome_json) VALUES (?, ?, ?, ?, ?, ?)",
            (run_id, search_id, position, attack, sample_id, canonical_json(outcome)),
        )

    def run_searches(self, run_id: str) -> list[dict[str, Any]]:
        """The outcomes of a run's adaptive searches, in run order (none in a store opened
        read-only from before adaptive attacks)."""
        try:
            rows = self._db.execute(
                "SELECT outcome_json FROM run_searches WHERE run_id=? ORDER BY position",
                (run_id,),
            ).fetchall()
        except sqlite3.OperationalError:
            if self.readonly:
                return []
            raise
        return [json.loads(js) for (js,) in rows]

    def count_rows(self, table: str) -> int:
        if table not in {
            "search_calls",
            "run_searches",
            "runs",
            "run_samples",
            "run_attempts",
            "completions",
            "verdicts",
            "run_verdicts",
        }:
            raise ValueError(table)
        return int(self._db.execute(f"SELECT COUNT(*) FROM {table}").fetchone()[0])

    # -- judges' measured accuracy ---------------------------------------------------------

    def save_judge_accuracy(
        self, judge_identity_hash: str, spec: str, data: dict[str, Any]
    ) -> None:
        """Keep a judge's measured accuracy (``data`` holds ``dataset``, ``sensitivity`` and
        ``specificity``); a new measurement on the same labelled set replaces the old one."""
        self.flush()
        self._db.execute(
            "INSERT OR REPLACE INTO judge_accuracy (judge_identity, judge_spec, dataset,"
            " created_at, data_json) VALUES (?, ?, ?, ?, ?)",
            (
                judge_identity_hash,
                spec,
                str(data.get("dataset") or ""),
                datetime.now(timezone.utc).isoformat(timespec="seconds"),
                canonical_json(data),
            ),
        )

    def get_judge_accuracy(self, spec: str, identity: str | None = None) -> dict[str, Any] | None:
        """The latest measured accuracy of judge ``spec`` (of that identity hash when given),
        with ``judge_identity``, ``judge_spec`` and ``saved_at`` added; ``None`` if never
        measured."""
        sql = "SELECT judge_identity, judge_spec, created_at, data_json FROM judge_accuracy"
        params: tuple[str, ...] = (spec,)
        sql += " WHERE judge_spec=?"
        if identity is not None:
            sql += " AND judge_identity=?"
            params = (spec, identity)
        row = self._db.execute(sql + " ORDER BY created_at DESC, rowid DESC LIMIT 1", params)
        found = row.fetchone()
        if found is None:
            return None
        data: dict[str, Any] = json.loads(found[3])
        return {**data, "judge_identity": found[0], "judge_spec": found[1], "saved_at": found[2]}
