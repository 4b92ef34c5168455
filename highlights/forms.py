"""Request input: every value the pages and the API's search filters read is cleaned by a form here.

Django's fields refuse NUL characters, values longer than their column, dates that do not exist
and numbers that do not parse; a form that does not validate is answered HTTP 400 with its first
error as one line (``highlights.views.bad_request``, or DRF's 400 for the API).
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.core.exceptions import NON_FIELD_ERRORS, BadRequest, ValidationError
from django.core.files.uploadedfile import UploadedFile

from highlights import selectors, uploads
from highlights.models import Action, ActionClassifier, Clip, Game, Person, Reel, ReviewStatus
from search.query import QueryError


def _max_length(model: type[Any], field: str) -> int:
    return model._meta.get_field(field).max_length


def first_error(form: forms.Form) -> str:
    """The form's first error as one line: ``"field: message"`` (or the message alone for the form as a whole)."""
    field, errors = next(iter(form.errors.items()))
    message = " ".join(errors)
    return message if field == NON_FIELD_ERRORS else f"{field}: {message}"


def cleaned(form: forms.Form) -> dict[str, Any]:
    """The form's cleaned data.

    Raises:
        BadRequest: the form does not validate; its message is :func:`first_error` (answered 400).
    """
    if not form.is_valid():
        raise BadRequest(first_error(form))
    return form.cleaned_data


class SearchForm(forms.Form):
    """A search: the natural query ``q`` (``search.query``) and the filters that override what it says.

    ``cleaned_data["query"]`` is the parsed ``search.query.ParsedQuery`` with the filters merged in.
    """

    q = forms.CharField(required=False, strip=False)
    sport = forms.CharField(required=False, max_length=_max_length(Game, "sport"))
    team = forms.CharField(required=False, max_length=_max_length(Game, "home_team"))
    player = forms.CharField(required=False, max_length=_max_length(Person, "name"))
    action = forms.CharField(required=False, max_length=_max_length(Clip, "model_class"))  # an action or model class
    game = forms.IntegerField(required=False, min_value=1)
    date_from = forms.DateField(required=False)
    date_to = forms.DateField(required=False)
    min_score = forms.FloatField(required=False, min_value=0.0, max_value=1.0)

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        if self.errors:
            return data
        try:
            data["query"] = selectors.parse_search(data["q"]).merged(
                sport=data["sport"],
                team=data["team"],
                player=data["player"],
                action=data["action"],
                game_id=data["game"],
                date_from=data["date_from"],
                date_to=data["date_to"],
                min_score=data["min_score"],
            )
        except QueryError as exc:
            self.add_error("q", str(exc))
        return data


class ReelCreateForm(forms.Form):
    """A new reel, optionally with a first clip."""

    title = forms.CharField(required=False, max_length=_max_length(Reel, "title"))
    clip = forms.IntegerField(required=False, min_value=1)


class ReelAddForm(forms.Form):
    """A clip appended (whole) to a reel."""

    clip = forms.IntegerField(min_value=1)


class AutoReelForm(forms.Form):
    """A one-click reel: a condensed ``game`` or the results of the query ``q``."""

    game = forms.IntegerField(required=False, min_value=1)
    q = forms.CharField(required=False, strip=False)


class ReviewForm(forms.Form):
    """An editor's new action label and/or review verdict for a clip."""

    action = forms.ModelChoiceField(queryset=Action.objects.all(), required=False)
    review_status = forms.ChoiceField(choices=ReviewStatus.choices, required=False)


class LabelForm(forms.Form):
    """A label an editor defines (``highlights.learning.define_action`` checks the sport and the name)."""

    sport = forms.CharField(required=False)
    name = forms.CharField(required=False)


class TrainForm(forms.Form):
    """The labels of the taxonomy a new model learns, and its kind (``ActionClassifier.Kind``; empty: a head)."""

    labels = forms.MultipleChoiceField()
    kind = forms.ChoiceField(choices=ActionClassifier.Kind.choices, required=False)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        names = Action.objects.values_list("name", flat=True).distinct().order_by("name")
        self.fields["labels"].choices = [(name, name) for name in names]


def _name_fits(upload: UploadedFile) -> None:
    try:
        uploads.safe_name(upload.name or "")
    except uploads.UploadError as exc:
        raise ValidationError(str(exc)) from exc


class IndexForm(forms.Form):
    """An editor's request to index an uploaded video or a file already on the server, with game facts."""

    video = forms.FileField(required=False, allow_empty_file=True, validators=[_name_fits])  # emptiness: uploads
    path = forms.CharField(required=False, max_length=_max_length(Game, "source_path"))
    sport = forms.CharField(required=False, max_length=_max_length(Game, "sport"))
    title = forms.CharField(required=False, max_length=_max_length(Game, "title"))
    home_team = forms.CharField(required=False, max_length=_max_length(Game, "home_team"))
    away_team = forms.CharField(required=False, max_length=_max_length(Game, "away_team"))
