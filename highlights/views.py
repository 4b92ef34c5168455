"""HTML pages: thin views over ``highlights.selectors`` (reads) and ``highlights.services`` (writes).

Permissions follow ``highlights.roles``, as in the API; every POST needs Django's CSRF token.
Request values are cleaned by ``highlights.forms``: bad input answers 400 with one line (``bad_request``);
every HTML fragment is rendered from a template, so user text is escaped.
"""

from __future__ import annotations

from pathlib import Path

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import BadRequest, PermissionDenied
from django.db.models import Count, Q
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from highlights import charts, dispatch, forms, learning, plots, roles, selectors, services, uploads
from highlights.http import ranged_file_response
from highlights.models import (
    Action,
    ActionClassifier,
    Clip,
    Event,
    Game,
    IndexJob,
    Person,
    Play,
    PlayShot,
    Reel,
    ReviewStatus,
    Sport,
    TrainingJob,
)
from highlights.pagination import CappedPaginator
from highlights.plays import correct_event, import_play_by_play, play_people
from indexer.stages.playbyplay import FORMATS, PlayByPlayError
from search.query import QueryError

CURRENT_REEL = "current_reel"  # session key: the reel "Add to reel" buttons add to


def bad_request(request: HttpRequest, exception: Exception) -> HttpResponse:
    """Django's ``handler400``: the one-line reason a ``BadRequest`` carries (a fragment for htmx)."""
    error = str(exception) if isinstance(exception, BadRequest) else "bad request"
    template = "highlights/_error.html" if request.headers.get("HX-Request") else "highlights/400.html"
    return render(request, template, {"error": error}, status=400)


def _next_url(request: HttpRequest) -> str | None:
    """The POST's ``next`` field, where to go afterwards: a path on this site, or None when not given.

    Raises:
        BadRequest: ``next`` is not a path on this site (``foo``, ``https://evil.example/``, ``//evil.example``).
    """
    target = request.POST.get("next", "")
    if not target:
        return None
    if not target.startswith("/") or not url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        raise BadRequest("next: not a path on this site")
    return target


def _current_reel(request: HttpRequest) -> Reel | None:
    if not request.user.is_authenticated or not request.session.get(CURRENT_REEL):
        return None
    return Reel.objects.filter(pk=request.session[CURRENT_REEL], owner=request.user).first()


@require_GET
def search(request: HttpRequest) -> HttpResponse:
    """One query box plus filters; results as a thumbnail grid, 24 a page (the grid alone for htmx)."""
    text = request.GET.get("q", "")
    form = forms.SearchForm(request.GET)
    if form.is_valid():
        query, error = form.cleaned_data["query"], ""
        clips = selectors.clip_queryset(query, include_rejected=roles.is_editor(request.user)).prefetch_related(
            "face_tracks__person"
        )
        if query.limit:
            clips = clips[: query.limit]
    else:
        query, clips, error = None, Clip.objects.none(), forms.first_error(form)
    page = CappedPaginator(clips, settings.REST_FRAMEWORK["PAGE_SIZE"]).get_page(request.GET.get("page"))
    page.object_list = selectors.attach_graphics(page.object_list)
    context = {
        "q": text,
        "query": query,
        "error": error,
        "page": page,
        "filters": request.GET,
        "sports": Sport.choices,
        "actions": Action.objects.values_list("name", flat=True).distinct().order_by("name"),
        "current_reel": _current_reel(request),
        "querystring": request.GET.copy(),
    }
    template = "highlights/_results.html" if request.headers.get("HX-Request") else "highlights/search.html"
    return render(request, template, context, status=400 if error else 200)


@require_GET
def clip_detail(request: HttpRequest, pk: int) -> HttpResponse:
    """The clip in the player (range requests), its labels with confidences, players and similar clips."""
    editor = roles.is_editor(request.user)
    clip = get_object_or_404(selectors.visible_clips(include_rejected=editor), pk=pk)
    similar = selectors.nearest_clips(clip, k=8, include_rejected=editor)
    players = Person.objects.filter(Q(face_tracks__clip=clip) | Q(appearances__clip=clip)).exclude(name="").distinct()
    (clip,) = selectors.attach_graphics([clip])
    play = Play.objects.filter(game=clip.game_id, start_ms__lte=clip.start_ms, end_ms__gt=clip.start_ms).first()
    replays = (
        Clip.objects.filter(shot__play_shots__play=play, shot__play_shots__role=PlayShot.Role.REPLAY).exclude(
            pk=clip.pk
        )
        if play
        else Clip.objects.none()
    )
    roles_here = PlayShot.objects.filter(play=play, shot=clip.shot_id) if play else PlayShot.objects.none()
    role = roles_here.values_list("role", flat=True).first()
    return render(
        request,
        "highlights/clip.html",
        {
            "clip": clip,
            "predictions": clip.predictions.all(),
            "players": players,
            "similar": selectors.attach_graphics(near for near, _ in similar),
            "events": clip.events.select_related("team", "person"),
            "play": play,
            "shot_role": role,
            "replays": replays,
            "actions": Action.objects.filter(sport=clip.game.sport),
            "is_editor": editor,
            "reels": Reel.objects.filter(owner=request.user) if request.user.is_authenticated else [],
            "current_reel": _current_reel(request),
        },
    )


