"""The table of thesis claims beside our reproduced values, with a verdict each.

Each notebook calls :func:`record` for every number the thesis states (or
implies) that it reproduces; the rows land in ``<output>/claims/<notebook>.csv``.
After all notebooks ran, :func:`write_markdown` gathers them, joins them with
:data:`EXPECTED` (the registry of thesis claims and how each is tested) and
writes ``results/claims.md`` and ``results/claims.csv``. A thesis number
appears in code only here, or in a notebook's ``record`` call, as the reference
a value is compared against.

A claim is tested by a direction (``>``/``<`` a ``threshold``) or an equality
(``≈`` the thesis' value within ``tolerance``, ``atol`` or our ``noise``, in the
claim's unit); :func:`verdict` gives one of :data:`VERDICTS` and :data:`RULE`
states the rule in the table's header. The rule in full: ``docs/claims.md``.
"""

from __future__ import annotations

import fnmatch
import math
from dataclasses import asdict, dataclass, fields
from pathlib import Path

import pandas as pd

from greenai import paths

NAN = float("nan")

REPRODUCED = "reproduced"
PARTLY = "partly"
NOT_REPRODUCED = "not reproduced"
WITHIN_NOISE = "within noise"
NOT_TESTABLE = "not testable here"
NO_DATA = "no data yet"
CONTEXT = "context"
VERDICTS = (REPRODUCED, PARTLY, NOT_REPRODUCED, WITHIN_NOISE, NOT_TESTABLE, NO_DATA, CONTEXT)

RULE = (
    "Verdict rule (greenai/claims.py): a claim is tested by a direction (ours above `>` or below `<` a "
    "threshold: the thesis' direction) or by equality `≈` (within a tolerance of the thesis' value, or within "
    "our noise). *Noise* is the spread of our own measurement: the range between repeats run separately, or the "
    "energy counter's bound; a difference carries the sum of both spreads. **within noise**: ours lies no "
    "farther from the threshold than the noise. **not reproduced**: the direction fails (or ≈ fails). "
    "**partly**: the direction holds but the thesis' comparable magnitude is missed. **reproduced**: the test "
    "holds. **not testable here**: our hardware or data cannot test it (why). **no data yet**: its notebook has "
    "not recorded it. **context**: a number we report beside the thesis, not a thesis claim."
)


@dataclass(frozen=True)
class Claim:
    """One thesis claim and our value for it.

    ``thesis_value``, ``our_value`` and ``noise`` share ``unit``; ``our_value``
    may be NaN when the claim cannot be reproduced here (then ``note`` or
    ``untestable`` says why). ``noise`` is the spread of our value (range
    between separate repeats, or the measurement bound); NaN when unknown.
    ``untestable`` (a reason) marks a row that cannot test the claim here.
    """

    notebook: str
    claim_id: str
    section: str
    description: str
    thesis_value: float
    our_value: float
    unit: str
    note: str = ""
    noise: float = NAN
    untestable: str = ""

    @property
    def relative_difference(self) -> float:
        """(ours − thesis) / |thesis|; NaN when either is missing or thesis is 0."""
        if not (math.isfinite(self.thesis_value) and math.isfinite(self.our_value)):
            return math.nan
        if self.thesis_value == 0:
            return math.nan
        return (self.our_value - self.thesis_value) / abs(self.thesis_value)


COLUMNS = [f.name for f in fields(Claim)] + ["relative_difference"]


