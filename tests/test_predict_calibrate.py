"""``greenai predict --calibrate`` (greenai.predict.calibrate): the card factor's arithmetic, the stored
calibrations, their use by ``greenai predict``, and the measuring loop on the CPU through the NVML double."""

from __future__ import annotations

import json
import math

import pytest
from nvml_double import FakeGpu, FakeNvml, install, installed

from greenai import cli
from greenai.predict import calibrate as cal_mod
from greenai.predict.coefficients import load_coefficients
from greenai.predict.runtime import predict_run

H200 = "NVIDIA H200"
UUID = "GPU-11111111-2222-3333-4444-555555555555"
ANCHORS = ("resnet18", "mobilenet_v2", "vgg11", "googlenet")
#: log ratios measured / predicted of the four anchors: mean 0.1, deviations 0, -0.2, 0.2, 0
LOG_RATIOS = (0.1, -0.1, 0.3, 0.1)
#: Student t, 3 degrees of freedom, 95 % quantile (the 90 % prediction interval; from tables)
T_3 = 2.3533634


def _calibration(uuid=UUID, fit_gpu=H200, log_ratios=LOG_RATIOS):
    """A calibration whose anchors measured exp(log ratio) x the shipped prediction, time as predicted."""
    predicted = cal_mod.anchor_predictions(fit_gpu, ANCHORS)
    measured = {a: {"epoch_energy_j": predicted[a][0] * math.exp(lr), "epoch_duration_s": predicted[a][1]}
                for a, lr in zip(ANCHORS, log_ratios)}
    return cal_mod.card_calibration(measured, fit_gpu, uuid=uuid, gpu_name=H200, measured_utc="2031-05-06T07:08:09+00:00",
                                    data_source="real", fit_note=None)


