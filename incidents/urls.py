from django.urls import path

from opsknowledge.editing import editing_urls
from opsknowledge.pages import document_page_urls

from . import views
from .forms import FailureReportForm
from .models import FailureReport

urlpatterns = [
    *editing_urls("incidents", FailureReport, FailureReportForm),
    *document_page_urls(
        "incidents",
        FailureReport,
        page_view=views.IncidentPageView,
        list_view=views.IncidentListView.as_view(),
    ),
    path(
        "organisations/<slug:slug>/transparency/",
        views.TransparencyPageView.as_view(),
        name="transparency-page",
    ),
    path(
        "incidents/<slug:organisation>/<slug:slug>/status-page/<int:record_id>/apply/",
        views.apply_status_page_updates,
        name="incident-apply-status-page",
    ),
    path(
        "incidents/<slug:organisation>/<slug:slug>/action-items/<int:item_id>/status/",
        views.action_item_status,
        name="incident-action-item-status",
    ),
]
