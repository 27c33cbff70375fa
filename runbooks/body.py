"""What lint needs to know of a runbook's body, computed once per revision: the write
services store it as `Runbook.lint_facts` (see `Runbook.derived_columns`), so a runbook's
detail does not parse its body on every GET."""

import re

from opsknowledge import markdown, sourcelinks
from opsknowledge.references import slug_from_file_name, slug_from_tree_path

LINK = re.compile(r"\]\(\s*(?:\{\{<\s*ref\s+\"([^\"]+)\"\s*>\}\}|<?([^)\s>]+)>?)")
SITE_LINK = re.compile(r"^/(runbooks|practices)/([a-z0-9-]+)/([a-z0-9-]+)/?(?:#.*)?$")


def body_facts(body: str, source_path: str = "", source_url: str = "") -> dict:
    """What lint needs to know of a body, computed once per revision (the write services
    store it as `Runbook.lint_facts`): headings, empty code blocks, and the links to anchors
    and to other documents, in line order. Whether a linked document exists is asked per
    request, as it changes without this runbook changing. With the file's `source_path`,
    relative links resolve as rendering resolves them (opsknowledge.sourcelinks); one that
    cannot (leaving the tree, a file of the repository whose address is unknown) names no
    document (key slug None), so lint reports it as dead."""
    document = markdown.structure(body)  # the parse the write just rendered
    anchors = document.anchors
    links = []
    for number, line in enumerate(body.split("\n"), start=1):
        for match in LINK.finditer(line):
            target = (match.group(1) or match.group(2)).strip()
            if target.startswith(("http://", "https://", "mailto:")):
                continue
            if target.startswith("#"):
                if target[1:] and target[1:] not in anchors:
                    links.append({"line": number, "target": target, "anchor": True})
                continue
            site = SITE_LINK.match(target)
            if site:
                key = [site.group(2), site.group(3)]
            elif source_path and sourcelinks.unresolvable(source_path, source_url, target):
                key = [None, None]
            elif source_path and target.split("#")[0].lower().endswith(".md"):
                path, _fragment = sourcelinks.tree_target(source_path, target)
                key = [None, slug_from_tree_path(path)]
            elif target.split("#")[0].lower().endswith(".md"):
                name = target.split("#")[0].rsplit("/", 1)[-1]
                key = [None, slug_from_file_name(name)]  # None: the runbook's own organisation
            else:
                continue  # not a link to another document
            links.append({"line": number, "target": target, "key": key})
    return {
        "headings": sorted({heading.source.strip().lower() for heading in document.headings}),
        "empty_code_blocks": [fence.line for fence in document.fences if not fence.content.strip()],
        "links": links,
    }
