from django.urls import path

from opsknowledge.editing import editing_urls
from opsknowledge.pages import document_page_urls

from . import resolver, views
from .forms import PracticeForm, RunbookForm
from .models import Practice, Runbook

urlpatterns = [
    # Mounted at the site root: Prometheus rules link `runbook_url: https://<host>/r/<alert>`.
    path("r/<str:alertname>", resolver.alert_runbook, name="alert-runbook"),
    *editing_urls("runbooks", Runbook, RunbookForm, adoptable=True),
    *editing_urls("practices", Practice, PracticeForm, adoptable=True),
    *document_page_urls(
        "runbooks",
        Runbook,
        page_view=views.RunbookPageView,
        list_view=views.RunbookListView.as_view(),
        adoptable=True,
    ),
    *document_page_urls(
        "practices",
        Practice,
        page_view=views.AdoptablePageView,
        list_view=views.PracticeListView.as_view(),
        adoptable=True,
    ),
]
