"""CR: reviews of verified buyers, automatic moderation rules, admin decisions, edits, retractions.

A review shows (and counts in the rating) its *published* version: set when a moderator (or the
auto-approval) approves it. An edit goes through moderation again while the published version stays;
a rejected edit leaves the published one in place; a retraction removes it.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass
from typing import Any

from gamevault.domain.decision import Decision, remembered, replay
from gamevault.streams.contracts.reviews import ReviewApproved, ReviewRejected, ReviewRetracted, ReviewSubmitted

SUBMITTED, APPROVED_T = ReviewSubmitted.event_type, ReviewApproved.event_type
REJECTED_T, RETRACTED_T = ReviewRejected.event_type, ReviewRetracted.event_type
PENDING, APPROVED, REJECTED, RETRACTED = "pending", "approved", "rejected", "retracted"
# Linear time on any text: every alternative has a fixed length (a lookbehind of one character instead of
# `\b[a-z0-9-]+\.`, which backtracked quadratically: 4,000 characters of "a-a-a-..." took ~60 ms).
_LINK = re.compile(r"https?://|www\.|(?<=[a-z0-9-])\.(?:com|net|org|pe|io|ly|gg)\b", re.IGNORECASE)
_REPEATED_CHARS = re.compile(r"(.)\1{7,}")


@dataclass(frozen=True)
class Rules:
    banned_terms: tuple[str, ...] = ("scam", "estafa", "idiota", "fraude")
    auto_approve: bool = False

    def check(self, title: str, body: str) -> str | None:
        """The reason to reject automatically, or None."""
        text = f"{title}\n{body}"
        lowered = text.lower()
        for term in self.banned_terms:
            if re.search(rf"\b{re.escape(term.lower())}\b", lowered):
                return f"banned term: {term}"
        if _LINK.search(text):
            return "links are not allowed in reviews"
        if _REPEATED_CHARS.search(text):
            return "repeated text"
        words = re.findall(r"\w+", lowered)
        if len(words) >= 6 and Counter(words).most_common(1)[0][1] > len(words) / 2:
            return "repeated text"
        return None


def author_key(product_id: str, buyer_id: str) -> str:
    """The review_authors table's key: one review per buyer and product."""
    return f"{product_id}|{buyer_id}"


def helpful_vote_key(review_id: str, voter_id: str) -> str:
    """The votes table's key: one helpful vote per voter and review."""
    return f"{review_id}|{voter_id}"


def _event_base(r: dict[str, Any], at: str) -> dict[str, Any]:
    return {"review_id": r["review_id"], "product_id": r["product_id"], "buyer_id": r["buyer_id"],
            "review_version": r["version"], "at": at}


def _moderate_automatically(r: dict[str, Any], rules: Rules, at: str, edit: bool) -> tuple[dict, list]:
    events = [(SUBMITTED, {**_event_base(r, at), "rating": r["rating"], "title": r["title"], "body": r["body"],
                           "channel": r["channel"], "edit": edit})]
    reason = rules.check(r["title"], r["body"])
    if reason:
        if r.get("published"):  # an edit the rules refuse: the published version stays
            shown = r["published"]
            r = {**r, "status": APPROVED, "reason": reason, "rating": shown["rating"], "title": shown["title"],
                 "body": shown["body"]}
        else:
            r = {**r, "status": REJECTED, "reason": reason}
        events.append((REJECTED_T, {**_event_base(r, at), "reason": reason, "moderator": "auto"}))
    elif rules.auto_approve:
        r = _publish(r, at)
        events.append((APPROVED_T, {**_event_base(r, at), "rating": r["rating"], "moderator": "auto"}))
    return r, events


def _publish(r: dict[str, Any], at: str) -> dict[str, Any]:
    return {**r, "status": APPROVED, "reason": None,
            "published": {"rating": r["rating"], "title": r["title"], "body": r["body"], "at": at}}


