-- Jobs that share a sequence key run one at a time, in the order they were enqueued: a job is
-- claimed only when no earlier job with its key is waiting or running (a discarded one no
-- longer holds the others back; it waits for an operator). For consumers that rely on order,
-- such as the events of one order.
ALTER TABLE jobs ADD COLUMN sequence_key text CHECK (length(sequence_key) BETWEEN 1 AND 200);
CREATE INDEX jobs_sequence_idx ON jobs (sequence_key, id)
    WHERE sequence_key IS NOT NULL AND state IN ('available', 'running');
