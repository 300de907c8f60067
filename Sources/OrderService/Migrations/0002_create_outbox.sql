-- Transactional outbox: events written in the same transaction as the change they describe and
-- delivered to StatsService by ServiceKit's OutboxRelay, at least once.
CREATE TABLE outbox (
    id uuid PRIMARY KEY,
    seller_id uuid NOT NULL,
    topic text NOT NULL,
    payload bytea NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    attempts int NOT NULL DEFAULT 0,
    next_attempt_at timestamptz NOT NULL DEFAULT now(),
    delivered_at timestamptz,
    last_error text
);

-- The relay's poll: undelivered rows that are due.
CREATE INDEX outbox_pending_idx ON outbox (next_attempt_at) WHERE delivered_at IS NULL;
