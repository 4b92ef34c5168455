"""Write side for players and faces: enrolment, identification, clustering, and editors' corrections.

The promises editors rely on (the usual complaints about people pages):

* an editor's decision is never undone by the system: tracks an editor named, merged, split or
  moved carry ``source = editor`` and neither identification nor clustering moves them;
* "not this person" sticks: the player is added to the track's ``rejected_players``, and both
  identification and clustering leave rejected players out for that track forever;
* one person is never tagged twice in the same frame: two tracks of one game that overlap in time
  never end with the same player (identification keeps the closer one; clustering treats them as
  cannot-link; merging two people seen together is refused);
* naming a few faces makes the rest follow: a named player's editor-confirmed tracks become
  references for identification, like enrolled photos.

Identification (dlib's protocol): a face track goes to the nearest named player when the Euclidean
distance to that player's nearest reference is under ``HL_FACE_MATCH_THRESHOLD`` (0.6) and the
second-nearest player is at least ``HL_FACE_MATCH_MARGIN`` farther; otherwise it stays unknown and
clustering groups it with similar unknown tracks into unnamed people editors can name.

Writers of the face indexes (``indexer.index_writer``) and of people hold one PostgreSQL advisory
lock (``LockKey.PEOPLE``).
"""

from __future__ import annotations

import logging
import shutil
from collections import defaultdict
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from django.conf import settings
from django.db.models import Q

from highlights.locks import LockKey, advisory_lock
from highlights.models import Assignment, Event, FaceTrack, Player, PlayerAppearance, PlayerPhoto
from indexer import index_writer, runtime
from ml.faces import euclidean, load_image
from ml.files import atomic_write
from search.faces import face_track_index, player_photo_index
from search.identities import choose_player, cluster_tracks, overlapping_pairs

logger = logging.getLogger(__name__)

_PHOTO_CANDIDATES = 32  # reference photos proposed by FAISS per query
_TRACK_CANDIDATES = 64  # face tracks proposed by FAISS per query


class PeopleError(ValueError):
    """A request about players or faces cannot be carried out (no face in a photo, unknown id, conflict)."""


@dataclass(frozen=True)
class ClusterResult:
    """What one clustering pass changed."""

    tracks_moved: int
    people_created: int
    people_removed: int


@contextmanager
def people_lock() -> Iterator[None]:
    """Open a transaction holding the people writers' advisory lock (released at commit or rollback)."""
    with advisory_lock(LockKey.PEOPLE):
        yield


# --- identification -----------------------------------------------------------------------------


def nearest_players(vector: np.ndarray, *, exclude: Iterable[int] = ()) -> list[tuple[int, float]]:
    """Named players nearest to a face descriptor, nearest first, one entry per player.

    FAISS proposes candidate references (enrolled photos; editor-confirmed tracks of named players);
    the distances returned are exact Euclidean distances between the raw descriptors.

    Args:
        vector: ``(128,)`` float32 dlib descriptor.
        exclude: player ids to leave out (the track's rejected players).

    Returns:
        ``[(player id, distance to that player's nearest reference), ...]``.
    """
    excluded = set(exclude)
    photo_ids = [pk for pk, _ in player_photo_index().search(vector, _PHOTO_CANDIDATES)]
    track_ids = [pk for pk, _ in face_track_index().search(vector, _TRACK_CANDIDATES)]
    references: list[PlayerPhoto | FaceTrack] = list(
        PlayerPhoto.objects.filter(pk__in=photo_ids).exclude(player__name="").only("player_id", "embedding")
    )
    references += list(
        FaceTrack.objects.filter(pk__in=track_ids, source=Assignment.EDITOR, player__isnull=False)
        .exclude(player__name="")
        .only("player_id", "embedding")
    )
    references = [r for r in references if r.player_id not in excluded]
    if not references:
        return []
    distances = euclidean(vector, np.stack([r.embedding_vector() for r in references]))[0]
    best: dict[int, float] = {}
    for pid, d in zip((r.player_id for r in references), distances.tolist(), strict=True):
        best[pid] = min(best.get(pid, np.inf), d)
    return sorted(best.items(), key=lambda item: item[1])


def identify_vector(vector: np.ndarray, *, exclude: Iterable[int] = ()) -> tuple[int, float] | None:
    """``(player id, distance)`` of the named player a descriptor belongs to, or ``None`` (unknown)."""
    return choose_player(
        nearest_players(vector, exclude=exclude),
        threshold=settings.HL_FACE_MATCH_THRESHOLD,
        margin=settings.HL_FACE_MATCH_MARGIN,
    )


