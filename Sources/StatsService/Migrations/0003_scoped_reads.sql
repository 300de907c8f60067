-- One-round-trip reads for one seller (PostgresClient.readAsSeller in ServiceKit): the statement
-- calls this first, in a LATERAL join that makes its query wait for the result, and the setting
-- lasts only as long as the statement's own transaction. The row-level security policies are
-- unchanged: they still compare each row with app.seller_id, so a read can only ever see the
-- seller it named. VOLATILE: it has an effect and must run exactly once, never be folded away.
CREATE FUNCTION app_enter_seller(seller uuid) RETURNS uuid LANGUAGE sql VOLATILE
AS $$ SELECT set_config('app.seller_id', seller::text, true)::uuid $$;
