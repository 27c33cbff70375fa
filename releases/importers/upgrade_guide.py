"""The SCS k8s-cluster-api-provider upgrade guide (`doc/Upgrade-Guide.md`): one upgrade
runbook per release hop ("R2 to R3", ...)."""

from __future__ import annotations

import re
from dataclasses import dataclass

from opsknowledge.importing import read_markdown
from opsknowledge.markdown import Section, parse_sections

from .notes import absolute_anchor_links, plain_text

UPGRADE_GUIDE_URL = (
    "https://github.com/SovereignCloudStack/k8s-cluster-api-provider/blob/main/doc/Upgrade-Guide.md"
)

HOP_HEADING = re.compile(r"^R(\d+)\s+to\s+R(\d+)$", re.I)
CLUSTERS_HEADING = re.compile(r"^On\s+(R\d+(?:\s*(?:,|and|or|&)\s*R\d+)*)\s+clusters$", re.I)


@dataclass(frozen=True)
class UpgradeHop:
    start: int
    end: int
    management: list[Section]
    workload: list[Section]

    @property
    def name(self) -> str:
        return f"R{self.start} to R{self.end}"


@dataclass
class UpgradeGuide:
    front_matter: dict
    hops: list[UpgradeHop]


def parse_upgrade_guide(text: str) -> UpgradeGuide:
    """The hops of the k8s-cluster-api-provider upgrade guide.

    The management host part of a hop is its `##### R2 to R3` section (under "New
    templates"). The workload cluster part is what the `#### On R… clusters` sections say
    about the hop's target ("On R3 and R4 clusters" serves R2→R3 and R3→R4); a section
    about the guide's oldest release ("On R2 clusters": convert with update-R2-to-R3.sh)
    describes leaving it, so it belongs to the hop that starts there.
    """
    markdown = read_markdown(text)
    root = parse_sections(markdown.body)
    hop_sections = [(s, HOP_HEADING.match(plain_text(s.title))) for s in root.walk()]
    hop_sections = [(s, m) for s, m in hop_sections if m]
    cluster_sections = []
    for section in root.walk():
        match = CLUSTERS_HEADING.match(plain_text(section.title))
        if match:
            numbers = {int(n) for n in re.findall(r"R(\d+)", match.group(1), re.I)}
            cluster_sections.append((section, numbers))
    targets = {int(match.group(2)) for _s, match in hop_sections}
    hops = []
    for section, match in hop_sections:
        start, end = int(match.group(1)), int(match.group(2))
        workload = [
            cluster_section
            for cluster_section, numbers in cluster_sections
            if end in numbers or (start in numbers and not numbers & targets)
        ]
        hops.append(UpgradeHop(start, end, [section], workload))
    return UpgradeGuide(front_matter=markdown.front_matter, hops=hops)


def hop_body(hop: UpgradeHop) -> str:
    """The hop's parts under the guide's own headings ("## Updating the management host",
    "### In-place upgrade", ...). The parent of each part keeps its introduction, which the
    part refers to ("If you have copied over the new `cluster-template.yaml` as described
    above")."""
    emitted: set[int] = set()
    pieces = []
    for part in [*hop.management, *hop.workload]:
        ancestors = []
        parent = part.parent
        while parent is not None and parent.level > 0:
            ancestors.insert(0, parent)
            parent = parent.parent
        for ancestor in ancestors:
            if id(ancestor) in emitted:
                continue
            emitted.add(id(ancestor))
            pieces.append(ancestor.heading_line)
            if ancestor is part.parent and ancestor.own.strip():
                pieces.append(ancestor.own.strip("\n"))
        pieces.append(part.markdown.strip("\n"))
    return absolute_anchor_links("\n\n".join(pieces), UPGRADE_GUIDE_URL) + "\n"


def guide_attribution(front_matter: dict, hop: UpgradeHop) -> str:
    details = [
        f"version {front_matter['version']}" if front_matter.get("version") else "",
        str(front_matter.get("state") or ""),
        f"by {front_matter['authors']}" if front_matter.get("authors") else "",
    ]
    detail = "; ".join(d for d in details if d)
    return (
        f"From the [SCS k8s-cluster-api-provider upgrade guide]({UPGRADE_GUIDE_URL})"
        f"{f' ({detail})' if detail else ''}, Apache-2.0. The guide advises upgrading one "
        f"release at a time; this runbook is the step from R{hop.start} to R{hop.end}."
    )


def runbook_fields(guide: UpgradeGuide, hop: UpgradeHop) -> dict:
    """Runbook fields (API names) for one hop, without the catalogue-dependent ones."""
    return {
        "title": f"Upgrade Kubernetes Cluster API provider from R{hop.start} to R{hop.end}",
        "summary": (
            "Upgrade the SCS k8s-cluster-api-provider management host and its workload "
            f"clusters from R{hop.start} to R{hop.end}."
        ),
        "body": f"{guide_attribution(guide.front_matter, hop)}\n\n{hop_body(hop)}",
        "upgrade_from": f"r{hop.start}",
        "upgrade_to": f"r{hop.end}",
        "releases": [f"r{hop.end}"],
        "tags": ["upgrade", "cluster-api"],
        "license": "Apache-2.0",
    }
