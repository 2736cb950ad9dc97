"""`category`: clusters of a project's questions by meaning, named by their key terms.

What is clustered: the MiniLM embedding of a thread's *topic text* (`offline.topic_text`):
an English question as written, a question in another language by its key terms, and in
both cases the words of the paths of the docs pages the answer cites
("/webhooks/signatures"), which are language-independent.

How: average-linkage agglomerative clustering on *locally scaled* cosine distance, cut
where the mean distance between two groups' questions exceeds MERGE_DISTANCE. Local
scaling (Zelnik-Manor and Perona) divides the distance of two questions by the geometric
mean of each one's distance to its NEIGHBOURS-th nearest question, times the median of
those: in a dense region (one intent asked thirty times) a paraphrase is near, in a
sparse one (asked six times) farther, and one cut serves both. The number of categories
follows from the questions, not from a formula of their count. Chosen by measurement on
CLINC150 (150 intents labelled by people; bench/categories.py, tuned on val): plain
cosine average linkage gave ARI 0.70 on six questions per intent and 0.63 on all 20, the
scaled one 0.75 and 0.74; Ward's distance grows with cluster size (its best threshold
went from 1.4 at 6 questions per intent to 2.5 at 30), and KMeans needs k. Identical
vectors (the same question asked again) count once, so that repeats do not make a region
look dense. A category of one question joins its nearest category: lone questions are
noise to a dashboard, and this raised the adjusted Rand index.

Scale: the linkage needs the n² distance matrix, so at most SAMPLE questions (a seeded
random sample) are clustered and the rest go to the nearest centroid (bench/annotate.py
measures this at 10k, 100k and 1M questions).

Stability: `assign_categories` puts new questions into the nearest existing centroid and
never moves the others. `fit_categories` with `previous` re-clusters everything and keeps
the id and the name of each new cluster that matches an old one (Hungarian matching on
centroid cosine >= 0.75); other clusters get fresh ids and c-TF-IDF names.

Groups: a dashboard's top ten categories showed 46-57 % of a docs product's questions in
the labelled set (its ~10 intended topics would show 94-100 %), so each category also
belongs to a coarser group of our own (not an Inkeep field): the same tree cut at
GROUP_DISTANCE, each category in the group most of its questions fall in.

Naming: class-based TF-IDF (c-TF-IDF, as in BERTopic) over each cluster's key terms; the
top three terms, joined with ", ".
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Sequence

import numpy as np
import numpy.typing as npt
from scipy.cluster.hierarchy import fcluster, linkage  # type: ignore[import-untyped]
from scipy.optimize import linear_sum_assignment  # type: ignore[import-untyped]
from threadpoolctl import threadpool_limits  # type: ignore[import-untyped]

from convoscope.annotate.model import CategoryModel

# Tuned on CLINC150 val (3,000 questions, and its first six per intent), the mean of the
# two ARIs: NEIGHBOURS 15 at 0.55 gave 0.74 and 0.75; 0.50 and 0.60 0.64-0.75; NEIGHBOURS 7
# and 10 scored higher on six per intent (0.77-0.80) but fell to 0.59-0.68 on 3,000.
MERGE_DISTANCE = 0.55
NEIGHBOURS = 15
# Measured on the labelled set only (CLINC150 has no coarser labels here): cutting at 0.8
# gave ARI 0.43-0.50 against the ~10 intended topics of each product (categories
# 0.26-0.31) and put 69-100 % of the questions in the top ten; 0.7 0.32-0.54, 0.9
# collapsed two products into two groups.
GROUP_DISTANCE = 0.8
# Categories smaller than this are folded into their nearest larger one.
MIN_SIZE = 2
# Questions clustered at most; the condensed distance matrix of 8,000 is 256 MB.
SAMPLE = 8_000
KEEP_NAME_COSINE = 0.75
NAME_TERMS = 3
THREADS = 2
# Rows compared with the centroids at a time when assigning (bounds the score matrix).
_ASSIGN_CHUNK = 16_384


def _normalise(rows: npt.NDArray[np.float32]) -> npt.NDArray[np.float32]:
    norms = np.linalg.norm(rows, axis=1, keepdims=True)
    normalised: npt.NDArray[np.float32] = (rows / np.maximum(norms, 1e-12)).astype(np.float32)
    return normalised


def _centroids(
    vectors: npt.NDArray[np.float32], labels: npt.NDArray[np.int64], k: int
) -> npt.NDArray[np.float32]:
    sums = np.zeros((k, vectors.shape[1]), dtype=np.float64)
    np.add.at(sums, labels, vectors)
    return _normalise(sums.astype(np.float32))


def nearest(
    centroids: npt.NDArray[np.float32], vectors: npt.NDArray[np.float32]
) -> npt.NDArray[np.int64]:
    """Index of the nearest centroid (highest cosine) of each unit vector."""
    found = np.empty(len(vectors), dtype=np.int64)
    for start in range(0, len(vectors), _ASSIGN_CHUNK):
        chunk = vectors[start : start + _ASSIGN_CHUNK]
        found[start : start + len(chunk)] = np.argmax(chunk @ centroids.T, axis=1)
    return found


def _renumber(labels: npt.NDArray[np.int64]) -> npt.NDArray[np.int64]:
    """Labels 0..k'-1 in order of first appearance."""
    _, first, inverse = np.unique(labels, return_index=True, return_inverse=True)
    order = np.argsort(np.argsort(first))
    renumbered: npt.NDArray[np.int64] = order[inverse].astype(np.int64)
    return renumbered


