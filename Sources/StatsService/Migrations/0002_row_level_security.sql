-- Row-level security: every tenant table admits only the rows of the seller named by the
-- transaction-local setting app.seller_id (PostgresClient.withSeller sets it). FORCE applies the
-- policies to the tables' owner too; the service itself runs as a role that owns nothing.
CREATE FUNCTION app_seller_id() RETURNS uuid LANGUAGE sql STABLE
AS $$ SELECT NULLIF(current_setting('app.seller_id', true), '')::uuid $$;

ALTER TABLE ad_daily_insights ENABLE ROW LEVEL SECURITY;
ALTER TABLE ad_daily_insights FORCE ROW LEVEL SECURITY;
CREATE POLICY seller_rows ON ad_daily_insights USING (seller_id = app_seller_id()) WITH CHECK (seller_id = app_seller_id());

ALTER TABLE processed_events ENABLE ROW LEVEL SECURITY;
ALTER TABLE processed_events FORCE ROW LEVEL SECURITY;
CREATE POLICY seller_rows ON processed_events USING (seller_id = app_seller_id()) WITH CHECK (seller_id = app_seller_id());

ALTER TABLE campaign_daily_revenue ENABLE ROW LEVEL SECURITY;
ALTER TABLE campaign_daily_revenue FORCE ROW LEVEL SECURITY;
CREATE POLICY seller_rows ON campaign_daily_revenue USING (seller_id = app_seller_id()) WITH CHECK (seller_id = app_seller_id());
