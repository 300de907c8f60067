-- The row-level security of the tables the order export reads, with the seller computed once
-- per statement: the policies compare with (SELECT app_seller_id()), an InitPlan, rather than
-- calling the function for every row (as StatsService's policies do since its 0005). The rule is
-- the same. The export now writes its cells in the service, from the columns' binary values, so
-- 0010's csv_cell and csv_money go.
ALTER POLICY seller_rows ON orders
    USING (seller_id = (SELECT app_seller_id())) WITH CHECK (seller_id = (SELECT app_seller_id()));
ALTER POLICY seller_rows ON order_line_items
    USING (seller_id = (SELECT app_seller_id())) WITH CHECK (seller_id = (SELECT app_seller_id()));

DROP FUNCTION csv_cell(text);
DROP FUNCTION csv_money(bigint, integer);
