-- Row-level security: every tenant table admits only the rows of the seller named by the
-- transaction-local setting app.seller_id (PostgresClient.withSeller sets it). FORCE applies the
-- policies to the tables' owner too; the service itself runs as a role that owns nothing.
CREATE FUNCTION app_seller_id() RETURNS uuid LANGUAGE sql STABLE
AS $$ SELECT NULLIF(current_setting('app.seller_id', true), '')::uuid $$;

ALTER TABLE orders ENABLE ROW LEVEL SECURITY;
ALTER TABLE orders FORCE ROW LEVEL SECURITY;
CREATE POLICY seller_rows ON orders USING (seller_id = app_seller_id()) WITH CHECK (seller_id = app_seller_id());

ALTER TABLE order_line_items ENABLE ROW LEVEL SECURITY;
ALTER TABLE order_line_items FORCE ROW LEVEL SECURITY;
CREATE POLICY seller_rows ON order_line_items USING (seller_id = app_seller_id()) WITH CHECK (seller_id = app_seller_id());

ALTER TABLE order_events ENABLE ROW LEVEL SECURITY;
ALTER TABLE order_events FORCE ROW LEVEL SECURITY;
CREATE POLICY seller_rows ON order_events USING (seller_id = app_seller_id()) WITH CHECK (seller_id = app_seller_id());

ALTER TABLE idempotency_keys ENABLE ROW LEVEL SECURITY;
ALTER TABLE idempotency_keys FORCE ROW LEVEL SECURITY;
CREATE POLICY seller_rows ON idempotency_keys USING (seller_id = app_seller_id()) WITH CHECK (seller_id = app_seller_id());

-- The outbox relay delivers every seller's events: a transaction that sets app.outbox_relay sees
-- all of the outbox (and nothing more of any other table).
ALTER TABLE outbox ENABLE ROW LEVEL SECURITY;
ALTER TABLE outbox FORCE ROW LEVEL SECURITY;
CREATE POLICY seller_rows ON outbox
    USING (seller_id = app_seller_id() OR current_setting('app.outbox_relay', true) = 'on')
    WITH CHECK (seller_id = app_seller_id() OR current_setting('app.outbox_relay', true) = 'on');
