"""The LLM analyzer's variables are part of the server's settings, checked at start."""

from __future__ import annotations

import pytest

from convoscope.errors import SettingsError
from convoscope.settings import load_settings


def test_the_llm_settings_are_read_with_the_others(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CONVOSCOPE_LLM_BASE_URL", "http://localhost:11434/v1/")
    monkeypatch.setenv("CONVOSCOPE_LLM_MODEL", "llama3.1")
    monkeypatch.setenv("CONVOSCOPE_LLM_MAX_CONCURRENCY", "2")
    llm = load_settings().llm
    assert (llm.enabled, llm.base_url, llm.model, llm.max_concurrency) == (
        True,
        "http://localhost:11434/v1",
        "llama3.1",
        2,
    )


def test_without_a_base_url_the_llm_is_off(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CONVOSCOPE_LLM_BASE_URL", raising=False)
    assert not load_settings().llm.enabled


def test_a_bad_llm_variable_fails_the_start_naming_it(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CONVOSCOPE_LLM_BASE_URL", "http://localhost:11434/v1")
    monkeypatch.setenv("CONVOSCOPE_LLM_MODEL", "llama3.1")
    monkeypatch.setenv("CONVOSCOPE_LLM_MAX_CONCURRENCY", "0")
    with pytest.raises(SettingsError, match="^CONVOSCOPE_LLM_MAX_CONCURRENCY must be between 1"):
        load_settings()
