from django.urls import path

from opsknowledge.views import DocumentPageView

from .models import FailureReport

urlpatterns = [
    path(
        "incidents/<slug:organisation>/<slug:slug>/",
        DocumentPageView.as_view(model=FailureReport),
        name="incident-page",
    ),
]
