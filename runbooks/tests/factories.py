from opsknowledge import services
from opsknowledge.importing import import_document
from runbooks.models import Practice, Runbook


def publish(model=Runbook, *, organisation, slug, **fields):
    """A document created as an import would create it: fields in the API's vocabulary
    (references as slugs), validated by the API serializer, revision 1 recorded."""
    fields.setdefault("title", slug.replace("-", " ").title())
    fields.setdefault("status", "published")
    fields.setdefault("visibility", "public")
    _outcome, document = import_document(
        model=model,
        organisation=organisation,
        slug=slug,
        fields=fields,
        actor=services.Actor.operator(),
    )
    return document


def practice(**kwargs):
    return publish(Practice, **kwargs)
