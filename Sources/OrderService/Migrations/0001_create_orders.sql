-- Orders of each seller, their line items and their append-only history.

CREATE TABLE orders (
    seller_id uuid NOT NULL,
    id uuid NOT NULL,
    currency text NOT NULL CHECK (currency ~ '^[A-Z]{3}$'),
    -- Minor units. refunded never exceeds total.
    total bigint NOT NULL CHECK (total >= 0),
    refunded bigint NOT NULL DEFAULT 0 CHECK (refunded >= 0 AND refunded <= total),
    financial_status text NOT NULL
        CHECK (financial_status IN ('PENDING', 'PAID', 'PARTIALLY_REFUNDED', 'REFUNDED')),
    fulfillment_status text NOT NULL CHECK (fulfillment_status IN ('UNFULFILLED', 'FULFILLED')),
    -- Attribution as given by the storefront: utm_campaign carries the campaign id, utm_content
    -- the ad id.
    utm_source text NOT NULL DEFAULT '',
    utm_medium text NOT NULL DEFAULT '',
    utm_campaign text NOT NULL DEFAULT '',
    utm_content text NOT NULL DEFAULT '',
    utm_term text NOT NULL DEFAULT '',
    created_at timestamptz NOT NULL DEFAULT now(),
    paid_at timestamptz,
    updated_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (seller_id, id),
    CHECK ((financial_status = 'PENDING') = (paid_at IS NULL))
);

-- Keyset pagination of ListOrders on (created_at, id).
CREATE INDEX orders_seller_created_idx ON orders (seller_id, created_at, id);

CREATE TABLE order_line_items (
    seller_id uuid NOT NULL,
    order_id uuid NOT NULL,
    position integer NOT NULL CHECK (position >= 0),
    sku text NOT NULL,
    title text NOT NULL,
    quantity integer NOT NULL CHECK (quantity > 0),
    unit_price bigint NOT NULL CHECK (unit_price >= 0),
    PRIMARY KEY (seller_id, order_id, position),
    FOREIGN KEY (seller_id, order_id) REFERENCES orders (seller_id, id)
);

-- Append-only: rows are inserted with the change they record and never updated or deleted.
CREATE TABLE order_events (
    seller_id uuid NOT NULL,
    id uuid NOT NULL,
    order_id uuid NOT NULL,
    type text NOT NULL CHECK (type IN ('created', 'paid', 'refunded')),
    amount bigint NOT NULL CHECK (amount >= 0),
    created_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (seller_id, id),
    FOREIGN KEY (seller_id, order_id) REFERENCES orders (seller_id, id)
);

CREATE INDEX order_events_order_idx ON order_events (seller_id, order_id, created_at, id);

-- CreateOrder idempotency keys. The key row is inserted first in the creating transaction, so the
-- primary key serialises concurrent duplicates; the order it names is inserted later in the same
-- transaction, hence the deferred foreign key.
CREATE TABLE idempotency_keys (
    seller_id uuid NOT NULL,
    key text NOT NULL,
    -- Hex SHA-256 of the request's canonical form.
    request_hash text NOT NULL,
    order_id uuid NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (seller_id, key),
    FOREIGN KEY (seller_id, order_id) REFERENCES orders (seller_id, id) DEFERRABLE INITIALLY DEFERRED
);
