-- A new row's update_time is its create_time (clock_timestamp(), as 0006 made created_at), not the
-- start of its transaction, which comes before: otherwise a row could look updated before it was
-- created, and an updated_after filter at its creation time would miss it.
ALTER TABLE campaigns ALTER COLUMN updated_at SET DEFAULT clock_timestamp();
ALTER TABLE ad_sets ALTER COLUMN updated_at SET DEFAULT clock_timestamp();
ALTER TABLE ads ALTER COLUMN updated_at SET DEFAULT clock_timestamp();
ALTER TABLE ad_strategies ALTER COLUMN updated_at SET DEFAULT clock_timestamp();
