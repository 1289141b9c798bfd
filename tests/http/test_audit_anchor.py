"""The audit trail anchored outside the database: each way of tampering is named.

Every test tampers with its own throwaway database (a copy of nothing that matters), the way
someone with write access to the database but not to the server's files would: editing a
row, deleting rows, cutting off the newest ones, rewriting a row and re-hashing the rest,
stripping the HMACs, and changing the lifecycle rows themselves.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import stat

import pytest

import models.audit
from machines import clock
from models.audit import AuditEvent, chain_hash, set_hmac_key
from models.breaches import Breach
from models.records import Removal
from models.remote_working import RemoteAgreement
from services.audit_anchor import load_hmac_key
from tests.http.journeys import typed

# Runs on PostgreSQL too: the audit chain's locking and ordering.
pytestmark = pytest.mark.postgres


@pytest.fixture
def history(app):
    """The demo council with its activity: removals, dispatches and breach cases, audited."""
    runner = app.test_cli_runner()
    assert runner.invoke(args=["seed-demo", "--demo"]).exit_code == 0
    assert AuditEvent.select().count() > 15
    return runner


def verify(runner, *args):
    result = runner.invoke(args=["audit-verify", *args])
    return result.exit_code, result.output


def rehash_from(event_id: int) -> None:
    """What someone without the key can do: recompute every hash from this event on."""
    prev = (
        AuditEvent.select(AuditEvent.hash)
        .where(AuditEvent.id < event_id)
        .order_by(AuditEvent.id.desc())
        .scalar()
    ) or models.audit.GENESIS
    for row in AuditEvent.select().where(AuditEvent.id >= event_id).order_by(AuditEvent.id):
        row.prev_hash = prev
        row.hash = chain_hash(prev, row)
        AuditEvent.update(prev_hash=row.prev_hash, hash=row.hash).where(
            AuditEvent.id == row.id
        ).execute()
        prev = row.hash


def middle_event() -> AuditEvent:
    events = list(AuditEvent.select().order_by(AuditEvent.id))
    return events[len(events) // 2]


# -- Intact ------------------------------------------------------------------------------------


def test_an_untouched_trail_is_intact_and_gets_a_checkpoint(app, history, tmp_path):
    code, output = verify(history)
    assert code == 0, output
    assert "Audit chain intact" in output and "lifecycle rows match their events" in output
    assert "No checkpoints" in output and "Checkpoint written" in output
    checkpoints = (tmp_path / "audit-checkpoints.jsonl").read_text().splitlines()
    head = AuditEvent.select().order_by(AuditEvent.id.desc()).get()
    assert json.loads(checkpoints[-1])["event_id"] == head.id
    assert json.loads(checkpoints[-1])["hash"] == head.hash
    code, output = verify(history)
    assert code == 0 and "1 checkpoints hold" in output


def test_every_event_carries_an_hmac_and_the_version_it_left(app, history):
    for event in AuditEvent.select():
        assert event.hmac and len(event.hmac) == 64
    for removal in Removal.select():
        last = (
            AuditEvent.select()
            .where(AuditEvent.entity_type == "removal", AuditEvent.entity_id == removal.id)
            .order_by(AuditEvent.id.desc())
            .first()
        )
        assert (last.entity_version, last.target) == (removal.version, removal.state)


# -- Tampering with the chain ------------------------------------------------------------------


def test_an_edited_event_is_named(history):
    target = middle_event()
    AuditEvent.update(summary='{"edited": true}').where(AuditEvent.id == target.id).execute()
    code, output = verify(history)
    assert code == 1
    assert f"BROKEN at event {target.id} ({target.event} on {target.entity_type}" in output
    assert "its content does not match its hash: it was edited" in output


def test_a_deleted_event_is_named_by_the_one_after_it(history):
    target = middle_event()
    after = AuditEvent.select().where(AuditEvent.id > target.id).order_by(AuditEvent.id).first()
    AuditEvent.delete().where(AuditEvent.id == target.id).execute()
    code, output = verify(history)
    assert code == 1
    assert f"BROKEN at event {after.id}" in output
    assert "an event before it was deleted or changed" in output


def test_cutting_off_the_newest_events_is_named_by_the_checkpoint(history):
    assert verify(history)[0] == 0  # writes a checkpoint of the head
    newest = list(AuditEvent.select().order_by(AuditEvent.id.desc()).limit(3))
    AuditEvent.delete().where(AuditEvent.id.in_([e.id for e in newest])).execute()
    code, output = verify(history)
    assert code == 1
    assert "does not match its checkpoints outside the database" in output
    assert f"the chain ends at event {newest[-1].id - 1}, but the checkpoint written at" in output
    assert f"recorded event {newest[0].id}: the newest events were deleted" in output


def test_an_edit_with_every_later_hash_recomputed_is_named_by_its_hmac(history):
    assert verify(history)[0] == 0
    target = middle_event()
    AuditEvent.update(summary='{"safeguards": "none"}').where(AuditEvent.id == target.id).execute()
    rehash_from(target.id)
    code, output = verify(history)
    assert code == 1
    assert f"BROKEN at event {target.id}" in output
    assert "its HMAC does not match: it was written or rewritten by someone without the key" in (
        output
    )
    # The checkpoint names it too: the head it recorded is no longer the head.
    assert "is not the event the checkpoint written at" in output


def test_stripping_the_hmacs_and_rehashing_everything_is_named(history):
    assert verify(history)[0] == 0  # the checkpoint records that events are sealed from 1
    first = AuditEvent.select().order_by(AuditEvent.id).first()
    AuditEvent.update(summary='{"rewritten": true}').where(AuditEvent.id == first.id).execute()
    AuditEvent.update(hmac=None).execute()
    rehash_from(first.id)
    code, output = verify(history)
    assert code == 1
    assert f"BROKEN at event {first.id}" in output
    assert f"it has no HMAC, but every event since {first.id} is sealed with one" in output


def test_an_edited_checkpoint_file_is_named(history, tmp_path):
    assert verify(history)[0] == 0
    path = tmp_path / "audit-checkpoints.jsonl"
    line = json.loads(path.read_text())
    line["event_id"] -= 3  # as if the trail had been shorter
    path.write_text(json.dumps(line) + "\n")
    code, output = verify(history)
    assert code == 1
    assert "checkpoint line 1 is not signed with this key" in output


def test_a_checkpoint_written_with_another_key_is_not_trusted(app, history):
    assert verify(history)[0] == 0
    set_hmac_key(b"another-key")
    try:
        code, output = verify(history, "--no-checkpoint")
    finally:
        load_hmac_key(app.config)
    assert code == 1
    assert "checkpoint line 1 is not signed with this key" in output
    assert "its HMAC does not match" in output


def test_a_restore_mark_excuses_only_the_checkpoints_before_it(history, tmp_path):
    """`flask restore` (or `audit-restored`) sets aside the checkpoints of events the backup
    never held; a cut made after the restore is named as before, and a checkpoint line made
    into a restore mark by hand is not signed."""
    assert verify(history)[0] == 0
    restored = history.invoke(args=["audit-restored"])
    assert restored.exit_code == 0 and "set aside" not in restored.output  # nothing was lost
    newest = list(AuditEvent.select().order_by(AuditEvent.id.desc()).limit(2))
    AuditEvent.delete().where(AuditEvent.id.in_([e.id for e in newest])).execute()
    code, output = verify(history, "--no-checkpoint")
    assert code == 1 and "the newest events were deleted" in output
    assert "set aside" not in output

    path = tmp_path / "audit-checkpoints.jsonl"
    lines = path.read_text().splitlines()
    forged = {**json.loads(lines[0]), "restored": True}
    path.write_text("\n".join([json.dumps(forged), *lines[1:]]) + "\n")
    code, output = verify(history, "--no-checkpoint")
    assert code == 1 and "checkpoint line 1 is not signed with this key" in output


# -- Lifecycle rows against their events -------------------------------------------------------


def test_a_removal_changed_behind_the_applications_back_is_named(history):
    removal = Removal.select().where(Removal.state == "out").first()
    Removal.update(state="returned").where(Removal.id == removal.id).execute()
    code, output = verify(history)
    assert code == 1
    assert (
        f"removal {removal.id} is 'returned' but its last audit event says 'out': the row "
        "was changed outside the application" in output
    )


def test_a_remote_working_agreement_changed_behind_the_applications_back_is_named(history):
    agreement = RemoteAgreement.get(RemoteAgreement.state == "agreed")
    RemoteAgreement.update(
        ends_on=agreement.ends_on.replace(year=agreement.ends_on.year + 1),
        version=RemoteAgreement.version + 1,
    ).where(RemoteAgreement.id == agreement.id).execute()
    code, output = verify(history)
    assert code == 1
    assert f"remote_agreement {agreement.id} is at version {agreement.version + 1}" in output


def test_a_version_moved_without_an_event_is_named(history):
    breach = Breach.select().first()
    Breach.update(version=Breach.version + 1).where(Breach.id == breach.id).execute()
    code, output = verify(history)
    assert code == 1
    assert f"breach {breach.id} is at version {breach.version + 1}" in output


def test_a_deleted_lifecycle_event_shows_in_the_row_check_too(history):
    event = AuditEvent.select().where(AuditEvent.event == "take_out").first()
    AuditEvent.delete().where(AuditEvent.id == event.id).execute()
    code, output = verify(history)
    assert code == 1
    assert f"removal {event.entity_id} is at version" in output


def test_corrections_inside_a_state_keep_rows_and_events_in_step(app, history, web):
    """An in-state edit (the breach report corrected while `reported`) is one versioned save
    and one audit event, like a transition."""
    from demo.accounts import DEMO_PASSWORD

    web.sign_in("pat", DEMO_PASSWORD)
    web.get("/breaches/new")
    when = clock.from_uk(dt.datetime(2026, 1, 5, 10, 0))
    assert (
        web.post(
            "/breaches/new",
            typed(
                {
                    "what_happened": "Left a folder on the bus",
                    "category": "near_miss",
                    "data_left_control": "yes",
                    "data_categories": "basic_identifiers",
                    "people_affected": "1",
                    "records_affected": "1",
                    "happened_at": when,
                    "discovered_at": when,
                }
            ),
        ).status_code
        == 303
    )
    breach = Breach.select().order_by(Breach.id.desc()).first()
    web.get(f"/breaches/{breach.id}")
    corrected = web.post(
        f"/breaches/{breach.id}/details",
        typed(
            {
                # The whole report as the page sends it back, with what happened corrected.
                "version": breach.version,
                "category": "near_miss",
                "data_left_control": "yes",
                "what_happened": "Left a folder on the 38 bus",
                "happened_at": when,
                "discovered_at": when,
                "data_categories": "basic_identifiers",
                "people_affected": "2",
                "records_affected": "1",
                "children_or_vulnerable": "no",
                "special_category": "no",
            }
        ),
    )
    assert corrected.status_code == 303, corrected.get_data(as_text=True)[-3000:]
    assert Breach.get_by_id(breach.id).version == breach.version + 1
    code, output = verify(history)
    assert code == 0, output


# -- Events written before HMACs existed -------------------------------------------------------


def test_events_from_before_hmacs_are_checked_by_hash_and_protected_by_later_ones(app, history):
    # The demo's events were written with the key; make the older half look like an old
    # database's (no HMAC) and carry on from there with the key.
    events = list(AuditEvent.select().order_by(AuditEvent.id))
    legacy = [e.id for e in events[: len(events) // 2]]
    AuditEvent.update(hmac=None).where(AuditEvent.id.in_(legacy)).execute()
    code, output = verify(history, "--no-checkpoint")
    assert code == 0, output
    assert f"{len(legacy)} of them from before HMACs, checked by hash only" in output

    # Rewriting an old event and re-hashing the old ones reaches the first sealed event.
    AuditEvent.update(summary='{"rewritten": true}').where(AuditEvent.id == legacy[3]).execute()
    rehash_from(legacy[3])
    code, output = verify(history, "--no-checkpoint")
    assert code == 1
    assert "its HMAC does not match" in output


# -- The key and the checkpoint command ----------------------------------------------------------


def test_the_key_file_is_made_once_readable_by_its_owner_only(tmp_path):
    config = {"AUDIT_HMAC_KEY": None, "AUDIT_KEY_FILE": str(tmp_path / "keys" / "audit_key")}
    try:
        first = load_hmac_key(config)
        mode = stat.S_IMODE(os.stat(config["AUDIT_KEY_FILE"]).st_mode)
        assert mode == 0o600
        assert load_hmac_key(config) == first and len(first) == 64
        assert os.listdir(tmp_path / "keys") == ["audit_key"]  # no spare file left behind
    finally:
        set_hmac_key(b"test-audit-key")


def test_audit_checkpoint_appends_and_refuses_after_a_cut(history, tmp_path):
    result = history.invoke(args=["audit-checkpoint"])
    assert result.exit_code == 0 and "Checkpoint written" in result.output
    newest = AuditEvent.select().order_by(AuditEvent.id.desc()).first()
    AuditEvent.delete().where(AuditEvent.id == newest.id).execute()
    result = history.invoke(args=["audit-checkpoint"])
    assert result.exit_code == 1
    assert f"Event {newest.id}, recorded by the last checkpoint" in result.output
    lines = (tmp_path / "audit-checkpoints.jsonl").read_text().splitlines()
    assert len(lines) == 1  # nothing written over the cut
    mode = stat.S_IMODE(os.stat(tmp_path / "audit-checkpoints.jsonl").st_mode)
    assert mode == 0o600
