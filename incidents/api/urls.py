from django.urls import path

from opsknowledge.api.documents import document_urlpatterns

from .views import FailureReportViewSet, TransparencyView

urlpatterns = document_urlpatterns("incidents", FailureReportViewSet) + [
    path(
        "incidents/<slug:organisation>/<slug:slug>/action-items/<int:item_id>/",
        FailureReportViewSet.as_view({"patch": "action_item"}),
        name="incident-action-item",
    ),
]
urlpatterns += [
    path(
        "organisations/<slug:organisation>/transparency/",
        TransparencyView.as_view(),
        name="transparency",
    )
]
