"""Template context every page's layout needs."""

from django.utils.functional import SimpleLazyObject


def site(request):
    """`site_memberships`: the signed-in reader's memberships with their organisations, for
    the header's "signed in as … in organisation …". Lazy, so a page that does not show the
    header (an error page rendered without a request) costs no query, and read once."""

    def memberships():
        user = getattr(request, "user", None)
        if user is None or not user.is_authenticated:
            return []
        return list(user.memberships.select_related("organisation").order_by("organisation__name"))

    return {"site_memberships": SimpleLazyObject(memberships)}
