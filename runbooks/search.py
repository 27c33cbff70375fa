"""What runbooks and practices contribute to search: a runbook's alert names weigh like its
title (an operator pastes the alert), its body is the rest."""

from opsknowledge.search.index import Searchable, describe_document, register

from .models import Practice, Runbook


def _runbook(runbook, content: dict):
    return describe_document(content, a=content.get("alerts", []))


def _address(kind: str, model, describe, prefetch=()) -> Searchable:
    return Searchable(
        kind=kind,
        model=model,
        label=model._meta.verbose_name.capitalize(),
        describe=describe,
        url=lambda document: document.get_absolute_url(),
        api_url=lambda document: document.get_api_url(),
        prefetch=("components", "releases", "tags", *prefetch),
    )


register(_address("runbook", Runbook, _runbook, prefetch=("alerts",)))
register(_address("practice", Practice, lambda practice, content: describe_document(content)))
