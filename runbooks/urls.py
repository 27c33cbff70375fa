from django.urls import path

from opsknowledge.views import DocumentPageView

from . import resolver
from .models import Practice, Runbook

urlpatterns = [
    # Mounted at the site root: Prometheus rules link `runbook_url: https://<host>/r/<alert>`.
    path("r/<str:alertname>", resolver.alert_runbook, name="alert-runbook"),
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
