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
]
