"""``make report`` renders the committed executed notebooks and the claims table into
pages whose figures, claims and links are all there."""

from __future__ import annotations

import base64
import re
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from greenai import claims, paths, report

pytest.importorskip("nbconvert", reason="the report needs the notebooks extra: pip install -e '.[notebooks]'")

EXECUTED = sorted((paths.RESULTS_DIR / "notebooks").glob("[0-9][0-9]_*.ipynb"))


class Page(HTMLParser):
    """Ids, links and image sources of one HTML page."""

    def __init__(self, path: Path):
        super().__init__()
        self.ids: set[str] = set()
        self.hrefs: list[str] = []
        self.images: list[str] = []
        self.feed(path.read_text(encoding="utf-8"))

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if "id" in a:
            self.ids.add(a["id"])
        if tag == "a" and a.get("href"):
            self.hrefs.append(a["href"])
        if tag == "img" and a.get("src"):
            self.images.append(a["src"])


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    if not EXECUTED:
        pytest.skip("no committed executed notebook in results/notebooks")
    out = tmp_path_factory.mktemp("report")
    index = report.build(out, notebooks_dir=paths.RESULTS_DIR / "notebooks", claims_dir=paths.RESULTS_DIR / "claims",
                         figures_dir=paths.RESULTS_DIR / "figures")
    assert index == out / "index.html"
    return out, {p.name: Page(p) for p in out.glob("*.html")}


def quoted_figures(source: Path) -> set[str]:
    """Figure files of results/figures whose name the notebook's source quotes."""
    names = set(re.findall(r"""["'](fig_\w+?)(?:\.png)?["']""", source.read_text()))
    return {n for n in names if (paths.RESULTS_DIR / "figures" / f"{n}.png").is_file()}


@pytest.mark.slow
def test_front_page_links_every_chapter_and_claim(site):
    out, pages = site
    index = pages["index.html"]
    for executed in EXECUTED:
        assert f"{executed.stem}.html" in pages, executed.stem
        assert f"{executed.stem}.html" in index.hrefs, executed.stem
    assert "claims.html" in index.hrefs
    table = claims.table(paths.RESULTS_DIR / "claims")
    assert len(table) > 0
    for claim_id in table.claim_id:
        anchor = claims._anchor(claim_id)
        assert anchor in pages["claims.html"].ids, claim_id
        assert f"claims.html#{anchor}" in index.hrefs, claim_id


@pytest.mark.slow
def test_every_figure_is_inline_in_its_chapter(site):
    out, pages = site
    shown = set()
    for executed in EXECUTED:
        page = pages[f"{executed.stem}.html"]
        inline = {src.split(",", 1)[1] for src in page.images if src.startswith("data:image/png;base64,")}
        for name in quoted_figures(paths.NOTEBOOKS_DIR / f"{executed.stem}.py"):
            png = base64.b64encode((paths.RESULTS_DIR / "figures" / f"{name}.png").read_bytes()).decode("ascii")
            assert png in inline, f"{name} missing from {executed.stem}.html"
            shown.add(name)
    committed = {p.stem for p in (paths.RESULTS_DIR / "figures").glob("*.png")}
    assert committed <= shown, f"figures in no chapter: {sorted(committed - shown)}"


@pytest.mark.slow
def test_every_link_resolves(site):
    out, pages = site
    checked = 0
    for name, page in pages.items():
        for href in page.hrefs:
            parts = urlsplit(href)
            if parts.scheme or parts.netloc:  # the web (docs, licences): not part of the site
                continue
            target = parts.path or name
            assert target in pages, f"{name}: link to {href} has no page"
            if parts.fragment:
                assert parts.fragment in pages[target].ids, f"{name}: link to {href} has no such anchor"
            checked += 1
    assert checked > len(EXECUTED)


def test_without_executed_notebooks_the_report_says_what_to_run(tmp_path):
    with pytest.raises(FileNotFoundError, match="make reproduce"):
        report.build(tmp_path / "site", notebooks_dir=tmp_path / "none")


def test_an_announced_figure_becomes_its_png_and_nothing_else_is_read(tmp_path):
    import nbformat

    (tmp_path / "fig_a.png").write_bytes(b"\x89PNG a")
    announced = nbformat.v4.new_output("display_data", data={"text/plain": "<figure fig_a.png>"},
                                       metadata={report.FIGURE_METADATA_KEY: "fig_a.png"})
    missing = nbformat.v4.new_output("display_data", data={"text/plain": "<figure fig_b.png>"},
                                     metadata={report.FIGURE_METADATA_KEY: "fig_b.png"})
    quoted = nbformat.v4.new_code_cell('save_figure(fig, "fig_a")')  # a name in the source alone shows nothing
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("x", outputs=[announced, missing]), quoted])
    out = report.figure_outputs(nb, tmp_path)
    first, second = out.cells[0].outputs
    assert first.data["image/png"] == base64.b64encode(b"\x89PNG a").decode("ascii")
    assert second.data == {"text/plain": "<figure fig_b.png>"}
    assert out.cells[1].outputs == []
