-- Ad strategies: named presets of ad set settings (docs/API.md, "Ad strategies"). An ad set
-- copies the values it takes when it is created and does not point here, so changing or deleting
-- a strategy never rewrites an ad set.
CREATE TABLE ad_strategies (
    seller_id          uuid        NOT NULL,
    id                 uuid        NOT NULL,
    name               text        NOT NULL CHECK (char_length(name) BETWEEN 1 AND 1000),
    daily_budget       bigint      CHECK (daily_budget > 0),
    lifetime_budget    bigint      CHECK (lifetime_budget > 0),
    bid_strategy       text        NOT NULL,
    bid_amount         bigint      CHECK (bid_amount > 0),
    roas_average_floor bigint      CHECK (roas_average_floor > 0),
    optimization_goal  text,
    billing_event      text,
    -- The JSON of `TargetingSpec`, or NULL: the ad set brings its own.
    targeting          jsonb,
    created_at         timestamptz NOT NULL DEFAULT clock_timestamp(),
    updated_at         timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (seller_id, id),
    CHECK (daily_budget IS NULL OR lifetime_budget IS NULL)
);
CREATE INDEX ad_strategies_by_created ON ad_strategies (seller_id, created_at, id);
ALTER TABLE ad_strategies ENABLE ROW LEVEL SECURITY;
ALTER TABLE ad_strategies FORCE ROW LEVEL SECURITY;
CREATE POLICY seller_rows ON ad_strategies USING (seller_id = app_seller_id()) WITH CHECK (seller_id = app_seller_id());
