"""Ordered schema migrations. Append only: never edit a migration that has shipped."""

from __future__ import annotations

MIGRATIONS: tuple[str, ...] = (
    # 1: runs, their samples and attempts, the content-addressed caches, and the verdicts a run
    # uses. A failed call is kept on the run's attempt row (error_json), never in the cache, so a
    # re-run tries it again.
    """
    CREATE TABLE runs (
        id TEXT PRIMARY KEY,
        name TEXT,
        created_at TEXT NOT NULL,
        updated_at TEXT NOT NULL,
        status TEXT NOT NULL,
        model TEXT NOT NULL,
        suite TEXT NOT NULL,
        spec_json TEXT NOT NULL,
        summary_json TEXT
    );
    CREATE TABLE run_samples (
        run_id TEXT NOT NULL,
        sample_id TEXT NOT NULL,
        position INTEGER NOT NULL,
        sample_json TEXT NOT NULL,
        PRIMARY KEY (run_id, sample_id)
    ) WITHOUT ROWID;
    CREATE TABLE run_attempts (
        run_id TEXT NOT NULL,
        attempt_id TEXT NOT NULL,
        position INTEGER NOT NULL,
        sample_id TEXT NOT NULL,
        attempt_json TEXT NOT NULL,
        completion_key TEXT NOT NULL,
        error_json TEXT,
        PRIMARY KEY (run_id, attempt_id)
    ) WITHOUT ROWID;
    CREATE TABLE completions (
        key TEXT PRIMARY KEY,
        target TEXT NOT NULL,
        created_at TEXT NOT NULL,
        completion_json TEXT NOT NULL
    ) WITHOUT ROWID;
    CREATE TABLE verdicts (
        key TEXT PRIMARY KEY,
        judge TEXT NOT NULL,
        channel TEXT NOT NULL,
        created_at TEXT NOT NULL,
        verdict_json TEXT NOT NULL
    ) WITHOUT ROWID;
    CREATE TABLE run_verdicts (
        run_id TEXT NOT NULL,
        attempt_id TEXT NOT NULL,
        judge TEXT NOT NULL,
        channel TEXT NOT NULL,
        verdict_key TEXT NOT NULL,
        verdict_json TEXT NOT NULL,
        PRIMARY KEY (run_id, attempt_id, judge, channel)
    ) WITHOUT ROWID;
    """,
    # 2: judges' measured accuracy (thinksafe judge-eval --save-accuracy): sensitivity and
    # specificity per judge identity and labelled set, so rates can be corrected (Rogan-Gladen).
    """
    CREATE TABLE judge_accuracy (
        judge_identity TEXT NOT NULL,
        judge_spec TEXT NOT NULL,
        dataset TEXT NOT NULL,
        created_at TEXT NOT NULL,
        data_json TEXT NOT NULL,
        PRIMARY KEY (judge_identity, dataset)
    );
    CREATE INDEX judge_accuracy_by_spec ON judge_accuracy (judge_spec, created_at)
    """,
    # 3: adaptive attacks (thinksafe.attacks.adaptive). Every call a search makes (attacker,
    # target, judge, evaluator) is kept in order under the search's id before the search goes
    # on, so a search killed midway replays them and makes no call twice; a search's outcome is
    # kept per run.
    """
    CREATE TABLE search_calls (
        search_id TEXT NOT NULL,
        seq INTEGER NOT NULL,
        role TEXT NOT NULL,
        request_key TEXT NOT NULL,
        created_at TEXT NOT NULL,
        call_json TEXT NOT NULL,
        PRIMARY KEY (search_id, seq)
    ) WITHOUT ROWID;
    CREATE TABLE run_searches (
        run_id TEXT NOT NULL,
        search_id TEXT NOT NULL,
        position INTEGER NOT NULL,
        attack TEXT NOT NULL,
        sample_id TEXT NOT NULL,
        outcome_json TEXT NOT NULL,
        PRIMARY KEY (run_id, search_id)
    ) WITHOUT ROWID
    """,
)

SCHEMA_VERSION = len(MIGRATIONS)
# A store opened read-only (it cannot be migrated) is read from this schema on: the later
# migrations only add tables that reading a run does without.
READABLE_FROM = 2