@pytest.fixture
def cache(tmp_path, monkeypatch):
    monkeypatch.setenv("GREENAI_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.delenv("CUDA_VISIBLE_DEVICES", raising=False)
    return tmp_path / "cache" / "calibration.json"


@pytest.fixture
def this_h200(monkeypatch):
    yield from installed(monkeypatch, [FakeGpu(name=H200, uuid=UUID)])


def _predict_json(capsys, *extra, epochs=3):
    code = cli.main(["predict", "--model", "resnet50", "--dataset", "fashion_mnist", "--epochs", str(epochs),
                     "--batch-size", "256", "--json", *extra])
    captured = capsys.readouterr()
    assert code == 0, captured.err
    return json.loads(captured.out)


def test_the_card_factor_is_the_geometric_mean_of_the_anchor_ratios_and_widens_the_interval():
    c = _calibration()
    f = c["energy_factor"]
    sd = math.sqrt((0.0**2 + 0.2**2 + 0.2**2 + 0.0**2) / 3)
    assert f["factor"] == pytest.approx(math.exp(0.1), rel=1e-12)
    assert f["log_sd"] == pytest.approx(sd, rel=1e-12) and f["n"] == 4 and f["t_pi"] == pytest.approx(T_3, rel=1e-6)
    assert [c["anchors"][a]["energy_ratio"] for a in ANCHORS] == pytest.approx([math.exp(x) for x in LOG_RATIOS])
    assert c["duration_factor"]["factor"] == pytest.approx(1.0) and c["duration_factor"]["log_sd"] == pytest.approx(0)

    p = predict_run("resnet50", "fashion_mnist", 3, 256, gpu=H200)
    q = cal_mod.apply_calibration(p, c)
    widen = math.exp(T_3 * sd * math.sqrt(1 + 1 / 4))
    assert q.energy_j == pytest.approx(p.energy_j * math.exp(0.1), rel=1e-9)
    assert q.energy_low_j == pytest.approx(p.energy_low_j * math.exp(0.1) / widen, rel=1e-6)
    assert q.energy_high_j == pytest.approx(p.energy_high_j * math.exp(0.1) * widen, rel=1e-6)
    assert q.epoch_energy_j == pytest.approx(q.energy_j / 3, rel=1e-12)
    assert (q.duration_s, q.duration_low_s, q.duration_high_s) == pytest.approx(
        (p.duration_s, p.duration_low_s, p.duration_high_s))
    assert q.thesis_energy_j == p.thesis_energy_j
    assert "calibrated to this card" in q.notes[-1] and "x 1.105 (energy" in q.notes[-1]


def test_calibrations_are_stored_by_uuid_and_read_back(tmp_path):
    path = tmp_path / "sub" / "cal.json"
    assert cal_mod.read_calibrations(path) == {}
    one, other = _calibration(), _calibration(uuid="gpu-AAAA0000-0000-0000-0000-000000000000")
    cal_mod.write_calibration(one, path)
    cal_mod.write_calibration(other, path)  # a second card joins the first
    cards = cal_mod.read_calibrations(path)
    assert set(cards) == {UUID[4:].lower(), "aaaa0000-0000-0000-0000-000000000000"}
    back = cards[UUID[4:].lower()]
    assert back["energy_factor"]["factor"] == one["energy_factor"]["factor"]
    assert back["anchors"] == one["anchors"] and back["uuid"] == UUID
    path.write_text("[1, 2]")
    with pytest.raises(cal_mod.CalibrationError, match="not a calibration file"):
        cal_mod.read_calibrations(path)


def test_predict_applies_this_cards_stored_calibration_and_says_so(cache, this_h200, capsys):
    c = _calibration()
    cal_mod.write_calibration(c, cache)
    out = _predict_json(capsys)
    plain = predict_run("resnet50", "fashion_mnist", 3, 256, gpu=H200)  # the card's own fit, not the reference
    assert out["gpu"] == H200
    assert out["energy_j"] == pytest.approx(plain.energy_j * math.exp(0.1), rel=1e-9)
    assert out["energy_high_j"] > plain.energy_high_j * math.exp(0.1)
    assert out["cost_eur"] == pytest.approx(out["energy_j"] / 3.6e6 * 0.30)
    assert any(n.startswith(f"calibrated to this card ({H200}, {UUID}, measured 2031-05-06)") for n in out["notes"])


def test_a_calibration_of_another_card_is_ignored_with_a_note(cache, monkeypatch, capsys):
    install(monkeypatch, FakeNvml([FakeGpu(name=H200, uuid="GPU-99999999-0000-0000-0000-000000000000")]))
    cal_mod.write_calibration(_calibration(), cache)
    out = _predict_json(capsys)
    plain = predict_run("resnet50", "fashion_mnist", 3, 256)
    assert out["energy_j"] == pytest.approx(plain.energy_j, rel=1e-12) and out["gpu"] == plain.gpu
    assert any("is of another card" in n and UUID in n for n in out["notes"])


def test_a_calibration_against_another_fit_or_other_coefficients_is_not_applied(cache, this_h200, capsys):
    c = _calibration()
    cal_mod.write_calibration(c, cache)
    out = _predict_json(capsys, "--gpu", "h100")
    assert out["energy_j"] == pytest.approx(predict_run("resnet50", "fashion_mnist", 3, 256, gpu="h100").energy_j)
    assert any("--gpu h100 asks for another" in n for n in out["notes"])
    c["anchors"]["vgg11"]["predicted_epoch_energy_j"] *= 1.01
    cal_mod.write_calibration(c, cache)
    out = _predict_json(capsys)
    assert out["energy_j"] == pytest.approx(predict_run("resnet50", "fashion_mnist", 3, 256).energy_j)
    assert any("made with other coefficients" in n for n in out["notes"])


def test_without_a_gpu_a_stored_calibration_is_not_applied_and_nothing_fails(cache, monkeypatch, capsys):
    import pynvml

    install(monkeypatch, FakeNvml([FakeGpu()], init_error=pynvml.NVML_ERROR_DRIVER_NOT_LOADED))
    cal_mod.write_calibration(_calibration(), cache)
    plain = predict_run("resnet50", "fashion_mnist", 3, 256)
    out = _predict_json(capsys)
    assert out["energy_j"] == pytest.approx(plain.energy_j, rel=1e-12) and out["notes"] == plain.notes
    out = _predict_json(capsys, "--calibration-file", str(cache))  # asked for by name: say why not
    assert any("no GPU visible here" in n for n in out["notes"])


def test_calibrate_without_a_cuda_gpu_is_one_line_and_exit_2(cache, monkeypatch, capsys):
    torch = pytest.importorskip("torch")
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    code = cli.main(["predict", "--model", "resnet50", "--dataset", "fashion_mnist", "--epochs", "1",
                     "--batch-size", "256", "--calibrate"])
    err = capsys.readouterr().err
    assert code == 2
    assert err == "greenai predict: --calibrate measures on a CUDA GPU; none is visible\n"
    assert not cache.exists()
    code = cli.main(["predict", "--model", "resnet50", "--dataset", "fashion_mnist", "--epochs", "1",
                     "--batch-size", "256", "--calibration-file", str(cache)])
    assert code == 2 and "no calibration file at" in capsys.readouterr().err


def test_the_measuring_loop_scales_each_window_to_an_epoch_as_the_rows_do(monkeypatch):
    """A tiny network on the CPU, metered through the NVML double drawing 200 W: per anchor, the mean
    window energy x samples per epoch / samples per window, and 200 W x the epoch's duration."""
    torch = pytest.importorskip("torch")
    from torch import nn

    from greenai import data
    from greenai.energy.meter import EnergyMeter

    for _ in installed(monkeypatch, [FakeGpu(power_w=200.0, step_s=1e-5)]):  # a 2 mJ counter step
        split = data.synthetic_split("fashion_mnist", limit=64)
        built = []

        def build(name):
            built.append(name)
            return nn.Sequential(nn.Conv2d(1, 4, 3), nn.ReLU(), nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(4, 10))

        lines = []
        with EnergyMeter(methods=("counter",)) as meter:
            out = cal_mod.measure_anchors(("a", "b"), split, torch.device("cpu"), meter, build=build, batch_size=16,
                                          image_size=8, warmup_steps=2, windows=2, window_s=0.2, log=lines.append)
    assert built == ["a", "b"] and list(out) == ["a", "b"]
    for name, m in out.items():
        samples = m["steps_per_window"] * 16  # 64 samples: every batch is whole
        assert m["epoch_energy_j"] == pytest.approx(sum(m["window_energy_j"]) / 2 * 64 / samples, rel=1e-12)
        assert m["epoch_duration_s"] == pytest.approx(sum(m["window_duration_s"]) / 2 * 64 / samples, rel=1e-12)
        assert m["steps_per_window"] >= 5 and len(m["window_energy_j"]) == len(m["window_duration_s"]) == 2
        assert m["epoch_energy_j"] == pytest.approx(200.0 * m["epoch_duration_s"], rel=0.03)
    assert [line.split(":")[0] for line in lines] == ["  [1/2] a", "  [2/2] b"]


@pytest.mark.gpu
def test_measure_card_factor_on_this_gpu(tmp_path):
    """About a minute: the four anchors on the GPU, stored under its UUID; the factor near 1 on a fitted kind."""
    path = tmp_path / "cal.json"
    lines = []
    c = cal_mod.measure_card_factor(path=path, log=lines.append)
    assert set(c["anchors"]) == set(ANCHORS) and c["energy_factor"]["n"] == 4
    assert 0.5 < c["energy_factor"]["factor"] < 2.0
    stored = cal_mod.read_calibrations(path)
    assert list(stored) == [c["uuid"][4:].lower()]
    assert sum(line.startswith("  [") for line in lines) == 4


def test_a_card_of_a_fitted_kind_is_calibrated_against_its_fit_and_another_kind_against_the_reference():
    assert cal_mod.fit_gpu_for("nvidia h200") == (H200, None)
    assert cal_mod.fit_gpu_for("NVIDIA A100-SXM4-80GB", gpu="h200") == (H200, None)
    fit, note = cal_mod.fit_gpu_for("NVIDIA A100-SXM4-80GB")
    assert fit == load_coefficients()["reference_gpu"] != H200
    assert note.startswith("NVIDIA A100-SXM4-80GB is of no fitted kind") and "reference GPU's fit" in note
