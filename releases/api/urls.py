from django.urls import path

from .views import ReleaseNoteListView, UpgradePathView

urlpatterns = [
    # Beside the catalogue's release routes (its detail route does not match /notes/).
    path("releases/<slug:slug>/notes/", ReleaseNoteListView.as_view(), name="release-notes"),
    path("upgrade-path/", UpgradePathView.as_view(), name="upgrade-path"),
]
