"""CR: comments on reviews (moderated by the reviews' own rules) and helpful votes. Pure.

Comments never move a rating. A vote is one per user and review, and changeable: the review's counts
move by the difference, so a replayed or repeated vote changes nothing.
"""

from __future__ import annotations

from typing import Any

from gamevault.domain.decision import Decision, remembered, replay
from gamevault.domain.reviews import APPROVED, PENDING, REJECTED, Rules, not_moderatable
from gamevault.streams.contracts.reviews import CommentApproved, CommentRejected, CommentSubmitted, ReviewVoted

SUBMITTED_T, APPROVED_T = CommentSubmitted.event_type, CommentApproved.event_type
REJECTED_T, VOTED_T = CommentRejected.event_type, ReviewVoted.event_type


def _base(c: dict[str, Any], at: str) -> dict[str, Any]:
    return {k: c[k] for k in ("comment_id", "review_id", "product_id", "author_id", "review_author_id")} | {"at": at}


def submit(existing: dict[str, Any] | None, review: dict[str, Any] | None, cmd: dict[str, Any], rules: Rules,
           cause: str, at: str) -> Decision:
    if existing is not None:  # the same comment again (its id is the request's), or a replay after a crash
        return replay(existing) if existing.get("last_cause") == cause else Decision(reply=existing)
    if review is None or review.get("status") == "retracted" or not review.get("published"):
        return Decision.refuse("not_found", "no such review (comments go under approved reviews)")
    comment = {"comment_id": cmd["comment_id"], "review_id": review["review_id"], "product_id": review["product_id"],
               "author_id": cmd["author_id"], "review_author_id": review["buyer_id"], "body": cmd["body"],
               "status": PENDING, "reason": None, "created_at": at, "updated_at": at, "version": 1}
    events = [(SUBMITTED_T, {**_base(comment, at), "body": comment["body"]})]
    reason = rules.check("", comment["body"])
    if reason:
        comment = {**comment, "status": REJECTED, "reason": reason}
        events.append((REJECTED_T, {**_base(comment, at), "reason": reason, "moderator": "auto"}))
    elif rules.auto_approve:
        comment = {**comment, "status": APPROVED}
        events.append((APPROVED_T, {**_base(comment, at), "moderator": "auto"}))
    return remembered(comment, events, cause)


def moderate(c: dict[str, Any] | None, decision: str, reason: str, moderator: str, cause: str, at: str) -> Decision:
    if (refused := not_moderatable(c, "comment", cause)) is not None:
        return refused
    assert c is not None
    approve = decision == "approve"
    state = {**c, "status": APPROVED if approve else REJECTED, "reason": None if approve else reason,
             "updated_at": at, "version": c["version"] + 1}
    event = (APPROVED_T, {**_base(state, at), "moderator": moderator}) if approve else \
        (REJECTED_T, {**_base(state, at), "reason": reason or "rejected by a moderator", "moderator": moderator})
    return remembered(state, [event], cause)


def vote(previous: dict[str, Any] | None, counts: dict[str, Any] | None, review: dict[str, Any] | None,
         cmd: dict[str, Any], cause: str, at: str) -> tuple[Decision, dict[str, Any] | None]:
    """-> (the decision on the voter's vote, the review's new counts or None when unchanged).

    The counts are written first and remember the command that moved them last: a command replayed after
    a crash between the two writes finds its own mark and writes only the vote (never counted twice)."""
    if review is None or not review.get("published"):
        return Decision.refuse("not_found", "no such review (votes go to approved reviews)"), None
    if review["buyer_id"] == cmd["voter_id"]:
        return Decision.refuse("forbidden", "authors do not vote on their own reviews"), None
    counts = counts or {"review_id": review["review_id"], "helpful": 0, "unhelpful": 0, "version": 0}
    helpful = bool(cmd["helpful"])
    if previous is not None and previous["helpful"] == helpful:
        return Decision(reply={**previous, **_counts(counts)}), None  # the same vote again
    if counts.get("last_cause") == cause:
        moved = counts  # this very command moved them before a crash: only the vote is left to write
    else:
        moved = {**counts, "version": counts["version"] + 1, "last_cause": cause}
        if previous is not None:
            moved["helpful" if previous["helpful"] else "unhelpful"] -= 1
        moved["helpful" if helpful else "unhelpful"] += 1
    state = {"review_id": review["review_id"], "voter_id": cmd["voter_id"], "helpful": helpful, "at": at,
             "version": (previous or {}).get("version", 0) + 1}
    event = (VOTED_T, {"review_id": review["review_id"], "product_id": review["product_id"],
                       "voter_id": cmd["voter_id"], "helpful": helpful, "helpful_count": moved["helpful"],
                       "unhelpful_count": moved["unhelpful"], "at": at})
    return Decision(state=state, events=[event], reply={**state, **_counts(moved)}), \
        (None if moved is counts else moved)


def _counts(counts: dict[str, Any]) -> dict[str, int]:
    return {"helpful_count": counts["helpful"], "unhelpful_count": counts["unhelpful"],
            "counts_version": counts["version"]}
