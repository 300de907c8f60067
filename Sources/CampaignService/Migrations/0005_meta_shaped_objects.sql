-- Campaigns, ad sets and ads in the shape of Meta's Marketing API (docs/API.md, "Campaigns").
--
-- Budgets live at exactly one level: a campaign budget (daily or lifetime) or one per ad set. The
-- "one of daily or lifetime" half is a CHECK on each row; the "campaign or ad sets" half spans
-- rows and is enforced where ad sets are created, under a share lock on the campaign, whose budget
-- type cannot change afterwards. Rows written before this migration keep the daily budgets they
-- have at both levels.
-- The bid strategy and special ad categories are set when the campaign is created; an ad set's
-- bid amount or ROAS floor exists exactly when its campaign's strategy needs one.
-- Targeting is stored as the JSON of `TargetingSpec`; ad sets from before it hold '{}' (no
-- targeting recorded).

ALTER TABLE campaigns
    ALTER COLUMN daily_budget DROP NOT NULL,
    ADD COLUMN lifetime_budget bigint CHECK (lifetime_budget > 0),
    ADD COLUMN bid_strategy text NOT NULL DEFAULT 'LOWEST_COST_WITHOUT_CAP'
        CHECK (bid_strategy IN ('LOWEST_COST_WITHOUT_CAP', 'LOWEST_COST_WITH_BID_CAP', 'COST_CAP', 'LOWEST_COST_WITH_MIN_ROAS')),
    ADD COLUMN special_ad_categories text[] NOT NULL DEFAULT '{}',
    ADD CONSTRAINT campaigns_one_budget_type CHECK (daily_budget IS NULL OR lifetime_budget IS NULL);

ALTER TABLE ad_sets
    ALTER COLUMN daily_budget DROP NOT NULL,
    ADD COLUMN lifetime_budget bigint CHECK (lifetime_budget > 0),
    ADD COLUMN bid_amount bigint CHECK (bid_amount > 0),
    ADD COLUMN roas_average_floor bigint CHECK (roas_average_floor > 0),
    ADD COLUMN optimization_goal text NOT NULL DEFAULT 'OFFSITE_CONVERSIONS',
    ADD COLUMN billing_event text NOT NULL DEFAULT 'IMPRESSIONS' CHECK (billing_event IN ('IMPRESSIONS', 'LINK_CLICKS')),
    ADD COLUMN targeting jsonb NOT NULL DEFAULT '{}',
    ADD COLUMN start_time timestamptz,
    ADD COLUMN end_time timestamptz,
    ADD CONSTRAINT ad_sets_one_budget_type CHECK (daily_budget IS NULL OR lifetime_budget IS NULL);
-- Migrations run as the tables' owner, and FORCE ROW LEVEL SECURITY (0003) applies to the owner
-- too: without a seller in scope the backfill would see no row and the NOT NULL below would fail
-- on every database with ad sets. Lifted for this statement only, inside the migration's
-- transaction.
ALTER TABLE ad_sets NO FORCE ROW LEVEL SECURITY;
UPDATE ad_sets SET start_time = created_at;
ALTER TABLE ad_sets FORCE ROW LEVEL SECURITY;
ALTER TABLE ad_sets
    ALTER COLUMN start_time SET NOT NULL,
    ALTER COLUMN start_time SET DEFAULT now(),
    ADD CONSTRAINT ad_sets_schedule CHECK (end_time IS NULL OR end_time > start_time);

-- The List filters on update_time: by seller, in update order.
CREATE INDEX campaigns_by_updated ON campaigns (seller_id, updated_at);
CREATE INDEX ad_sets_by_updated ON ad_sets (seller_id, updated_at);
CREATE INDEX ads_by_updated ON ads (seller_id, updated_at);
