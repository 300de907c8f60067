-- 0006 gave each undelivered outbox event its delivery job by reading `outbox`, but migrations run
-- as the owner under FORCE ROW LEVEL SECURITY, which hid every row: events pending at that
-- upgrade got no job and would never be delivered. Here they get one, the policy lifted for the
-- read (inside this migration's transaction). An event with any job at all is left alone (its
-- job, or an operator, decides).
ALTER TABLE outbox NO FORCE ROW LEVEL SECURITY;
INSERT INTO jobs (kind, queue, args, seller_id, max_attempts)
SELECT 'outbox.deliver', 'outbox', jsonb_build_object('eventID', o.id), o.seller_id, 30
FROM outbox o
WHERE o.delivered_at IS NULL
  AND NOT EXISTS (
      SELECT 1 FROM jobs j WHERE j.kind = 'outbox.deliver' AND lower(j.args->>'eventID') = o.id::text)
ORDER BY o.created_at;
ALTER TABLE outbox FORCE ROW LEVEL SECURITY;
