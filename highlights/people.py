"""Write side for people and faces: enrolment, identification, clustering, and editors' corrections.

The promises editors rely on (the usual complaints about people pages):

* an editor's decision is never undone by the system: tracks an editor named, merged, split or
  moved carry ``source = editor`` and neither identification nor clustering moves them;
* "not this person" sticks: the person is added to the track's ``rejected_people``, and both
  identification and clustering leave rejected people out for that track forever;
* one person is never tagged twice in the same frame: two tracks of one game that overlap in time
  never end with the same person (identification keeps the closer one; clustering treats them as
  cannot-link; merging two people seen together is refused);
* naming a few faces makes the rest follow: a named person's editor-confirmed tracks become
  references for identification, like enrolled photos.

Identification (dlib's protocol): a face track goes to the nearest named person when the Euclidean
distance to that person's nearest reference is under ``HL_FACE_MATCH_THRESHOLD`` (0.6) and the
second-nearest person is at least ``HL_FACE_MATCH_MARGIN`` farther; otherwise it stays unknown and
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
from highlights.models import Appearance, Assignment, Event, FaceTrack, Person, PersonPhoto
from indexer import index_writer, runtime
from ml.faces import euclidean, load_image
from ml.files import atomic_write
from search.faces import face_track_index, person_photo_index
from search.identities import choose_person, cluster_tracks, overlapping_pairs

logger = logging.getLogger(__name__)

_PHOTO_CANDIDATES = 32  # reference photos proposed by FAISS per query
_TRACK_CANDIDATES = 64  # face tracks proposed by FAISS per query


class PeopleError(ValueError):
    """A request about people or faces cannot be carried out (no face in a photo, unknown id, conflict)."""


@dataclass(frozen=True)
class ClusterResult:
    """What one clustering pass changed."""

    tracks_moved: int
    people_created: int
    people_removed: int
    tracks_considered: int  # nodes of the clustering graph (its cost)


@contextmanager
def people_lock() -> Iterator[None]:
    """Open a transaction holding the people writers' advisory lock (released at commit or rollback)."""
    with advisory_lock(LockKey.PEOPLE):
        yield


# --- identification -----------------------------------------------------------------------------


def nearest_people(vector: np.ndarray, *, exclude: Iterable[int] = ()) -> list[tuple[int, float]]:
    """Named people nearest to a face descriptor, nearest first, one entry per person.

    FAISS proposes candidate references (enrolled photos; editor-confirmed tracks of named people);
    the distances returned are exact Euclidean distances between the raw descriptors.

    Args:
        vector: ``(128,)`` float32 dlib descriptor.
        exclude: person ids to leave out (the track's rejected people).

    Returns:
        ``[(person id, distance to that person's nearest reference), ...]``.
    """
    excluded = set(exclude)
    photo_ids = [pk for pk, _ in person_photo_index().search(vector, _PHOTO_CANDIDATES)]
    track_ids = [pk for pk, _ in face_track_index().search(vector, _TRACK_CANDIDATES)]
    references: list[PersonPhoto | FaceTrack] = list(
        PersonPhoto.objects.filter(pk__in=photo_ids).exclude(person__name="").only("person_id", "embedding")
    )
    references += list(
        FaceTrack.objects.filter(pk__in=track_ids, source=Assignment.EDITOR, person__isnull=False)
        .exclude(person__name="")
        .only("person_id", "embedding")
    )
    references = [r for r in references if r.person_id not in excluded]
    if not references:
        return []
    distances = euclidean(vector, np.stack([r.embedding_vector() for r in references]))[0]
    best: dict[int, float] = {}
    for pid, d in zip((r.person_id for r in references), distances.tolist(), strict=True):
        best[pid] = min(best.get(pid, np.inf), d)
    return sorted(best.items(), key=lambda item: item[1])


def identify_vector(vector: np.ndarray, *, exclude: Iterable[int] = ()) -> tuple[int, float] | None:
    """``(person id, distance)`` of the named person a descriptor belongs to, or ``None`` (unknown)."""
    return choose_person(
        nearest_people(vector, exclude=exclude),
        threshold=settings.HL_FACE_MATCH_THRESHOLD,
        margin=settings.HL_FACE_MATCH_MARGIN,
    )


