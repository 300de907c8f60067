-- The export's cells without regular expressions (a cell is checked by byte searches, as
-- PostgreSQL's own CSV output does), money by integer arithmetic, and the row-level security of
-- the tables the export reads with the seller computed once per statement: the policies compare
-- with (SELECT app_seller_id()), an InitPlan, rather than calling the function for every row (as
-- StatsService's policies do since its 0005). The rules are the same.
CREATE OR REPLACE FUNCTION csv_cell(value text) RETURNS text LANGUAGE sql IMMUTABLE PARALLEL SAFE
AS $$ SELECT CASE
    WHEN value = '' THEN ''
    WHEN left(value, 1) IN ('=', '+', '-', '@', E'\t', E'\r') THEN '"''' || replace(value, '"', '""') || '"'
    WHEN strpos(value, '"') > 0 THEN '"' || replace(value, '"', '""') || '"'
    WHEN strpos(value, ',') > 0 OR strpos(value, E'\n') > 0 OR strpos(value, E'\r') > 0 THEN '"' || value || '"'
    ELSE value END $$;

CREATE OR REPLACE FUNCTION csv_money(amount bigint, exponent integer) RETURNS text LANGUAGE sql IMMUTABLE PARALLEL SAFE
AS $$ SELECT CASE exponent
    WHEN 0 THEN amount::text
    WHEN 2 THEN (amount / 100)::text || '.' || lpad((amount % 100)::text, 2, '0')
    WHEN 3 THEN (amount / 1000)::text || '.' || lpad((amount % 1000)::text, 3, '0')
    ELSE (amount / 10000)::text || '.' || lpad((amount % 10000)::text, 4, '0') END $$;

ALTER POLICY seller_rows ON orders
    USING (seller_id = (SELECT app_seller_id())) WITH CHECK (seller_id = (SELECT app_seller_id()));
ALTER POLICY seller_rows ON order_line_items
    USING (seller_id = (SELECT app_seller_id())) WITH CHECK (seller_id = (SELECT app_seller_id()));
