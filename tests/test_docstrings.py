"""Every public function and class of core has a numpydoc docstring.

Public: defined at the top level of a module under ``core/`` with a name not
starting with ``_``. The docstring needs a summary line and, when the object
takes arguments, a ``Parameters`` section (for a class: ``Parameters`` or,
for a dataclass, ``Attributes``).
"""

import ast
import re

from tests.conftest import ROOT



def _arguments(function: ast.FunctionDef, skip_first: bool) -> list[str]:
    args = function.args
    names = [a.arg for a in args.posonlyargs + args.args + args.kwonlyargs]
    names = names[1:] if skip_first else names
    return names + [a.arg for a in (args.vararg, args.kwarg) if a is not None]


def _has_section(doc: str, title: str) -> bool:
    return re.search(rf"^\s*{title}\n\s*-{{3,}}\s*$", doc, re.M) is not None


def _problem(node) -> str | None:
    doc = ast.get_docstring(node)
    if not doc or not doc.strip().splitlines()[0].strip():
        return "no docstring summary"
    if isinstance(node, ast.ClassDef):
        init = next((n for n in node.body if isinstance(n, ast.FunctionDef) and n.name == "__init__"), None)
        takes = (init is not None and _arguments(init, True)) or any(isinstance(n, ast.AnnAssign) for n in node.body)
        if takes and not (_has_section(doc, "Parameters") or _has_section(doc, "Attributes")):
            return "no Parameters (or Attributes) section"
    elif _arguments(node, False) and not _has_section(doc, "Parameters"):
        return "no Parameters section"
    return None


def test_every_public_core_function_and_class_has_a_numpydoc_docstring():
    problems = []
    for path in sorted((ROOT / "core").rglob("*.py")):
        rel = path.relative_to(ROOT).as_posix()
        for node in ast.parse(path.read_text(encoding="utf-8")).body:
            if not isinstance(node, (ast.FunctionDef, ast.ClassDef)) or node.name.startswith("_"):
                continue
            problem = _problem(node)
            if problem:
                problems.append(f"{rel}:{node.lineno} {node.name}: {problem}")
    assert not problems, "\n".join(problems)


def test_the_check_can_fail():
    missing = ast.parse('def f(x):\n    """Summary only."""\n').body[0]
    complete = ast.parse('def f(x):\n    """Summary.\n\n    Parameters\n    ----------\n'
                         '    x : int\n        X.\n    """\n')
    assert _problem(missing) == "no Parameters section" and _problem(complete.body[0]) is None
    assert _problem(ast.parse("def g():\n    pass\n").body[0]) == "no docstring summary"