@dataclass(frozen=True)
class Expected:
    """A thesis claim in the registry, and how our value tests it.

    ``claim_id`` may be a glob (``macs_*``) covering several recorded rows.
    ``op``: ``">"``/``"<"`` (ours above/below ``threshold``) or ``"≈"`` (ours
    equal to the thesis' value within ``tolerance`` (relative) or ``atol``
    (in the claim's unit)). With ``>``/``<``, ``tolerance`` marks the thesis'
    magnitude as comparable (``partly`` when missed). ``untestable``: why
    our hardware or data cannot test the claim.
    """

    claim_id: str
    notebook: str
    section: str
    statement: str
    op: str
    threshold: float = NAN
    tolerance: float = NAN
    atol: float = NAN
    untestable: str = ""
    thesis_value: float = NAN
    unit: str = ""

    @property
    def test(self) -> str:
        """The test in words, for the table: ``> 0``, ``≈ thesis ± 1%``, ``≈ 0 ± 5``."""
        if self.op in (">", "<"):
            return f"{self.op} {self.threshold:g}"
        target = "thesis" if not math.isfinite(self.thesis_value) else f"{self.thesis_value:g}"
        if math.isfinite(self.tolerance):
            return f"≈ {target} ± {self.tolerance:.0%}"
        if math.isfinite(self.atol):
            return f"≈ {target} ± {self.atol:g}"
        return f"≈ {target} ± noise"

    @property
    def compares_magnitude(self) -> bool:
        """Whether our value is compared with the thesis' number itself (then Δ is shown)."""
        return not self.untestable and (self.op == "≈" or math.isfinite(self.tolerance))

    def __post_init__(self):
        if self.op not in (">", "<", "≈"):
            raise ValueError(f"claim {self.claim_id!r}: op must be '>', '<' or '≈', not {self.op!r}")
        if self.op in (">", "<") and not math.isfinite(self.threshold):
            raise ValueError(f"claim {self.claim_id!r}: op {self.op!r} needs a finite threshold")


_GPU_DIFFERS = "the thesis' number is an RTX 3060/4090's; our GPUs are an H100 and an H200"