def _assign(track: FaceTrack, player_id: int, distance: float | None, source: str) -> bool:
    """Give ``track`` to a player unless that would tag the player twice in the same frames.

    A co-occurring track already with the player wins if an editor put it there or it is closer;
    otherwise it is returned to unknown and ``track`` takes its place.
    """
    rivals = FaceTrack.objects.filter(
        game_id=track.game_id, player_id=player_id, start_ms__lte=track.end_ms, end_ms__gte=track.start_ms
    ).exclude(pk=track.pk)
    for rival in rivals:
        if rival.source == Assignment.EDITOR:
            return False
        closer = rival.source == Assignment.AUTO and (distance is None or (rival.distance or 0.0) <= distance)
        if source != Assignment.EDITOR and closer:
            return False
    rivals.update(player=None, source="", distance=None)
    FaceTrack.objects.filter(pk=track.pk).update(player_id=player_id, source=source, distance=distance)
    return True


def identify_tracks(tracks: Iterable[int] | None = None) -> int:
    """Identify unknown and clustered tracks against the named players (editors' tracks are left alone).

    Args:
        tracks: track ids to consider (``None``: every track not placed by an editor or identification).

    Returns:
        How many tracks were given to a named player.
    """
    queryset = FaceTrack.objects.filter(Q(player__isnull=True) | Q(source=Assignment.CLUSTER))
    if tracks is not None:
        queryset = queryset.filter(pk__in=list(tracks))
    rejected = _rejections(queryset.values_list("pk", flat=True))
    assigned = 0
    with people_lock():
        for track in queryset.order_by("pk"):
            match = identify_vector(track.embedding_vector(), exclude=rejected.get(track.pk, ()))
            if match is not None and match[0] != track.player_id and _assign(track, *match, Assignment.AUTO):
                assigned += 1
    return assigned


def _rejections(track_ids: Iterable[int]) -> dict[int, set[int]]:
    through = FaceTrack.rejected_players.through
    rejected: dict[int, set[int]] = defaultdict(set)
    for track_id, player_id in through.objects.filter(facetrack_id__in=list(track_ids)).values_list(
        "facetrack_id", "player_id"
    ):
        rejected[track_id].add(player_id)
    return rejected


# --- indexing -----------------------------------------------------------------------------------


def index_game_tracks(game_id: int) -> None:
    """Put a game's face tracks into the track index (and drop ids of deleted tracks), then identify and cluster."""
    index_writer.sync_game_face_tracks(game_id)
    identify_tracks(FaceTrack.objects.filter(game_id=game_id, player__isnull=True).values_list("pk", flat=True))
    cluster_people()


# --- clustering ---------------------------------------------------------------------------------


def cluster_people() -> ClusterResult:
    """Group tracks that no editor or identification placed into people, keeping every correction.

    Nodes are the movable tracks (unknown or clustered), the anchored tracks FAISS finds near them
    (which keep their player and pull similar tracks to it) and every track co-occurring with them
    (so cannot-link constraints are complete). New groups become unnamed people; unnamed people left
    without tracks or photos are removed.
    """
    threshold = settings.HL_FACE_CLUSTER_THRESHOLD
    with people_lock():
        movable = list(FaceTrack.objects.filter(Q(player__isnull=True) | Q(source=Assignment.CLUSTER)))
        if not movable:
            return ClusterResult(0, 0, _remove_empty_people())
        nodes = {t.pk: t for t in movable}
        games = {t.game_id for t in movable}
        for track in FaceTrack.objects.filter(game_id__in=games).exclude(pk__in=list(nodes)):
            nodes[track.pk] = track
        index = face_track_index()
        near = {pk for t in movable for pk, _ in index.search(t.embedding_vector(), 16)} - nodes.keys()
        for track in FaceTrack.objects.filter(pk__in=list(near), player__isnull=False):
            nodes[track.pk] = track
        tracks = list(nodes.values())
        rejected = _rejections(nodes)
        anchored = [t.player_id is not None and t.source in (Assignment.EDITOR, Assignment.AUTO) for t in tracks]
        labels = cluster_tracks(
            np.stack([t.embedding_vector() for t in tracks]),
            threshold=threshold,
            initial=[t.player_id for t in tracks],
            fixed=anchored,
            cannot_link=overlapping_pairs([(t.game_id, t.start_ms, t.end_ms) for t in tracks]),
            forbidden=[rejected.get(t.pk, set()) for t in tracks],
        )
        new_people: dict[int, Player] = {}
        moved = 0
        for track, label, fixed in zip(tracks, labels, anchored, strict=True):
            if fixed:
                continue
            if label < 0 and label not in new_people:
                new_people[label] = Player.objects.create()
            player_id = new_people[label].pk if label < 0 else label
            if track.player_id != player_id or track.source != Assignment.CLUSTER:
                FaceTrack.objects.filter(pk=track.pk).update(
                    player_id=player_id, source=Assignment.CLUSTER, distance=None
                )
                moved += 1
        return ClusterResult(moved, len(new_people), _remove_empty_people())


