-- Row-level security: every tenant table admits only the rows of the seller named by the
-- transaction-local setting app.seller_id (PostgresClient.withSeller sets it). FORCE applies the
-- policies to the tables' owner too; the service itself runs as a role that owns nothing.
--
-- Not tenant tables, so not under these policies: signing_keys, login_throttle and user_logins,
-- the map from a login e-mail to its seller that a login needs before any seller is known.
-- Refresh tokens, invitations and API keys carry their seller id, so their lookups happen
-- inside the seller's scope.
CREATE FUNCTION app_seller_id() RETURNS uuid LANGUAGE sql STABLE
AS $$ SELECT NULLIF(current_setting('app.seller_id', true), '')::uuid $$;

CREATE TABLE user_logins (
    email     text PRIMARY KEY CHECK (email = lower(email)),
    seller_id uuid NOT NULL,
    user_id   uuid NOT NULL UNIQUE
);
INSERT INTO user_logins (email, seller_id, user_id) SELECT email, seller_id, id FROM users;

ALTER TABLE sellers ENABLE ROW LEVEL SECURITY;
ALTER TABLE sellers FORCE ROW LEVEL SECURITY;
CREATE POLICY seller_rows ON sellers USING (id = app_seller_id()) WITH CHECK (id = app_seller_id());

ALTER TABLE users ENABLE ROW LEVEL SECURITY;
ALTER TABLE users FORCE ROW LEVEL SECURITY;
CREATE POLICY seller_rows ON users USING (seller_id = app_seller_id()) WITH CHECK (seller_id = app_seller_id());

ALTER TABLE refresh_tokens ENABLE ROW LEVEL SECURITY;
ALTER TABLE refresh_tokens FORCE ROW LEVEL SECURITY;
CREATE POLICY seller_rows ON refresh_tokens USING (seller_id = app_seller_id()) WITH CHECK (seller_id = app_seller_id());

ALTER TABLE invitations ENABLE ROW LEVEL SECURITY;
ALTER TABLE invitations FORCE ROW LEVEL SECURITY;
CREATE POLICY seller_rows ON invitations USING (seller_id = app_seller_id()) WITH CHECK (seller_id = app_seller_id());

ALTER TABLE api_keys ENABLE ROW LEVEL SECURITY;
ALTER TABLE api_keys FORCE ROW LEVEL SECURITY;
CREATE POLICY seller_rows ON api_keys USING (seller_id = app_seller_id()) WITH CHECK (seller_id = app_seller_id());

-- Failed logins for unknown e-mails have no seller: written outside any seller's scope, read
-- only by operators.
ALTER TABLE audit_events ENABLE ROW LEVEL SECURITY;
ALTER TABLE audit_events FORCE ROW LEVEL SECURITY;
CREATE POLICY seller_rows ON audit_events
    USING (seller_id IS NOT DISTINCT FROM app_seller_id())
    WITH CHECK (seller_id IS NOT DISTINCT FROM app_seller_id());
