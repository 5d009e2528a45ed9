"""系统外答复办结 (issue 19): a matter a head closed as answered outside the hotline is
closed, and counted apart from the closings with proof."""

from __future__ import annotations

from datetime import UTC, datetime

from hotline.calendar import WorkingCalendar
from hotline.settings import HoursSettings
from reports.matters import MatterFacts, MatterParts, figures_from, matter_figures, matters_of

AT = datetime(2026, 3, 2, 2, 0, tzinfo=UTC)


def _matter(id: int, status: str, close_kind: str = "") -> MatterFacts:
    return MatterFacts(id=id, reference=f"26030200{id:02d}", type="contact_judge",
                       source="call", status=status, created_at=AT, department_id=1,
                       owner_id=None, forwarded_at=None, due_at=None, replied_at=None,
                       escalation_level=0, close_kind=close_kind)


def test_closed_outside_is_closed_and_counted_apart() -> None:
    matters = [_matter(1, "closed"), _matter(2, "closed", "outside"), _matter(3, "open")]
    figures = matter_figures(WorkingCalendar(HoursSettings()), matters, [], AT)
    assert (figures.closed, figures.closed_outside, figures.open) == (2, 1, 1)
    assert [m.id for m in matters_of(matters, "closed_outside", AT)] == [2]
    # a day kept before the figure existed adds nothing to it
    assert figures_from(MatterParts.from_json(
        {**MatterParts().as_json(), "created": {"all": 1, "open": 0, "closed": 1}}),
        0).closed_outside == 0
