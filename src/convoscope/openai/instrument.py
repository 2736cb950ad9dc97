"""``instrument(client)``: make an OpenAI client log each chat it makes.

The client's own ``create`` methods are wrapped on its resource objects, so what the
caller gets back is exactly what OpenAI returned (a ``ChatCompletion``, a ``Stream``, a
``Response``…), and what OpenAI raised is raised unchanged. A stream is observed as the
caller reads it: the conversation is logged when the stream ends, fails, is closed
(``close()``, a ``with`` block) or, after an early ``break``, is garbage collected.
"""

from __future__ import annotations

import functools
from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any, Protocol, TypeVar

import openai

from convoscope.client.background import BackgroundLogger
from convoscope.client.context import default_logger
from convoscope.openai import chat, responses
from convoscope.openai.turns import Turn, Wire, take_kwargs

C = TypeVar("C", openai.OpenAI, openai.AsyncOpenAI)
_MARK = "_convoscope_logger"


class Assembler(Protocol):
    def add(self, item: Any) -> bool: ...
    def result(self) -> tuple[Wire | None, Wire]: ...


def _start_chat(logger: BackgroundLogger, kwargs: dict[str, Any], ours: dict[str, Any]) -> Turn:
    return Turn(logger, chat.API, chat.history(kwargs), ours)


def _start_responses(
    logger: BackgroundLogger, kwargs: dict[str, Any], ours: dict[str, Any]
) -> Turn:
    history, conversation_id = responses.history(kwargs)
    return Turn(logger, responses.API, history, ours, conversation_id, responses.remember)


class _Api:
    def __init__(
        self,
        start: Callable[[BackgroundLogger, dict[str, Any], dict[str, Any]], Turn],
        reply: Callable[[Any], tuple[Wire | None, Wire]],
        assembler: Callable[[], Assembler],
    ) -> None:
        self.start = start
        self.reply = reply
        self.assembler = assembler


CHAT = _Api(_start_chat, chat.reply, chat.Assembler)
RESPONSES = _Api(_start_responses, responses.reply, responses.Assembler)


def _begin(
    api: _Api, logger: Callable[[], BackgroundLogger], kwargs: dict[str, Any]
) -> Turn | None:
    ours = take_kwargs(kwargs)  # a misspelt convoscope_ argument raises, as OpenAI would
    try:
        return api.start(logger(), kwargs, ours)
    except Exception:  # whatever went wrong in logging, the call goes ahead
        return None


def _finish(turn: Turn, api: _Api, result: Any) -> None:
    try:
        message, facts = api.reply(result)
    except Exception:
        return
    turn.finish(message, facts)


def _observe(stream: openai.Stream[Any], turn: Turn, assembler: Assembler) -> None:
    inner: Iterator[Any] = stream._iterator

    def observed() -> Iterator[Any]:
        error: BaseException | None = None
        try:
            for item in inner:
                try:
                    if assembler.add(item):
                        turn.token()
                except Exception:
                    pass
                yield item
        except GeneratorExit:
            raise
        except BaseException as err:
            error = err
            raise
        finally:
            turn.finish(*assembler.result(), error)

    close = stream.close

    def close_and_log() -> None:
        try:
            close()
        finally:
            turn.finish(*assembler.result())

    stream._iterator = observed()
    stream.close = close_and_log  # type: ignore[method-assign]


def _observe_async(stream: openai.AsyncStream[Any], turn: Turn, assembler: Assembler) -> None:
    inner: AsyncIterator[Any] = stream._iterator

    async def observed() -> AsyncIterator[Any]:
        error: BaseException | None = None
        try:
            async for item in inner:
                try:
                    if assembler.add(item):
                        turn.token()
                except Exception:
                    pass
                yield item
        except GeneratorExit:
            raise
        except BaseException as err:
            error = err
            raise
        finally:
            turn.finish(*assembler.result(), error)

    close = stream.close

    async def close_and_log() -> None:
        try:
            await close()
        finally:
            turn.finish(*assembler.result())

    stream._iterator = observed()
    stream.close = close_and_log  # type: ignore[method-assign]


def _wrap(create: Callable[..., Any], api: _Api, logger: Callable[[], BackgroundLogger]) -> Any:
    @functools.wraps(create)
    def logged(*args: Any, **kwargs: Any) -> Any:
        turn = _begin(api, logger, kwargs)
        try:
            result = create(*args, **kwargs)
        except BaseException as err:
            if turn is not None:
                turn.finish(None, {}, err)
            raise
        if turn is not None:
            if isinstance(result, openai.Stream):
                _observe(result, turn, api.assembler())
            else:
                _finish(turn, api, result)
        return result

    return logged


def _wrap_async(
    create: Callable[..., Any], api: _Api, logger: Callable[[], BackgroundLogger]
) -> Any:
    @functools.wraps(create)
    async def logged(*args: Any, **kwargs: Any) -> Any:
        turn = _begin(api, logger, kwargs)
        try:
            result = await create(*args, **kwargs)
        except BaseException as err:
            if turn is not None:
                turn.finish(None, {}, err)
            raise
        if turn is not None:
            if isinstance(result, openai.AsyncStream):
                _observe_async(result, turn, api.assembler())
            else:
                _finish(turn, api, result)
        return result

    return logged


def instrument(client: C, *, logger: BackgroundLogger | None = None) -> C:
    """Log every ``chat.completions.create`` and ``responses.create`` of ``client``
    (made elsewhere) to convoscope; the client itself is returned. Calling it twice is
    harmless. Copies made later with ``with_options()`` are not instrumented: use
    ``convoscope.openai.OpenAI`` for that."""
    if getattr(client, _MARK, None) is not None:
        return client
    get: Callable[[], BackgroundLogger] = (lambda: logger) if logger else default_logger
    wrap = _wrap_async if isinstance(client, openai.AsyncOpenAI) else _wrap
    completions = client.chat.completions
    completions.create = wrap(completions.create, CHAT, get)  # type: ignore[method-assign]
    created = client.responses
    created.create = wrap(created.create, RESPONSES, get)  # type: ignore[method-assign]
    setattr(client, _MARK, get)
    return client