@require_POST
def clip_review(request: HttpRequest, pk: int) -> HttpResponse:
    """Editors relabel, verify or reject a clip."""
    if not roles.is_editor(request.user):
        raise PermissionDenied("only editors review clips")
    clip = get_object_or_404(Clip.objects.select_related("game"), pk=pk)
    review = forms.cleaned(forms.ReviewForm(request.POST))
    try:
        services.review_clip(clip, request.user, status=review["review_status"] or None, action=review["action"])
    except ValueError as exc:
        messages.error(request, str(exc))
    return redirect("clip", pk=pk)


@require_POST
def event_correct(request: HttpRequest, pk: int) -> HttpResponse:
    """Editors correct an event's type, person (the form's ``player``: an existing person's name) or video time (s).

    The event's source becomes ``editor``.
    """
    if not roles.is_editor(request.user):
        raise PermissionDenied("only editors correct events")
    event = get_object_or_404(Event, pk=pk)
    changes: dict[str, object] = {}
    try:
        if kind := request.POST.get("type", "").strip():
            changes["type"] = kind
        if name := request.POST.get("player", "").strip():
            person = Person.objects.filter(name__iexact=name).first()
            if person is None:
                raise ValueError(f"no person named {name!r}")
            changes["person"] = person
        if at := request.POST.get("time_s", "").strip():
            changes["time_ms"] = max(round(float(at) * 1000), 0)
    except ValueError as exc:
        messages.error(request, str(exc))
    else:
        correct_event(event, **changes)
    return redirect(request.POST.get("next") or reverse("game", args=[event.game_id]))


@require_GET
def clip_thumbnail(request: HttpRequest, pk: int) -> HttpResponse:
    clip = get_object_or_404(selectors.visible_clips(include_rejected=roles.is_editor(request.user)), pk=pk)
    if not clip.thumbnail:
        raise Http404("no thumbnail")
    return ranged_file_response(request, Path(settings.MEDIA_ROOT) / clip.thumbnail.name)


@require_GET
def game_video(request: HttpRequest, pk: int) -> HttpResponse:
    """The original video file, with range requests so the player seeks at once."""
    game = get_object_or_404(Game, pk=pk)
    path = Path(game.source_path)
    if not path.is_file():
        raise Http404("video file missing")
    return ranged_file_response(request, path)


@require_GET
def game_detail(request: HttpRequest, pk: int) -> HttpResponse:
    """The game's video with its highlight-score curve and clip markers; clicking seeks."""
    game = get_object_or_404(Game, pk=pk)
    clips = list(
        game.clips.select_related("game", "action")
        .prefetch_related("face_tracks__person")
        .exclude(review_status=ReviewStatus.REJECTED)
    )
    duration_ms = max(int((game.duration_s or max((c.end_ms for c in clips), default=1) / 1000) * 1000), 1)
    spans = [charts.Span(c.pk, c.start_ms, c.end_ms, c.highlight_score, str(c.action or c.model_class)) for c in clips]
    states = [
        charts.StateSpan(
            s.time_ms, charts.score_line(s.side_a, s.score_a, s.score_b, s.side_b, s.period, s.half, s.clock_s)
        )
        for s in game.states.all()
    ]
    events = [
        (e.time_ms, f"{e.type} {e.score_a}–{e.score_b}", e.clip.start_ms if e.clip else e.time_ms)
        for e in game.events.filter(time_ms__isnull=False).select_related("clip")
    ]
    plays = list(game.plays.select_related("clip").prefetch_related("events__person", "play_shots__shot"))
    bands = []
    for play in plays:
        play.players = list(play_people(play).exclude(name=""))
        play.replay_count = sum(ps.role == PlayShot.Role.REPLAY for ps in play.play_shots.all())
        said = [f"{e.type}{' · ' + e.person.name if e.person else ''}" for e in play.events.all()]
        label = " · ".join([f"play #{play.index}", *said, *(p.name for p in play.players)])
        shots = [(ps.shot.start_ms, ps.shot.end_ms, ps.role) for ps in play.play_shots.all()]
        bands.append(charts.PlaySpan(play.start_ms, play.end_ms, f"{label} · {play.replay_count} replays", shots))
    return render(
        request,
        "highlights/game.html",
        {
            "game": game,
            "plays": plays,
            "is_editor": roles.is_editor(request.user),
            "formats": ("auto", *FORMATS),
            "clips": selectors.attach_graphics(clips),
            "timeline": charts.timeline(duration_ms, spans),
            "scores": charts.score_segments(duration_ms, states),
            "events": charts.event_marks(duration_ms, events),
            "playline": charts.play_bands(duration_ms, bands),
            "chart": charts,
        },
    )