#: The thesis claims this compendium tests, in thesis order; each notebook
#: records rows with these ids. Notebooks 05 and 06 fill theirs when they exist.
EXPECTED: tuple[Expected, ...] = (
    Expected("tdp_overestimate_training", "01_measurement", "2.1.2",
             "TDP × time (CodeCarbon) overestimates the GPU energy of training", ">", threshold=0.0),
    Expected("2.3-conv-share", "02_layer_energy", "2.3",
             "convolutions take most of the forward time (share > 0.5)", ">", threshold=0.5),
    Expected("2.3-dropout-flatten", "02_layer_energy", "2.3",
             "dropout and flatten take a negligible share of forward time (< 0.05)", "<", threshold=0.05),
    Expected("2.3-linear-vs-pool", "02_layer_energy", "2.3",
             "linear layers take almost the same time as max pooling (ratio 1 ± 0.25)", "≈", tolerance=0.25),
    Expected("2.3-conv-energy-share", "02_layer_energy", "2.3 / 6.1",
             "convolutions consume the majority of forward energy (share > 0.5)", ">", threshold=0.5),
    Expected("macs_*", "03_models", "4.1.2",
             "the thesis' MACs per image (within 1 %)", "≈", tolerance=0.01),
    Expected("4.1.1-alexnet-gap", "04_kpi_analysis", "4.1.1",
             "the newer GPU uses less energy per epoch: AlexNet (older − newer > 0)", ">", threshold=0.0),
    Expected("4.1.1-resnet18-gap", "04_kpi_analysis", "4.1.1",
             "the newer GPU uses less energy per epoch: ResNet18 (older − newer > 0)", ">", threshold=0.0),
    Expected("4.1.1-gap-grows", "04_kpi_analysis", "4.1.1",
             "the newer GPU's saving is larger for the larger model (ResNet18 gap − AlexNet gap > 0)", ">",
             threshold=0.0),
    Expected("4.1.2-alexnet-cifar100-over-fmnist", "04_kpi_analysis", "4.1.2",
             "AlexNet uses more energy per epoch on CIFAR-100 than on Fashion-MNIST (ratio > 1)", ">", threshold=1.0),
    *(Expected(f"4.1.2-{m}-cifar100-over-fmnist", "04_kpi_analysis", "4.1.2",
               f"{name} uses less energy per epoch on CIFAR-100 than on Fashion-MNIST (ratio < 1)", "<",
               threshold=1.0)
      for m, name in (("resnet18", "ResNet18"), ("googlenet", "GoogLeNet"), ("vgg11", "VGG11"))),
    Expected("4.1.3-batch-cuts-energy", "04_kpi_analysis", "4.1.3",
             "larger batches cut energy per epoch (change batch 64 → 512 < 0)", "<", threshold=0.0),
    Expected("4.1.3-256-512", "04_kpi_analysis", "4.1.3",
             "energy per epoch still falls from batch 256 to 512 (change < 0)", "<", threshold=0.0),
    Expected("4.1.3-diminishing-returns", "04_kpi_analysis", "4.1.3",
             "with diminishing returns (change 256 → 512 minus change 64 → 128 > 0)", ">", threshold=0.0),
    Expected("4.1.3-power-64", "04_kpi_analysis", "4.1.3", "average power at batch 64", "≈",
             untestable=_GPU_DIFFERS),
    Expected("4.1.3-power-128", "04_kpi_analysis", "4.1.3", "average power at batch 128", "≈",
             untestable=_GPU_DIFFERS),
    Expected("4.1.3-energy-linear-in-epochs", "04_kpi_analysis", "4.1.3",
             "total energy grows linearly with epochs (10-epoch total vs 10 × early epochs, within ± 5 %)", "≈",
             atol=5.0, thesis_value=0.0, unit="%"),
    Expected("4.1.4-loglog-r2-fmnist", "04_kpi_analysis", "4.1.4",
             "energy per epoch vs MACs is approximately linear on log–log axes (R² > 0.9)", ">", threshold=0.9),
    Expected("4.1.5-googlenet_mod8-over-mod1", "04_kpi_analysis", "4.1.5",
             "more branches cost more at similar MACs: GoogLeNet mod8 / mod1 energy per epoch > 1", ">",
             threshold=1.0),
    Expected("4.1.5-googlenet_mod12-over-mod1", "04_kpi_analysis", "4.1.5",
             "more branches cost more at similar MACs: GoogLeNet mod12 / mod1 energy per epoch > 1", ">",
             threshold=1.0),
    Expected("2.2-*-method-error", "04_kpi_analysis", "2.2",
             "one average power serves every phase: phase energy = average power × phase time (error 0)", "≈",
             thesis_value=0.0, unit="fraction"),
    Expected("4.2.1-h2d-independent-of-model", "04_kpi_analysis", "4.2.1",
             "time to device is independent of the model (log–log slope vs MACs ≈ 0, ± 0.1)", "≈", atol=0.1,
             thesis_value=0.0),
    Expected("4.2.1-hc-j-per-mac", "05_prediction", "4.2.1",
             "energy per epoch = HC × MACs, HC ≈ 5.9e-11 J per MAC on the RTX 4090", "≈",
             untestable="HC is a property of the GPU: " + _GPU_DIFFERS, thesis_value=5.9e-11, unit="J/MAC"),
    Expected("4.2.2-cifar10-validation", "05_prediction", "4.2.2",
             "HC fitted on Fashion-MNIST and CIFAR-100 predicts CIFAR-10 energy per epoch "
             "(mean absolute relative error < 0.2)", "<", threshold=0.2, unit="fraction"),
    Expected("4.2.3-accuracy-plateau", "06_accuracy", "4.2.3",
             "test accuracy plateaus with more epochs (largest gain over the last third of a run's epochs < 0.01)", "<",
             threshold=0.01, unit="fraction"),
    Expected("5.1-speed-vs-power-limit", "07_power_limit", "5.1",
             "running speed rises with the power limit and saturates", ">", threshold=1.0,
             untestable="changing a GPU's power limit needs a GPU of one's own, and the recorded runs "
             "changed none; the value is the thesis' own Table 5.1 (the opt-in sweep runs on your own GPU)"),
    Expected("energy_rises_with_limit", "07_power_limit", "5.1",
             "energy per job rises with the power limit (Fig 5.2)", ">", threshold=1.0,
             untestable="the value is the thesis' own Table 5.1, not a measurement of ours"),
    Expected("5.4-min-cost-falls", "08_dispatch", "5.4",
             "the minimum cost over start hours falls from deadline 23 h to 32 h (difference < 0)", "<",
             threshold=0.0),
    Expected("5.4-max-cost-falls", "08_dispatch", "5.4",
             "the maximum cost over start hours falls from deadline 23 h to 32 h (difference < 0)", "<",
             threshold=0.0),
    Expected("dispatch_*", "08_dispatch", "5.4",
             "the thesis' minimum and maximum cost and best start hour", "≈",
             untestable="other weather inputs (PVGIS typical year near Turin) than the thesis' unpublished "
             "solar series; shown beside the thesis' numbers"),
)


