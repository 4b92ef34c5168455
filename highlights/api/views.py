"""DRF views: thin wrappers over ``highlights.selectors`` (reads) and ``highlights.services`` (writes).

Permissions follow ``highlights.roles``: anyone may read the archive; signed-in users manage their
own reels; editors review clips and index videos. Session-authenticated writes need a CSRF token.
"""

from __future__ import annotations

from typing import Any

from django.db.models import Count, IntegerField, OuterRef, Q, QuerySet, Subquery, Value
from django.db.models.functions import Coalesce
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import generics, mixins, permissions, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import PermissionDenied, ValidationError
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from highlights import dispatch, roles, selectors, services
from highlights.api import serializers as s
from highlights.forms import SearchForm
from highlights.models import Clip, Event, Game, IndexJob, Person, Reel, ReviewStatus
from highlights.plays import correct_event, import_play_by_play
from indexer.stages.playbyplay import PlayByPlayError
from search.query import ParsedQuery, QueryError


class IsEditorOrReadOnly(permissions.BasePermission):
    """Reads for everyone; writes for editors and admins."""

    def has_permission(self, request: Request, view: APIView) -> bool:
        return request.method in permissions.SAFE_METHODS or roles.is_editor(request.user)


class IsEditor(permissions.BasePermission):
    """Editors and admins only, reads included (job rows carry server paths and raw errors)."""

    def has_permission(self, request: Request, view: APIView) -> bool:
        return roles.is_editor(request.user)


class ReelPermission(permissions.BasePermission):
    """Signed-in users only; a reel is read by whoever may view it and changed only by its owner (or an admin)."""

    def has_permission(self, request: Request, view: APIView) -> bool:
        return bool(request.user and request.user.is_authenticated)

    def has_object_permission(self, request: Request, view: APIView, obj: Reel) -> bool:
        if request.method in permissions.SAFE_METHODS:
            return roles.can_view_reel(request.user, obj)
        only_publication = isinstance(request.data, dict) and set(request.data) == {"published"}
        if request.method == "PATCH" and only_publication and roles.can_publish_reel(request.user):
            return True  # editors publish any reel (or take it off) without editing it
        return roles.can_edit_reel(request.user, obj)


_FILTER_PARAMS = [
    OpenApiParameter("q", str, description="natural query (grammar in search/query.py)"),
    OpenApiParameter("sport", str),
    OpenApiParameter("team", str),
    OpenApiParameter("player", str),
    OpenApiParameter("action", str, description="action name of the taxonomy, or label text"),
    OpenApiParameter("game", int),
    OpenApiParameter("date_from", OpenApiTypes.DATE),
    OpenApiParameter("date_to", OpenApiTypes.DATE),
    OpenApiParameter("min_score", float, description="minimum highlight score, 0..1"),
]


_SHOWN = (
    "id", "game_id", "start_ms", "end_ms", "model_class", "action_id", "confidence", "highlight_score", "audio_energy",
    "motion", "review_status", "thumbnail", "game__sport", "game__title", "game__source_path", "action__name",
)  # fmt: skip
"""The columns of a clip, its game and its action that ``ClipSerializer`` shows, the only ones a list reads: the
embedding is 4 KB a clip, and model instances holding every column were a quarter of a page's Python (1.6 ms)."""


def search_query(request: Request) -> ParsedQuery:
    """The query a request's ``q`` and filter parameters make (``highlights.forms.SearchForm``; errors → HTTP 400)."""
    form = SearchForm(request.query_params)
    if not form.is_valid():
        errors = form.errors.get_json_data()
        raise ValidationError({field: " ".join(e["message"] for e in messages) for field, messages in errors.items()})
    return form.cleaned_data["query"]


def clips_for(request: Request, query: ParsedQuery) -> QuerySet[Clip]:
    """The clips ``query`` (:func:`search_query` of the request) selects, with the request's user's rights."""
    clips = selectors.clip_queryset(query, include_rejected=roles.is_editor(request.user)).only(*_SHOWN)
    return clips[: query.limit] if query.limit else clips


