-- The storefront funnel, and revenue per sell page.
--
-- Revenue buckets gain the sell page the order was placed on: (campaign, ad, sell page, day,
-- currency). An order's later events (refunds, chargebacks) count on its sale's page, as they do
-- on its sale's campaign, ad and day. The aggregates are rebuilt from the facts here.
ALTER TABLE revenue_facts NO FORCE ROW LEVEL SECURITY;
ALTER TABLE ad_daily_revenue NO FORCE ROW LEVEL SECURITY;
ALTER TABLE revenue_dirty_buckets NO FORCE ROW LEVEL SECURITY;

UPDATE revenue_facts f SET sell_page_key = s.sell_page_key
FROM revenue_facts s
WHERE s.seller_id = f.seller_id AND s.order_id = f.order_id AND s.kind = 'PAID'
  AND f.kind <> 'PAID' AND f.sell_page_key <> s.sell_page_key;

ALTER TABLE ad_daily_revenue ADD COLUMN sell_page_key text NOT NULL DEFAULT '';
ALTER TABLE ad_daily_revenue DROP CONSTRAINT ad_daily_revenue_pkey;
DELETE FROM ad_daily_revenue;
INSERT INTO ad_daily_revenue
    (seller_id, campaign_key, ad_key, sell_page_key, day, currency, ad_set_key, orders, revenue, refunds, chargebacks,
     chargeback_reversals)
SELECT seller_id, campaign_key, ad_key, sell_page_key, day, currency, max(ad_set_key), sum(orders), sum(revenue), sum(refunds),
       sum(chargebacks), sum(chargeback_reversals)
FROM revenue_facts
GROUP BY seller_id, campaign_key, ad_key, sell_page_key, day, currency;
ALTER TABLE ad_daily_revenue ADD PRIMARY KEY (seller_id, campaign_key, ad_key, sell_page_key, day, currency);
CREATE INDEX ad_daily_revenue_sell_page_idx ON ad_daily_revenue (seller_id, sell_page_key, day) WHERE sell_page_key <> '';

-- Every aggregate was just rebuilt from every fact, so no mark is left to honour.
DELETE FROM revenue_dirty_buckets;
ALTER TABLE revenue_dirty_buckets ADD COLUMN sell_page_key text NOT NULL DEFAULT '';
ALTER TABLE revenue_dirty_buckets DROP CONSTRAINT revenue_dirty_buckets_pkey;
ALTER TABLE revenue_dirty_buckets ADD PRIMARY KEY (seller_id, campaign_key, ad_key, sell_page_key, day, currency);

ALTER TABLE revenue_facts FORCE ROW LEVEL SECURITY;
ALTER TABLE ad_daily_revenue FORCE ROW LEVEL SECURITY;
ALTER TABLE revenue_dirty_buckets FORCE ROW LEVEL SECURITY;

-- Storefront funnel events as raw facts: one row per event id, never changed. The day is the
-- event's calendar day in the time zone of the ad account of the ad (or campaign) that sent the
-- visitor, UTC when none; campaign, ad set and ad keys are lower-case UUIDs or ''.
CREATE TABLE funnel_events (
    seller_id uuid NOT NULL,
    event_id uuid NOT NULL,
    sell_page_id uuid NOT NULL,
    step text NOT NULL CHECK (step IN ('PAGE_VIEW', 'ADD_TO_CART', 'CHECKOUT_STARTED', 'PURCHASE')),
    occurred_at timestamptz NOT NULL,
    day date NOT NULL,
    campaign_key text NOT NULL,
    ad_set_key text NOT NULL,
    ad_key text NOT NULL,
    currency text NOT NULL CHECK (currency ~ '^[A-Z]{3}$'),
    recorded_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (seller_id, event_id)
);

-- Per (sell page, ad that sent the visitor, day, currency): the counts of the bucket's events.
-- Written in the transaction that inserts the events, by adding exactly the counts of the rows
-- that insert returned (a duplicate returns none), so it always equals a count of the facts.
CREATE TABLE sell_page_daily_funnel (
    seller_id uuid NOT NULL,
    sell_page_id uuid NOT NULL,
    ad_key text NOT NULL,
    day date NOT NULL,
    currency text NOT NULL,
    campaign_key text NOT NULL,
    ad_set_key text NOT NULL,
    page_views bigint NOT NULL CHECK (page_views >= 0),
    add_to_carts bigint NOT NULL CHECK (add_to_carts >= 0),
    checkouts_started bigint NOT NULL CHECK (checkouts_started >= 0),
    purchases bigint NOT NULL CHECK (purchases >= 0),
    updated_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (seller_id, sell_page_id, ad_key, day, currency)
);
CREATE INDEX sell_page_daily_funnel_day_idx ON sell_page_daily_funnel (seller_id, day);

ALTER TABLE funnel_events ENABLE ROW LEVEL SECURITY;
ALTER TABLE funnel_events FORCE ROW LEVEL SECURITY;
CREATE POLICY seller_rows ON funnel_events
    USING (seller_id = (SELECT app_seller_id())) WITH CHECK (seller_id = (SELECT app_seller_id()));

ALTER TABLE sell_page_daily_funnel ENABLE ROW LEVEL SECURITY;
ALTER TABLE sell_page_daily_funnel FORCE ROW LEVEL SECURITY;
CREATE POLICY seller_rows ON sell_page_daily_funnel
    USING (seller_id = (SELECT app_seller_id())) WITH CHECK (seller_id = (SELECT app_seller_id()));
