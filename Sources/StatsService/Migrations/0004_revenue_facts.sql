-- Revenue as raw facts (one row per order event, never changed) and aggregates rebuilt from them.
--
-- A fact carries its additive effect on its bucket: (campaign, ad, sale day, currency). The
-- aggregate of a bucket is always exactly the sum of its facts: the re-aggregation job
-- (stats.revenue_reaggregate) recomputes it from scratch for each bucket marked dirty, so a
-- duplicate, a late or an out-of-order event can never leave it off. Campaign, ad set, ad and sell
-- page keys are text: a UUID in lower case, or '' when the order does not name one.

-- Platform-reported purchases, counted once per row across Meta's overlapping action types.
ALTER TABLE ad_daily_insights ADD COLUMN purchases bigint NOT NULL DEFAULT 0 CHECK (purchases >= 0);

CREATE TABLE revenue_facts (
    seller_id uuid NOT NULL,
    event_id uuid NOT NULL,
    order_id uuid,
    kind text NOT NULL CHECK (kind IN ('PAID', 'REFUNDED', 'CHARGED_BACK', 'CHARGEBACK_REVERSED', 'MIGRATED')),
    campaign_key text NOT NULL,
    ad_set_key text NOT NULL,
    ad_key text NOT NULL,
    sell_page_key text NOT NULL,
    -- The sale's calendar day in the attributed ad account's time zone (UTC when none).
    day date NOT NULL,
    currency text NOT NULL CHECK (currency ~ '^[A-Z]{3}$'),
    orders bigint NOT NULL DEFAULT 0 CHECK (orders >= 0),
    revenue bigint NOT NULL DEFAULT 0 CHECK (revenue >= 0),
    refunds bigint NOT NULL DEFAULT 0 CHECK (refunds >= 0),
    chargebacks bigint NOT NULL DEFAULT 0 CHECK (chargebacks >= 0),
    chargeback_reversals bigint NOT NULL DEFAULT 0 CHECK (chargeback_reversals >= 0),
    sale_at timestamptz,
    occurred_at timestamptz,
    recorded_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (seller_id, event_id)
);
CREATE INDEX revenue_facts_bucket_idx ON revenue_facts (seller_id, campaign_key, ad_key, day, currency);

-- Per (campaign, ad, day, currency): the sums of the bucket's facts. Only the job writes it.
CREATE TABLE ad_daily_revenue (
    seller_id uuid NOT NULL,
    campaign_key text NOT NULL,
    ad_key text NOT NULL,
    day date NOT NULL,
    currency text NOT NULL,
    ad_set_key text NOT NULL,
    orders bigint NOT NULL,
    revenue bigint NOT NULL,
    refunds bigint NOT NULL,
    chargebacks bigint NOT NULL,
    chargeback_reversals bigint NOT NULL,
    updated_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (seller_id, campaign_key, ad_key, day, currency)
);
CREATE INDEX ad_daily_revenue_ad_idx ON ad_daily_revenue (seller_id, ad_key, day) WHERE ad_key <> '';

-- Buckets whose facts changed since their aggregate was computed. Marked in the transaction that
-- writes the fact (with a row lock, so a job recomputing the bucket at that moment finishes
-- first and the mark survives it); removed by the job that recomputed the bucket.
CREATE TABLE revenue_dirty_buckets (
    seller_id uuid NOT NULL,
    campaign_key text NOT NULL,
    ad_key text NOT NULL,
    day date NOT NULL,
    currency text NOT NULL,
    marked_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (seller_id, campaign_key, ad_key, day, currency)
);

-- The campaign-level sums kept before facts existed become one fact each (their events are
-- already in processed_events, so they are never applied twice), then their aggregates.
ALTER TABLE campaign_daily_revenue NO FORCE ROW LEVEL SECURITY;
ALTER TABLE revenue_facts NO FORCE ROW LEVEL SECURITY;
ALTER TABLE ad_daily_revenue NO FORCE ROW LEVEL SECURITY;
INSERT INTO revenue_facts
    (seller_id, event_id, order_id, kind, campaign_key, ad_set_key, ad_key, sell_page_key, day, currency, orders, revenue, refunds)
SELECT seller_id, gen_random_uuid(), NULL, 'MIGRATED', campaign_id, '', '', '', day, currency, orders, revenue, refunds
FROM campaign_daily_revenue;
INSERT INTO ad_daily_revenue
    (seller_id, campaign_key, ad_key, day, currency, ad_set_key, orders, revenue, refunds, chargebacks, chargeback_reversals)
SELECT seller_id, campaign_key, ad_key, day, currency, '', sum(orders), sum(revenue), sum(refunds), 0, 0
FROM revenue_facts GROUP BY seller_id, campaign_key, ad_key, day, currency;
DROP TABLE campaign_daily_revenue;

ALTER TABLE revenue_facts ENABLE ROW LEVEL SECURITY;
ALTER TABLE revenue_facts FORCE ROW LEVEL SECURITY;
CREATE POLICY seller_rows ON revenue_facts USING (seller_id = app_seller_id()) WITH CHECK (seller_id = app_seller_id());

ALTER TABLE ad_daily_revenue ENABLE ROW LEVEL SECURITY;
ALTER TABLE ad_daily_revenue FORCE ROW LEVEL SECURITY;
CREATE POLICY seller_rows ON ad_daily_revenue USING (seller_id = app_seller_id()) WITH CHECK (seller_id = app_seller_id());

ALTER TABLE revenue_dirty_buckets ENABLE ROW LEVEL SECURITY;
ALTER TABLE revenue_dirty_buckets FORCE ROW LEVEL SECURITY;
CREATE POLICY seller_rows ON revenue_dirty_buckets USING (seller_id = app_seller_id()) WITH CHECK (seller_id = app_seller_id());
