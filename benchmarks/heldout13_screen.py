"""Choose a thirteenth held-out set (``HELDOUT13_MODELS`` of greenai/models/sets.py, once 16 pass) by a stated rule
(CPU).

After twelve sets the image classifiers of timm, pytorchcv, vit-pytorch and mmpretrain, MONAI's networks and
pytorchcv's dense-prediction networks have few families left, so Hugging Face transformers is a seventh source
(:mod:`greenai.models.hf_models`: its classifiers, and its depth, segmentation, matting, super-resolution and video
models with their outputs pooled and a linear head).

``PYTHONPATH=. python benchmarks/heldout13_screen.py [--all]`` walks :func:`candidates` in order and takes the first
16 that pass the checks of ``benchmarks/timm_heldout_screen.py`` (:func:`timm_heldout_screen.screen`, one model per
family, families compared without underscores):

1. family: no family of the zoo or torchvision, of any earlier held-out or near-family set
   (:data:`greenai.models.sets.HELDOUT_SETS`), of the synthetic architectures' blocks, no ViT-equivalent family
   (``VIT_FAMILIES``, ``VIT_FAMILIES7``) and no near copy of a family the earlier screens named
   (``NEAR_COPIES7`` ... ``NEAR_COPIES12``) or of :data:`NEAR_COPIES13` (transformers modules that reimplement or only
   vary a family an earlier set or a set-13 candidate has);
2. forward MACs per sample (thop, 1x224x224, 10 classes) between 0.3 and 10 GMAC, after the model builds (1 plane,
   10 classes; unlike the screens of sets 5 to 12 with every package importable: transformers needs
   huggingface_hub and safetensors);
3. the static features of the energy predictor build on the ``meta`` device;
4. one training step on the CPU at batch 2, 1x224x224, gives finite logits ``[2, 10]`` and finite gradients;
5. (on the GPU, before measuring: ``benchmarks/step_memory.py``) one training step at batch 256 fits the card. A
   model ``results/benchmarks/step_memory.csv`` already records as out of memory at batch 256 is not a candidate.

Prints one line per candidate and the tuple to paste into greenai/models/sets.py; exit status 1 when fewer than 16
pass. Its first run (transformers 5.25.0, timm 1.0.31) took 11 and ran out of candidates: SegFormer-B0, TextNet-T,
DPT, GLPN, UperNet, MaskFormer, ViTMatte, Swin2SR, TimeSformer, RevNet-38 and the patch discriminator; CSAT-v2,
CondenseNet, OctResNet and ATS-ViT failed at counting. Its second run, after greenai.macs counted octave convolutions
and a model built on ``meta`` took its legacy-constructed buffers along, and with :data:`ADDED_AFTER_RUN1` walked
last, took 14: those 11, CondenseNet-74, OctResNet-50b and PP-OCRv5's mobile detector. CSAT-v2 (its DCT stem takes
RGB only) and ATS-ViT (how many tokens it keeps depends on the data, which ``meta`` has not) still fail. Its third
run, after every pass on ``meta`` answered a model's checks of its values
(:func:`greenai.models.on_meta.checks_answered_on_meta`) and with RT-DETRv2 and Mask2Former added to
:data:`ADDED_AFTER_RUN1`, took 16: those 14, RT-DETRv2 (R18, 4.685 GMAC) and Mask2Former (R18, 6.882 GMAC): the set
frozen as ``HELDOUT13_MODELS``. Check 5, run on an H100 in the call that measured the set and before it, put Swin2SR
out of memory, so by its rule it is no candidate and the set is the other 15. Needs transformers
(``pip install 'greenai[hf]'``) and the sources of the earlier candidates (timm, pytorchcv, vit-pytorch, mmpretrain,
monai).
"""

from __future__ import annotations

import argparse
import csv
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import timm_heldout_screen as base  # noqa: E402 - the checks and candidate lists of the earlier screens

#: the step-memory record of check 5 (a model out of memory there at batch 256 is no candidate)
STEP_MEMORY_CSV = Path(__file__).resolve().parents[1] / "results" / "benchmarks" / "step_memory.csv"
#: transformers modules that reimplement, or only vary, a family an earlier set or a set-13 candidate has (family ->
#: what it copies), excluded from set 13; fixed before the screen was run
NEAR_COPIES13 = {
    "pvt": "timm pvt_v2 (set 5): PVT v1, the design PVTv2 revises",
    "hiera": "timm hieradet_sam2 (set 7): Hiera, whose stages HieraDet reuses",
    "poolformer": "timm metaformer (set 4's PoolFormer)",
    "mobilevitv2": "timm mobilevit (set 4; the module defines MobileViTV2 too)",
    "dinov2": "torchvision's vit (14x14 patches, layer scale)",
    "ijepa": "torchvision's vit (no class token)",
    "dinov3_vit": "torchvision's vit (rotary positions, register tokens)",
    "vitdet": "timm vision_transformer_sam (windowed attention with relative positions, no class token)",
    "sam": "timm vision_transformer_sam (SAM's image encoder)",
    "vitpose": "torchvision's vit (a ViT and a light upsampling head)",
    "videomae": "torchvision's vit (tubelets of a clip as its tokens)",
    "depth_anything": "hf dpt (a set-13 candidate: its decoder, on a DINOv2 ViT)",
    "rt_detr": "torchvision's resnet (RT-DETR's ResNet-D backbone alone)",
}
WANTED = base.WANTED
#: configurations added to :data:`greenai.models.hf_models.CONFIGS` after the first run, walked after every earlier
#: candidate (so the first run's order stands): PP-OCRv5's mobile text detector; RT-DETRv2 and Mask2Former, once
#: checks of values were answered on ``meta``
ADDED_AFTER_RUN1 = ("pp_ocrv5_mobile_det", "rt_detr_v2_r18", "mask2former_r18")


