"""API routes under ``/api/`` (DRF's browsable root lists them); the OpenAPI schema at ``/api/schema/``."""

from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView
from rest_framework.routers import DefaultRouter

from highlights.api import views

router = DefaultRouter()
router.register("games", views.GameViewSet, basename="api-game")
router.register("clips", views.ClipViewSet, basename="api-clip")
router.register("events", views.EventViewSet, basename="api-event")
router.register("people", views.PersonViewSet, basename="api-person")
router.register("reels", views.ReelViewSet, basename="api-reel")
router.register("jobs", views.JobViewSet, basename="api-job")

urlpatterns = [
    path("search/", views.SearchView.as_view(), name="api-search"),
    path("schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path("", include(router.urls)),
]
