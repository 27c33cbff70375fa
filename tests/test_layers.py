"""The layers point one way: a module imports only from its own layer or the ones below it,
at the top of the file or inside a function alike. A new module must be given its layer here.

Lowest first:
0. foundation — the rules and helpers that import no project module: access control
   (visibility), domain errors, references, Markdown, revision machinery;
1. models — the kinds and the catalogue, with their content rules;
2. services — the one write path;
3. readers and importers — upgrade briefings, lint, the alert resolver, importers;
4. the edges — REST API, pages, feeds, filters, admin, management commands, settings.
"""

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("opsknowledge", "runbooks", "incidents", "releases")

# (layer, dotted-name prefixes); the longest matching prefix decides.
LAYERS = [
    (
        0,
        (
            "opsknowledge.visibility",
            "opsknowledge.exceptions",
            "opsknowledge.references",
            "opsknowledge.markdown",
            "opsknowledge.revisions",
            "opsknowledge.progress",
            "opsknowledge.search.query",
            "opsknowledge.slug_repair",
            "opsknowledge.kinds",
            "opsknowledge.keys",
            "opsknowledge.referrers",
            "opsknowledge.sourcelinks",
            "opsknowledge.addresses",
            "opsknowledge.paths",
            "opsknowledge.metrics",
            "opsknowledge.replicas",
            "opsknowledge.hotcache",
            "incidents.checks",
            "runbooks.body",
        ),
    ),
    (1, ("opsknowledge.models", "runbooks.models", "incidents.models", "releases.models")),
    (
        2,
        (
            "opsknowledge.services",
            "opsknowledge.audit",
            "opsknowledge.members",
            "opsknowledge.search.index",
            "opsknowledge.stamps",
            "runbooks.services",
            "incidents.services",
            "releases.services",
        ),
    ),
    (
        3,
        (
            "opsknowledge.importing",
            "opsknowledge.backup",
            "opsknowledge.history",
            "opsknowledge.search",
            "opsknowledge.demo",
            "runbooks.importers",
            "runbooks.archives",
            "runbooks.uploads",
            "runbooks.lint",
            "runbooks.resolver",
            "runbooks.search",
            "incidents.importers",
            "incidents.search",
            "releases.importers",
            "releases.briefing",
            "releases.search",
        ),
    ),
    (4, PACKAGES),  # everything else: api, views, forms, feeds, admin, commands, settings
]


def layer_of(module: str) -> int:
    matches = [
        (len(prefix), layer)
        for layer, prefixes in LAYERS
        for prefix in prefixes
        if module == prefix or module.startswith(prefix + ".")
    ]
    assert matches, f"{module} has no layer"
    return max(matches)[1]


def project_modules():
    for package in PACKAGES:
        base = ROOT / package
        if not base.is_dir():
            continue
        for path in base.rglob("*.py"):
            parts = path.relative_to(ROOT).with_suffix("").parts
            if "tests" in parts or "migrations" in parts:
                continue
            name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
            yield name, path


def imports_of(name: str, path: Path, modules=()):
    """(imported module, line); `from package import module` counts as importing the
    module (the package's own __init__ is then only a namespace)."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield alias.name, node.lineno
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parts = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join(parts + ([base] if base else []))
            names = [f"{base}.{alias.name}" for alias in node.names]
            submodules = [target for target in names if target in modules]
            yield from ((target, node.lineno) for target in submodules)
            if len(submodules) < len(names):
                yield base, node.lineno


def test_no_module_imports_from_a_higher_layer():
    modules = dict(project_modules())
    wrong = []
    for name, path in modules.items():
        own = layer_of(name)
        for target, line in imports_of(name, path, modules):
            while target and target not in modules:
                target = target.rpartition(".")[0]
            if not target or target == name or target.split(".")[0] not in PACKAGES:
                continue
            if layer_of(target) > own:
                wrong.append(
                    f"{path.relative_to(ROOT)}:{line} (layer {own}) imports {target} "
                    f"(layer {layer_of(target)})"
                )
    assert not wrong, "imports that point up the layers:\n" + "\n".join(sorted(set(wrong)))


def test_below_the_edges_nothing_speaks_http_frameworks():
    """Services, models and importers know nothing of DRF: the API maps their errors."""
    modules = dict(project_modules())
    wrong = [
        f"{path.relative_to(ROOT)}:{line} imports {target}"
        for name, path in modules.items()
        if layer_of(name) < 4
        for target, line in imports_of(name, path)
        if target.split(".")[0] == "rest_framework"
    ]
    assert not wrong, "\n".join(wrong)
