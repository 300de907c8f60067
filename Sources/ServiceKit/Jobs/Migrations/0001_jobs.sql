-- The job queue of ServiceKit (Jobs/), in every service's own database. Applied before the
-- service's migrations and recorded in `job_queue_migrations`.
--
-- A job's life: `available` (waiting for `run_at`), `running` (claimed by one worker, held by a
-- lease the worker renews), then one of the final states: `completed`, `cancelled`, or
-- `discarded` (dead: out of attempts, or refused by its handler). A retry or a snooze puts a
-- running job back to `available` with a later `run_at`. A running job whose lease ended (its
-- worker died or lost the database) is rescued like a failed attempt.
--
-- No row-level security: the table is the service's own machinery, read and written only by the
-- queue's code (never by a seller-scoped read); a handler that touches a seller's rows enters that
-- seller's scope itself. `seller_id` is kept for operators and metrics.
CREATE TABLE jobs (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    kind text NOT NULL CHECK (kind <> '' AND length(kind) <= 100),
    queue text NOT NULL DEFAULT 'default' CHECK (queue <> '' AND length(queue) <= 100),
    args jsonb NOT NULL DEFAULT '{}',
    seller_id uuid,
    -- Higher runs first among jobs that are due; 0 by default.
    priority smallint NOT NULL DEFAULT 0,
    state text NOT NULL DEFAULT 'available'
        CHECK (state IN ('available', 'running', 'completed', 'cancelled', 'discarded')),
    run_at timestamptz NOT NULL DEFAULT now(),
    -- Attempts started so far (a snooze or a release at shutdown gives its attempt back).
    attempt int NOT NULL DEFAULT 0 CHECK (attempt >= 0),
    max_attempts int NOT NULL CHECK (max_attempts >= 1),
    -- No second available or running job of the same kind with the same key.
    unique_key text,
    -- Set while running: which worker holds the job, and until when without a heartbeat.
    lease_owner text,
    lease_expires_at timestamptz,
    -- One entry per failed attempt: {"attempt", "at", "error", "worker"}; kept in every state.
    errors jsonb NOT NULL DEFAULT '[]',
    created_at timestamptz NOT NULL DEFAULT now(),
    attempted_at timestamptz,
    finalized_at timestamptz,
    CHECK ((state = 'running') = (lease_owner IS NOT NULL AND lease_expires_at IS NOT NULL)),
    CHECK ((state IN ('completed', 'cancelled', 'discarded')) = (finalized_at IS NOT NULL))
);

-- The claim: due jobs of one queue, highest priority first, then oldest.
CREATE INDEX jobs_claim_idx ON jobs (queue, priority DESC, run_at, id) WHERE state = 'available';
-- The rescuer: running jobs by lease end.
CREATE INDEX jobs_lease_idx ON jobs (lease_expires_at) WHERE state = 'running';
-- Pruning and the operator's lists of finished and dead jobs.
CREATE INDEX jobs_finalized_idx ON jobs (state, finalized_at) WHERE finalized_at IS NOT NULL;
CREATE UNIQUE INDEX jobs_unique_idx ON jobs (kind, unique_key)
    WHERE unique_key IS NOT NULL AND state IN ('available', 'running');

-- A wake-up hint for workers, sent at commit: the queues that got a job due now. Polling is the
-- guarantee; a lost notification only delays a job until the next poll.
CREATE FUNCTION jobs_notify() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('pixecom_jobs', queue)
    FROM (SELECT DISTINCT queue FROM inserted WHERE run_at <= now()) AS due;
    RETURN NULL;
END
$$;
CREATE TRIGGER jobs_notify_insert AFTER INSERT ON jobs
    REFERENCING NEW TABLE AS inserted FOR EACH STATEMENT EXECUTE FUNCTION jobs_notify();

-- One row per maintenance role: who leads it and until when. A leader renews before the end;
-- anyone may take an expired row.
CREATE TABLE job_leaders (
    name text PRIMARY KEY,
    leader_id text NOT NULL,
    elected_at timestamptz NOT NULL DEFAULT now(),
    expires_at timestamptz NOT NULL
);

-- Cron runs enqueued, one row per (kind, scheduled time), written in the transaction that
-- enqueues the run: two leaders (one of them stale) cannot enqueue the same scheduled run twice.
CREATE TABLE job_cron_runs (
    kind text NOT NULL,
    scheduled_at timestamptz NOT NULL,
    job_id bigint,
    PRIMARY KEY (kind, scheduled_at)
);
