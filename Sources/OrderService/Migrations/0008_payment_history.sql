-- Orders as projections of their history: every payment transaction (authorization, capture,
-- void, refund, chargeback and its reversal) and every change of the order's own status
-- (cancelled, closed) is an order_events row; the money and status columns of `orders` are
-- recomputed from all of an order's rows after each change (OrderHistory in the service).
--
-- Migrations run as the tables' owner, and FORCE ROW LEVEL SECURITY would hide every row from
-- the updates below: it is lifted for this migration's transaction and put back at its end.
ALTER TABLE orders NO FORCE ROW LEVEL SECURITY;
ALTER TABLE order_events NO FORCE ROW LEVEL SECURITY;
ALTER TABLE webhook_events NO FORCE ROW LEVEL SECURITY;

-- The history: 'paid' becomes 'captured' (a sale is a capture without an authorization).
ALTER TABLE order_events DROP CONSTRAINT order_events_type_check;
UPDATE order_events SET type = 'captured' WHERE type = 'paid';
ALTER TABLE order_events
    ADD CONSTRAINT order_events_type_check CHECK (type IN (
        'created', 'authorized', 'captured', 'voided', 'refunded', 'charged_back', 'chargeback_reversed',
        'cancelled', 'closed')),
    -- The payment gateway's id of the transaction ('' when none was given).
    ADD COLUMN reference text NOT NULL DEFAULT '' CHECK (char_length(reference) <= 255),
    -- 'api' (a call of this service) or the webhook provider that reported it ('stripe').
    ADD COLUMN source text NOT NULL DEFAULT 'api',
    -- A cancel reason or a refund's note.
    ADD COLUMN reason text NOT NULL DEFAULT '' CHECK (char_length(reason) <= 200);

-- A gateway transaction is recorded once: a second report of it (a webhook redelivered under a
-- new event id, a retried call) finds it here.
CREATE UNIQUE INDEX order_events_reference_idx ON order_events (seller_id, order_id, type, reference)
    WHERE reference <> '';

-- The projection's columns. Existing orders were PENDING (nothing captured) or captured in full.
-- (0001's unnamed checks: orders_check is refunded <= total, orders_check1 PENDING iff unpaid.)
ALTER TABLE orders DROP CONSTRAINT orders_check;
ALTER TABLE orders DROP CONSTRAINT orders_check1;
ALTER TABLE orders DROP CONSTRAINT orders_financial_status_check;
ALTER TABLE orders
    ADD COLUMN order_status text NOT NULL DEFAULT 'OPEN' CHECK (order_status IN ('OPEN', 'CANCELLED', 'CLOSED')),
    ADD COLUMN cancel_reason text NOT NULL DEFAULT '',
    ADD COLUMN authorized bigint NOT NULL DEFAULT 0 CHECK (authorized >= 0 AND authorized <= total),
    ADD COLUMN captured bigint NOT NULL DEFAULT 0 CHECK (captured >= 0 AND captured <= total),
    ADD COLUMN charged_back bigint NOT NULL DEFAULT 0 CHECK (charged_back >= 0);
UPDATE orders SET captured = total WHERE financial_status <> 'PENDING';
ALTER TABLE orders
    ADD CONSTRAINT orders_financial_status_check CHECK (financial_status IN (
        'PENDING', 'AUTHORIZED', 'PAID', 'PARTIALLY_REFUNDED', 'REFUNDED', 'VOIDED', 'CHARGED_BACK')),
    -- Refunds and chargebacks only take back what was captured.
    ADD CONSTRAINT orders_refunded_check CHECK (refunded >= 0 AND refunded + charged_back <= captured),
    ADD CONSTRAINT orders_paid_at_check CHECK ((captured > 0) = (paid_at IS NOT NULL));

-- Idempotency keys of every mutating method: the key is the seller's (as Stripe's are the
-- account's), the method and a hash of the request tell a replay from a reuse, and the response
-- is kept to be replayed as it was. Keys from before this migration (CreateOrder's) have no
-- stored response: their replay reads the order they name.
ALTER TABLE idempotency_keys
    ADD COLUMN method text NOT NULL DEFAULT 'CreateOrder',
    ADD COLUMN response bytea,
    ALTER COLUMN order_id DROP NOT NULL;
CREATE INDEX idempotency_keys_created_idx ON idempotency_keys (created_at);
-- Keys are kept 24 hours: the prune job (IdempotencyPrune), in a transaction that sets
-- app.idempotency_prune, may see and delete expired keys of every seller, and nothing else.
CREATE POLICY expired_keys ON idempotency_keys
    USING (current_setting('app.idempotency_prune', true) = 'on' AND created_at < now() - interval '24 hours');

-- Webhook events as received, before anyone knows whose they are: the receiving call stores the
-- verified body and enqueues the job that applies it (WebhookApplication), so the provider gets
-- its answer at once. Not tenant data until resolved; a transaction sees this table only when
-- it sets app.webhook_inbox (the receiving call and the job do).
CREATE TABLE webhook_inbox (
    provider     text        NOT NULL,
    event_id     text        NOT NULL CHECK (char_length(event_id) BETWEEN 1 AND 255),
    event_type   text        NOT NULL,
    -- The raw body; NULL only for events handled before this table existed.
    body         bytea,
    -- The payment (Stripe PaymentIntent id) the event concerns, once read.
    payment_ref  text        NOT NULL DEFAULT '',
    -- Set once the event is tied to an order.
    seller_id    uuid,
    order_id     uuid,
    -- queued: a job will apply it; waiting: it needs an event not yet here (a refund before its
    -- payment) and is applied again when that one is; applied; ignored (with the reason).
    outcome      text        NOT NULL DEFAULT 'queued' CHECK (outcome IN ('queued', 'waiting', 'applied', 'ignored')),
    detail       text        NOT NULL DEFAULT '',
    received_at  timestamptz NOT NULL DEFAULT now(),
    handled_at   timestamptz,
    PRIMARY KEY (provider, event_id)
);
CREATE INDEX webhook_inbox_payment_idx ON webhook_inbox (provider, payment_ref) WHERE payment_ref <> '';

ALTER TABLE webhook_inbox ENABLE ROW LEVEL SECURITY;
ALTER TABLE webhook_inbox FORCE ROW LEVEL SECURITY;
CREATE POLICY webhook_intake ON webhook_inbox
    USING (current_setting('app.webhook_inbox', true) = 'on')
    WITH CHECK (current_setting('app.webhook_inbox', true) = 'on');

SELECT set_config('app.webhook_inbox', 'on', true);
INSERT INTO webhook_inbox (provider, event_id, event_type, seller_id, order_id, outcome, detail, received_at, handled_at)
SELECT provider, event_id, event_type, seller_id, order_id,
       CASE outcome WHEN 'applied' THEN 'applied' ELSE 'ignored' END,
       'handled before the inbox existed', received_at, received_at
FROM webhook_events;
DROP TABLE webhook_events;

ALTER TABLE orders FORCE ROW LEVEL SECURITY;
ALTER TABLE order_events FORCE ROW LEVEL SECURITY;
