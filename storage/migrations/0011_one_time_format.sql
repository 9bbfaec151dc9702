-- One stored time format (bot.clock.stamp: UTC, ISO 8601, to the millisecond). Rows written before it have
-- seconds only, and '…:00+00:00' sorts before '…:00.000+00:00' as text, so a comparison within one second
-- could go the wrong way. Each such moment gets its '.000'. The audit log is append-only by its own triggers
-- and is read in id order, so it keeps the form it was written in.

UPDATE inbox SET received_at = substr(received_at, 1, 19) || '.000' || substr(received_at, 20) WHERE received_at GLOB '????-??-??T??:??:??+00:00';
UPDATE inbox SET finished_at = substr(finished_at, 1, 19) || '.000' || substr(finished_at, 20) WHERE finished_at GLOB '????-??-??T??:??:??+00:00';
UPDATE user_preferences SET updated_at = substr(updated_at, 1, 19) || '.000' || substr(updated_at, 20) WHERE updated_at GLOB '????-??-??T??:??:??+00:00';
UPDATE schools SET created_at = substr(created_at, 1, 19) || '.000' || substr(created_at, 20) WHERE created_at GLOB '????-??-??T??:??:??+00:00';
UPDATE people SET created_at = substr(created_at, 1, 19) || '.000' || substr(created_at, 20) WHERE created_at GLOB '????-??-??T??:??:??+00:00';
UPDATE children SET created_at = substr(created_at, 1, 19) || '.000' || substr(created_at, 20) WHERE created_at GLOB '????-??-??T??:??:??+00:00';
UPDATE child_fields SET updated_at = substr(updated_at, 1, 19) || '.000' || substr(updated_at, 20) WHERE updated_at GLOB '????-??-??T??:??:??+00:00';
UPDATE child_field_history SET changed_at = substr(changed_at, 1, 19) || '.000' || substr(changed_at, 20) WHERE changed_at GLOB '????-??-??T??:??:??+00:00';
UPDATE roles SET granted_at = substr(granted_at, 1, 19) || '.000' || substr(granted_at, 20) WHERE granted_at GLOB '????-??-??T??:??:??+00:00';
UPDATE roles SET revoked_at = substr(revoked_at, 1, 19) || '.000' || substr(revoked_at, 20) WHERE revoked_at GLOB '????-??-??T??:??:??+00:00';
UPDATE invitations SET created_at = substr(created_at, 1, 19) || '.000' || substr(created_at, 20) WHERE created_at GLOB '????-??-??T??:??:??+00:00';
UPDATE invitations SET expires_at = substr(expires_at, 1, 19) || '.000' || substr(expires_at, 20) WHERE expires_at GLOB '????-??-??T??:??:??+00:00';
UPDATE invitations SET used_at = substr(used_at, 1, 19) || '.000' || substr(used_at, 20) WHERE used_at GLOB '????-??-??T??:??:??+00:00';
UPDATE invitations SET revoked_at = substr(revoked_at, 1, 19) || '.000' || substr(revoked_at, 20) WHERE revoked_at GLOB '????-??-??T??:??:??+00:00';
UPDATE consents SET decided_at = substr(decided_at, 1, 19) || '.000' || substr(decided_at, 20) WHERE decided_at GLOB '????-??-??T??:??:??+00:00';
UPDATE deletion_requests SET requested_at = substr(requested_at, 1, 19) || '.000' || substr(requested_at, 20) WHERE requested_at GLOB '????-??-??T??:??:??+00:00';
UPDATE deletion_requests SET decided_at = substr(decided_at, 1, 19) || '.000' || substr(decided_at, 20) WHERE decided_at GLOB '????-??-??T??:??:??+00:00';
UPDATE outbox SET not_before = substr(not_before, 1, 19) || '.000' || substr(not_before, 20) WHERE not_before GLOB '????-??-??T??:??:??+00:00';
UPDATE outbox SET created_at = substr(created_at, 1, 19) || '.000' || substr(created_at, 20) WHERE created_at GLOB '????-??-??T??:??:??+00:00';
UPDATE outbox SET sent_at = substr(sent_at, 1, 19) || '.000' || substr(sent_at, 20) WHERE sent_at GLOB '????-??-??T??:??:??+00:00';
UPDATE reachability SET changed_at = substr(changed_at, 1, 19) || '.000' || substr(changed_at, 20) WHERE changed_at GLOB '????-??-??T??:??:??+00:00';
UPDATE relays SET created_at = substr(created_at, 1, 19) || '.000' || substr(created_at, 20) WHERE created_at GLOB '????-??-??T??:??:??+00:00';
UPDATE relays SET acknowledged_at = substr(acknowledged_at, 1, 19) || '.000' || substr(acknowledged_at, 20) WHERE acknowledged_at GLOB '????-??-??T??:??:??+00:00';
UPDATE care_entries SET created_at = substr(created_at, 1, 19) || '.000' || substr(created_at, 20) WHERE created_at GLOB '????-??-??T??:??:??+00:00';
UPDATE care_media SET fetch_after = substr(fetch_after, 1, 19) || '.000' || substr(fetch_after, 20) WHERE fetch_after GLOB '????-??-??T??:??:??+00:00';
UPDATE care_deliveries SET acknowledged_at = substr(acknowledged_at, 1, 19) || '.000' || substr(acknowledged_at, 20) WHERE acknowledged_at GLOB '????-??-??T??:??:??+00:00';
UPDATE care_drafts SET updated_at = substr(updated_at, 1, 19) || '.000' || substr(updated_at, 20) WHERE updated_at GLOB '????-??-??T??:??:??+00:00';
UPDATE video_proposals SET created_at = substr(created_at, 1, 19) || '.000' || substr(created_at, 20) WHERE created_at GLOB '????-??-??T??:??:??+00:00';
UPDATE video_proposals SET answered_at = substr(answered_at, 1, 19) || '.000' || substr(answered_at, 20) WHERE answered_at GLOB '????-??-??T??:??:??+00:00';
UPDATE video_slots SET planned_until = substr(planned_until, 1, 19) || '.000' || substr(planned_until, 20) WHERE planned_until GLOB '????-??-??T??:??:??+00:00';
UPDATE video_slots SET agreed_at = substr(agreed_at, 1, 19) || '.000' || substr(agreed_at, 20) WHERE agreed_at GLOB '????-??-??T??:??:??+00:00';
UPDATE video_calls SET starts_at = substr(starts_at, 1, 19) || '.000' || substr(starts_at, 20) WHERE starts_at GLOB '????-??-??T??:??:??+00:00';
UPDATE video_calls SET recorded_at = substr(recorded_at, 1, 19) || '.000' || substr(recorded_at, 20) WHERE recorded_at GLOB '????-??-??T??:??:??+00:00';
UPDATE video_reminders SET due_at = substr(due_at, 1, 19) || '.000' || substr(due_at, 20) WHERE due_at GLOB '????-??-??T??:??:??+00:00';
UPDATE video_reminders SET done_at = substr(done_at, 1, 19) || '.000' || substr(done_at, 20) WHERE done_at GLOB '????-??-??T??:??:??+00:00';
UPDATE calendar_tasks SET next_at = substr(next_at, 1, 19) || '.000' || substr(next_at, 20) WHERE next_at GLOB '????-??-??T??:??:??+00:00';
UPDATE calendar_tasks SET created_at = substr(created_at, 1, 19) || '.000' || substr(created_at, 20) WHERE created_at GLOB '????-??-??T??:??:??+00:00';
UPDATE calendar_tasks SET changed_at = substr(changed_at, 1, 19) || '.000' || substr(changed_at, 20) WHERE changed_at GLOB '????-??-??T??:??:??+00:00';
UPDATE calendar_occurrences SET due_at = substr(due_at, 1, 19) || '.000' || substr(due_at, 20) WHERE due_at GLOB '????-??-??T??:??:??+00:00';
UPDATE calendar_occurrences SET handled_at = substr(handled_at, 1, 19) || '.000' || substr(handled_at, 20) WHERE handled_at GLOB '????-??-??T??:??:??+00:00';
UPDATE calendar_marks SET done_at = substr(done_at, 1, 19) || '.000' || substr(done_at, 20) WHERE done_at GLOB '????-??-??T??:??:??+00:00';
