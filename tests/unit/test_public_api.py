"""STYLE.md §2: each package's ``__all__`` lists exactly its public names."""

import importlib
import inspect
import pkgutil

import pytest

import numerics
import proofs_check
import theory


def _packages():
    out = []
    for top in (theory, numerics, proofs_check):
        out.append(top.__name__)
        for info in pkgutil.walk_packages(top.__path__, prefix=top.__name__ + "."):
            leaf = info.name.rsplit(".", 1)[-1]
            if info.ispkg and not leaf.startswith("_") and info.name != "proofs_check.claims":
                out.append(info.name)
    return out


@pytest.mark.parametrize("name", _packages())
def test_all_matches_public_names(name):
    mod = importlib.import_module(name)
    assert hasattr(mod, "__all__"), f"{name} has no __all__"
    exported = set(mod.__all__)
    assert len(exported) == len(mod.__all__), f"{name}.__all__ has duplicates"
    missing = [n for n in exported if not hasattr(mod, n)]
    assert not missing, f"{name}.__all__ names undefined objects: {missing}"
    public = {
        n for n, obj in vars(mod).items()
        if not n.startswith("_")
        and not (inspect.ismodule(obj) and not obj.__name__.startswith(name + "."))
        and n not in {"annotations"}
    }
    # Submodules imported as attributes count as public only if exported.
    public = {n for n in public if not (inspect.ismodule(getattr(mod, n)) and n not in exported)}
    assert public == exported, (
        f"{name}: public but not in __all__: {sorted(public - exported)}; "
        f"in __all__ but private: {sorted(exported - public)}"
    )
