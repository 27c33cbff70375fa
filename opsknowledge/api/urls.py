from django.urls import path
from rest_framework.routers import SimpleRouter

from . import views
from .search import SearchView

router = SimpleRouter()
router.register("organisations", views.OrganisationViewSet)
router.register("components", views.ComponentViewSet)
router.register("releases", views.ReleaseViewSet)

urlpatterns = [path("search/", SearchView.as_view(), name="search"), *router.urls]
