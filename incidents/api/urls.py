from django.urls import path

from opsknowledge.api.documents import document_urlpatterns

from .views import FailureReportViewSet, TransparencyView

urlpatterns = document_urlpatterns("incidents", FailureReportViewSet)
urlpatterns += [
    path(
        "organisations/<slug:organisation>/transparency/",
        TransparencyView.as_view(),
        name="transparency",
    )
]