def _fold_small(
    vectors: npt.NDArray[np.float32], labels: npt.NDArray[np.int64]
) -> npt.NDArray[np.int64]:
    """Move the questions of categories under MIN_SIZE to their nearest larger category."""
    sizes = np.bincount(labels)
    large = np.flatnonzero(sizes >= MIN_SIZE)
    small = sizes[labels] < MIN_SIZE
    if len(large) == 0 or not small.any():
        return labels
    centroids = _centroids(vectors, labels, len(sizes))[large]
    folded = labels.copy()
    folded[small] = large[nearest(centroids, vectors[small])]
    return _renumber(folded)


def scaled_distances(vectors: npt.NDArray[np.float32]) -> npt.NDArray[np.float64]:
    """Condensed matrix of locally scaled cosine distances between unit vectors.

    d'(i, j) = d(i, j) * median(s) / sqrt(s_i * s_j), s_i the cosine distance from i to its
    NEIGHBOURS-th nearest other vector (fewer when there are fewer vectors)."""
    n = len(vectors)
    k = min(NEIGHBOURS, n - 1)
    square = vectors @ vectors.T
    np.subtract(np.float32(1), square, out=square)
    np.clip(square, 0, 2, out=square)
    np.fill_diagonal(square, 0)
    reach = np.empty(n, dtype=np.float32)
    for start in range(0, n, 1024):  # row blocks: np.partition copies what it sorts
        rows = square[start : start + 1024]
        reach[start : start + len(rows)] = np.partition(rows, k, axis=1)[:, k]
    typical = np.float32(np.median(reach))
    # Near-duplicates (distinct texts, nearly one vector) must not make a point's
    # distances explode: no point counts as more than 4x denser than the typical one.
    reach = np.maximum(reach, typical / 4, dtype=np.float32)
    factor = np.sqrt(typical / reach).astype(np.float32)
    # Filled row by row (the upper triangle, as `squareform` orders it): no float32
    # condensed copy next to the square and the float64 result.
    scaled = np.empty(n * (n - 1) // 2, dtype=np.float64)
    offset = 0
    for i in range(n - 1):
        row = square[i, i + 1 :]
        scaled[offset : offset + len(row)] = row * (factor[i] * factor[i + 1 :])
        offset += len(row)
    return scaled


def _cluster_distinct(
    vectors: npt.NDArray[np.float32], distance: float, group_distance: float
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]]:
    """Labels of unit vectors by scaled average linkage, identical vectors clustered once,
    and their groups: the same tree cut at `group_distance`."""
    distinct, inverse = np.unique(vectors, axis=0, return_inverse=True)
    inverse = inverse.reshape(-1)
    if len(distinct) < 2:
        zeros = np.zeros(len(vectors), dtype=np.int64)
        return zeros, zeros
    tree = linkage(scaled_distances(distinct), method="average")
    labels = fcluster(tree, distance, "distance")[inverse]
    groups = fcluster(tree, group_distance, "distance")[inverse]
    return _fold_small(vectors, _renumber(labels.astype(np.int64))), groups.astype(np.int64)


def _group_of_categories(
    labels: npt.NDArray[np.int64], groups: npt.NDArray[np.int64], count: int
) -> npt.NDArray[np.int64]:
    """Per category, the group most of its questions are in (renumbered 0..g-1)."""
    found = np.zeros(count, dtype=np.int64)
    for category in range(count):
        members = groups[labels == category]
        found[category] = np.bincount(members).argmax() if len(members) else -1
    if (found < 0).any():  # a category none of the sample's questions fell in
        found[found < 0] = found.max() + 1 + np.arange(int((found < 0).sum()))
    return _renumber(found)


def cluster_levels(
    vectors: npt.NDArray[np.float32],
    *,
    distance: float = MERGE_DISTANCE,
    group_distance: float = GROUP_DISTANCE,
    sample: int = SAMPLE,
    seed: int = 0,
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]]:
    """Cluster unit vectors: labels 0..k'-1, and the group of each label. Uses at most
    THREADS BLAS threads.

    Above `sample` vectors, a seeded random sample of that many is clustered and every
    vector then goes to its nearest centroid."""
    n = len(vectors)
    if n < 2:
        return np.zeros(n, dtype=np.int64), np.zeros(min(n, 1), dtype=np.int64)
    if n > sample:
        picked = np.sort(np.random.default_rng(seed).choice(n, sample, replace=False))
    else:
        picked = np.arange(n)
    chosen = vectors[picked]
    with threadpool_limits(limits=THREADS):
        labels, groups = _cluster_distinct(chosen, distance, group_distance)
        if len(picked) < n:
            centroids = _centroids(chosen, labels, int(labels.max()) + 1)
            labels = _renumber(nearest(centroids, vectors))
    count = int(labels.max()) + 1
    return labels, _group_of_categories(labels[picked], groups, count)


