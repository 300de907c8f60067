-- CSV imports of orders and of fulfillment updates (docs/API.md, "Imports").
--
-- The file arrives in chunks (order_import_chunks, each at its byte offset) like an asset; the
-- `orders.import` job reads them back in order, a batch of rows at a time. Each batch commits
-- what it applied, its bad rows (order_import_errors) and the import's progress (the byte offset
-- and line where the next batch starts) in one transaction, so a job that is stopped part-way
-- resumes where the last batch ended and counts nothing twice. The chunks are dropped when the
-- job ends; the import row and its errors stay.
CREATE TABLE order_imports (
    seller_id       uuid        NOT NULL,
    id              uuid        NOT NULL,
    kind            text        NOT NULL CHECK (kind IN ('ORDERS', 'FULFILLMENTS')),
    name            text        NOT NULL CHECK (char_length(name) BETWEEN 1 AND 255),
    dry_run         boolean     NOT NULL,
    status          text        NOT NULL DEFAULT 'UPLOADING'
        CHECK (status IN ('UPLOADING', 'QUEUED', 'RUNNING', 'SUCCEEDED', 'FAILED')),
    size_bytes      bigint      NOT NULL CHECK (size_bytes > 0),
    received_bytes  bigint      NOT NULL DEFAULT 0 CHECK (received_bytes BETWEEN 0 AND size_bytes),
    -- Progress: the rows before this byte offset are done (a resumed job reads the file from
    -- its start again for the header and the line numbers, and skips them).
    processed_bytes bigint      NOT NULL DEFAULT 0 CHECK (processed_bytes BETWEEN 0 AND size_bytes),
    rows            integer     NOT NULL DEFAULT 0,
    applied_rows    integer     NOT NULL DEFAULT 0,
    unchanged_rows  integer     NOT NULL DEFAULT 0,
    error_rows      integer     NOT NULL DEFAULT 0,
    skipped_rows    integer     NOT NULL DEFAULT 0,
    created         integer     NOT NULL DEFAULT 0,
    failure         text        NOT NULL DEFAULT '' CHECK (char_length(failure) <= 1000),
    created_at      timestamptz NOT NULL DEFAULT clock_timestamp(),
    finished_at     timestamptz,
    expires_at      timestamptz NOT NULL,
    PRIMARY KEY (seller_id, id)
);
CREATE INDEX order_imports_open_by_expiry ON order_imports (expires_at) WHERE status = 'UPLOADING';

CREATE TABLE order_import_chunks (
    seller_id    uuid   NOT NULL,
    import_id    uuid   NOT NULL,
    start_offset bigint NOT NULL CHECK (start_offset >= 0),
    data         bytea  NOT NULL CHECK (octet_length(data) BETWEEN 1 AND 1048576),
    PRIMARY KEY (seller_id, import_id, start_offset),
    FOREIGN KEY (seller_id, import_id) REFERENCES order_imports (seller_id, id) ON DELETE CASCADE
);

CREATE TABLE order_import_errors (
    seller_id uuid    NOT NULL,
    import_id uuid    NOT NULL,
    line      integer NOT NULL CHECK (line >= 1),
    field     text    NOT NULL,
    message   text    NOT NULL CHECK (char_length(message) <= 1000),
    PRIMARY KEY (seller_id, import_id, line),
    FOREIGN KEY (seller_id, import_id) REFERENCES order_imports (seller_id, id) ON DELETE CASCADE
);

-- An imported order keeps the file's order name: one order per name and seller, which is what
-- makes a second run of the same file change nothing. import_id tells a repeat within one file
-- (an error: an order's rows follow each other) from an order an earlier import made.
ALTER TABLE orders NO FORCE ROW LEVEL SECURITY;
ALTER TABLE orders
    ADD COLUMN import_reference text CHECK (char_length(import_reference) BETWEEN 1 AND 64),
    ADD COLUMN import_id uuid;
CREATE UNIQUE INDEX orders_import_reference_idx ON orders (seller_id, import_reference) WHERE import_reference IS NOT NULL;
ALTER TABLE orders FORCE ROW LEVEL SECURITY;

-- An imported fulfillment is the same shipment when its order already has an uncancelled one
-- with the tracking number.
CREATE INDEX fulfillments_tracking_idx ON fulfillments (seller_id, order_id, tracking_number) WHERE cancelled_at IS NULL;

ALTER TABLE order_imports ENABLE ROW LEVEL SECURITY;
ALTER TABLE order_imports FORCE ROW LEVEL SECURITY;
CREATE POLICY seller_rows ON order_imports
    USING (seller_id = (SELECT app_seller_id())) WITH CHECK (seller_id = (SELECT app_seller_id()));
ALTER TABLE order_import_chunks ENABLE ROW LEVEL SECURITY;
ALTER TABLE order_import_chunks FORCE ROW LEVEL SECURITY;
CREATE POLICY seller_rows ON order_import_chunks
    USING (seller_id = (SELECT app_seller_id())) WITH CHECK (seller_id = (SELECT app_seller_id()));
ALTER TABLE order_import_errors ENABLE ROW LEVEL SECURITY;
ALTER TABLE order_import_errors FORCE ROW LEVEL SECURITY;
CREATE POLICY seller_rows ON order_import_errors
    USING (seller_id = (SELECT app_seller_id())) WITH CHECK (seller_id = (SELECT app_seller_id()));

-- The sweep of abandoned uploads (`OrderImportSweep`) works across sellers: it sets
-- app.import_sweep = 'on' in its own transactions, which delete unfinished uploads past their
-- expiry and nothing else (their chunks go by the foreign key's cascade, which row security
-- does not filter).
CREATE POLICY import_sweep ON order_imports
    USING (current_setting('app.import_sweep', true) = 'on' AND status = 'UPLOADING' AND expires_at < now());