def out_of_memory(path: Path = STEP_MEMORY_CSV) -> set[str]:
    """Models the step-memory record shows out of memory at batch 256 (check 5, on an 80 GB card)."""
    if not path.exists():
        return set()
    with path.open(newline="") as f:
        return {r["model"] for r in csv.DictReader(f) if r["outcome"] == "out of memory" and r["batch_size"] == "256"}


def earlier_sets() -> dict[str, tuple[str, ...]]:
    """The held-out sets measured before set 13 (:data:`greenai.models.sets.HELDOUT_SETS` up to ``heldout13``): the
    screen reads the same candidates and exclusions once set 13 is frozen."""
    from greenai.models.sets import HELDOUT_SETS

    names = list(HELDOUT_SETS)
    before = names[:names.index("heldout13")] if "heldout13" in names else names
    return {name: HELDOUT_SETS[name] for name in before}


def candidates() -> list[str]:
    """The candidates in their order, fixed before the screen's first run (:data:`ADDED_AFTER_RUN1` appended after
    it): the configurations of :data:`greenai.models.hf_models.CONFIGS` in their order, then every candidate of the
    screens of sets 4 to 12 (in those screens' order) that no set took, then :data:`ADDED_AFTER_RUN1`, less the models
    out of memory at batch 256 (:func:`out_of_memory`)."""
    from greenai.models.hf_models import CONFIGS

    taken = {m for models in earlier_sets().values() for m in models}
    key = lambda name: name if ":" in name else f"timm:{name}"  # noqa: E731 - sets 4 to 7 list bare timm names
    earlier = [key(n) for s in sorted(base.CANDIDATES) for n in base.CANDIDATES[s] if key(n) not in taken]
    first = [f"hf:{n}" for n in CONFIGS if n not in ADDED_AFTER_RUN1]
    unique = list(dict.fromkeys(first + earlier + [f"hf:{n}" for n in ADDED_AFTER_RUN1]))
    too_big = out_of_memory()
    return [n for n in unique if n not in too_big]


def excluded_families() -> dict[str, str]:
    """Family -> why it is excluded (check 1, beyond the zoo and torchvision)."""
    from greenai.models import model_info
    from greenai.models.synthetic import BLOCKS, KINDS_BLOCKS

    excluded = {f: "is a synthetic block" for f in ("synthetic", *BLOCKS, *KINDS_BLOCKS)}
    excluded.update({f: "is ViT-equivalent (torchvision has ViT)" for f in base.VIT_FAMILIES + base.VIT_FAMILIES7})
    for copies in (base.NEAR_COPIES7, base.NEAR_COPIES8, base.NEAR_COPIES9, base.NEAR_COPIES10, base.NEAR_COPIES11,
                   base.NEAR_COPIES12, NEAR_COPIES13):
        excluded.update({f: f"reimplements {what}" for f, what in copies.items()})
    for name, models in earlier_sets().items():
        excluded.update({model_info(m)["family"]: f"taken by {name} ({m})" for m in models})
    return excluded


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--all", action="store_true", help="check every candidate, also after the 16th taken")
    args = parser.parse_args(argv)
    from greenai.models.hf_models import hf_available

    if not hf_available():
        print("heldout13_screen: needs transformers: pip install 'greenai[hf]'", file=sys.stderr)
        return 2
    import torch
    import transformers

    from greenai.models import ZOO_FAMILIES
    from greenai.models.torchvision_models import torchvision_family, torchvision_names

    torch.set_num_threads(2)
    zoo_and_tv = set(ZOO_FAMILIES) | {torchvision_family(n) for n in torchvision_names()}
    print(f"set 13: transformers {transformers.__version__}, torch {torch.__version__}; left out as out of memory "
          f"at batch 256: {', '.join(sorted(out_of_memory())) or 'none'}")
    taken = base._walk(candidates(), WANTED, args.all, zoo_and_tv=zoo_and_tv, excluded=excluded_families(),
                       build_first=True)
    print("HELDOUT13_MODELS = (" + ", ".join(f'"{n}"' for n, _, _ in taken) + ")")
    return 0 if len(taken) == WANTED else 1


if __name__ == "__main__":
    sys.exit(main())