def expected_for(claim_id: str, registry: tuple[Expected, ...] = EXPECTED) -> Expected | None:
    """The registry entry whose id (or glob) matches ``claim_id``; None if it is context."""
    for e in registry:
        if e.claim_id == claim_id or fnmatch.fnmatchcase(claim_id, e.claim_id):
            return e
    return None


def verdict(row: dict | Claim, expected: Expected | None) -> str:
    """The verdict of one recorded row against its registry entry (rule in the module docstring).

    ``row`` needs ``thesis_value``, ``our_value`` and optionally ``noise`` and
    ``untestable``. A ``not testable here`` verdict carries its reason after a
    colon.
    """
    get = (lambda k, d=NAN: getattr(row, k, d)) if isinstance(row, Claim) else (lambda k, d=NAN: row.get(k, d))
    if expected is None:
        return CONTEXT
    ours = _float(get("our_value"))
    reason = _str(get("untestable", "")) or expected.untestable
    if not math.isfinite(ours):
        return f"{NOT_TESTABLE}: {reason}" if reason and _str(get("untestable", "")) else NO_DATA
    if reason:
        return f"{NOT_TESTABLE}: {reason}"
    noise = abs(_float(get("noise")))
    noise = noise if math.isfinite(noise) else 0.0
    thesis = _float(get("thesis_value"))
    if not math.isfinite(thesis):
        thesis = expected.thesis_value
    if expected.op == "≈":
        if not math.isfinite(thesis):
            raise ValueError(f"claim {expected.claim_id!r}: '≈' needs a thesis value")
        allowed = max(_finite(expected.tolerance) * abs(thesis), _finite(expected.atol), noise)
        return REPRODUCED if abs(ours - thesis) <= allowed else NOT_REPRODUCED
    if abs(ours - expected.threshold) <= noise:
        return WITHIN_NOISE
    holds = ours > expected.threshold if expected.op == ">" else ours < expected.threshold
    if not holds:
        return NOT_REPRODUCED
    if math.isfinite(expected.tolerance) and math.isfinite(thesis) and thesis != 0:
        if abs(ours - thesis) > max(expected.tolerance * abs(thesis), noise):
            return PARTLY
    return REPRODUCED


def record(notebook: str, claims: list[Claim] | list[dict]) -> Path:
    """Write (replace) the claims of ``notebook``; returns the CSV path."""
    rows = []
    for c in claims:
        claim = c if isinstance(c, Claim) else Claim(notebook=notebook, **c)
        if claim.notebook != notebook:
            raise ValueError(f"claim {claim.claim_id!r} belongs to {claim.notebook!r}, not {notebook!r}")
        rows.append({**asdict(claim), "relative_difference": claim.relative_difference})
    path = paths.claims_dir() / f"{notebook}.csv"
    pd.DataFrame(rows, columns=COLUMNS).to_csv(path, index=False)
    return path


def collect(claims_dir: Path | None = None) -> pd.DataFrame:
    """All recorded claims, ordered by notebook then claim id (older CSVs get the new columns empty)."""
    folder = claims_dir or paths.claims_dir()
    frames = [pd.read_csv(p, keep_default_na=False, na_values=[""]) for p in sorted(Path(folder).glob("*.csv"))]
    if not frames:
        return pd.DataFrame(columns=COLUMNS)
    return pd.concat(frames, ignore_index=True).reindex(columns=COLUMNS)


