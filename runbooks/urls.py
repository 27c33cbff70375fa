from django.urls import path

from opsknowledge.views import DocumentPageView

from . import resolver, views
from .models import Practice, Runbook

urlpatterns = [
    # Mounted at the site root: Prometheus rules link `runbook_url: https://<host>/r/<alert>`.
    path("r/<str:alertname>", resolver.alert_runbook, name="alert-runbook"),
    path("search/", views.search, name="search"),
    path(
        "runbooks/<slug:organisation>/<slug:slug>/",
        DocumentPageView.as_view(model=Runbook),
        name="runbook-page",
    ),
    path(
        "practices/<slug:organisation>/<slug:slug>/",
        DocumentPageView.as_view(model=Practice),
        name="practice-page",
    ),
]
