"""OpenAI's clients, logging every chat to convoscope.

::

    from convoscope.openai import OpenAI
    import convoscope

    client = OpenAI()  # exactly openai.OpenAI, same arguments, same answers
    with convoscope.conversation(id="support-42", user="u_7"):
        reply = client.chat.completions.create(model="gpt-4o-mini", messages=[...])
    convoscope.feedback(last=True, type="positive")

Needs the ``openai`` package (``pip install 'convoscope-client[openai]'``).
"""

from __future__ import annotations

from typing import Any

import openai

from convoscope.openai.instrument import instrument

__all__ = ["AsyncOpenAI", "OpenAI", "instrument"]


class OpenAI(openai.OpenAI):
    """``openai.OpenAI`` whose chat completions and responses are logged to convoscope."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        instrument(self)


class AsyncOpenAI(openai.AsyncOpenAI):
    """``openai.AsyncOpenAI`` whose chat completions and responses are logged to convoscope."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        instrument(self)
