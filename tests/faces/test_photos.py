"""Enrolment and identification by photo on the shared faces (7 identities): recall@1, no false match."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import pytest
from django.core.management import CommandError

from highlights.models import Person, PersonPhoto
from search.faces import person_photo_index


@pytest.fixture(scope="module")
def enrolled(command: Callable[..., dict[str, Any]], face_photos: dict[str, list[Path]]) -> dict[str, int]:
    """Each identity enrolled from its first photo; identity → person id."""
    return {
        identity: command("enroll_person", "--name", identity, "--team", "Shared", "--json", str(photos[0]))[
            "person_id"
        ]
        for identity, photos in face_photos.items()
    }


def test_enrolment_stores_one_reference_per_photo(enrolled: dict[str, int], faces_env: Path) -> None:
    assert len(enrolled) == 7
    assert Person.objects.filter(pk__in=enrolled.values(), team="Shared").count() == 7
    for photo in PersonPhoto.objects.filter(person_id__in=enrolled.values()):
        assert photo.embedding_vector().shape == (128,)
        assert 1.2 < float(np.linalg.norm(photo.embedding_vector())) < 1.9  # raw dlib descriptors, not unit norm
        assert photo.w > 80
        assert (faces_env / "media" / photo.image.name).is_file()
    index = person_photo_index()
    ids = index.load().ids().tolist()
    assert sorted(ids) == sorted(PersonPhoto.objects.values_list("pk", flat=True))


def test_every_other_photo_is_identified_with_no_false_match(
    enrolled: dict[str, int], command: Callable[..., dict[str, Any]], face_photos: dict[str, list[Path]]
) -> None:
    queries = [(identity, photo) for identity, photos in face_photos.items() for photo in photos[1:]]
    assert len(queries) == 29
    correct, false_matches, distances = 0, [], []
    for identity, photo in queries:
        faces = command("identify_face", str(photo), "--json")["faces"]
        assert len(faces) == 1, photo
        face = faces[0]
        assert face["person"] is None or face["distance"] < 0.6
        correct += face["person"] == identity
        if face["person"] not in (None, identity):
            false_matches.append(photo.name)
        distances.append(face["distance"])
    assert false_matches == []
    assert correct == len(queries)  # recall@1 = 100% at dlib's 0.6 threshold
    assert max(distances) < 0.6


def test_group_photo_names_the_enrolled_face_and_leaves_the_stranger_unknown(
    enrolled: dict[str, int], command: Callable[..., dict[str, Any]], faces_dir: Path
) -> None:
    faces = command("identify_face", str(faces_dir / "group" / "couple_2faces.jpg"), "--json")["faces"]
    assert len(faces) == 2
    for face in faces:
        assert set(face) == {"bbox", "person", "distance"}
        x, y, w, h = face["bbox"]
        assert x >= 0 and y >= 0 and w > 100 and h > 100
    assert faces[0]["bbox"][0] < faces[1]["bbox"][0]
    # the left face is person_01 (as the photos' source labels it); the man beside her is not enrolled
    assert (faces[0]["person"], faces[1]["person"]) == ("person_01", None)
    assert faces[0]["distance"] < 0.6 <= faces[1]["distance"]


def test_enrolling_a_photo_without_a_face_fails_readably(
    command: Callable[..., dict[str, Any]], tmp_path: Path, faces_env: Path
) -> None:
    blank = tmp_path / "blank.png"
    cv2.imwrite(str(blank), np.full((200, 200, 3), 127, dtype=np.uint8))
    before = Person.objects.count()
    with pytest.raises(CommandError) as excinfo:
        command("enroll_person", "--name", "Nobody", str(blank))
    assert excinfo.value.returncode == 2
    assert "no face" in str(excinfo.value)
    assert Person.objects.count() == before