@require_POST
def game_plays_import(request: HttpRequest, pk: int) -> HttpResponse:
    """Editors upload a play-by-play file for a game: its events replace the game's earlier imported ones."""
    if not roles.is_editor(request.user):
        raise PermissionDenied("only editors import play-by-play")
    game = get_object_or_404(Game, pk=pk)
    upload = request.FILES.get("file")
    try:
        offset = request.POST.get("offset_s", "").strip()
        offset_s = float(offset) if offset else None
        if upload is None:
            raise PlayByPlayError("choose a play-by-play file")
        fmt = request.POST.get("format") or "auto"
        summary = import_play_by_play(game.pk, upload.read(), fmt=fmt, offset_s=offset_s)
    except (PlayByPlayError, ValueError) as exc:
        messages.error(request, f"{upload.name + ': ' if upload else ''}{exc}")
        return redirect("game", pk=pk)
    messages.success(
        request,
        f"{summary['events']} events imported: {summary['aligned']} placed on the video, {summary['unaligned']} not",
    )
    return redirect("game", pk=pk)


@require_GET
def person_detail(request: HttpRequest, pk: int) -> HttpResponse:
    """A person's photo, team and clips."""
    person = get_object_or_404(Person, pk=pk)
    clips = selectors.attach_graphics(
        selectors.visible_clips()
        .filter(Q(face_tracks__person=person) | Q(appearances__person=person))
        .prefetch_related("face_tracks__person")
        .distinct()
        .order_by("-highlight_score")
    )
    photo = person.photos.exclude(image="").first()
    return render(request, "highlights/person.html", {"person": person, "clips": clips, "photo": photo})


@require_GET
def person_photo(request: HttpRequest, pk: int) -> HttpResponse:
    person = get_object_or_404(Person, pk=pk)
    photo = person.photos.exclude(image="").first()
    if photo is None:
        raise Http404("no photo")
    return ranged_file_response(request, Path(settings.MEDIA_ROOT) / photo.image.name)


# --- reels -------------------------------------------------------------------------------------


def _own_reel(request: HttpRequest, pk: int) -> Reel:
    reel = get_object_or_404(Reel, pk=pk)
    if not roles.can_edit_reel(request.user, reel):
        raise PermissionDenied("not your reel")
    return reel


@login_required
@require_GET
def reel_list(request: HttpRequest) -> HttpResponse:
    """The user's reels, then published ones."""
    mine = Reel.objects.filter(owner=request.user).annotate(n=Count("items"))
    published = Reel.objects.filter(published=True).exclude(owner=request.user).annotate(n=Count("items"))
    return render(request, "highlights/reels.html", {"mine": mine, "published": published})


@login_required
@require_POST
def reel_create(request: HttpRequest) -> HttpResponse:
    """A new reel, optionally with a first clip; it becomes the reel "Add to reel" buttons fill."""
    data, next_url = forms.cleaned(forms.ReelCreateForm(request.POST)), _next_url(request)
    items = [services.ItemSpec(data["clip"])] if data["clip"] else []
    try:
        editor = roles.is_editor(request.user)
        reel = services.create_reel(request.user, data["title"], items, by_editor=editor)
    except services.ReelError as exc:
        messages.error(request, str(exc))
        return redirect("reels")
    request.session[CURRENT_REEL] = reel.pk
    return redirect(next_url or reverse("reel", args=[reel.pk]))


