-- Row-level security: every tenant table admits only the rows of the seller named by the
-- transaction-local setting app.seller_id (PostgresClient.withSeller sets it). FORCE applies the
-- policies to the tables' owner too; the service itself runs as a role that owns nothing.
-- Without the setting no row is visible and none can be written.
CREATE FUNCTION app_seller_id() RETURNS uuid LANGUAGE sql STABLE
AS $$ SELECT NULLIF(current_setting('app.seller_id', true), '')::uuid $$;

ALTER TABLE ad_accounts ENABLE ROW LEVEL SECURITY;
ALTER TABLE ad_accounts FORCE ROW LEVEL SECURITY;
CREATE POLICY seller_rows ON ad_accounts USING (seller_id = app_seller_id()) WITH CHECK (seller_id = app_seller_id());

ALTER TABLE campaigns ENABLE ROW LEVEL SECURITY;
ALTER TABLE campaigns FORCE ROW LEVEL SECURITY;
CREATE POLICY seller_rows ON campaigns USING (seller_id = app_seller_id()) WITH CHECK (seller_id = app_seller_id());

ALTER TABLE ad_sets ENABLE ROW LEVEL SECURITY;
ALTER TABLE ad_sets FORCE ROW LEVEL SECURITY;
CREATE POLICY seller_rows ON ad_sets USING (seller_id = app_seller_id()) WITH CHECK (seller_id = app_seller_id());

ALTER TABLE ads ENABLE ROW LEVEL SECURITY;
ALTER TABLE ads FORCE ROW LEVEL SECURITY;
CREATE POLICY seller_rows ON ads USING (seller_id = app_seller_id()) WITH CHECK (seller_id = app_seller_id());

ALTER TABLE sandbox_objects ENABLE ROW LEVEL SECURITY;
ALTER TABLE sandbox_objects FORCE ROW LEVEL SECURITY;
CREATE POLICY seller_rows ON sandbox_objects USING (seller_id = app_seller_id()) WITH CHECK (seller_id = app_seller_id());
