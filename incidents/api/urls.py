from opsknowledge.api.documents import document_urlpatterns

from .views import FailureReportViewSet

urlpatterns = document_urlpatterns("incidents", FailureReportViewSet)
