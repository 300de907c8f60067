-- The outbox is delivered by the job queue (ServiceKit's Outbox and OutboxDelivery), whose tables
-- are created before this service's migrations: events written before this migration and not yet
-- delivered get their delivery job here, oldest first. The outbox's own retry columns
-- (attempts, next_attempt_at, last_error) are kept as a record; the job holds the schedule.
INSERT INTO jobs (kind, queue, args, seller_id, max_attempts, sequence_key)
SELECT 'outbox.deliver', 'outbox', jsonb_build_object('eventID', id), seller_id, 30, NULL
FROM outbox WHERE delivered_at IS NULL
ORDER BY created_at;
