-- Stats holds only additive daily sums; every ratio is computed when read.

-- One row per (seller, ad, day) as reported by the ad platform. A restatement of a day replaces
-- its numbers (upsert on the primary key).
CREATE TABLE ad_daily_insights (
    seller_id uuid NOT NULL,
    ad_id uuid NOT NULL,
    day date NOT NULL,
    campaign_id uuid NOT NULL,
    ad_set_id uuid NOT NULL,
    spend bigint NOT NULL CHECK (spend >= 0),
    currency text NOT NULL CHECK (currency ~ '^[A-Z]{3}$'),
    impressions bigint NOT NULL CHECK (impressions >= 0),
    clicks bigint NOT NULL CHECK (clicks >= 0),
    updated_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (seller_id, ad_id, day)
);

CREATE INDEX ad_daily_insights_campaign_day_idx
    ON ad_daily_insights (seller_id, campaign_id, day);

-- Order events already applied, so a redelivery changes nothing. Written in the same transaction
-- as the revenue change.
CREATE TABLE processed_events (
    seller_id uuid NOT NULL,
    event_id uuid NOT NULL,
    order_id uuid NOT NULL,
    kind text NOT NULL,
    processed_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (seller_id, event_id)
);

-- Order revenue per campaign and paid day. campaign_id is the order's utm_campaign as text ('' when
-- the order is unattributed). Refunds count against the day of the sale.
CREATE TABLE campaign_daily_revenue (
    seller_id uuid NOT NULL,
    campaign_id text NOT NULL,
    day date NOT NULL,
    currency text NOT NULL CHECK (currency ~ '^[A-Z]{3}$'),
    orders bigint NOT NULL DEFAULT 0 CHECK (orders >= 0),
    revenue bigint NOT NULL DEFAULT 0 CHECK (revenue >= 0),
    refunds bigint NOT NULL DEFAULT 0 CHECK (refunds >= 0),
    updated_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (seller_id, campaign_id, day, currency)
);