def submit(existing_id: str | None, existing: dict[str, Any] | None, cmd: dict[str, Any], rules: Rules, cause: str,
           at: str) -> Decision:
    """A verified buyer's first review of a product (uniqueness per buyer and product)."""
    if existing is not None and existing.get("last_cause") == cause:
        return replay(existing)  # the record is there; its events may not be
    if existing_id is not None and existing_id == cmd["review_id"] and existing is None:
        existing_id = None  # a replay after a crash that stored the author index but not the review
    if existing_id is not None:
        if existing_id == cmd["review_id"] and existing is not None and cmd.get("channel", "web") != "web":
            return Decision(reply=existing)  # a partner delivered the same review again: idempotent
        return Decision.refuse("conflict", "this buyer already reviewed this product")
    review = {"review_id": cmd["review_id"], "product_id": cmd["product_id"], "buyer_id": cmd["buyer_id"],
              "rating": cmd["rating"], "title": cmd["title"], "body": cmd["body"],
              "channel": cmd.get("channel", "web"), "status": PENDING, "reason": None, "published": None,
              "created_at": at, "updated_at": at, "version": 1}
    review, events = _moderate_automatically(review, rules, at, edit=False)
    return remembered(review, events, cause)


def not_moderatable(record: dict[str, Any] | None, what: str, cause: str) -> Decision | None:
    """Why a review or comment cannot be moderated by this command (None: it can): absent, this very
    command again (the same answer), or not pending."""
    if record is None:
        return Decision.refuse("not_found", f"no such {what}")
    if record.get("last_cause") == cause:
        return replay(record)
    if record["status"] != PENDING:
        return Decision.refuse("conflict", f"the {what} is {record['status']}, not pending moderation")
    return None


def moderate(r: dict[str, Any] | None, decision: str, reason: str, moderator: str, cause: str, at: str) -> Decision:
    if (refused := not_moderatable(r, "review", cause)) is not None:
        return refused
    assert r is not None
    base = {**r, "updated_at": at, "version": r["version"] + 1}
    if decision == "approve":
        state = _publish(base, at)
        return remembered(state, [(APPROVED_T, {**_event_base(state, at), "rating": r["rating"],
                                                "moderator": moderator})], cause)
    if r.get("published"):  # a rejected edit: the published version stays
        state = {**base, "status": APPROVED, "reason": reason, "rating": r["published"]["rating"],
                 "title": r["published"]["title"], "body": r["published"]["body"]}
    else:
        state = {**base, "status": REJECTED, "reason": reason}
    return remembered(state, [(REJECTED_T, {**_event_base(state, at), "reason": reason or "rejected by a moderator",
                                            "moderator": moderator})], cause)


def edit(r: dict[str, Any] | None, cmd: dict[str, Any], rules: Rules, cause: str, at: str) -> Decision:
    if r is None or r["status"] == RETRACTED:
        return Decision.refuse("not_found", "no such review")
    if r["buyer_id"] != cmd["buyer_id"]:
        return Decision.refuse("forbidden", "only its author may edit a review")
    if r.get("last_cause") == cause:
        return replay(r)
    changes = {k: cmd[k] for k in ("rating", "title", "body") if cmd.get(k) is not None}
    state = {**r, **changes, "status": PENDING, "reason": None, "updated_at": at, "version": r["version"] + 1}
    state, events = _moderate_automatically(state, rules, at, edit=True)
    return remembered(state, events, cause)


def retract(r: dict[str, Any] | None, buyer_id: str, cause: str, at: str) -> Decision:
    if r is not None and r.get("last_cause") == cause:
        return replay(r)
    if r is None or r["status"] == RETRACTED:
        return Decision.refuse("not_found", "no such review")
    if r["buyer_id"] != buyer_id:
        return Decision.refuse("forbidden", "only its author may retract a review")
    state = {**r, "status": RETRACTED, "published": None, "updated_at": at, "version": r["version"] + 1}
    return remembered(state, [(RETRACTED_T, _event_base(state, at))], cause)
