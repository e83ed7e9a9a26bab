"""STYLE.md §1: imports flow theory/numerics -> proofs_check, never back; checked with ast."""

import ast
import pathlib
import sys

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[2]
STDLIB = set(sys.stdlib_module_names)
ALLOWED = {
    "theory": {"theory", "sympy", "mpmath", "numpy"},
    "numerics": {"numerics", "numpy", "numba"},
    "proofs_check": {"proofs_check", "theory", "numerics", "numpy", "numba", "sympy", "mpmath",
                     "scipy", "matplotlib", "threadpoolctl"},
}


def _imports(path: pathlib.Path):
    tree = ast.parse(path.read_text(), filename=str(path))
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield node.lineno, alias.name.split(".")[0]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            yield node.lineno, node.module.split(".")[0]


def _files(layer):
    return sorted((ROOT / layer).rglob("*.py"))


@pytest.mark.parametrize("layer", sorted(ALLOWED))
def test_layer_imports_flow_one_way(layer):
    files = _files(layer)
    assert files, f"layer {layer} has no modules"
    bad = []
    for path in files:
        for lineno, top in _imports(path):
            if top in STDLIB or top == "__future__":
                continue
            if top not in ALLOWED[layer]:
                bad.append(f"{path.relative_to(ROOT)}:{lineno} imports {top}")
    assert not bad, "layer violations:\n" + "\n".join(bad)


def test_checker_catches_a_violation(tmp_path):
    bad = tmp_path / "mod.py"
    bad.write_text("import scipy\nfrom proofs_check import claim\n")
    tops = {top for _, top in _imports(bad)}
    assert not tops <= ALLOWED["theory"]
    assert {"scipy", "proofs_check"} <= tops