def _assign(track: FaceTrack, person_id: int, distance: float | None, source: str) -> bool:
    """Give ``track`` to a person unless that would tag the person twice in the same frames.

    A co-occurring track already with the person wins if an editor put it there or it is closer;
    otherwise it is returned to unknown and ``track`` takes its place.
    """
    rivals = FaceTrack.objects.filter(
        game_id=track.game_id, person_id=person_id, start_ms__lte=track.end_ms, end_ms__gte=track.start_ms
    ).exclude(pk=track.pk)
    for rival in rivals:
        if rival.source == Assignment.EDITOR:
            return False
        closer = rival.source == Assignment.AUTO and (distance is None or (rival.distance or 0.0) <= distance)
        if source != Assignment.EDITOR and closer:
            return False
    rivals.update(person=None, source="", distance=None)
    FaceTrack.objects.filter(pk=track.pk).update(person_id=person_id, source=source, distance=distance)
    return True


def identify_tracks(tracks: Iterable[int] | None = None) -> int:
    """Identify unknown and clustered tracks against the named people (editors' tracks are left alone).

    Args:
        tracks: track ids to consider (``None``: every track not placed by an editor or identification).

    Returns:
        How many tracks were given to a named person.
    """
    queryset = FaceTrack.objects.filter(Q(person__isnull=True) | Q(source=Assignment.CLUSTER))
    if tracks is not None:
        queryset = queryset.filter(pk__in=list(tracks))
    rejected = _rejections(queryset.values_list("pk", flat=True))
    assigned = 0
    with people_lock():
        for track in queryset.order_by("pk"):
            match = identify_vector(track.embedding_vector(), exclude=rejected.get(track.pk, ()))
            if match is not None and match[0] != track.person_id and _assign(track, *match, Assignment.AUTO):
                assigned += 1
    return assigned


def _rejections(track_ids: Iterable[int]) -> dict[int, set[int]]:
    through = FaceTrack.rejected_people.through
    rejected: dict[int, set[int]] = defaultdict(set)
    for track_id, person_id in through.objects.filter(facetrack_id__in=list(track_ids)).values_list(
        "facetrack_id", "person_id"
    ):
        rejected[track_id].add(person_id)
    return rejected


# --- indexing -----------------------------------------------------------------------------------


def index_game_tracks(game_id: int) -> ClusterResult:
    """Put a game's face tracks into the track index (and drop ids of deleted tracks), then identify and cluster.

    Clustering is incremental (:func:`cluster_new_tracks`): the game's tracks left unknown join
    existing people or form new ones among themselves; no other track moves.

    Returns:
        What clustering changed.
    """
    index_writer.sync_game_face_tracks(game_id)
    identify_tracks(FaceTrack.objects.filter(game_id=game_id, person__isnull=True).values_list("pk", flat=True))
    return cluster_new_tracks()


# --- clustering ---------------------------------------------------------------------------------

_NEIGHBOURS = 16  # placed tracks FAISS proposes per clustered track


def cluster_people() -> ClusterResult:
    """Re-cluster every track that no editor or identification placed into people, keeping every correction.

    The full re-cluster editors may ask for (``manage.py people cluster``, the admin's action); its
    cost grows with the archive (every clustered track is a node). Nodes are the movable tracks
    (unknown or clustered), the anchored tracks FAISS finds near them (which keep their person and
    pull similar tracks to it) and every track co-occurring with them (so cannot-link constraints
    are complete). New groups become unnamed people; unnamed people left without tracks or photos
    are removed.
    """
    with people_lock():
        movable = list(FaceTrack.objects.filter(Q(person__isnull=True) | Q(source=Assignment.CLUSTER)))
        return _cluster(movable, movable_sources=(Assignment.CLUSTER,))


def cluster_new_tracks() -> ClusterResult:
    """Cluster the unknown tracks (a new game's, rejected ones) incrementally: every other track stays where it is.

    Each unknown track is attached by nearest neighbours (FAISS, the placed tracks nearest to it) to
    an existing person, unnamed or named, with the thresholds and constraints of
    :func:`cluster_people` (edges under ``HL_FACE_CLUSTER_THRESHOLD``; never two tracks of one
    person in the same frames; "not this person" respected; editors' tracks never change); the
    leftovers are clustered among themselves into new unnamed people. The nodes are the unknown
    tracks, at most ``_NEIGHBOURS`` placed tracks per unknown track, and the tracks of their games,
    so the cost per game does not grow with the archive.
    """
    with people_lock():
        return _cluster(list(FaceTrack.objects.filter(person__isnull=True)), movable_sources=())


