"""The docs run: every ```python block of README.md and docs/, and the site.

Each block is a test of its own, run in a fresh namespace inside a
temporary folder (so it leaves nothing in the checkout). An HTML comment on
the line just before a fence changes that, visibly in the source:

- `<!-- continues -->`: the block runs after the block before it on the
  same page, in its namespace; the chain is one test.
- `<!-- no-run: the reason -->`: the block is not run (a long benchmark,
  an online-only path). Keep these rare.

Shell and other blocks are not run. The site test builds the MkDocs site
with `--strict` when the `docs` extra is installed.
"""

import dataclasses
import os
import pathlib
import re
import subprocess
import sys

import pytest

ROOT = pathlib.Path(__file__).resolve().parent.parent
FENCE = re.compile(r"^```python\b[^\n]*\n(.*?)^```[ \t]*$", re.M | re.S)
MARKER = re.compile(r"<!--\s*(continues|no-run:(.*?))\s*-->")


@dataclasses.dataclass
class Chain:
    """Blocks of one page run in one namespace: `[(line, source), ...]`."""

    page: str
    blocks: list
    skip: str = ""

    @property
    def id(self):
        return f"{self.page}:{self.blocks[0][0]}"


def pages():
    docs = sorted((ROOT / "docs").rglob("*.md"))
    return [ROOT / "README.md", *docs]


def marker_before(text, start):
    """The marker comment on the last non-blank line before `start`."""
    lines = text[:start].rstrip().splitlines()
    match = MARKER.fullmatch(lines[-1].strip()) if lines else None
    if match is None:
        return None, ""
    if match.group(1) == "continues":
        return "continues", ""
    return "no-run", match.group(2).strip()


def collect(path, root=ROOT):
    """The page's chains, and the problems with its markers."""
    text = path.read_text(encoding="utf-8")
    page = path.relative_to(root).as_posix()
    chains, problems = [], []
    for match in FENCE.finditer(text):
        line = text.count("\n", 0, match.start()) + 2
        kind, reason = marker_before(text, match.start())
        block = (line, match.group(1))
        if kind == "continues":
            if not chains or chains[-1].skip:
                problems.append(
                    f"{page}:{line}: `continues` needs a run block before it"
                )
            else:
                chains[-1].blocks.append(block)
            continue
        if kind == "no-run" and not reason:
            problems.append(f"{page}:{line}: `no-run:` must give a reason")
            reason = "no reason given"
        chains.append(Chain(page, [block], skip=reason))
    return chains, problems


CHAINS = [chain for path in pages() for chain in collect(path)[0]]


def test_markers_are_well_formed():
    problems = [p for path in pages() for p in collect(path)[1]]
    assert not problems, "\n".join(problems)


def test_readme_has_examples():
    readme = [c for c in CHAINS if c.page == "README.md" and not c.skip]
    assert len(readme) >= 6


@pytest.mark.parametrize("chain", CHAINS, ids=[c.id for c in CHAINS])
def test_block_runs(chain, tmp_path, monkeypatch):
    if chain.skip:
        pytest.skip(f"marked no-run: {chain.skip}")
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    monkeypatch.chdir(tmp_path)
    namespace = {"__name__": "__docs__"}
    try:
        for line, source in chain.blocks:
            # Leading newlines make tracebacks point at the page's lines.
            code = compile("\n" * (line - 1) + source, chain.page, "exec")
            exec(code, namespace)
    finally:
        plt.close("all")


def test_site_builds_strict(tmp_path):
    for module in ("mkdocs", "material", "mkdocstrings_handlers.python"):
        pytest.importorskip(module, reason="needs the `docs` extra")
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "mkdocs",
            "build",
            "--strict",
            "--config-file",
            str(ROOT / "mkdocs.yml"),
            "--site-dir",
            str(tmp_path / "site"),
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_markers_join_and_skip_blocks(tmp_path):
    page = tmp_path / "page.md"
    fence = "```"
    page.write_text(
        f"{fence}python\na = 1\n{fence}\n\n<!-- continues -->\n"
        f"{fence}python\nb = a\n{fence}\n\n<!-- no-run: too long -->\n"
        f"{fence}python\nc = 1\n{fence}\n\n<!-- continues -->\n"
        f"{fence}python\nd = c\n{fence}\n\n<!-- no-run: -->\n"
        f"{fence}python\ne = 1\n{fence}\n\n{fence}bash\nls\n{fence}\n"
    )
    chains, problems = collect(page, root=tmp_path)
    assert [len(c.blocks) for c in chains] == [2, 1, 1]
    assert [c.skip for c in chains] == ["", "too long", "no reason given"]
    assert chains[0].blocks == [(2, "a = 1\n"), (7, "b = a\n")]
    assert problems == [
        "page.md:17: `continues` needs a run block before it",
        "page.md:22: `no-run:` must give a reason",
    ]
