"""Choose the fourth held-out set (:data:`greenai.campaign.HELDOUT4_MODELS`) from timm by a stated rule (CPU).

``PYTHONPATH=. python benchmarks/timm_heldout_screen.py [--all]`` walks the candidates in
their order of preference and takes the first 16 that pass, in order:

1. family: the timm module that defines the model (:func:`greenai.models.model_info`)
   is no family of the zoo or of torchvision (ignoring underscores:
   ``mobilenetv3`` = ``mobilenet_v3``) and no family taken earlier in the list
   (one model per family);
2. forward MACs per sample (thop, :func:`greenai.macs.count_model`, 1x224x224,
   10 classes) between 0.3 and 10 GMAC;
3. the static features of the energy predictor build on the ``meta`` device
   (:func:`greenai.predict.compute_model_features` and
   :func:`greenai.optimes.step_operators` at batch 256);
4. one training step on the CPU at batch 2, 1x224x224 (forward, cross-entropy,
   backward) gives finite logits of shape ``[2, 10]`` and finite gradients.

Prints one line per candidate (``taken`` or the reason it was dropped) and the
tuple to paste into greenai/campaign.py. Without ``--all`` the candidates after
the 16th taken are not checked. Needs timm (``pip install 'greenai[timm]'``).
"""

from __future__ import annotations

import argparse
import math
import sys
import time

#: the candidates, in order of preference (architecture families that the zoo and torchvision lack)
CANDIDATES = ("ghostnet_100", "repvgg_a2", "cspresnet50", "dla34", "hrnet_w18_small_v2", "dpn68", "xception41",
              "resnest26d", "ese_vovnet19b_dw", "rexnet_100", "lcnet_100", "mixer_s16_224", "resmlp_12_224",
              "poolformer_s12", "levit_128", "mobilevit_s", "efficientformer_l1", "edgenext_small", "fastvit_t8",
              "pvt_v2_b1", "coat_lite_tiny", "nf_resnet26", "inception_next_tiny", "tiny_vit_5m_224",
              "gcvit_xxtiny", "hgnetv2_b0", "repvit_m1", "mobileone_s1")
WANTED = 16
#: forward MACs per sample allowed [MAC] (thop, 1x224x224)
MACS_RANGE = (0.3e9, 10e9)


def screen(name: str, taken_families: set, zoo_and_tv: set) -> tuple[str, str, float]:
    """``(family, verdict, macs)`` of ``timm:name``: verdict ``taken`` or why it was dropped."""
    import torch

    from greenai.macs import count_model
    from greenai.models import build_model, model_info
    from greenai.models.timm_models import has_torchvision_counterpart
    from greenai.optimes import step_operators
    from greenai.predict import compute_model_features

    key = f"timm:{name}"
    family = model_info(key)["family"]
    if has_torchvision_counterpart(family, zoo_and_tv):
        return family, f"family {family!r} is a torchvision/zoo family", math.nan
    if family in taken_families:
        return family, f"family {family!r} already taken", math.nan
    macs = float(count_model(key, 1, 10, 224)["macs"])
    if not MACS_RANGE[0] <= macs <= MACS_RANGE[1]:
        return family, f"{macs / 1e9:.3f} GMAC outside {MACS_RANGE[0] / 1e9:g}-{MACS_RANGE[1] / 1e9:g}", macs
    try:
        compute_model_features(key, 1, 10)
        step_operators(key, 1, 10, 256)
    except Exception as exc:  # noqa: BLE001 - any failure drops the candidate
        return family, f"static features on meta failed: {type(exc).__name__}: {str(exc)[:120]}", macs
    try:
        torch.manual_seed(0)
        net = build_model(key, 1, 10).train()
        logits = net(torch.randn(2, 1, 224, 224))
        loss = torch.nn.functional.cross_entropy(logits, torch.tensor([0, 1]))
        loss.backward()
        ok = logits.shape == (2, 10) and torch.isfinite(loss) and all(
            torch.isfinite(p.grad).all() for p in net.parameters() if p.grad is not None)
    except Exception as exc:  # noqa: BLE001
        return family, f"CPU training step failed: {type(exc).__name__}: {str(exc)[:120]}", macs
    if not ok:
        return family, "CPU training step gave a wrong shape or non-finite values", macs
    return family, "taken", macs


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--all", action="store_true", help="check every candidate, also after the 16th taken")
    args = parser.parse_args(argv)
    try:
        import timm
    except ImportError:
        print("timm_heldout_screen: needs timm: pip install 'greenai[timm]'", file=sys.stderr)
        return 2
    import torch

    from greenai.models import ZOO_FAMILIES
    from greenai.models.torchvision_models import torchvision_family, torchvision_names

    torch.set_num_threads(2)
    zoo_and_tv = set(ZOO_FAMILIES) | {torchvision_family(n) for n in torchvision_names()}
    print(f"timm {timm.__version__}, torch {torch.__version__}")
    taken: list[tuple[str, str, float]] = []
    for name in CANDIDATES:
        if len(taken) >= WANTED and not args.all:
            print(f"{name:22s} {'':18s} not checked ({WANTED} taken)")
            continue
        t0 = time.perf_counter()
        family, verdict, macs = screen(name, {f for _, f, _ in taken}, zoo_and_tv)
        if verdict == "taken" and len(taken) >= WANTED:
            verdict = f"passes, not needed ({WANTED} taken)"
        elif verdict == "taken":
            taken.append((name, family, macs))
        print(f"{name:22s} {family:18s} {macs / 1e9:7.3f} GMAC  {verdict}  ({time.perf_counter() - t0:.1f} s)",
              flush=True)
    print("HELDOUT4_MODELS = (" + ", ".join(f'"timm:{n}"' for n, _, _ in taken) + ")")
    return 0 if len(taken) == WANTED else 1


if __name__ == "__main__":
    sys.exit(main())
