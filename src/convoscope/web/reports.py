"""The dashboard's reports: overview cards and charts, topics, documentation gaps.

Each is a few DSL queries (``window.run``) and arithmetic on their rows; nothing here
writes SQL.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from sqlalchemy import Connection

from convoscope.query import (
    CONVERSATIONS,
    FEEDBACK,
    SEMANTIC_THREADS,
    top_search_queries,
    weekly_search_users,
)
from convoscope.web import summaries
from convoscope.web.window import Window, condition, count, run, share

Report = dict[str, Any]
TOP_CATEGORIES = 10
LATEST_NEGATIVE = 10
EXAMPLES = 3
# Threads read for example questions and gap summaries, newest first.
SAMPLE_THREADS = 500
# Groups a DSL query may return; more than the categories of any project's window.
MAX_GROUPS = 100_000


def _dsl_totals(
    conn: Connection, project_id: str, window: Window, *, with_users: bool
) -> dict[str, int]:
    select_users = [{"type": "aggregation", "aggregation": "countDistinct",
                     "field": "userProperties", "path": ["id"]}] if with_users else []  # fmt: skip
    conversations = run(
        conn,
        CONVERSATIONS,
        {"select": [count(), *select_users], "where": window.where("firstMessageTime")},
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
    totals = _thread_totals(threads)
    by_type = {row["type"]: int(row["count"]) for row in feedback}
    totals.update(
        conversations=int(conversations["count"]),
        positive=by_type.get("positive", 0),
        negative=by_type.get("negative", 0),
    )
    if with_users:
        totals["users"] = int(conversations.get("countDistinct_userProperties.id", 0))
    return totals


def _thread_totals(threads: list[dict[str, Any]]) -> dict[str, int]:
    return {
        "questions": sum(int(r["count"]) for r in threads),
        "documented_known": sum(int(r["count"]) for r in threads if r["isDocumented"] is not None),
        "gaps": sum(int(r["count"]) for r in threads if r["isDocumented"] is False),
        "confidence_known": sum(
            int(r["count"]) for r in threads if r["isAnswerConfident"] is not None
        ),
        "confident": sum(int(r["count"]) for r in threads if r["isAnswerConfident"] is True),
    }


def _totals(
    conn: Connection, project_id: str, window: Window, *, use_summaries: bool
) -> dict[str, int]:
    parts = summaries.split(window, enabled=use_summaries)
    if parts.days is None:
        return _dsl_totals(conn, project_id, window, with_users=True)
    days, integration = parts.days, window.integration
    by_type: dict[str, int] = defaultdict(int)
    for (_, kind), n in summaries.feedback_per_day(conn, project_id, days, integration).items():
        by_type[kind] += n
    threads = summaries.thread_counts(
        conn, project_id, days, integration, ["isDocumented", "isAnswerConfident"]
    )
    totals = _thread_totals(threads)
    totals.update(
        conversations=sum(
            summaries.conversations_per_day(conn, project_id, days, integration).values()
        ),
        positive=by_type["positive"],
        negative=by_type["negative"],
    )
    for edge in parts.edges:
        for key, n in _dsl_totals(conn, project_id, edge, with_users=False).items():
            totals[key] += n
    totals["users"] = summaries.unique_users(conn, project_id, window, parts)
    return totals


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


def overview_cards(
    conn: Connection, project_id: str, window: Window, *, use_summaries: bool = True
) -> Report:
    """The headline numbers of the window, each with its value in the previous period."""
    now = _totals(conn, project_id, window, use_summaries=use_summaries)
    then = _totals(conn, project_id, window.previous(), use_summaries=use_summaries)

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


def conversations_over_time(
    conn: Connection, project_id: str, window: Window, *, use_summaries: bool = True
) -> Report:
    unit = window.unit
    key = f"firstMessageTime_{unit}"
    # Hours are not summarised; an hourly chart covers two days at most.
    parts = summaries.split(window, enabled=use_summaries and unit == "day")
    counts: dict[str, int] = defaultdict(int)
    if parts.days is not None:
        per_day = summaries.conversations_per_day(conn, project_id, parts.days, window.integration)
        counts.update(per_day)
    for edge in parts.edges:
        rows = run(
            conn,
            CONVERSATIONS,
            {
                "select": [{"type": "time", "timeUnit": unit, "field": "firstMessageTime"},
                           count()],
                "where": edge.where("firstMessageTime"),
            },
            project_id,
        )  # fmt: skip
        for row in rows:
            counts[row[key]] += int(row["count"])
    return {
        "title": f"Conversations per {unit}",
        "type": "line",
        "labels": window.buckets(),
        "unit": unit,
        "x": unit.capitalize() + " (UTC)",
        "y": "Conversations",
        "datasets": [
            {"label": "Conversations", "data": [counts.get(b, 0) for b in window.buckets()]}
        ],
    }


def feedback_per_day(
    conn: Connection, project_id: str, window: Window, *, use_summaries: bool = True
) -> Report:
    parts = summaries.split(window, enabled=use_summaries)
    counts: dict[tuple[str, str], int] = defaultdict(int)
    if parts.days is not None:
        counts.update(summaries.feedback_per_day(conn, project_id, parts.days, window.integration))
    for edge in parts.edges:
        rows = run(
            conn,
            FEEDBACK,
            {
                "select": [{"type": "time", "timeUnit": "day", "field": "createdAt"}, count()],
                "groupBy": [{"field": "type"}],
                "where": edge.where("createdAt"),
            },
            project_id,
        )
        for r in rows:
            counts[(r["createdAt_day"], r["type"])] += int(r["count"])
    labels = _days(window)
    datasets = []
    for kind, label in (("positive", "Thumbs up"), ("negative", "Thumbs down")):
        datasets.append({"label": label, "data": [counts.get((b, kind), 0) for b in labels]})
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


def thread_groups(
    conn: Connection,
    project_id: str,
    window: Window,
    by: list[str],
    *,
    use_summaries: bool = True,
) -> dict[tuple[Any, ...], dict[str, int]]:
    """Questions of the window grouped by the thread fields ``by``: ``{values: {"count",
    "positive", "negative"}}``, the last two the threads with feedback of each type."""
    parts = summaries.split(window, enabled=use_summaries)
    groups: dict[tuple[Any, ...], dict[str, int]] = defaultdict(lambda: defaultdict(int))
    if parts.days is not None:
        for r in summaries.thread_counts(conn, project_id, parts.days, window.integration, by):
            g = groups[tuple(r[name] for name in by)]
            for measure in ("count", "positive", "negative"):
                g[measure] += r[measure]
    flags = [{"field": "hasPositiveFeedback"}, {"field": "hasNegativeFeedback"}]
    for edge in parts.edges:
        rows = run(
            conn,
            SEMANTIC_THREADS,
            {
                "select": [count()],
                "groupBy": [{"field": name} for name in by] + flags,
                "where": edge.where("firstMessageTime"),
            },
            project_id,
            limit=MAX_GROUPS,
        )
        for r in rows:
            g = groups[tuple(r[name] for name in by)]
            n = int(r["count"])
            g["count"] += n
            g["positive"] += n if r["hasPositiveFeedback"] else 0
            g["negative"] += n if r["hasNegativeFeedback"] else 0
    return groups


def sentiment_mix(
    conn: Connection, project_id: str, window: Window, *, use_summaries: bool = True
) -> Report:
    groups = thread_groups(conn, project_id, window, ["sentiment"], use_summaries=use_summaries)
    rows = [(k[0], g["count"]) for k, g in groups.items() if k[0] is not None and g["count"]]
    order = {"positive": 0, "neutral": 1, "negative": 2}
    rows.sort(key=lambda r: (order.get(r[0], 3), str(r[0])))
    return {
        "title": "Sentiment of questions",
        "type": "doughnut",
        "labels": [r[0] for r in rows],
        "datasets": [{"label": "Questions", "data": [n for _, n in rows]}],
    }


def top_categories(
    conn: Connection, project_id: str, window: Window, *, use_summaries: bool = True
) -> Report:
    groups = thread_groups(conn, project_id, window, ["category"], use_summaries=use_summaries)
    rows = sorted(
        ((k[0], g["count"]) for k, g in groups.items() if k[0] is not None and g["count"]),
        key=lambda r: (-r[1], str(r[0])),
    )[:TOP_CATEGORIES]
    return {
        "title": "Top categories",
        "type": "bar",
        "horizontal": True,
        "labels": [r[0] for r in rows],
        "x": "Questions",
        "y": "Category",
        "datasets": [{"label": "Questions", "data": [n for _, n in rows]}],
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


def topics(
    conn: Connection, project_id: str, window: Window, *, use_summaries: bool = True
) -> Report:
    """Categories with volume, change, positive share, gap share and example questions."""
    now = thread_groups(
        conn, project_id, window, ["category", "isDocumented"], use_summaries=use_summaries
    )
    before = thread_groups(
        conn, project_id, window.previous(), ["category"], use_summaries=use_summaries
    )
    where = window.where("firstMessageTime", condition("category", "isNotNull"))
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
    for (category, documented), g in now.items():
        if category is None or not g["count"]:
            continue
        s = stats[category]
        n = g["count"]
        s["questions"] += n
        s["documented_known"] += n if documented is not None else 0
        s["gaps"] += n if documented is False else 0
        s["positive"] += g["positive"]
        s["negative"] += g["negative"]
    previous = {k[0]: g["count"] for k, g in before.items() if k[0] is not None}
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
    """Top search queries and weekly searching users of the window."""
    return {
        "top": top_search_queries(conn, project_id, window.start, window.end),
        "weekly": weekly_search_users(conn, project_id, window.start, window.end),
    }
