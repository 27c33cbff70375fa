from django.urls import path

from .feeds import ReleaseNoteFeed

urlpatterns = [
    path("feeds/releases.atom", ReleaseNoteFeed(), name="feed-releases"),
]