def _cluster(movable: list[FaceTrack], *, movable_sources: Sequence[str]) -> ClusterResult:
    """Constrained Chinese whispers over ``movable`` and their context; tracks of other sources stay fixed.

    Args:
        movable: the tracks clustering may move (unknown ones, and clustered ones for a full re-cluster).
        movable_sources: the sources of placed tracks that may move (``(Assignment.CLUSTER,)``: full).
    """
    if not movable:
        return ClusterResult(0, 0, _remove_empty_people(), 0)
    nodes = {t.pk: t for t in movable}
    games = {t.game_id for t in movable}
    for track in FaceTrack.objects.filter(game_id__in=games).exclude(pk__in=list(nodes)):
        nodes[track.pk] = track
    index, own = face_track_index(), set(nodes)
    near = {pk for t in movable for pk, _ in index.search(t.embedding_vector(), _NEIGHBOURS, exclude=own)}
    for track in FaceTrack.objects.filter(pk__in=list(near), person__isnull=False):
        nodes[track.pk] = track
    tracks = list(nodes.values())
    rejected = _rejections(nodes)
    fixed = [t.person_id is not None and t.source not in movable_sources for t in tracks]
    labels = cluster_tracks(
        np.stack([t.embedding_vector() for t in tracks]),
        threshold=settings.HL_FACE_CLUSTER_THRESHOLD,
        initial=[t.person_id for t in tracks],
        fixed=fixed,
        cannot_link=overlapping_pairs([(t.game_id, t.start_ms, t.end_ms) for t in tracks]),
        forbidden=[rejected.get(t.pk, set()) for t in tracks],
    )
    new_people: dict[int, Person] = {}
    moved = 0
    for track, label, anchored in zip(tracks, labels, fixed, strict=True):
        if anchored:
            continue
        if label < 0 and label not in new_people:
            new_people[label] = Person.objects.create()
        person_id = new_people[label].pk if label < 0 else label
        if track.person_id != person_id or track.source != Assignment.CLUSTER:
            FaceTrack.objects.filter(pk=track.pk).update(person_id=person_id, source=Assignment.CLUSTER, distance=None)
            moved += 1
    return ClusterResult(moved, len(new_people), _remove_empty_people(), len(tracks))


def _remove_empty_people() -> int:
    empty = Person.objects.filter(name="", face_tracks__isnull=True, photos__isnull=True).values_list("pk", flat=True)
    removed, _ = Person.objects.filter(pk__in=list(empty)).delete()
    return removed


# --- enrolment ----------------------------------------------------------------------------------


