"""The dashboard's reports: overview cards and charts, topics, documentation gaps.

Each is a few DSL queries (``window.run``) and arithmetic on their rows; nothing here
writes SQL.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from sqlalchemy import Connection, and_, distinct, func, select

from convoscope.query.fields import CONVERSATIONS, FEEDBACK, SEMANTIC_THREADS
from convoscope.query.searches import top_search_queries, weekly_search_users
from convoscope.store.tables import feedback, messages, semantic_threads
from convoscope.web.window import Window, condition, count, run, share

Report = dict[str, Any]
TOP_CATEGORIES = 10
LATEST_NEGATIVE = 10
EXAMPLES = 3
# Threads read for example questions and gap summaries, newest first.
SAMPLE_THREADS = 500


def _totals(conn: Connection, project_id: str, window: Window) -> dict[str, int]:
    conversations = run(
        conn,
        CONVERSATIONS,
        {
            "select": [
                count(),
                {
                    "type": "aggregation",
                    "aggregation": "countDistinct",
                    "field": "userProperties",
                    "path": ["id"],
                },
            ],
            "where": window.where("firstMessageTime"),
        },
        project_id,
    )[0]
    threads = run(
        conn,
        SEMANTIC_THREADS,
        {
            "select": [count()],
            "groupBy": [{"field": "isDocumented"}, {"field": "isAnswerConfident"}],
            "where": window.where("firstMessageTime"),
        },
        project_id,
    )
    feedback = run(
        conn,
        FEEDBACK,
        {"select": [count()], "groupBy": [{"field": "type"}], "where": window.where("createdAt")},
        project_id,
    )
    by_type = {row["type"]: int(row["count"]) for row in feedback}
    return {
        "conversations": int(conversations["count"]),
        "users": int(conversations.get("countDistinct_userProperties.id", 0)),
        "questions": sum(int(r["count"]) for r in threads),
        "documented_known": sum(int(r["count"]) for r in threads if r["isDocumented"] is not None),
        "gaps": sum(int(r["count"]) for r in threads if r["isDocumented"] is False),
        "confidence_known": sum(
            int(r["count"]) for r in threads if r["isAnswerConfident"] is not None
        ),
        "confident": sum(int(r["count"]) for r in threads if r["isAnswerConfident"] is True),
        "positive": by_type.get("positive", 0),
        "negative": by_type.get("negative", 0),
    }


def _card(key: str, label: str, value: float | None, before: float | None, kind: str) -> Report:
    change = None
    if value is not None and before is not None:
        if kind == "share":
            change = value - before
        elif before:
            change = (value - before) / before
    return {
        "key": key,
        "label": label,
        "value": value,
        "previous": before,
        "change": change,
        "format": kind,
    }


def overview_cards(conn: Connection, project_id: str, window: Window) -> Report:
    """The headline numbers of the window, each with its value in the previous period."""
    now, then = _totals(conn, project_id, window), _totals(conn, project_id, window.previous())

    def positive_share(t: dict[str, int]) -> float | None:
        return share(t["positive"], t["positive"] + t["negative"])

    cards = [
        _card("conversations", "Conversations", now["conversations"], then["conversations"], "n"),
        _card("questions", "Questions", now["questions"], then["questions"], "n"),
        _card("users", "Unique users", now["users"], then["users"], "n"),
        _card("thumbs_up", "Thumbs up", now["positive"], then["positive"], "n"),
        _card("thumbs_down", "Thumbs down", now["negative"], then["negative"], "n"),
        _card("positive_share", "Positive feedback", positive_share(now), positive_share(then),
              "share"),
        _card("gap_share", "Documentation gaps", share(now["gaps"], now["documented_known"]),
              share(then["gaps"], then["documented_known"]), "share"),
        _card("confident_share", "Answered confidently",
              share(now["confident"], now["confidence_known"]),
              share(then["confident"], then["confidence_known"]), "share"),
    ]  # fmt: skip
    return {"cards": cards}


def _series(window: Window, rows: list[dict[str, Any]], key: str) -> list[int]:
    by_bucket = {row[key]: int(row["count"]) for row in rows}
    return [by_bucket.get(bucket, 0) for bucket in window.buckets()]


def conversations_over_time(conn: Connection, project_id: str, window: Window) -> Report:
    unit = window.unit
    rows = run(
        conn,
        CONVERSATIONS,
        {
            "select": [{"type": "time", "timeUnit": unit, "field": "firstMessageTime"}, count()],
            "where": window.where("firstMessageTime"),
        },
        project_id,
    )
    return {
        "title": f"Conversations per {unit}",
        "type": "line",
        "labels": window.buckets(),
        "unit": unit,
        "x": unit.capitalize() + " (UTC)",
        "y": "Conversations",
        "datasets": [
            {"label": "Conversations", "data": _series(window, rows, f"firstMessageTime_{unit}")}
        ],
    }


def feedback_per_day(conn: Connection, project_id: str, window: Window) -> Report:
    rows = run(
        conn,
        FEEDBACK,
        {
            "select": [{"type": "time", "timeUnit": "day", "field": "createdAt"}, count()],
            "groupBy": [{"field": "type"}],
            "where": window.where("createdAt"),
        },
        project_id,
    )
    labels = _days(window)
    datasets = []
    for kind, label in (("positive", "Thumbs up"), ("negative", "Thumbs down")):
        counts = {r["createdAt_day"]: int(r["count"]) for r in rows if r["type"] == kind}
        datasets.append({"label": label, "data": [counts.get(b, 0) for b in labels]})
    return {
        "title": "Feedback per day",
        "type": "bar",
        "stacked": True,
        "labels": labels,
        "unit": "day",
        "x": "Day (UTC)",
        "y": "Feedback",
        "datasets": datasets,
    }


def _days(window: Window) -> list[str]:
    """The days a window touches, as the DSL's day buckets name them."""
    if window.unit == "day":
        return window.buckets()
    return sorted({b[:10] + "T00:00:00.000Z" for b in window.buckets()})


