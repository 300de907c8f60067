-- The row-level security policies compare each row with (SELECT app_seller_id()): a subquery the
-- planner runs once per statement (an InitPlan), where a bare app_seller_id() is evaluated again
-- for every row checked. Same rule, same rows; an insights batch of 2,500 rows spent about 13 % of
-- its upsert in the per-row calls.
ALTER POLICY seller_rows ON ad_daily_insights
    USING (seller_id = (SELECT app_seller_id())) WITH CHECK (seller_id = (SELECT app_seller_id()));
ALTER POLICY seller_rows ON processed_events
    USING (seller_id = (SELECT app_seller_id())) WITH CHECK (seller_id = (SELECT app_seller_id()));
ALTER POLICY seller_rows ON revenue_facts
    USING (seller_id = (SELECT app_seller_id())) WITH CHECK (seller_id = (SELECT app_seller_id()));
ALTER POLICY seller_rows ON ad_daily_revenue
    USING (seller_id = (SELECT app_seller_id())) WITH CHECK (seller_id = (SELECT app_seller_id()));
ALTER POLICY seller_rows ON revenue_dirty_buckets
    USING (seller_id = (SELECT app_seller_id())) WITH CHECK (seller_id = (SELECT app_seller_id()));
