"""Where the workers' metrics live: the directory the parent of `serve --workers N` prepares."""

from __future__ import annotations

from pathlib import Path

import pytest
from prometheus_client import CollectorRegistry

from bridge.telemetry.metrics import MULTIPROC_DIR, exposition_registry, prepare_multiprocess_dir


def test_without_a_directory_the_parent_makes_a_fresh_one(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(MULTIPROC_DIR, raising=False)
    path, owned = prepare_multiprocess_dir()
    try:
        assert owned and Path(path).is_dir() and not list(Path(path).iterdir())
    finally:
        Path(path).rmdir()


def test_a_chosen_directory_is_kept_but_emptied_of_old_values(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    (tmp_path / "counter_123.db").write_bytes(b"old")
    (tmp_path / "gauge_livesum_123.db").write_bytes(b"old")
    (tmp_path / "notes.txt").write_text("not ours")
    monkeypatch.setenv(MULTIPROC_DIR, str(tmp_path))
    assert prepare_multiprocess_dir() == (str(tmp_path), False)
    assert [p.name for p in tmp_path.iterdir()] == ["notes.txt"]


def test_one_process_exposes_its_own_registry(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(MULTIPROC_DIR, raising=False)
    registry = CollectorRegistry()
    assert exposition_registry(registry) is registry
