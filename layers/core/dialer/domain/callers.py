"""Which of a number's leads a caller is: one rule for everything that meets a person by number.

The init webhook (an inbound caller, or a call without our link), the event processor (linking an
inbound call to its lead) and the in-call tools (a callback asked on a call we did not dial) all
pick the same lead, so a caller is the same person everywhere.

Standard library only: the init webhook imports this on the path Telnyx waits on.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

ACTIVE = "active"


def preferred_lead[T](
    leads: Sequence[T], campaign_of: Callable[[T], str], status_of: Callable[[str], str | None]
) -> T | None:
    """The lead in the most recent active campaign (campaign ids are time-ordered), else in the
    most recent campaign of any status: a caller from a finished campaign is still someone we
    know. ``status_of`` gives a campaign's status (None: the campaign no longer exists)."""
    if not leads:
        return None
    active = [lead for lead in leads if status_of(campaign_of(lead)) == ACTIVE]
    return max(active or leads, key=campaign_of)
