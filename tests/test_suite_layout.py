"""The test suite's own layout: shared code lives in tests/helpers.py, never in another test module."""

import re

from .helpers import REPO

# `from .test_x import`, `from ..test_x import`, `from tests.test_x import`, `import tests.hostile.test_x`,
# also inside the source text of a child interpreter's script
TEST_MODULE_IMPORT = re.compile(r"^\s*(?:from|import)\s+(?:tests\.(?:hostile\.)?|\.+(?:hostile\.)?)test_\w+", re.M)


def test_no_test_module_imports_another():
    offenders = [
        f"{path.relative_to(REPO)}: {match.group(0).strip()}"
        for path in sorted((REPO / "tests").rglob("*.py"))
        for match in TEST_MODULE_IMPORT.finditer(path.read_text())
    ]
    assert not offenders, "move what they import into tests/helpers.py:\n" + "\n".join(offenders)