def _remove_empty_people() -> int:
    empty = Player.objects.filter(name="", face_tracks__isnull=True, photos__isnull=True).values_list("pk", flat=True)
    removed, _ = Player.objects.filter(pk__in=list(empty)).delete()
    return removed


# --- enrolment ----------------------------------------------------------------------------------


def enroll_player(name: str, photos: Sequence[Path], *, team: str = "", number: int | None = None) -> Player:
    """Enrol (or add photos to) the named player from photos of their face, then re-identify tracks.

    Each photo must show a face; with several, the largest is taken. Photos are described with
    ``HL_FACE_PHOTO_JITTERS`` jittered copies (dlib's ``num_jitters``) and copied under ``MEDIA_ROOT``.

    Args:
        name: the player's name (matched case-insensitively with existing players).
        photos: image files (JPEG, PNG, WebP).
        team: team name, kept if already set when empty.
        number: jersey number.

    Returns:
        The player.

    Raises:
        PeopleError: empty name, no photo, an unreadable photo or a photo without a face (nothing is written).
    """
    name = name.strip()
    if not name or not photos:
        raise PeopleError("enrolling needs a name and at least one photo")
    face_recognizer = runtime.face_recognizer()
    faces = []
    for path in photos:
        try:
            found = face_recognizer.detect_and_describe(load_image(Path(path)), jitters=settings.HL_FACE_PHOTO_JITTERS)
        except ValueError as exc:
            raise PeopleError(str(exc)) from exc
        if not found:
            raise PeopleError(f"{path}: no face found")
        faces.append((Path(path), max(found, key=lambda f: f.box[2] * f.box[3])))
    with people_lock():
        player = Player.objects.filter(name__iexact=name).order_by("pk").first() or Player(name=name)
        player.team = team or player.team
        player.number = number if number is not None else player.number
        player.save()
        for path, face in faces:
            photo = PlayerPhoto.objects.create(
                player=player,
                source_name=path.name,
                x=face.box[0],
                y=face.box[1],
                w=face.box[2],
                h=face.box[3],
                embedding=face.descriptor.astype(np.float32).tobytes(),
                model_version=face_recognizer.version,
            )
            relative = f"players/player_{player.pk}/photo_{photo.pk}{path.suffix.lower()}"
            with atomic_write(Path(settings.MEDIA_ROOT) / relative) as tmp:
                shutil.copyfile(path, tmp)
            PlayerPhoto.objects.filter(pk=photo.pk).update(image=relative)
        index_writer.sync_player_photos()
    identify_tracks()
    return player


# --- editors' corrections -----------------------------------------------------------------------


def _player(player_id: int) -> Player:
    try:
        return Player.objects.get(pk=player_id)
    except Player.DoesNotExist as exc:
        raise PeopleError(f"no person {player_id}") from exc


def _tracks(track_ids: Iterable[int]) -> list[FaceTrack]:
    ids = sorted(set(track_ids))
    tracks = list(FaceTrack.objects.filter(pk__in=ids).order_by("pk"))
    if len(tracks) != len(ids):
        missing = sorted(set(ids) - {t.pk for t in tracks})
        raise PeopleError(f"no face track {', '.join(map(str, missing))}")
    return tracks


def name_person(player_id: int, name: str, *, team: str = "", number: int | None = None) -> Player:
    """Name a person; their tracks become editor-confirmed references, and similar unknown tracks follow.

    Raises:
        PeopleError: unknown person or empty name.
    """
    if not name.strip():
        raise PeopleError("a name is needed")
    with people_lock():
        player = _player(player_id)
        player.name, player.team = name.strip(), team or player.team
        player.number = number if number is not None else player.number
        player.save()
        FaceTrack.objects.filter(player=player).update(source=Assignment.EDITOR, distance=None)
    identify_tracks()
    cluster_people()
    return player


