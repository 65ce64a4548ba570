"""The architecture's one hard boundary: `toolkit` never imports `recipes`
(recipes import the toolkit, not the other way round)."""

import ast
import pathlib

import pytest

ROOT = pathlib.Path(__file__).resolve().parent.parent
TOOLKIT = ROOT / "toolkit"


def recipe_imports(source, filename="<source>"):
    """`(line, statement)` of every import of `recipes` in `source`, at any
    depth (inside functions, classes, `if` and `try` blocks included)."""
    found = []
    for node in ast.walk(ast.parse(source, filename=filename)):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0:
            names = [node.module or ""]
        else:
            continue
        if any(
            name == "recipes" or name.startswith("recipes.") for name in names
        ):
            found.append((node.lineno, ast.unparse(node)))
    return found


def test_the_check_finds_imports_at_any_depth():
    source = (
        "import os\n"
        "import recipes\n"
        "from recipes.vision import build_mlp_classifier\n"
        "def f():\n"
        "    from recipes import build_cnn_classifier\n"
        "class A:\n"
        "    def g(self):\n"
        "        if True:\n"
        "            import recipes.sequence as s\n"
        "from toolkit import recipes_like\n"
        "from . import recipes\n"
        "text = 'from recipes import x'\n"
    )
    assert [line for line, _ in recipe_imports(source)] == [2, 3, 5, 9]


def _modules():
    return sorted(TOOLKIT.rglob("*.py"))


def test_there_are_modules_to_check():
    assert len(_modules()) > 20


@pytest.mark.parametrize(
    "path", _modules(), ids=lambda path: str(path.relative_to(ROOT))
)
def test_toolkit_never_imports_recipes(path):
    found = recipe_imports(path.read_text(), filename=str(path))
    assert not found, "\n".join(
        f"{path.relative_to(ROOT)}:{line}: `{statement}`: toolkit must not "
        "import recipes (move the code to recipes/, or take the builder "
        "as an argument)"
        for line, statement in found
    )
