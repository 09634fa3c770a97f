"""A static HTML report of the executed notebooks and the claims table (``make report``).

nbconvert renders every executed notebook in ``<output>/notebooks/`` to
``<output>/report/NN_name.html``. The notebooks draw on the ``agg`` backend, save
their figures to ``<output>/figures/`` and show each as an output naming the file
(:func:`greenai.figures.announce_figure`); the report puts the PNG there, inline
as a data URI (no cell source is read); the claims table and
a front page are built as small notebooks of Markdown cells and rendered the
same way, so there is no HTML template of our own. The front page links every
chapter and every claim (``claims.html#claim-<id>``).

``results/report/`` is regenerated, never committed (it is in ``.gitignore``).

Usage: ``python -m greenai.report [--out DIR]``.
"""

from __future__ import annotations

import argparse
import base64
import re
import sys
from pathlib import Path

from greenai import claims, paths
from greenai.cli import UsageError, run_command
from greenai.figures import FIGURE_METADATA_KEY

#: A level-1 Markdown heading: a chapter's title on the front page.
TITLE_RE = re.compile(r"^#\s+(.+)$", re.M)


def chapter_title(notebook) -> str:
    """The first level-1 Markdown heading of a notebook, or its file name."""
    for cell in notebook.cells:
        if cell.cell_type == "markdown":
            match = TITLE_RE.search(cell.source)
            if match:
                return match.group(1).strip()
    return notebook.metadata.get("name", "")


def figure_outputs(notebook, figures_dir: Path):
    """``notebook`` with each figure a cell announced (:func:`greenai.figures.announce_figure`) as an inline
    image of the saved PNG (in memory only); a figure whose file is missing keeps its text."""
    for cell in notebook.cells:
        for output in cell.get("outputs", []):
            name = output.get("metadata", {}).get(FIGURE_METADATA_KEY)
            path = figures_dir / name if name else None
            if path is not None and path.is_file():
                output["data"] = {"image/png": base64.b64encode(path.read_bytes()).decode("ascii"),
                                  "text/plain": f"<figure {name}>"}
    return notebook


def _exporter():
    from nbconvert import HTMLExporter  # optional: nbconvert

    return HTMLExporter(template_name="lab")


def _render(notebook, title: str, target: Path) -> Path:
    notebook.metadata["title"] = title  # the page's <title>
    body, _ = _exporter().from_notebook_node(notebook)
    target.write_text(body, encoding="utf-8")
    return target


def _markdown_page(title: str, markdown: str, target: Path) -> Path:
    import nbformat  # optional: nbformat

    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_markdown_cell(markdown)])
    return _render(nb, title, target)


def build(out_dir: Path | None = None, notebooks_dir: Path | None = None, claims_dir: Path | None = None,
          figures_dir: Path | None = None) -> Path:
    """Render the report; returns the front page (``index.html``).

    ``notebooks_dir`` defaults to ``<output>/notebooks`` (the executed copies),
    ``claims_dir`` to ``<output>/claims`` (the recorded claim rows),
    ``figures_dir`` to ``<output>/figures``.

    Raises
    ------
    FileNotFoundError
        No executed notebook: run ``make reproduce`` first.
    """
    import nbformat  # optional: nbformat

    notebooks_dir = Path(notebooks_dir or paths.executed_notebooks_dir())
    figures_dir = Path(figures_dir or paths.figures_dir())
    out_dir = Path(out_dir or paths.output_dir() / "report")
    executed = sorted(notebooks_dir.glob("[0-9][0-9]_*.ipynb"))
    if not executed:
        raise FileNotFoundError(f"no executed notebook in {notebooks_dir}: run `make reproduce` first")
    out_dir.mkdir(parents=True, exist_ok=True)
    for stale in out_dir.glob("*.html"):
        stale.unlink()

    chapters = []
    for path in executed:
        nb = figure_outputs(nbformat.read(path, as_version=4), figures_dir)
        title = chapter_title(nb) or path.stem
        _render(nb, f"{path.stem}: {title}", out_dir / f"{path.stem}.html")
        chapters.append((path.stem, title))

    table = claims.table(claims_dir)
    present = {stem for stem, _ in chapters}
    _markdown_page("Thesis claims", claims.render_markdown(table, link=lambda nb: f"{nb}.html" if nb in present
                                                                 else None), out_dir / "claims.html")

    lines = [
        "# greenai: the compendium as a report",
        "",
        "Each chapter is a notebook executed by `make reproduce` on the measurements recorded in "
        "`results/raw/`; the claims table sets every thesis claim beside our value, with a verdict.",
        "",
        "## Chapters",
        "",
        *(f"- [{stem}]({stem}.html): {title}" for stem, title in chapters),
        "",
        "## Claims",
        "",
        f"The [claims table](claims.html) with its verdict rule. {claims.RULE}",
        "",
    ]
    shared = table.statement.value_counts()
    for r in table.itertuples(index=False):
        # the registry's wording of the claim, unless it covers several rows (macs_*): then the row's own
        statement = claims._text(r.statement)
        what = statement if statement and shared.get(statement, 0) == 1 else claims._text(r.description)
        lines.append(f"- {r.section} — [{what}](claims.html#{claims._anchor(r.claim_id)}): **{r.verdict}** "
                     f"({r.notebook})")
    return _markdown_page("greenai report", "\n".join(lines) + "\n", out_dir / "index.html")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m greenai.report", description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=None, help="folder of the site (default results/report)")
    return run_command("report", _run, parser.parse_args(argv))


def _run(args: argparse.Namespace) -> int:
    try:
        import nbconvert  # noqa: F401
        import nbformat  # noqa: F401
    except ImportError as exc:
        raise UsageError(f"the report needs the notebooks extra ({exc.name or exc} cannot be imported): "
                         "pip install 'greenai[notebooks]'") from None
    try:
        index = build(args.out)
    except FileNotFoundError as exc:
        raise UsageError(str(exc)) from None
    print(f"report: {index}  (open it in a browser)")
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
