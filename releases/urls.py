from django.urls import path

from .feeds import ReleaseNoteFeed
from .views import ReleasePageView

urlpatterns = [
    path("feeds/releases.atom", ReleaseNoteFeed(), name="feed-releases"),
    path("releases/<slug:slug>/", ReleasePageView.as_view(), name="release-page"),
]