def sentiment_mix(conn: Connection, project_id: str, window: Window) -> Report:
    rows = run(
        conn,
        SEMANTIC_THREADS,
        {
            "select": [count()],
            "groupBy": [{"field": "sentiment"}],
            "where": window.where("firstMessageTime", condition("sentiment", "isNotNull")),
        },
        project_id,
    )
    order = {"positive": 0, "neutral": 1, "negative": 2}
    rows.sort(key=lambda r: (order.get(r["sentiment"], 3), str(r["sentiment"])))
    return {
        "title": "Sentiment of questions",
        "type": "doughnut",
        "labels": [r["sentiment"] for r in rows],
        "datasets": [{"label": "Questions", "data": [int(r["count"]) for r in rows]}],
    }


def top_categories(conn: Connection, project_id: str, window: Window) -> Report:
    rows = run(
        conn,
        SEMANTIC_THREADS,
        {
            "select": [count()],
            "groupBy": [{"field": "category"}],
            "where": window.where("firstMessageTime", condition("category", "isNotNull")),
            "orderBy": [{"field": "count", "direction": "desc"}],
        },
        project_id,
        limit=TOP_CATEGORIES,
    )
    return {
        "title": "Top categories",
        "type": "bar",
        "horizontal": True,
        "labels": [r["category"] for r in rows],
        "x": "Questions",
        "y": "Category",
        "datasets": [{"label": "Questions", "data": [int(r["count"]) for r in rows]}],
    }


def latest_negative_feedback(conn: Connection, project_id: str, window: Window) -> Report:
    rows = run(
        conn,
        FEEDBACK,
        {
            "select": [
                {"type": "field", "field": f}
                for f in ("createdAt", "conversationId", "messageId", "reasons", "details")
            ],
            "where": window.where("createdAt", condition("type", "eq", "negative")),
            "orderBy": [{"field": "createdAt", "direction": "desc"}],
        },
        project_id,
        limit=LATEST_NEGATIVE,
    )
    return {
        "columns": [
            {"key": "createdAt", "label": "When", "format": "time"},
            {"key": "reasons", "label": "Reasons"},
            {"key": "details", "label": "Details"},
            {"key": "conversationId", "label": "Conversation", "link": "conversation"},
        ],
        "rows": [
            {
                "createdAt": r["createdAt"],
                "reasons": ", ".join(
                    str(reason.get("label", "")) for reason in (r.get("reasons") or [])
                ),
                "details": r.get("details") or "",
                "conversationId": r["conversationId"],
            }
            for r in rows
        ],
    }


def topics(conn: Connection, project_id: str, window: Window) -> Report:
    """Categories with volume, change, positive share, gap share and example questions."""
    groups = [{"field": "category"}, {"field": "isDocumented"}]
    where = window.where("firstMessageTime", condition("category", "isNotNull"))
    now = run(conn, SEMANTIC_THREADS, {"select": [count()], "groupBy": groups, "where": where},
              project_id)  # fmt: skip
    before = run(
        conn,
        SEMANTIC_THREADS,
        {
            "select": [count()],
            "groupBy": [{"field": "category"}],
            "where": window.previous().where(
                "firstMessageTime", condition("category", "isNotNull")
            ),
        },
        project_id,
    )
    samples = run(
        conn,
        SEMANTIC_THREADS,
        {
            "select": [{"type": "field", "field": f} for f in ("category", "question")],
            "where": where,
            "orderBy": [{"field": "firstMessageTime", "direction": "desc"}],
        },
        project_id,
        limit=SAMPLE_THREADS,
    )
    stats: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for r in now:
        s = stats[r["category"]]
        n = int(r["count"])
        s["questions"] += n
        s["documented_known"] += n if r["isDocumented"] is not None else 0
        s["gaps"] += n if r["isDocumented"] is False else 0
    for category, kind, n in rated_threads_by_category(conn, project_id, window):
        if category in stats:
            stats[category][kind] += n
    previous = {r["category"]: int(r["count"]) for r in before}
    examples: dict[str, list[str]] = defaultdict(list)
    for r in samples:
        seen = examples[r["category"]]
        if len(seen) < EXAMPLES and r["question"] not in seen:
            seen.append(r["question"])
    rows = []
    for category, s in sorted(stats.items(), key=lambda kv: (-kv[1]["questions"], kv[0])):
        then = previous.get(category, 0)
        rows.append(
            {
                "category": category,
                "questions": s["questions"],
                "previous": then,
                "change": None if not then else (s["questions"] - then) / then,
                "positiveShare": share(s["positive"], s["positive"] + s["negative"]),
                "gapShare": share(s["gaps"], s["documented_known"]),
                "examples": examples.get(category, []),
            }
        )
    return {"rows": rows}