@login_required
@require_POST
def reel_add(request: HttpRequest, pk: int) -> HttpResponse:
    """Append a clip (whole) to a reel; answers a small fragment to htmx, else redirects back."""
    reel = _own_reel(request, pk)
    editor = roles.is_editor(request.user)
    data, next_url = forms.cleaned(forms.ReelAddForm(request.POST)), _next_url(request)
    clip = get_object_or_404(selectors.visible_clips(include_rejected=editor), pk=data["clip"])
    items = [services.ItemSpec(i.clip_id, i.trim_in_ms, i.trim_out_ms) for i in reel.items.all()]
    try:
        services.update_reel(reel, items=[*items, services.ItemSpec(clip.pk)], by_editor=editor)
    except services.ReelError as exc:
        raise BadRequest(str(exc)) from exc
    request.session[CURRENT_REEL] = reel.pk
    if request.headers.get("HX-Request"):
        return render(request, "highlights/_added_to_reel.html", {"reel": reel})
    messages.success(request, f"Added to “{reel.title}”")
    return redirect(next_url or reverse("reel", args=[reel.pk]))


@login_required
@require_POST
def reel_auto(request: HttpRequest) -> HttpResponse:
    """One-click auto reels: a condensed game (``game``) or a search's results (``q``)."""
    data, next_url = forms.cleaned(forms.AutoReelForm(request.POST)), _next_url(request)
    try:
        if data["game"]:
            reel = services.create_condensed_reel(request.user, get_object_or_404(Game, pk=data["game"]))
        else:
            reel = services.create_query_reel(request.user, data["q"], replays=request.POST.get("replays") == "1")
    except QueryError as exc:
        raise BadRequest(f"q: {exc}") from exc
    except services.ReelError as exc:
        messages.error(request, str(exc))
        return redirect(next_url or "search")
    request.session[CURRENT_REEL] = reel.pk
    return redirect("reel", pk=reel.pk)


@login_required
@require_GET
def reel_editor(request: HttpRequest, pk: int) -> HttpResponse:
    """The reel editor: drag-and-drop order, trim in/out, title, render with live progress, play, download, share."""
    reel = get_object_or_404(Reel.objects.select_related("owner"), pk=pk)
    if not roles.can_view_reel(request.user, reel):
        raise PermissionDenied("not your reel")
    editable = roles.can_edit_reel(request.user, reel)
    if editable:
        request.session[CURRENT_REEL] = reel.pk
    items = reel.items.select_related("clip__game", "clip__action")
    return render(
        request,
        "highlights/reel.html",
        {"reel": reel, "items": items, "editable": editable, "can_publish": roles.can_publish_reel(request.user)},
    )


@require_GET
def reel_video(request: HttpRequest, pk: int) -> HttpResponse:
    """The rendered MP4 (range requests; ``?download=1`` saves it). Shared by the owner, editors, or when published."""
    reel = get_object_or_404(Reel, pk=pk)
    if not roles.can_view_reel(request.user, reel) and request.GET.get("token") != str(reel.share_token):
        raise PermissionDenied("not your reel")
    if not reel.is_rendered:
        raise Http404("not rendered")
    download = f"{reel.title[:60] or 'reel'}.mp4" if request.GET.get("download") else None
    return ranged_file_response(request, Path(settings.MEDIA_ROOT) / reel.video.name, download_name=download)


@require_GET
def reel_shared(request: HttpRequest, token: str) -> HttpResponse:
    """A reel's share link: anyone holding it can watch."""
    reel = get_object_or_404(Reel, share_token=token)
    return render(request, "highlights/reel_shared.html", {"reel": reel, "items": reel.items.select_related("clip")})


# --- jobs --------------------------------------------------------------------------------------


@login_required
@require_http_methods(["GET", "POST"])
def jobs(request: HttpRequest) -> HttpResponse:
    """Editors only: IndexJob progress, stages and errors (the table alone for htmx polling); index new videos."""
    if not roles.is_editor(request.user):
        raise PermissionDenied("only editors see and start indexing jobs")
    if request.method == "POST":
        facts = forms.cleaned(forms.IndexForm(request.POST, request.FILES))
        fields = {name: facts[name] for name in ("sport", "title", "home_team", "away_team")}
        upload = request.FILES.get("video")
        try:
            uploads.refuse_if_over_limit(request)
            if upload is None:
                dispatch.index_job(services.create_index_job(services.ingest_path(facts["path"]), **fields))
            elif (indexed := uploads.index_upload(upload, **fields)).reused:
                messages.info(request, f"{upload.name} is already indexed or queued (job {indexed.job.pk})")
            else:
                dispatch.index_job(indexed.job)
        except uploads.UploadError as exc:
            messages.error(request, str(exc))
            return _jobs_page(request, status=exc.status)
        except services.IngestError as exc:
            messages.error(request, str(exc))
        return redirect("jobs")
    return _jobs_page(request)


