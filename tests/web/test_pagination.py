"""Capped counting: a page never counts more than COUNT_CAP + 1 matches."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import User

from highlights.pagination import COUNT_CAP, CappedPaginator


@pytest.mark.django_db
def test_counts_stop_past_the_cap_and_pages_still_work(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("highlights.pagination.COUNT_CAP", 5)
    User.objects.bulk_create(User(username=f"u{i}") for i in range(12))
    users = User.objects.order_by("username")
    paginator = CappedPaginator(users, 2)
    assert paginator.count == 6
    assert paginator.capped
    assert [u.username for u in paginator.page(2).object_list] == ["u10", "u11"]
    small = CappedPaginator(User.objects.filter(username__in=["u1", "u2"]).order_by("pk"), 2)
    assert small.count == 2
    assert not small.capped
    assert COUNT_CAP == 1000