def enroll_person(name: str, photos: Sequence[Path], *, team: str = "", number: int | None = None) -> Person:
    """Enrol (or add photos to) the named person from photos of their face, then re-identify tracks.

    Each photo must show a face; with several, the largest is taken. Photos are described with
    ``HL_FACE_PHOTO_JITTERS`` jittered copies (dlib's ``num_jitters``) and copied under ``MEDIA_ROOT``.

    Args:
        name: the person's name (matched case-insensitively with existing people).
        photos: image files (JPEG, PNG, WebP).
        team: team name, kept if already set when empty.
        number: jersey number.

    Returns:
        The person.

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
        person = Person.objects.filter(name__iexact=name).order_by("pk").first() or Person(name=name)
        person.team = team or person.team
        person.number = number if number is not None else person.number
        person.save()
        for path, face in faces:
            photo = PersonPhoto.objects.create(
                person=person,
                source_name=path.name,
                x=face.box[0],
                y=face.box[1],
                w=face.box[2],
                h=face.box[3],
                embedding=face.descriptor.astype(np.float32).tobytes(),
                model_version=face_recognizer.version,
            )
            relative = f"people/person_{person.pk}/photo_{photo.pk}{path.suffix.lower()}"
            with atomic_write(Path(settings.MEDIA_ROOT) / relative) as tmp:
                shutil.copyfile(path, tmp)
            PersonPhoto.objects.filter(pk=photo.pk).update(image=relative)
        index_writer.sync_person_photos()
    identify_tracks()
    return person


# --- editors' corrections -----------------------------------------------------------------------


def _person(person_id: int) -> Person:
    try:
        return Person.objects.get(pk=person_id)
    except Person.DoesNotExist as exc:
        raise PeopleError(f"no person {person_id}") from exc


def _tracks(track_ids: Iterable[int]) -> list[FaceTrack]:
    ids = sorted(set(track_ids))
    tracks = list(FaceTrack.objects.filter(pk__in=ids).order_by("pk"))
    if len(tracks) != len(ids):
        missing = sorted(set(ids) - {t.pk for t in tracks})
        raise PeopleError(f"no face track {', '.join(map(str, missing))}")
    return tracks


def name_person(person_id: int, name: str, *, team: str = "", number: int | None = None) -> Person:
    """Name a person; their tracks become editor-confirmed references, and similar unknown tracks follow.

    Raises:
        PeopleError: unknown person or empty name.
    """
    if not name.strip():
        raise PeopleError("a name is needed")
    with people_lock():
        person = _person(person_id)
        person.name, person.team = name.strip(), team or person.team
        person.number = number if number is not None else person.number
        person.save()
        FaceTrack.objects.filter(person=person).update(source=Assignment.EDITOR, distance=None)
    identify_tracks()
    cluster_new_tracks()
    return person


def merge_people(target_id: int, source_id: int) -> Person:
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
        target, source = _person(target_id), _person(source_id)
        both = list(FaceTrack.objects.filter(person__in=[target, source]))
        for i, j in overlapping_pairs([(t.game_id, t.start_ms, t.end_ms) for t in both]):
            if both[i].person_id != both[j].person_id:
                raise PeopleError(
                    f"{target} and {source} appear together (tracks {both[i].pk} and {both[j].pk}): not one person"
                )
        moved = list(FaceTrack.objects.filter(person=source).values_list("pk", flat=True))
        FaceTrack.objects.filter(pk__in=moved).update(person=target, source=Assignment.EDITOR, distance=None)
        FaceTrack.rejected_people.through.objects.filter(facetrack_id__in=moved, person=target).delete()
        FaceTrack.objects.filter(person=target).update(source=Assignment.EDITOR, distance=None)
        PersonPhoto.objects.filter(person=source).update(person=target)
        Appearance.objects.filter(person=source).update(person=target)
        Event.objects.filter(person=source).update(person=target)
        for track in source.rejected_tracks.all():
            track.rejected_people.add(target)
        if not target.name and source.name:
            target.name, target.team, target.number = source.name, source.team, source.number
            target.save()
        source.delete()
    return target


def split_tracks(track_ids: Iterable[int], *, name: str = "") -> Person:
    """Take tracks out of their person into a new person (named or not); they never go back to the old one.

    Raises:
        PeopleError: unknown track ids or none given.
    """
    with people_lock():
        tracks = _tracks(track_ids)
        if not tracks:
            raise PeopleError("no track to split")
        person = Person.objects.create(name=name.strip())
        for track in tracks:
            if track.person_id is not None:
                track.rejected_people.add(track.person_id)
        FaceTrack.objects.filter(pk__in=[t.pk for t in tracks]).update(
            person=person, source=Assignment.EDITOR, distance=None
        )
    return person


def reject_tracks(track_ids: Iterable[int]) -> int:
    """ "Not this person": tracks leave their person, who is remembered as rejected for them, and are re-clustered.

    Returns:
        How many tracks left a person.

    Raises:
        PeopleError: unknown track ids.
    """
    with people_lock():
        tracks = [t for t in _tracks(track_ids) if t.person_id is not None]
        for track in tracks:
            track.rejected_people.add(track.person_id)
        FaceTrack.objects.filter(pk__in=[t.pk for t in tracks]).update(person=None, source="", distance=None)
    identify_tracks([t.pk for t in tracks])
    cluster_new_tracks()
    return len(tracks)


def assign_tracks(track_ids: Iterable[int], person_id: int) -> int:
    """An editor puts tracks with a person (never twice in the same frames); clears a "not this person" mark.

    Returns:
        How many tracks were assigned (a track co-occurring with an editor's track of the person is not).

    Raises:
        PeopleError: unknown ids.
    """
    with people_lock():
        person = _person(person_id)
        assigned = 0
        for track in _tracks(track_ids):
            track.rejected_people.remove(person)
            assigned += _assign(track, person.pk, None, Assignment.EDITOR)
    return assigned


@dataclass(frozen=True)
class ImageFace:
    """A face found in a still image and who it is; ``bbox`` is ``[x, y, w, h]`` in the image's pixels."""

    bbox: list[int]
    person: str | None
    distance: float | None


def identify_image(path: Path) -> list[ImageFace]:
    """Every face in an image with the named person it belongs to (``None``: unknown), left to right.

    ``distance`` is the Euclidean distance to the nearest named person's nearest reference (also
    for unknown faces, when any named person exists; ``None`` otherwise).

    Raises:
        PeopleError: the file is not a readable image.
    """
    try:
        image = load_image(Path(path))
    except ValueError as exc:
        raise PeopleError(str(exc)) from exc
    found = runtime.face_recognizer().detect_and_describe(image, jitters=settings.HL_FACE_PHOTO_JITTERS)
    names = dict(Person.objects.exclude(name="").values_list("pk", "name"))
    faces = []
    for face in sorted(found, key=lambda f: f.box[0]):
        ranked = nearest_people(face.descriptor)
        match = choose_person(ranked, threshold=settings.HL_FACE_MATCH_THRESHOLD, margin=settings.HL_FACE_MATCH_MARGIN)
        distance = round(ranked[0][1], 4) if ranked else None
        faces.append(ImageFace(list(face.box), names.get(match[0]) if match else None, distance))
    return faces
