"""Turnaround-time figures per radiologist and modality (median, 90th percentile, share
within the threshold), computed in the database."""

import datetime
from dataclasses import dataclass, field

from django.db import connection, models
from django.db.models import Count, Q
from django.utils import timezone

from peerlearning.models import User
from reporting.oppe.models import TurnaroundTime

# Summary ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class TatStats:
    count: int
    median_minutes: float | None
    p90_minutes: float | None
    within_threshold: int

    @property
    def share_within_threshold(self) -> float | None:
        """Fraction (0 to 1) of reports finalized within the threshold; None without reports."""
        return self.within_threshold / self.count if self.count else None


EMPTY = TatStats(count=0, median_minutes=None, p90_minutes=None, within_threshold=0)


@dataclass
class TatSummary:
    radiologist_id: int
    overall: TatStats = EMPTY
    by_modality: dict[str, TatStats] = field(default_factory=dict)


class PercentileCont(models.Aggregate):
    """PostgreSQL's percentile_cont(fraction) WITHIN GROUP (ORDER BY expression)."""

    function = "PERCENTILE_CONT"
    template = "%(function)s(%(fraction)s) WITHIN GROUP (ORDER BY %(expressions)s)"
    output_field = models.FloatField()

    def __init__(self, expression, fraction: float, **extra):
        if not 0 <= fraction <= 1:
            raise ValueError("fraction must be between 0 and 1")
        super().__init__(expression, fraction=repr(float(fraction)), **extra)


def _day_start(day: datetime.date) -> datetime.datetime:
    return datetime.datetime.combine(day, datetime.time(), tzinfo=timezone.get_current_timezone())


def _percentiles_by_window(queryset, group: tuple[str, ...]) -> dict[tuple, tuple[float, float]]:
    """Median and 90th percentile (as percentile_cont) per group, where SQL lacks them.

    The database numbers the rows of each group in order and returns only the two or three
    rows around each percentile, so the work and the transfer stay small.
    """
    inner, params = queryset.values(*group, "turnaround_seconds").order_by().query.sql_with_params()
    keys = ", ".join(group)
    sql = (
        f"SELECT {keys}, rn, n, turnaround_seconds FROM ("  # noqa: S608 - names from model metadata, values bound
        f"SELECT {keys}, turnaround_seconds, "
        f"ROW_NUMBER() OVER (PARTITION BY {keys} ORDER BY turnaround_seconds) AS rn, "
        f"COUNT(*) OVER (PARTITION BY {keys}) AS n FROM ({inner}) rows_in) ranked "
        "WHERE rn IN (CAST(0.5 * (n - 1) AS INTEGER) + 1, CAST(0.5 * (n - 1) AS INTEGER) + 2, "
        "CAST(0.9 * (n - 1) AS INTEGER) + 1, CAST(0.9 * (n - 1) AS INTEGER) + 2)"
    )
    picked: dict[tuple, dict[int, int]] = {}
    sizes: dict[tuple, int] = {}
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        for row in cursor.fetchall():
            key, (rn, n, seconds) = tuple(row[: len(group)]), row[len(group) :]
            picked.setdefault(key, {})[rn] = seconds
            sizes[key] = n

    def percentile(values: dict[int, int], n: int, fraction: float) -> float:
        position = fraction * (n - 1)
        low = int(position)
        below = values[low + 1]
        above = values.get(low + 2, below)
        return below + (position - low) * (above - below)

    return {
        key: (percentile(values, sizes[key], 0.5), percentile(values, sizes[key], 0.9))
        for key, values in picked.items()
    }


def _stats(queryset, group: tuple[str, ...], limit_seconds: int) -> dict[tuple, TatStats]:
    aggregates = {
        "count": Count("id"),
        "within": Count("id", filter=Q(turnaround_seconds__lte=limit_seconds)),
    }
    postgres = connection.vendor == "postgresql"
    if postgres:
        aggregates["median"] = PercentileCont("turnaround_seconds", 0.5)
        aggregates["p90"] = PercentileCont("turnaround_seconds", 0.9)
    rows = queryset.values(*group).annotate(**aggregates).order_by()
    percentiles = {} if postgres else _percentiles_by_window(queryset, group)
    stats = {}
    for row in rows:
        key = tuple(row[name] for name in group)
        median, p90 = (row["median"], row["p90"]) if postgres else percentiles[key]
        stats[key] = TatStats(
            count=row["count"],
            median_minutes=median / 60,
            p90_minutes=p90 / 60,
            within_threshold=row["within"],
        )
    return stats


def tat_summary(
    *,
    radiologist: User | None = None,
    radiologists=None,
    start: datetime.date,
    end: datetime.date,
    threshold_hours: int = 24,
) -> dict[int, TatSummary]:
    """Per radiologist, overall and per modality: count, median and 90th percentile of minutes,
    and how many reports were finalized within `threshold_hours`.

    Exams completed from `start` to `end` (both days included, in the site's time zone).
    Radiologists named but without reports come back with empty statistics. Medians and
    percentiles are interpolated as PostgreSQL's percentile_cont does, on every database.
    """
    queryset = TurnaroundTime.objects.filter(
        exam_completed_at__gte=_day_start(start),
        exam_completed_at__lt=_day_start(end + datetime.timedelta(days=1)),
    )
    wanted: list[int] | None = None
    if radiologist is not None or radiologists is not None:
        wanted = [radiologist.pk] if radiologist is not None else []
        wanted += [r if isinstance(r, int) else r.pk for r in (radiologists or [])]
        queryset = queryset.filter(radiologist_id__in=wanted)
    limit = threshold_hours * 3600
    summaries = {pk: TatSummary(pk) for pk in wanted or []}
    for (pk,), stats in _stats(queryset, ("radiologist_id",), limit).items():
        summaries.setdefault(pk, TatSummary(pk)).overall = stats
    for (pk, modality), stats in sorted(
        _stats(queryset, ("radiologist_id", "modality"), limit).items()
    ):
        summaries[pk].by_modality[modality] = stats
    return summaries
