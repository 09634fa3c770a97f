"""Operators of a training step (greenai.operator_times, greenai.operators) and their time shares (greenai.analysis.operators)."""

from __future__ import annotations

import math

import pandas as pd
import pytest

from greenai import operator_times, operators
from greenai.analysis import operators as opa


def test_a_convolution_is_described_by_hand_counts(monkeypatch):
    from torch import nn

    from greenai import models

    net = nn.Sequential(nn.Conv2d(1, 2, 3, padding=1, bias=False), nn.ReLU(), nn.Flatten(),
                        nn.Linear(2 * 4 * 4, 3, bias=False))
    monkeypatch.setattr(models, "build_model", lambda name, c, k: net.to("meta") if name == "tiny" else None)
    ops = operator_times.step_operators("tiny", in_channels=1, num_classes=3, batch_size=2, image_size=4)
    conv = ops[0]
    out = 2 * 2 * 4 * 4  # batch x planes x 4 x 4
    assert conv == ("convolution", "conv_dense", out * 1 * 9, (2 * 16 + 2 * 9) * 4, out * 4)
    backward = [o for o in ops if o[0] == "convolution_backward"]
    # the first layer needs no grad input: only grad weight, as many MACs as the forward
    assert len(backward) == 1 and backward[0][1] == "conv_dense" and backward[0][2] == out * 9
    mm = [o for o in ops if o[1] == "matmul"]
    assert {o[2] for o in mm} >= {2 * 3 * 32}  # forward: [2, 32] x [32, 3]
    assert all(o[0] not in ("empty", "view", "t", "detach") for o in ops)  # no kernel, not described


def test_the_cpu_timer_describes_the_same_operators_as_meta():
    timed, wall = operator_times.time_step_operators("synthetic_39", 1, 10, batch_size=2, image_size=64, device="cpu",
                                              warmup=1, repeats=2)
    assert [t[:5] for t in timed] == [tuple(o) for o in operator_times.step_operators("synthetic_39", 1, 10, 2, 64)]
    assert all(t[5] >= 0 for t in timed) and wall > 0
    assert sum(t[5] for t in timed) < 10 * wall  # operator times are parts of a step


def test_attention_is_described_as_the_fused_kernel_a_gpu_runs():
    ops = operator_times.step_operators("synthetic_06", 1, 10, batch_size=2)  # has attention blocks
    names = [o[0] for o in ops]
    assert "_scaled_dot_product_efficient_attention" in names
    assert "_scaled_dot_product_efficient_attention_backward" in names
    assert "bmm" not in names and "_safe_softmax" not in names  # not meta's math decomposition
    attention = [o for o in ops if o[1] == "attention"]
    assert all(o[2] > 0 for o in attention)


@pytest.mark.parametrize("name, kind, expected", [
    ("convolution", "conv_grouped", "conv grouped"),
    ("convolution_backward", "conv_depthwise", "conv depthwise backward"),
    ("cudnn_batch_norm_backward", "other", "batch norm backward"),
    ("native_batch_norm", "other", "batch norm"),
    ("native_layer_norm_backward", "other", "layer norm backward"),
    ("_scaled_dot_product_efficient_attention_backward", "attention", "attention backward"),
    ("addmm", "matmul", "matmul"),
    ("max_pool2d_with_indices_backward", "other", "pooling backward"),
    ("add", "other", "elementwise"),
])
def test_operator_classes(name, kind, expected):
    assert operators.operator_class(name, kind) == expected
    assert expected in operators.OPERATOR_CLASSES


