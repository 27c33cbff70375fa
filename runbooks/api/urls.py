from django.urls import path

from opsknowledge.api.documents import document_urlpatterns

from .imports import ImportView
from .views import PracticeViewSet, RunbookViewSet

urlpatterns = document_urlpatterns("runbooks", RunbookViewSet, adoptable=True)
urlpatterns += document_urlpatterns("practices", PracticeViewSet, adoptable=True)
urlpatterns += [path("import/", ImportView.as_view(), name="import")]
