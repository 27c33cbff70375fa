from django.urls import path

from opsknowledge.views import DocumentPageView

from .models import Practice, Runbook

urlpatterns = [
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
