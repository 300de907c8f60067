-- An order's later events (refunds, chargebacks) count in the bucket of its sale: they find the
-- order's PAID fact by order id.
CREATE INDEX revenue_facts_order_idx ON revenue_facts (seller_id, order_id) WHERE order_id IS NOT NULL;
