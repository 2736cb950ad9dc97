"""`category`: clusters of a project's questions by meaning, named by their key terms.

What is clustered: the MiniLM embedding of a thread's *topic text*, i.e. the question's key
terms (question boilerplate removed: "How do I" says nothing about the topic) plus the words
of the paths of the docs pages the answer cites ("/webhooks/signatures"). The paths are
language-independent, which matters because MiniLM is English-first: on the labelled set
(three products, 45 % non-English) the adjusted Rand index against the intended categories
went from 0.04–0.13 (raw question) to 0.34–0.52 with topic text.

How: KMeans (MiniBatchKMeans above 20,000 questions) with k from the number of
questions (about sqrt(n/2), 2..50), then clusters whose centroids are near-duplicates
(cosine >= 0.85) are merged, so k shrinks when the questions span fewer topics.
Silhouette was tried for choosing k and rose with k on this data, so it does not choose.
Agglomerative clustering needs the n² distance matrix (+750 MB at 10k questions) and is
not used.

Stability: `assign_categories` puts new questions into the nearest existing centroid and
never moves the others. `fit_categories` with `previous` re-clusters everything and keeps
the id and the name of each new cluster that matches an old one (Hungarian matching on
centroid cosine >= 0.75); other clusters get fresh ids and c-TF-IDF names.

Naming: class-based TF-IDF (c-TF-IDF, as in BERTopic) over each cluster's key terms; the
top three terms, joined with ", ".
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Sequence

import numpy as np
import numpy.typing as npt
from scipy.optimize import linear_sum_assignment  # type: ignore[import-untyped]
from sklearn.cluster import KMeans, MiniBatchKMeans  # type: ignore[import-untyped]
from threadpoolctl import threadpool_limits  # type: ignore[import-untyped]

from convoscope.annotate.model import CategoryModel

MIN_K = 2
MAX_K = 50
MERGE_COSINE = 0.85
KEEP_NAME_COSINE = 0.75
NAME_TERMS = 3
# Above this many questions, MiniBatchKMeans: full KMeans is exact but its time grows with
# n × k × iterations (see bench/annotate.py).
FULL_KMEANS_MAX = 20_000
THREADS = 2


def choose_k(n: int) -> int:
    """Initial number of clusters for n questions (merging may lower it)."""
    if n <= MIN_K:
        return max(n, 1)
    return max(MIN_K, min(MAX_K, round(math.sqrt(n / 2))))


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


def _merge_near_duplicates(
    vectors: npt.NDArray[np.float32], labels: npt.NDArray[np.int64], k: int
) -> tuple[npt.NDArray[np.int64], int]:
    """Merge clusters whose centroids are closer than MERGE_COSINE; relabel 0..k'-1."""
    parent = list(range(k))

    def root(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    centroids = _centroids(vectors, labels, k)
    similarity = centroids @ centroids.T
    for i, j in zip(*np.nonzero(np.triu(similarity, 1) >= MERGE_COSINE), strict=True):
        parent[root(int(i))] = root(int(j))
    roots = [root(i) for i in range(k)]
    used = sorted(set(roots[int(label)] for label in np.unique(labels)))
    renumber = {r: n for n, r in enumerate(used)}
    mapping = np.array([renumber.get(roots[i], 0) for i in range(k)], dtype=np.int64)
    return mapping[labels], len(used)


def cluster_vectors(
    vectors: npt.NDArray[np.float32], *, k: int | None = None, seed: int = 0
) -> npt.NDArray[np.int64]:
    """Cluster unit vectors; returns labels 0..k'-1. Uses at most THREADS BLAS threads."""
    n = len(vectors)
    if n == 0:
        return np.zeros(0, dtype=np.int64)
    k = min(k or choose_k(n), n)
    if k <= 1:
        return np.zeros(n, dtype=np.int64)
    # Two BLAS-heavy processes on 2 cores made KMeans 7x slower in measurement: pin threads.
    with threadpool_limits(limits=THREADS):
        if n <= FULL_KMEANS_MAX:
            model: KMeans | MiniBatchKMeans = KMeans(n_clusters=k, n_init=4, random_state=seed)
        else:
            # Bounded epochs and early stopping: on 100,000 poorly separated vectors the
            # defaults ran 24 s on 2 busy cores for the same inertia (within 0.1 %) as 7 s.
            model = MiniBatchKMeans(
                n_clusters=k,
                n_init=3,
                batch_size=4096,
                max_iter=30,
                max_no_improvement=10,
                random_state=seed,
            )
        labels = model.fit_predict(vectors).astype(np.int64)
    merged, _ = _merge_near_duplicates(vectors, labels, k)
    return merged


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
    k: int | None = None,
    seed: int = 0,
) -> tuple[CategoryModel, npt.NDArray[np.int64]]:
    """Cluster a project's questions and name the clusters.

    Args:
        docs_terms: the key terms of each question (for names).
        vectors: the unit topic vector of each question.
        previous: the model to keep ids and names from, if any.
    Returns the model and each question's cluster index into `model.ids`.
    """
    labels = cluster_vectors(vectors, k=k, seed=seed)
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
    model = CategoryModel(
        ids=tuple(i or "" for i in ids),
        names=tuple(n or "" for n in names),
        centroids=centroids,
        sizes=tuple(int(s) for s in sizes),
        embedder=embedder,
        next_id=next_id,
    )
    return model, labels


def assign_categories(
    model: CategoryModel, vectors: npt.NDArray[np.float32]
) -> npt.NDArray[np.int64]:
    """Index of the nearest centroid for each vector (existing categories never move)."""
    if len(vectors) == 0 or len(model.ids) == 0:
        return np.zeros(len(vectors), dtype=np.int64)
    nearest: npt.NDArray[np.int64] = np.argmax(vectors @ model.centroids.T, axis=1).astype(np.int64)
    return nearest