def cluster_vectors(
    vectors: npt.NDArray[np.float32],
    *,
    distance: float = MERGE_DISTANCE,
    sample: int = SAMPLE,
    seed: int = 0,
) -> npt.NDArray[np.int64]:
    """Cluster unit vectors; returns labels 0..k'-1 (see `cluster_levels`)."""
    return cluster_levels(vectors, distance=distance, sample=sample, seed=seed)[0]


def ctfidf_terms(
    docs_terms: Sequence[Sequence[str]], labels: npt.NDArray[np.int64], k: int, top: int
) -> list[list[str]]:
    """Top terms per cluster by class-based TF-IDF: tf within the cluster × log(1 + A / f_t),
    with A the average number of terms per cluster and f_t the term's frequency overall."""
    per_class: list[Counter[str]] = [Counter() for _ in range(k)]
    for terms, label in zip(docs_terms, labels, strict=True):
        per_class[int(label)].update(terms)
    overall: Counter[str] = Counter()
    for counts in per_class:
        overall.update(counts)
    total = sum(overall.values())
    average = total / max(k, 1)
    ranked: list[list[str]] = []
    for counts in per_class:
        size = sum(counts.values()) or 1
        scores = {
            term: (count / size) * math.log(1 + average / overall[term])
            for term, count in counts.items()
        }
        ranked.append([t for t, _ in sorted(scores.items(), key=lambda kv: (-kv[1], kv[0]))][:top])
    return ranked


def _unique_name(terms: list[str], taken: set[str]) -> str:
    for n in range(min(NAME_TERMS, len(terms)), len(terms) + 1):
        name = ", ".join(terms[:n])
        if name not in taken:
            return name
    base = ", ".join(terms[:NAME_TERMS]) or "other questions"
    suffix = 2
    while f"{base} ({suffix})" in taken:
        suffix += 1
    return f"{base} ({suffix})"


def fit_categories(
    docs_terms: Sequence[Sequence[str]],
    vectors: npt.NDArray[np.float32],
    *,
    embedder: str,
    previous: CategoryModel | None = None,
    distance: float = MERGE_DISTANCE,
    seed: int = 0,
) -> tuple[CategoryModel, npt.NDArray[np.int64]]:
    """Cluster a project's questions and name the clusters.

    Args:
        docs_terms: the key terms of each question (for names).
        vectors: the unit topic vector of each question.
        previous: the model to keep ids and names from, if any.
    Returns the model and each question's cluster index into `model.ids`.
    """
    labels, group_of = cluster_levels(vectors, distance=distance, seed=seed)
    count = int(labels.max()) + 1 if len(labels) else 0
    centroids = (
        _centroids(vectors, labels, count) if count else np.zeros((0, vectors.shape[1]), np.float32)
    )
    sizes = np.bincount(labels, minlength=count) if count else np.zeros(0, np.int64)
    terms = ctfidf_terms(docs_terms, labels, count, top=NAME_TERMS + 3)

    ids: list[str | None] = [None] * count
    names: list[str | None] = [None] * count
    next_id = 1
    if previous is not None and previous.embedder == embedder and len(previous.ids) and count:
        next_id = previous.next_id
        similarity = centroids @ previous.centroids.T
        rows, cols = linear_sum_assignment(-similarity)
        for r, c in zip(rows, cols, strict=True):
            if similarity[r, c] >= KEEP_NAME_COSINE:
                ids[r] = previous.ids[c]
                names[r] = previous.names[c]
    taken = {n for n in names if n is not None}
    for i in range(count):
        if ids[i] is None:
            ids[i] = f"c{next_id}"
            next_id += 1
        if names[i] is None:
            names[i] = _unique_name(terms[i], taken)
            taken.add(names[i] or "")
    group_count = int(group_of.max()) + 1 if count else 0
    group_terms = ctfidf_terms(docs_terms, group_of[labels], group_count, top=NAME_TERMS + 3)
    group_names: list[str] = []
    for g in range(group_count):
        members = np.flatnonzero(group_of == g)
        # a group of one category is that category; others are named by their own terms
        single = names[int(members[0])] if len(members) == 1 else None
        group_names.append(single or _unique_name(group_terms[g], set(group_names)))
    model = CategoryModel(
        ids=tuple(i or "" for i in ids),
        names=tuple(n or "" for n in names),
        centroids=centroids,
        sizes=tuple(int(s) for s in sizes),
        embedder=embedder,
        next_id=next_id,
        groups=tuple(int(g) for g in group_of[:count]),
        group_names=tuple(group_names),
    )
    return model, labels


def assign_categories(
    model: CategoryModel, vectors: npt.NDArray[np.float32]
) -> npt.NDArray[np.int64]:
    """Index of the nearest centroid for each vector (existing categories never move)."""
    if len(vectors) == 0 or len(model.ids) == 0:
        return np.zeros(len(vectors), dtype=np.int64)
    return nearest(model.centroids, vectors)