class GameViewSet(viewsets.ReadOnlyModelViewSet):
    """Indexed games, with the game-state timeline and the events read or imported for each."""

    serializer_class = s.GameSerializer
    queryset = Game.objects.all()

    @extend_schema(responses=s.GameStateSerializer(many=True))
    @action(detail=True, methods=["get"])
    def states(self, request: Request, pk: str | None = None) -> Response:
        """The game-state timeline read from the score bug: one row per change, in video time order."""
        return Response(s.GameStateSerializer(self.get_object().states.all(), many=True).data)

    @extend_schema(responses=s.EventSerializer(many=True))
    @action(detail=True, methods=["get"])
    def events(self, request: Request, pk: str | None = None) -> Response:
        """The game's events (scoring plays read from the graphics, imported plays ...), in video time order."""
        events = self.get_object().events.select_related("team", "person")
        return Response(s.EventSerializer(events, many=True).data)

    @extend_schema(
        methods=["GET"], responses=s.PlaySerializer(many=True), description="The game's plays in video time order."
    )
    @extend_schema(methods=["POST"], request=s.PlayImportSerializer, responses=s.PlayImportResultSerializer)
    @action(detail=True, methods=["get", "post"], parser_classes=[MultiPartParser, FormParser])
    def plays(self, request: Request, pk: str | None = None) -> Response:
        """GET: the plays; POST (editors): import a play-by-play file, replacing the game's play-by-play events."""
        game = self.get_object()
        if request.method == "GET":
            return Response(s.PlaySerializer(game.plays.prefetch_related("events"), many=True).data)
        if not roles.is_editor(request.user):
            raise PermissionDenied("only editors import play-by-play")
        form = s.PlayImportSerializer(data=request.data)
        form.is_valid(raise_exception=True)
        data = form.validated_data
        try:
            summary = import_play_by_play(game.pk, data["file"].read(), fmt=data["format"], offset_s=data["offset_s"])
        except PlayByPlayError as exc:
            raise ValidationError({"file": f"{data['file'].name}: {exc}"}) from exc
        return Response(summary, status=status.HTTP_201_CREATED)


