from rest_framework.routers import SimpleRouter

from . import views

router = SimpleRouter()
router.register("organisations", views.OrganisationViewSet)
router.register("components", views.ComponentViewSet)
router.register("releases", views.ReleaseViewSet)

urlpatterns = router.urls
