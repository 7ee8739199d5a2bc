"""The core stays small enough to read in an evening: tlhelpers under 6,000 lines in all, no
module over 500, and code laid out by the formatter (no ``# fmt: skip``)."""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
MODULES = sorted((ROOT / "tlhelpers").glob("*.py"))
TOTAL_BUDGET = 6_000  # lines, as `wc -l tlhelpers/*.py` counts them
MODULE_BUDGET = 500


def _lines(path: Path) -> int:
    return len(path.read_text(encoding="utf-8").splitlines())


def test_the_core_fits_its_line_budget():
    total = sum(_lines(path) for path in MODULES)
    largest = sorted(MODULES, key=_lines, reverse=True)[:3]
    assert total < TOTAL_BUDGET, (
        f"tlhelpers is {total:,} lines, over its budget of {TOTAL_BUDGET:,}; the largest "
        f"modules: {', '.join(f'{p.name} {_lines(p)}' for p in largest)}. Simplify before "
        "adding, or move what only the course uses to tlcourse."
    )


def test_no_module_is_over_its_line_budget():
    over = {path.name: _lines(path) for path in MODULES if _lines(path) > MODULE_BUDGET}
    assert not over, f"modules over {MODULE_BUDGET} lines: {over}; split one along its concepts"


def test_the_formatter_owns_the_layout():
    skipped = [
        f"{path.name}:{number}"
        for path in MODULES
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
        if "fmt: skip" in line or "fmt: off" in line
    ]
    assert not skipped, f"# fmt: skip/off in {skipped}: let ruff format lay the code out"