class EventViewSet(mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """Events; editors correct an event's type, person or video time (PATCH), which makes its source ``editor``."""

    serializer_class = s.EventSerializer
    permission_classes = [IsEditorOrReadOnly]
    queryset = Event.objects.select_related("team", "person")

    @extend_schema(request=s.EventCorrectionSerializer, responses=s.EventSerializer)
    def partial_update(self, request: Request, pk: str | None = None) -> Response:
        form = s.EventCorrectionSerializer(data=request.data)
        form.is_valid(raise_exception=True)
        event = correct_event(self.get_object(), **form.validated_data)
        return Response(s.EventSerializer(event).data)


@extend_schema(parameters=_FILTER_PARAMS)
class ClipViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """Clips, filtered; editors relabel, verify or reject them (PATCH)."""

    serializer_class = s.ClipSerializer
    permission_classes = [IsEditorOrReadOnly]

    def get_queryset(self) -> QuerySet[Clip]:
        if self.action == "list":
            return clips_for(self.request, search_query(self.request))
        return selectors.visible_clips(include_rejected=roles.is_editor(self.request.user))

    @extend_schema(request=s.ClipReviewSerializer, responses=s.ClipSerializer)
    def partial_update(self, request: Request, pk: str | None = None) -> Response:
        clip = self.get_object()
        review = s.ClipReviewSerializer(data=request.data)
        review.is_valid(raise_exception=True)
        try:
            services.review_clip(
                clip,
                request.user,
                status=review.validated_data.get("review_status"),
                action=review.validated_data.get("action"),
            )
        except ValueError as exc:
            raise ValidationError({"action": str(exc)}) from exc
        return Response(s.ClipSerializer(clip).data)

    @extend_schema(parameters=_FILTER_PARAMS, responses=s.ClipSerializer(many=True))
    @action(detail=True, methods=["get"])
    def similar(self, request: Request, pk: str | None = None) -> Response:
        """The clips nearest to this one by embedding (FAISS), among those the search parameters select, if any."""
        filtered = any(p.name in request.query_params for p in _FILTER_PARAMS)
        nearest = selectors.nearest_clips(
            self.get_object(),
            k=12,
            include_rejected=roles.is_editor(request.user),
            within=clips_for(request, search_query(request)) if filtered else None,
        )
        return Response(s.ClipSerializer([clip for clip, _ in nearest], many=True).data)


@extend_schema(parameters=_FILTER_PARAMS, responses=s.SearchHitSerializer(many=True))
class SearchView(generics.ListAPIView):
    """Natural-language clip search: ``/api/search/?q=dunks by %2323 2026`` (plus optional filters); each hit says
    what it matched on."""

    serializer_class = s.SearchHitSerializer
    permission_classes = [permissions.AllowAny]

    def get_queryset(self) -> QuerySet[Clip]:
        self.query = search_query(self.request)
        return clips_for(self.request, self.query)

    def get_serializer_context(self) -> dict[str, Any]:
        return {**super().get_serializer_context(), "query": getattr(self, "query", None)}


class PersonViewSet(viewsets.ReadOnlyModelViewSet):
    """Named people with the number of clips they appear in (by face or named on the score bug)."""

    serializer_class = s.PersonSerializer

    def get_queryset(self) -> QuerySet[Person]:
        clips = (
            Clip.objects.filter(Q(face_tracks__person=OuterRef("pk")) | Q(appearances__person=OuterRef("pk")))
            .exclude(review_status=ReviewStatus.REJECTED)
            .order_by()
            .annotate(person=Value(1))
            .values("person")
            .annotate(n=Count("pk", distinct=True))
            .values("n")
        )
        return Person.objects.exclude(name="").annotate(
            clip_count=Coalesce(Subquery(clips, output_field=IntegerField()), 0)
        )


class ReelViewSet(viewsets.ModelViewSet):
    """Highlight reels: the user's own and published ones (editors and admins see all)."""

    serializer_class = s.ReelSerializer
    permission_classes = [ReelPermission]

    def get_queryset(self) -> QuerySet[Reel]:
        reels = Reel.objects.select_related("owner").prefetch_related("items__clip")
        if getattr(self, "swagger_fake_view", False):  # drf-spectacular reading the id's type for the schema
            return reels.none()
        if roles.is_editor(self.request.user):
            return reels
        return reels.filter(Q(owner=self.request.user) | Q(published=True))

    def _check_publish(self, data: dict[str, Any], reel: Reel | None = None) -> bool | None:
        published = data.get("published")
        changes = published is not None and published != (reel.published if reel else False)
        if changes and not roles.can_publish_reel(self.request.user):
            self.permission_denied(self.request, "only editors publish reels")
        return published

    def perform_create(self, serializer: s.ReelSerializer) -> None:
        data = serializer.validated_data
        self._check_publish(data)
        try:
            reel = services.create_reel(
                self.request.user,
                data.get("title", ""),
                s.item_specs(data.get("items", [])),
                by_editor=roles.is_editor(self.request.user),
            )
        except services.ReelError as exc:
            raise ValidationError({"items": str(exc)}) from exc
        serializer.instance = reel

    def perform_update(self, serializer: s.ReelSerializer) -> None:
        data = serializer.validated_data
        reel = serializer.instance
        published = self._check_publish(data, reel)
        items = s.item_specs(data["items"]) if "items" in data else None
        try:
            serializer.instance = services.update_reel(
                reel,
                title=data.get("title"),
                items=items,
                published=published,
                by_editor=roles.is_editor(self.request.user),
            )
        except services.ReelError as exc:
            raise ValidationError({"items": str(exc)}) from exc

    @extend_schema(request=None, responses={202: s.ReelStatusSerializer})
    @action(detail=True, methods=["post"])
    def render(self, request: Request, pk: str | None = None) -> Response:
        """Render the reel's current version (on the ``render`` queue); poll ``status`` for progress."""
        reel = self.get_object()
        try:
            reel, queued = services.request_render(reel)
        except services.ReelError as exc:
            raise ValidationError({"items": str(exc)}) from exc
        if queued:
            dispatch.render_reel(reel)
        reel.refresh_from_db()
        return Response(s.ReelStatusSerializer(reel).data, status=status.HTTP_202_ACCEPTED)

    @extend_schema(responses=s.ReelStatusSerializer)
    @action(detail=True, methods=["get"], url_path="status")
    def render_status(self, request: Request, pk: str | None = None) -> Response:
        """Render status and progress (0-100)."""
        return Response(s.ReelStatusSerializer(self.get_object()).data)

    @extend_schema(request=s.CondensedReelSerializer, responses={201: s.ReelSerializer})
    @action(detail=False, methods=["post"])
    def condensed(self, request: Request) -> Response:
        """A condensed game: every action segment in order, dead time cut."""
        form = s.CondensedReelSerializer(data=request.data)
        form.is_valid(raise_exception=True)
        try:
            reel = services.create_condensed_reel(request.user, form.validated_data["game"])
        except services.ReelError as exc:
            raise ValidationError({"game": str(exc)}) from exc
        return Response(s.ReelSerializer(reel).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=s.QueryReelSerializer, responses={201: s.ReelSerializer})
    @action(detail=False, methods=["post"], url_path="from-search")
    def from_search(self, request: Request) -> Response:
        """A reel of a search's results ("top 5 dunks", "Ortiz home runs last 10")."""
        form = s.QueryReelSerializer(data=request.data)
        form.is_valid(raise_exception=True)
        try:
            reel = services.create_query_reel(
                request.user, form.validated_data["q"], replays=form.validated_data["replays"]
            )
        except (services.ReelError, QueryError) as exc:
            raise ValidationError({"q": str(exc)}) from exc
        return Response(s.ReelSerializer(reel).data, status=status.HTTP_201_CREATED)


class JobViewSet(mixins.CreateModelMixin, viewsets.ReadOnlyModelViewSet):
    """Indexing jobs, for editors only; they request new ones for files in the archive roots."""

    serializer_class = s.IndexJobSerializer
    permission_classes = [IsEditor]
    queryset = IndexJob.objects.select_related("game")

    @extend_schema(request=s.IndexRequestSerializer, responses={201: s.IndexJobSerializer})
    def create(self, request: Request) -> Response:
        form = s.IndexRequestSerializer(data=request.data)
        form.is_valid(raise_exception=True)
        data = dict(form.validated_data)
        try:
            path = services.ingest_path(data.pop("path"))
        except services.IngestError as exc:
            raise ValidationError({"path": str(exc)}) from exc
        job = services.create_index_job(path, **data)
        dispatch.index_job(job)
        job.refresh_from_db()
        return Response(s.IndexJobSerializer(job).data, status=status.HTTP_201_CREATED)
