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


def test_a_check_of_values_on_meta_is_answered_true_with_a_warning_and_a_value_it_needs_still_fails(monkeypatch):
    """A training step that checks its activations are finite runs on meta as a sound run does (the check answered
    True, once per forward, with a warning); one that needs a value (a count of tokens) is not guessed."""
    import torch
    from torch import nn

    from greenai import models

    class Checked(nn.Linear):
        def forward(self, x):
            y = super().forward(x)
            if self.training and not torch.isfinite(y).all():
                raise AssertionError("non-finite activations")
            return y

    class Counting(nn.Linear):
        def forward(self, x):
            return super().forward(x)[:, : int((x > 0).sum().item()) % 3 + 1].sum(1, keepdim=True).expand(-1, 3)

    nets = {"checked": nn.Sequential(nn.Flatten(), Checked(16, 3)), "counting": nn.Sequential(nn.Flatten(),
                                                                                               Counting(16, 3))}
    monkeypatch.setattr(models, "build_model", lambda name, c, k: nets[name].to("meta"))
    with pytest.warns(UserWarning, match="1 check"):
        ops = operator_times.step_operators("checked", in_channels=1, num_classes=3, batch_size=2, image_size=4)
    assert [o[2] for o in ops if o[1] == "matmul"][0] == 2 * 3 * 16  # the forward's [2, 16] x [16, 3]
    with pytest.raises((RuntimeError, NotImplementedError)):
        operator_times.step_operators("counting", in_channels=1, num_classes=3, batch_size=2, image_size=4)


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
    ops = opa.load_operator_times(tmp_path, gpu="G")
    assert sorted(ops["model"]) == ["a", "b"]
    assert ops.set_index("model").loc["a", "gpu_time_s"] == 2e-5  # the main file wins
    assert set(ops["op_class"]) == {"elementwise"}


def test_operator_times_are_read_for_one_card_unless_told_otherwise(tmp_path):
    from greenai.experiments.store import MissingResultsError

    row = {"op_index": 0, "name": "relu", "kind": "other", "macs": 0, "bytes_read": 8, "bytes_written": 8,
           "step_wall_s": 1e-3, "batch_size": 256, "in_channels": 1, "num_classes": 10}
    pd.DataFrame([row | {"gpu_name": opa.OP_TIMES_GPU, "model": "a", "gpu_time_s": 1e-5}]).to_csv(
        tmp_path / opa.OP_TIMES, index=False)
    pd.DataFrame([row | {"gpu_name": "Other", "model": m, "gpu_time_s": 3e-5} for m in ("a", "b")]).to_csv(
        tmp_path / "op_times_other_card.csv.gz", index=False)
    ops = opa.load_operator_times(tmp_path)
    assert list(ops["model"]) == ["a"] and set(ops["gpu_name"]) == {opa.OP_TIMES_GPU}
    every = opa.load_operator_times(tmp_path, gpu=None)  # the same model on two cards: both kept
    assert sorted(zip(every["gpu_name"], every["model"])) == [("NVIDIA H200", "a"), ("Other", "a"), ("Other", "b")]
    with pytest.raises(MissingResultsError, match="no operator times of Nobody"):
        opa.load_operator_times(tmp_path, gpu="Nobody")


def test_convolution_shapes_follow_the_recorded_convolutions_in_order(monkeypatch):
    from torch import nn

    from greenai import models

    net = nn.Sequential(nn.Conv2d(1, 8, 3, padding=1, bias=False), nn.Conv2d(8, 16, 1, groups=2, bias=False),
                        nn.Conv2d(16, 16, 3, stride=2, padding=1, groups=16, bias=False), nn.Flatten(),
                        nn.Linear(16 * 4 * 4, 3, bias=False))
    monkeypatch.setattr(models, "build_model", lambda name, c, k: net.to("meta") if name == "tiny" else None)
    shapes = operator_times.convolution_shapes("tiny", in_channels=1, num_classes=3, batch_size=2, image_size=8)
    recorded = [o for o in operator_times.step_operators("tiny", 1, 3, 2, 8) if o[0].startswith("convolution")]
    assert [(s["name"], s["kind"], s["macs"]) for s in shapes] == [o[:3] for o in recorded]
    forward = [s for s in shapes if s["name"] == "convolution"]
    assert [(s["in_channels"], s["out_channels"], s["in_channels_per_group"], s["groups"]) for s in forward] == [
        (1, 8, 1, 1), (8, 16, 4, 2), (16, 16, 1, 16)]
    assert [(s["kernel_h"], s["kernel_w"], s["stride"], s["height"]) for s in forward] == [
        (3, 3, 1, 8), (1, 1, 1, 8), (3, 3, 2, 8)]
    assert forward[1]["kind"] == "conv_grouped" and forward[1]["macs"] == 2 * 16 * 64 * 4  # outputs x 4 inputs each


def test_convolution_speed_joins_shapes_in_order_and_the_modes_split_grouped_1x1_from_kxk():
    ops = pd.DataFrame({"gpu_name": "g", "model": ["a"] * 4 + ["b"],
                        "name": ["convolution", "relu", "convolution", "convolution_backward", "convolution"],
                        "kind": ["conv_grouped", "other", "conv_grouped", "conv_grouped", "conv_dense"],
                        "macs": [100, 0, 300, 200, 50], "bytes_read": [600, 1, 300, 500, 10],
                        "bytes_written": [400, 1, 200, 500, 10],
                        "gpu_time_s": [2e-8, 1e-9, 1e-9, 1.5e-8, 1e-9]})
    shape = dict(batch=2, in_channels=8, height=4, width=4, out_channels=8, in_channels_per_group=4, stride=1,
                 groups=2)
    shapes = pd.DataFrame([{"model": "a", "name": "convolution", "macs": 100, "kernel_h": 1, "kernel_w": 1, **shape},
                           {"model": "a", "name": "convolution", "macs": 300, "kernel_h": 3, "kernel_w": 3, **shape},
                           {"model": "a", "name": "convolution_backward", "macs": 200, "kernel_h": 1, "kernel_w": 1,
                            **shape},
                           {"model": "b", "name": "convolution", "macs": 51, "kernel_h": 1, "kernel_w": 1, **shape}])
    speed = opa.convolution_speed(ops, shapes)
    assert set(speed["model"]) == {"a"}  # b's MACs disagree: left out, not mismatched
    assert list(speed["pointwise"]) == [True, False, True] and list(speed["phase"]) == [
        "forward", "forward", "backward"]
    assert speed["ps_per_byte"].tolist() == pytest.approx([20.0, 2.0, 15.0])
    assert speed["ps_per_mac"].iloc[0] == pytest.approx(200.0) and speed["out_channels_per_group"].iloc[0] == 4
    modes = opa.grouped_pointwise_modes(speed).set_index(["kind", "phase"])
    assert modes.loc[("conv_grouped_1x1", "forward"), "slow_share_ops"] == 1.0
    assert modes.loc[("conv_grouped_kxk", "forward"), "slow_share_ops"] == 0.0
    assert modes.loc[("conv_grouped_1x1", "backward"), "ps_per_byte_median"] == pytest.approx(15.0)
