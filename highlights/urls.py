"""URL routes."""

from django.contrib import admin
from django.urls import include, path

from highlights import views

handler400 = "highlights.views.bad_request"  # a BadRequest's one-line reason

urlpatterns = [
    path("admin/", admin.site.urls),
    path("api/", include("highlights.api.urls")),
    path("accounts/", include("django.contrib.auth.urls")),
    path("", views.search, name="search"),
    path("clips/<int:pk>/", views.clip_detail, name="clip"),
    path("clips/<int:pk>/review/", views.clip_review, name="clip-review"),
    path("clips/<int:pk>/thumb.jpg", views.clip_thumbnail, name="clip-thumbnail"),
    path("games/<int:pk>/", views.game_detail, name="game"),
    path("games/<int:pk>/video", views.game_video, name="game-video"),
    path("games/<int:pk>/plays/import", views.game_plays_import, name="game-plays-import"),
    path("events/<int:pk>/correct", views.event_correct, name="event-correct"),
    path("people/<int:pk>/", views.person_detail, name="person"),
    path("people/<int:pk>/photo", views.person_photo, name="person-photo"),
    path("reels/", views.reel_list, name="reels"),
    path("reels/new/", views.reel_create, name="reel-create"),
    path("reels/auto/", views.reel_auto, name="reel-auto"),
    path("reels/<int:pk>/", views.reel_editor, name="reel"),
    path("reels/<int:pk>/add/", views.reel_add, name="reel-add"),
    path("reels/<int:pk>/video.mp4", views.reel_video, name="reel-video"),
    path("r/<uuid:token>/", views.reel_shared, name="reel-shared"),
    path("jobs/", views.jobs, name="jobs"),
    path("labels/", views.labels, name="labels"),
    path("labels/train/", views.label_train, name="label-train"),
    path("labels/models/<int:pk>/", views.classifier_detail, name="highlight-model"),
    path("labels/models/<int:pk>/confusion.png", views.classifier_confusion, name="highlight-model-confusion"),
    path("labels/models/<int:pk>/publish/", views.classifier_publish, name="highlight-model-publish"),
]
