"""Paging that never counts a whole large result set.

Counting every match of a broad query over a large archive costs more than fetching the page
itself (a full scan where the page is an index scan that stops early), so result counts stop at
``COUNT_CAP`` + 1: past that, pages show "more than 1000" and paging still works up to the cap.
The count drops the ranking (how many rows match does not depend on their order), so PostgreSQL
may count a selective query's few matches from its semi-joins instead of walking the ranking
index to its end to find the 1001st (issue #15), and it reads the primary key alone: no joined
game or action row, no annotation (an event query's matched event per clip, two subqueries a
row). Pages are fetched by ``OFFSET``, which the cap bounds to about a thousand rows of the
ranking index.
"""

from __future__ import annotations

from django.core.paginator import Paginator
from django.utils.functional import cached_property
from rest_framework.pagination import PageNumberPagination

COUNT_CAP = 1000


class CappedPaginator(Paginator):
    """Django's paginator whose ``count`` is ``min(true count, COUNT_CAP + 1)``."""

    @cached_property
    def count(self) -> int:
        object_list = self.object_list
        if hasattr(object_list, "query") and not object_list.query.is_sliced:
            return object_list.order_by().values("pk")[: COUNT_CAP + 1].count()
        return super().count

    @property
    def capped(self) -> bool:
        """Whether there are more results than were counted."""
        return self.count > COUNT_CAP


class CappedPageNumberPagination(PageNumberPagination):
    """DRF page-number paging on :class:`CappedPaginator` (``count`` is capped at ``COUNT_CAP`` + 1)."""

    django_paginator_class = CappedPaginator