def table(claims_dir: Path | None = None, registry: tuple[Expected, ...] = EXPECTED) -> pd.DataFrame:
    """Recorded claims with their verdicts, plus a ``no data yet`` row per registry entry nobody recorded.

    Columns: those of :data:`COLUMNS`, ``statement`` (the registry's wording of
    the thesis claim; empty for context), ``test`` (:attr:`Expected.test`),
    ``compares_magnitude`` and ``verdict``.
    """
    recorded = collect(claims_dir)
    rows = []
    for r in recorded.to_dict("records"):
        e = expected_for(str(r["claim_id"]), registry)
        rows.append({**r, "statement": e.statement if e else "", "test": e.test if e else "",
                     "compares_magnitude": bool(e and e.compares_magnitude), "verdict": verdict(r, e)})
    seen = {str(c) for c in recorded.claim_id}
    for e in registry:
        if not any(c == e.claim_id or fnmatch.fnmatchcase(c, e.claim_id) for c in seen):
            rows.append(dict(notebook=e.notebook, claim_id=e.claim_id, section=e.section, description=e.statement,
                             thesis_value=e.thesis_value, our_value=NAN, unit=e.unit, note="", noise=NAN,
                             untestable="", relative_difference=NAN, statement=e.statement, test=e.test,
                             compares_magnitude=e.compares_magnitude, verdict=NO_DATA))
    out = pd.DataFrame(rows, columns=[*COLUMNS, "statement", "test", "compares_magnitude", "verdict"])
    return out.sort_values("notebook", kind="stable").reset_index(drop=True)


def render_markdown(claims_table: pd.DataFrame, link=None) -> str:
    """The claims table as Markdown: the rule, a count per verdict, then one row per claim.

    ``link``: optional callable giving, for a notebook name, the address its
    cell links to (None: no link), as the HTML report does.
    """
    counts = claims_table.verdict.map(lambda v: v.split(":")[0]).value_counts()
    lines = [
        "# Thesis claims beside reproduced values",
        "",
        "Generated by `make reproduce` from `results/claims/*.csv` (`greenai.claims`); do not edit.",
        "",
        RULE,
        "",
        "Verdicts: " + ", ".join(f"{v} {counts[v]}" for v in VERDICTS if v in counts) + ".",
        "",
        "Δ = (ours − thesis) / |thesis|, shown only where the thesis' number itself is the test.",
        "",
        "| notebook | section | claim | test | thesis | ours | noise | unit | Δ | verdict | note |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in claims_table.itertuples(index=False):
        shown = bool(r.compares_magnitude) and not str(r.verdict).startswith((NOT_TESTABLE, NO_DATA))
        delta = f"{r.relative_difference:+.1%}" if shown and not pd.isna(r.relative_difference) else ""
        claim = _text(r.description)
        if _text(r.statement) and _text(r.statement) != claim:
            claim = f"{claim} — *{_text(r.statement)}*"
        lines.append(
            f"| {_linked(r.notebook, link)} | {r.section} | <a id=\"{_anchor(r.claim_id)}\"></a>{_cell(claim)} "
            f"| {_cell(_text(r.test))} | {_fmt(r.thesis_value)} | {_fmt(r.our_value)} | {_fmt(r.noise, blank=True)} | {_text(r.unit)} "
            f"| {delta} | **{_cell(r.verdict)}** | {_cell(_text(r.note))} |"
        )
    return "\n".join(lines) + "\n"


def write_markdown(out: Path | None = None, claims_dir: Path | None = None) -> Path:
    """Write ``<output>/claims.md`` and ``<output>/claims.csv`` (same rows, with verdicts); returns the .md path."""
    t = table(claims_dir)
    out = out or paths.output_dir() / "claims.md"
    out.write_text(render_markdown(t))
    t.to_csv(out.with_suffix(".csv"), index=False, float_format="%.6g")
    return out


def _linked(notebook: str, link) -> str:
    href = link(notebook) if link else None
    return f"[{notebook}]({href})" if href else str(notebook)


def _anchor(claim_id) -> str:
    """An HTML id for a claim row (``claim-`` + the id with unsafe characters replaced)."""
    return "claim-" + "".join(ch if ch.isalnum() or ch in "-_." else "-" for ch in str(claim_id))


def _float(value) -> float:
    try:
        return float(value)
    except (TypeError, ValueError):
        return NAN


def _finite(value: float) -> float:
    return value if math.isfinite(value) else 0.0


def _str(value) -> str:
    return "" if value is None or (isinstance(value, float) and math.isnan(value)) else str(value)


def _text(value) -> str:
    """A CSV cell as text: an empty cell (read back as NaN) is an empty string."""
    return "" if pd.isna(value) else str(value)


def _cell(text: str) -> str:
    return str(text).replace("|", "\\|")


def _fmt(value: float, blank: bool = False) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "" if blank else "n/a"
    return f"{value:.4g}"
