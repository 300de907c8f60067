-- Fulfillments: shipments of an order's units with their carrier and tracking, the tracking
-- events the carrier reports through the tracking provider, and the fulfillment status as one
-- more projection of the order's history (entries 'fulfilled', 'fulfillment_cancelled' and
-- 'returned', each with the units of every line item).
--
-- Lifted for the updates below and put back at the end (see 0008).
ALTER TABLE orders NO FORCE ROW LEVEL SECURITY;

ALTER TABLE order_events DROP CONSTRAINT order_events_type_check;
ALTER TABLE order_events
    ADD CONSTRAINT order_events_type_check CHECK (type IN (
        'created', 'authorized', 'captured', 'voided', 'refunded', 'charged_back', 'chargeback_reversed',
        'cancelled', 'closed', 'fulfilled', 'fulfillment_cancelled', 'returned')),
    -- Units of each line item by position, for the fulfillment kinds; empty for the others.
    ADD COLUMN line_quantities integer[] NOT NULL DEFAULT '{}';

-- Orders so far were all UNFULFILLED ('FULFILLED' was never set by any call).
ALTER TABLE orders DROP CONSTRAINT orders_fulfillment_status_check;
ALTER TABLE orders ADD CONSTRAINT orders_fulfillment_status_check
    CHECK (fulfillment_status IN ('UNFULFILLED', 'PARTIALLY_FULFILLED', 'FULFILLED', 'RETURNED'));
CREATE INDEX orders_seller_fulfillment_idx ON orders (seller_id, fulfillment_status);

-- The projection per line item.
ALTER TABLE order_line_items
    ADD COLUMN fulfilled_quantity integer NOT NULL DEFAULT 0,
    ADD COLUMN returned_quantity integer NOT NULL DEFAULT 0,
    ADD CONSTRAINT order_line_items_fulfilled_check CHECK (fulfilled_quantity BETWEEN 0 AND quantity),
    ADD CONSTRAINT order_line_items_returned_check CHECK (returned_quantity BETWEEN 0 AND fulfilled_quantity);

CREATE TABLE fulfillments (
    seller_id        uuid        NOT NULL,
    id               uuid        NOT NULL,
    order_id         uuid        NOT NULL,
    -- As in its 'fulfilled' history entry (the truth; this row adds the tracking).
    line_quantities  integer[]   NOT NULL,
    carrier          text        NOT NULL DEFAULT '' CHECK (char_length(carrier) <= 64),
    tracking_number  text        NOT NULL DEFAULT '' CHECK (tracking_number ~ '^[A-Z0-9-]{0,64}$'),
    tracking_url     text        NOT NULL DEFAULT '' CHECK (char_length(tracking_url) <= 2048),
    cancelled_at     timestamptz,
    -- What the tracking provider last said (ShipmentStatus names).
    shipment_status  text        NOT NULL DEFAULT 'SHIPMENT_UNKNOWN' CHECK (shipment_status IN (
        'SHIPMENT_UNKNOWN', 'SHIPMENT_NOT_FOUND', 'INFO_RECEIVED', 'IN_TRANSIT', 'SHIPMENT_EXPIRED',
        'AVAILABLE_FOR_PICKUP', 'OUT_FOR_DELIVERY', 'DELIVERY_FAILURE', 'DELIVERED', 'SHIPMENT_EXCEPTION')),
    shipment_sub_status text     NOT NULL DEFAULT '',
    delivered_at     timestamptz,
    -- The number is registered with the provider once (registration costs quota).
    tracking_registered_at timestamptz,
    tracking_checked_at    timestamptz,
    tracking_error   text        NOT NULL DEFAULT '',
    created_at       timestamptz NOT NULL DEFAULT now(),
    updated_at       timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (seller_id, id),
    FOREIGN KEY (seller_id, order_id) REFERENCES orders (seller_id, id)
);
CREATE INDEX fulfillments_order_idx ON fulfillments (seller_id, order_id, created_at);
-- The refresh job's work list: shipments with a number that are still moving.
CREATE INDEX fulfillments_tracking_due_idx ON fulfillments (tracking_checked_at NULLS FIRST)
    WHERE tracking_number <> '' AND cancelled_at IS NULL AND shipment_status NOT IN ('DELIVERED', 'SHIPMENT_EXPIRED');

-- Carrier scans as reported; a report seen again adds nothing (the key).
CREATE TABLE tracking_events (
    seller_id      uuid        NOT NULL,
    fulfillment_id uuid        NOT NULL,
    occurred_at    timestamptz NOT NULL,
    description    text        NOT NULL CHECK (char_length(description) <= 500),
    status         text        NOT NULL,
    sub_status     text        NOT NULL DEFAULT '',
    location       text        NOT NULL DEFAULT '' CHECK (char_length(location) <= 200),
    recorded_at    timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (seller_id, fulfillment_id, occurred_at, description),
    FOREIGN KEY (seller_id, fulfillment_id) REFERENCES fulfillments (seller_id, id)
);

ALTER TABLE fulfillments ENABLE ROW LEVEL SECURITY;
ALTER TABLE fulfillments FORCE ROW LEVEL SECURITY;
CREATE POLICY seller_rows ON fulfillments USING (seller_id = app_seller_id()) WITH CHECK (seller_id = app_seller_id());
-- The tracking refresh job (TrackingRefresh) finds the shipments due across sellers: a
-- transaction that sets app.tracking_refresh may read those rows, and nothing else; it writes
-- each one back as its seller.
CREATE POLICY tracking_due ON fulfillments FOR SELECT
    USING (current_setting('app.tracking_refresh', true) = 'on' AND tracking_number <> '' AND cancelled_at IS NULL
           AND shipment_status NOT IN ('DELIVERED', 'SHIPMENT_EXPIRED'));

ALTER TABLE tracking_events ENABLE ROW LEVEL SECURITY;
ALTER TABLE tracking_events FORCE ROW LEVEL SECURITY;
CREATE POLICY seller_rows ON tracking_events USING (seller_id = app_seller_id()) WITH CHECK (seller_id = app_seller_id());

ALTER TABLE orders FORCE ROW LEVEL SECURITY;

-- The order export's cells, written by PostgreSQL (OrderExport in the service): text quoted
-- when it holds a comma, a quote or a line break, and given a leading apostrophe when a
-- spreadsheet would take it for a formula (it starts with = + - @, a tab or a carriage return);
-- money from minor units to the currency's major units with its decimals.
CREATE FUNCTION csv_cell(value text) RETURNS text LANGUAGE sql IMMUTABLE PARALLEL SAFE
AS $$ SELECT CASE
    WHEN value ~ '^[-=+@\t\r]' THEN '"''' || replace(value, '"', '""') || '"'
    WHEN value ~ '[",\r\n]' THEN '"' || replace(value, '"', '""') || '"'
    ELSE value END $$;

CREATE FUNCTION csv_money(amount bigint, exponent integer) RETURNS text LANGUAGE sql IMMUTABLE PARALLEL SAFE
AS $$ SELECT CASE WHEN exponent = 0 THEN amount::text
    ELSE (amount / (10 ^ exponent)::bigint)::text || '.' || lpad((amount % (10 ^ exponent)::bigint)::text, exponent, '0') END $$;
