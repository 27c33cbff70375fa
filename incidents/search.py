"""What failure reports contribute to search: every Markdown section and the timeline
weigh like the body."""

from opsknowledge.search.index import Searchable, describe_document, register

from .models import FailureReport


def _report(report, content: dict):
    timeline = [entry.get("text", "") for entry in content.get("timeline") or []]
    sections = [content.get(name) or "" for name in FailureReport.SECTIONS]
    return describe_document(content, c=[*sections, *timeline])


register(
    Searchable(
        kind="incident",
        model=FailureReport,
        label="Failure report",
        describe=_report,
        url=lambda report: report.get_absolute_url(),
        api_url=lambda report: report.get_api_url(),
        prefetch=(
            "components",
            "releases",
            "tags",
            "timeline",
            "action_items",
            "runbook_links__runbook__organisation",
        ),
    )
)