def merge_people(target_id: int, source_id: int) -> Player:
    """Merge person ``source_id`` into ``target_id``; tracks, photos, graphics appearances, events and "not this
    person" marks move.

    The source person is deleted; the target keeps its name (or takes the source's when it has none).

    Raises:
        PeopleError: unknown ids, the same id twice, or the two people appear in the same frames
            (one person cannot be tagged twice in a frame).
    """
    if target_id == source_id:
        raise PeopleError("cannot merge a person with itself")
    with people_lock():
        target, source = _player(target_id), _player(source_id)
        both = list(FaceTrack.objects.filter(player__in=[target, source]))
        for i, j in overlapping_pairs([(t.game_id, t.start_ms, t.end_ms) for t in both]):
            if both[i].player_id != both[j].player_id:
                raise PeopleError(
                    f"{target} and {source} appear together (tracks {both[i].pk} and {both[j].pk}): not one person"
                )
        moved = list(FaceTrack.objects.filter(player=source).values_list("pk", flat=True))
        FaceTrack.objects.filter(pk__in=moved).update(player=target, source=Assignment.EDITOR, distance=None)
        FaceTrack.rejected_players.through.objects.filter(facetrack_id__in=moved, player=target).delete()
        FaceTrack.objects.filter(player=target).update(source=Assignment.EDITOR, distance=None)
        PlayerPhoto.objects.filter(player=source).update(player=target)
        PlayerAppearance.objects.filter(player=source).update(player=target)
        Event.objects.filter(player=source).update(player=target)
        for track in source.rejected_tracks.all():
            track.rejected_players.add(target)
        if not target.name and source.name:
            target.name, target.team, target.number = source.name, source.team, source.number
            target.save()
        source.delete()
    return target


def split_tracks(track_ids: Iterable[int], *, name: str = "") -> Player:
    """Take tracks out of their person into a new person (named or not); they never go back to the old one.

    Raises:
        PeopleError: unknown track ids or none given.
    """
    with people_lock():
        tracks = _tracks(track_ids)
        if not tracks:
            raise PeopleError("no track to split")
        player = Player.objects.create(name=name.strip())
        for track in tracks:
            if track.player_id is not None:
                track.rejected_players.add(track.player_id)
        FaceTrack.objects.filter(pk__in=[t.pk for t in tracks]).update(
            player=player, source=Assignment.EDITOR, distance=None
        )
    return player


def reject_tracks(track_ids: Iterable[int]) -> int:
    """ "Not this person": tracks leave their person, who is remembered as rejected for them, and are re-clustered.

    Returns:
        How many tracks left a person.

    Raises:
        PeopleError: unknown track ids.
    """
    with people_lock():
        tracks = [t for t in _tracks(track_ids) if t.player_id is not None]
        for track in tracks:
            track.rejected_players.add(track.player_id)
        FaceTrack.objects.filter(pk__in=[t.pk for t in tracks]).update(player=None, source="", distance=None)
    identify_tracks([t.pk for t in tracks])
    cluster_people()
    return len(tracks)


def assign_tracks(track_ids: Iterable[int], player_id: int) -> int:
    """An editor puts tracks with a person (never twice in the same frames); clears a "not this person" mark.

    Returns:
        How many tracks were assigned (a track co-occurring with an editor's track of the person is not).

    Raises:
        PeopleError: unknown ids.
    """
    with people_lock():
        player = _player(player_id)
        assigned = 0
        for track in _tracks(track_ids):
            track.rejected_players.remove(player)
            assigned += _assign(track, player.pk, None, Assignment.EDITOR)
    return assigned


@dataclass(frozen=True)
class ImageFace:
    """A face found in a still image and who it is; ``bbox`` is ``[x, y, w, h]`` in the image's pixels."""

    bbox: list[int]
    player: str | None
    distance: float | None


def identify_image(path: Path) -> list[ImageFace]:
    """Every face in an image with the named player it belongs to (``None``: unknown), left to right.

    ``distance`` is the Euclidean distance to the nearest named player's nearest reference (also
    for unknown faces, when any named player exists; ``None`` otherwise).

    Raises:
        PeopleError: the file is not a readable image.
    """
    try:
        image = load_image(Path(path))
    except ValueError as exc:
        raise PeopleError(str(exc)) from exc
    found = runtime.face_recognizer().detect_and_describe(image, jitters=settings.HL_FACE_PHOTO_JITTERS)
    names = dict(Player.objects.exclude(name="").values_list("pk", "name"))
    faces = []
    for face in sorted(found, key=lambda f: f.box[0]):
        ranked = nearest_players(face.descriptor)
        match = choose_player(ranked, threshold=settings.HL_FACE_MATCH_THRESHOLD, margin=settings.HL_FACE_MATCH_MARGIN)
        distance = round(ranked[0][1], 4) if ranked else None
        faces.append(ImageFace(list(face.box), names.get(match[0]) if match else None, distance))
    return faces