def _jobs_page(request: HttpRequest, status: int = 200) -> HttpResponse:
    rows = IndexJob.objects.select_related("game").order_by("-created_at")[:100]
    context = {"jobs": rows, "sports": Sport.choices}
    counts = IndexJob.objects.aggregate(
        running=Count("pk", filter=Q(status=IndexJob.Status.RUNNING)),
        queued=Count("pk", filter=Q(status=IndexJob.Status.QUEUED)),
        failed=Count("pk", filter=Q(status=IndexJob.Status.FAILED)),
    )
    context["counts"] = counts
    template = "highlights/_jobs_table.html" if request.headers.get("HX-Request") else "highlights/jobs.html"
    return render(request, template, context, status=status)


# --- editors' actions ----------------------------------------------------------------------


def _require_editor(request: HttpRequest) -> None:
    if not roles.is_editor(request.user):
        raise PermissionDenied("only editors define labels and train models")


@require_http_methods(["GET", "POST"])
def labels(request: HttpRequest) -> HttpResponse:
    """The taxonomy with verified-clip counts, training jobs, the registered learned models; define and train.

    An htmx request gets the training-jobs table alone (it polls while a job is queued or running).
    """
    _require_editor(request)
    if request.method == "POST":
        data = forms.cleaned(forms.LabelForm(request.POST))
        try:
            label = learning.define_action(data["sport"], data["name"])
            messages.success(request, f"Defined {label}: verify or relabel clips with it on their clip pages")
        except learning.LearningError as exc:
            messages.error(request, str(exc))
        return redirect("labels")
    trainings = TrainingJob.objects.select_related("model")[:20]
    polling = any(not job.is_finished for job in trainings)
    if request.headers.get("HX-Request"):
        return render(request, "highlights/_training_jobs.html", {"trainings": trainings, "polling": polling})
    taxonomy = Action.objects.annotate(
        verified=Count("clips", filter=Q(clips__review_status=ReviewStatus.VERIFIED))
    ).order_by("sport", "name")
    context = {
        "taxonomy": taxonomy,
        "trainings": trainings,
        "polling": polling,
        "models": ActionClassifier.objects.order_by("action_set", "-version"),
        "sports": Sport.choices,
        "kinds": ActionClassifier.Kind.choices,
    }
    return render(request, "highlights/labels.html", context)


@require_POST
def label_train(request: HttpRequest) -> HttpResponse:
    """Queue a training job for the chosen labels (a worker trains, registers and activates the model)."""
    _require_editor(request)
    data = forms.cleaned(forms.TrainForm(request.POST))
    try:
        job = learning.request_training(data["labels"], data["kind"] or ActionClassifier.Kind.HEAD, user=request.user)
    except learning.LearningError as exc:
        messages.error(request, str(exc))
        return redirect("labels")
    dispatch.send_training(job)
    messages.success(request, f"Queued the training of {job.action_set} ({job.get_kind_display()})")
    return redirect(reverse("labels") + "#training")


@require_GET
def classifier_detail(request: HttpRequest, pk: int) -> HttpResponse:
    """A registered model: per-class precision/recall/F1, its confusion matrix, training clips; Publish."""
    _require_editor(request)
    model = get_object_or_404(ActionClassifier, pk=pk)
    clips = model.training_clips.select_related("game", "action").order_by("action__name", "pk")
    others = ActionClassifier.objects.filter(action_set=model.action_set).exclude(pk=model.pk).order_by("-version")
    return render(
        request,
        "highlights/classifier.html",
        {"model": model, "metrics": model.metrics, "clips": clips, "others": others},
    )


@require_GET
def classifier_confusion(request: HttpRequest, pk: int) -> HttpResponse:
    """The model's stored confusion matrix as a PNG (drawn once into MEDIA_ROOT)."""
    _require_editor(request)
    model = get_object_or_404(ActionClassifier, pk=pk)
    path = Path(settings.MEDIA_ROOT) / "models" / f"{model.pk}-{model.sha256[:16]}-confusion.png"
    if not path.is_file():
        try:
            plots.confusion_matrix_png(learning.stored_evaluation(model), path)
        except learning.LearningError as exc:
            raise Http404(str(exc)) from exc
    return FileResponse(path.open("rb"), content_type="image/png")


@require_POST
def classifier_publish(request: HttpRequest, pk: int) -> HttpResponse:
    """Make this version the active one of its action set (a head is applied to the archive, so its labels search)."""
    _require_editor(request)
    activation = learning.activate(get_object_or_404(ActionClassifier, pk=pk))
    dispatch.send_labelling(activation.labelling)
    model = activation.model
    messages.success(request, f"Published {model}")
    return redirect("highlight-model", pk=model.pk)
