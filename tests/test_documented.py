"""The response check of tests/documented.py finds each route's models and refuses a body
that does not fit them, so the API tests that use it compare something."""

from __future__ import annotations

import pytest

from convoscope.app import create_app
from convoscope.schemas import ConversationOut, ConversationPage, Problem
from convoscope.settings import Settings
from tests.documented import check_body, documented_model

APP = create_app(Settings(database_url="sqlite:///unused.db"))


def test_each_route_and_status_has_its_model() -> None:
    assert documented_model(APP, "GET", "/conversations", 200) is ConversationPage
    assert documented_model(APP, "GET", "/conversations/c1", 200) is ConversationOut
    assert documented_model(APP, "GET", "/conversations/c1", 404) is Problem
    assert documented_model(APP, "GET", "/nowhere", 200) is None


def test_a_body_that_does_not_fit_its_model_fails() -> None:
    with pytest.raises(AssertionError, match="ConversationOut refuses"):
        check_body(APP, "GET", "/conversations/c1", 200, {"id": "c1"})
    with pytest.raises(AssertionError, match="Problem refuses"):
        check_body(APP, "GET", "/conversations/c1", 404, {"error": "no"})