def test_time_shares_and_their_correlation_with_errors():
    ops = pd.DataFrame({"model": ["a", "a", "a", "b", "b", "c", "c"],
                        "op_class": ["matmul", "elementwise", "elementwise", "matmul", "elementwise", "matmul",
                                     "elementwise"],
                        "gpu_time_s": [0.3, 0.05, 0.05, 0.2, 0.2, 0.1, 0.3]})
    shares = opa.operator_time_shares(ops)
    assert shares.loc["a", "matmul"] == pytest.approx(0.75) and shares.loc["a", "elementwise"] == pytest.approx(0.25)
    assert shares.loc["c", "step_gpu_s"] == pytest.approx(0.4)
    assert (shares.drop(columns="step_gpu_s").sum(axis=1) - 1).abs().max() < 1e-12
    errors = pd.Series({"a": 5.0, "b": 10.0, "c": 15.0, "z": 99.0})  # z has no operator times
    corr = opa.share_residual_correlation(shares, errors).set_index("op_class")
    assert corr.loc["elementwise", "r"] == pytest.approx(1.0) and corr.loc["matmul", "r"] == pytest.approx(-1.0)
    assert (corr["n_models"] == 3).all() and math.isclose(corr.loc["elementwise", "mean_share"], 0.5)


def test_time_per_mac_of_each_convolution_kind_forward_and_backward_apart():
    ops = pd.DataFrame({"model": ["a", "a", "a", "a", "b"],
                        "kind": ["conv_grouped", "conv_grouped", "conv_grouped", "conv_dense", "conv_dense"],
                        "name": ["convolution", "convolution", "convolution_backward", "convolution", "convolution"],
                        "macs": [1e9, 3e9, 8e9, 4e9, 2e9], "gpu_time_s": [1e-3, 3e-3, 4e-3, 2e-3, 1e-3]})
    t = opa.time_per_mac(ops).set_index("model")
    # a's grouped forward: 4 ms over 4 GMAC = 1 ps/MAC; backward 4 ms over 8 GMAC; dense 2 ms over 4 GMAC
    assert t.loc["a", "conv_grouped_convolution_ps_per_mac"] == pytest.approx(1.0)
    assert t.loc["a", "conv_grouped_convolution_backward_ps_per_mac"] == pytest.approx(0.5)
    assert t.loc["a", "conv_dense_convolution_ps_per_mac"] == pytest.approx(0.5)
    assert t.loc["a", "conv_grouped_time_share"] == pytest.approx(0.8)
    assert math.isnan(t.loc["b", "conv_grouped_convolution_ps_per_mac"])
    assert math.isnan(t.loc["b", "conv_grouped_time_share"])
    assert math.isnan(t.loc["a", "conv_depthwise_time_share"])


def test_the_command_needs_a_gpu(tmp_path, capsys):
    import torch

    if torch.cuda.is_available():
        pytest.skip("this machine has a GPU")
    assert operator_times.main(["--models", "alexnet", "--out", str(tmp_path / "ops.csv.gz")]) == 2
    assert "no CUDA GPU" in capsys.readouterr().err and not (tmp_path / "ops.csv.gz").exists()


def test_operator_times_of_several_runs_are_read_together_first_file_first(tmp_path):
    from greenai.experiments.store import MissingResultsError

    with pytest.raises(MissingResultsError, match="python -m greenai.operator_times"):
        opa.load_operator_times(tmp_path)
    row = {"gpu_name": "G", "op_index": 0, "name": "relu", "kind": "other", "macs": 0, "bytes_read": 8,
           "bytes_written": 8, "gpu_time_s": 1e-5, "step_wall_s": 1e-3, "batch_size": 256, "in_channels": 1,
           "num_classes": 10}
    pd.DataFrame([row | {"model": "a"}, row | {"model": "b"}]).to_csv(tmp_path / "op_times_h200_later.csv.gz",
                                                                      index=False)
    pd.DataFrame([row | {"model": "a", "gpu_time_s": 2e-5}]).to_csv(tmp_path / opa.OP_TIMES, index=False)
    ops = opa.load_operator_times(tmp_path)
    assert sorted(ops["model"]) == ["a", "b"]
    assert ops.set_index("model").loc["a", "gpu_time_s"] == 2e-5  # the main file wins
    assert set(ops["op_class"]) == {"elementwise"}
