-- Payment-provider webhook events already handled: deliveries come at least once and are retried
-- for days, so each event id is applied at most once. Only events about a seller's order are
-- recorded (in the same transaction as their effect), under row-level security like every tenant
-- table.
CREATE TABLE webhook_events (
    seller_id   uuid        NOT NULL,
    provider    text        NOT NULL,
    event_id    text        NOT NULL CHECK (char_length(event_id) BETWEEN 1 AND 255),
    event_type  text        NOT NULL,
    order_id    uuid        NOT NULL,
    outcome     text        NOT NULL DEFAULT 'pending',
    received_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (provider, event_id)
);

ALTER TABLE webhook_events ENABLE ROW LEVEL SECURITY;
ALTER TABLE webhook_events FORCE ROW LEVEL SECURITY;
CREATE POLICY seller_rows ON webhook_events USING (seller_id = app_seller_id()) WITH CHECK (seller_id = app_seller_id());
