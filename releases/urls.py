from django.urls import path

from . import views
from .feeds import ReleaseNoteFeed

urlpatterns = [
    path("feeds/releases.atom", ReleaseNoteFeed(), name="feed-releases"),
    path("releases/", views.ReleaseIndexView.as_view(), name="release-list"),
    path("releases/<slug:slug>/", views.ReleasePageView.as_view(), name="release-page"),
    path("upgrade/", views.UpgradeBriefingView.as_view(), name="upgrade-briefing"),
]
