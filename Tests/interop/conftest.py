"""Shared fixtures for interop tests: the trackbag binary under test and a scratch folder."""
import os
import pathlib
import pytest

ROOT = pathlib.Path(__file__).resolve().parents[2]


@pytest.fixture(scope="session")
def trackbag() -> str:
    path = os.environ.get("TRACKBAG") or str(ROOT / ".build" / "debug" / "trackbag")
    assert os.path.exists(path), f"trackbag binary not built at {path}"
    return path
