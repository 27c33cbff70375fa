from opsknowledge.api.documents import document_urlpatterns

from .views import PracticeViewSet, RunbookViewSet

urlpatterns = document_urlpatterns("runbooks", RunbookViewSet, adoptable=True)
urlpatterns += document_urlpatterns("practices", PracticeViewSet, adoptable=True)