def rated_threads_by_category(
    conn: Connection, project_id: str, window: Window
) -> list[tuple[str, str, int]]:
    """(category, feedback type, threads) for the window's threads with feedback.

    The one report not written in the DSL: grouping threads by ``hasPositiveFeedback``
    evaluates its EXISTS for every thread of the window, while most threads have no
    feedback at all (the topics call: 560 ms at 20,000 conversations on SQLite; read
    from the feedback instead, 187 ms). Only rated messages are visited. Feedback on a
    thread comes after its first message, so ``created_at >= start`` keeps every one
    that counts and lets the index seek.
    """
    t, f, m = semantic_threads, feedback, messages
    thread_time = func.coalesce(t.c.first_message_time, t.c.last_message_time)
    statement = (
        select(t.c.category, f.c.type, func.count(distinct(t.c.id)))
        .select_from(
            f.join(m, and_(m.c.project_id == f.c.project_id, m.c.id == f.c.message_id)).join(
                t,
                and_(
                    t.c.project_id == f.c.project_id,
                    t.c.conversation_id == f.c.conversation_id,
                    m.c.position.between(t.c.first_position, t.c.last_position),
                ),
            )
        )
        .where(
            f.c.project_id == project_id,
            f.c.created_at >= window.start,
            # Behind coalesce, which no index holds: SQLite then starts from the rated
            # feedback, not from every thread of the window (13.6 s -> see bench).
            thread_time >= window.start,
            thread_time < window.end,
            t.c.category.is_not(None),
            *([t.c.integration_id == window.integration] if window.integration else []),
        )
        .group_by(t.c.category, f.c.type)
    )
    return [(str(c), str(k), int(n)) for c, k, n in conn.execute(statement)]


GAP_KINDS = (
    ("isDocumented", "not_documented", "Not documented"),
    ("isAnswerConfident", "not_confident", "Not answered confidently"),
    ("isFeatureSupported", "not_supported", "Feature not supported"),
)


def gap_condition() -> dict[str, Any]:
    return {"or": [condition(field, "eq", False) for field, _, _ in GAP_KINDS]}


def gaps(conn: Connection, project_id: str, window: Window) -> Report:
    """The questions the docs do not answer, grouped by subject, most asked first."""
    where = window.where("firstMessageTime", gap_condition())
    groups = run(
        conn,
        SEMANTIC_THREADS,
        {
            "select": [count()],
            "groupBy": [{"field": "subject"}] + [{"field": f} for f, _, _ in GAP_KINDS],
            "where": where,
        },
        project_id,
    )
    samples = run(
        conn,
        SEMANTIC_THREADS,
        {
            "select": [
                {"type": "field", "field": f}
                for f in ("subject", "question", "gapSummary", "conversationIds")
            ],
            "where": where,
            "orderBy": [{"field": "firstMessageTime", "direction": "desc"}],
        },
        project_id,
        limit=SAMPLE_THREADS,
    )
    subjects: dict[str, dict[str, Any]] = {}
    for r in groups:
        name = r["subject"] or "(no subject)"
        s = subjects.setdefault(
            name, {"subject": name, "total": 0, **{k: 0 for _, k, _ in GAP_KINDS}}
        )
        n = int(r["count"])
        s["total"] += n
        for field, key, _ in GAP_KINDS:
            s[key] += n if r[field] is False else 0
    for s in subjects.values():
        s["gapSummary"] = None
        s["examples"] = []
    for r in samples:
        found = subjects.get(r["subject"] or "(no subject)")
        if found is None:
            continue
        s = found
        if s["gapSummary"] is None and r.get("gapSummary"):
            s["gapSummary"] = r["gapSummary"]
        if len(s["examples"]) < EXAMPLES and all(
            e["question"] != r["question"] for e in s["examples"]
        ):
            ids = r.get("conversationIds") or []
            s["examples"].append({"question": r["question"], "conversationId": ids[0] if ids
                                  else None})  # fmt: skip
    rows = sorted(subjects.values(), key=lambda s: (-s["total"], s["subject"]))
    return {"kinds": [{"key": k, "label": label} for _, k, label in GAP_KINDS], "rows": rows}


def search_report(conn: Connection, project_id: str, window: Window) -> Report:
    """Top search queries and weekly searching users since the window's start."""
    return {
        "top": top_search_queries(conn, project_id, window.start),
        "weekly": weekly_search_users(conn, project_id, window.start),
    }
