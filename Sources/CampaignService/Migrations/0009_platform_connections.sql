-- Platform connections (docs/API.md, "Ad accounts and connections"): a seller's grant on an ad
-- platform, i.e. the platform user's access token, through which ad accounts are connected.
--
-- The token is stored sealed with AES-256-GCM (`PlatformTokenVault`): token_sealed is
-- nonce (12 bytes) || ciphertext || tag (16 bytes) under the key numbered token_key_version in
-- PIXECOM_PLATFORM_TOKEN_KEYS, with the seller id and connection id as authenticated data (a
-- sealed token copied to another row does not open). A database dump alone reveals no token.
CREATE TABLE platform_connections (
    seller_id         uuid        NOT NULL,
    id                uuid        NOT NULL,
    platform          text        NOT NULL,
    external_user_id  text        NOT NULL,
    token_sealed      bytea       NOT NULL CHECK (octet_length(token_sealed) > 28),
    token_key_version integer     NOT NULL CHECK (token_key_version > 0),
    created_at        timestamptz NOT NULL DEFAULT clock_timestamp(),
    updated_at        timestamptz NOT NULL DEFAULT clock_timestamp(),
    PRIMARY KEY (seller_id, id),
    -- Connecting the same platform user again updates its token: one connection per user.
    UNIQUE (seller_id, platform, external_user_id)
);
CREATE INDEX platform_connections_by_created ON platform_connections (seller_id, created_at, id);
-- The re-encryption job looks for tokens under other key versions than the newest.
CREATE INDEX platform_connections_by_key_version ON platform_connections (token_key_version);
ALTER TABLE platform_connections ENABLE ROW LEVEL SECURITY;
ALTER TABLE platform_connections FORCE ROW LEVEL SECURITY;
CREATE POLICY seller_rows ON platform_connections
    USING (seller_id = app_seller_id()) WITH CHECK (seller_id = app_seller_id());
-- The re-encryption job (`PlatformTokenRotation`) works across sellers: it sets
-- app.token_rotation = 'on' in its own transactions, which touch token_sealed and
-- token_key_version only.
CREATE POLICY token_rotation ON platform_connections
    USING (current_setting('app.token_rotation', true) = 'on')
    WITH CHECK (current_setting('app.token_rotation', true) = 'on');

-- Ad accounts belong to a connection (NULL for those connected before connections existed), have
-- a status (a disconnect is soft: the row and everything under it stay) and carry their pages
-- and pixels as the platform listed them: [{"id", "name", "pixels": [{"id", "name"}]}].
ALTER TABLE ad_accounts
    ADD COLUMN connection_id    uuid,
    ADD COLUMN status           text NOT NULL DEFAULT 'CONNECTED' CHECK (status IN ('CONNECTED', 'DISCONNECTED')),
    ADD COLUMN disconnected_at  timestamptz,
    ADD COLUMN pages            jsonb NOT NULL DEFAULT '[]' CHECK (jsonb_typeof(pages) = 'array'),
    ADD COLUMN default_page_id  text,
    ADD COLUMN default_pixel_id text,
    ADD FOREIGN KEY (seller_id, connection_id) REFERENCES platform_connections (seller_id, id),
    ADD CHECK ((status = 'DISCONNECTED') = (disconnected_at IS NOT NULL)),
    ADD CHECK (default_pixel_id IS NULL OR default_page_id IS NOT NULL);
ALTER TABLE ad_accounts ALTER COLUMN updated_at SET DEFAULT clock_timestamp();

-- The sandbox platform's users and the tokens it issued them (their SHA-256: the sandbox, like
-- Meta, can check a token without keeping it), its pages and pixels, and which user owns each
-- ad account.
CREATE TABLE sandbox_tokens (
    seller_id    uuid        NOT NULL,
    token_sha256 bytea       NOT NULL CHECK (octet_length(token_sha256) = 32),
    user_id      text        NOT NULL,
    created_at   timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (seller_id, token_sha256)
);
ALTER TABLE sandbox_tokens ENABLE ROW LEVEL SECURITY;
ALTER TABLE sandbox_tokens FORCE ROW LEVEL SECURITY;
CREATE POLICY seller_rows ON sandbox_tokens USING (seller_id = app_seller_id()) WITH CHECK (seller_id = app_seller_id());

ALTER TABLE sandbox_objects DROP CONSTRAINT sandbox_objects_kind_check;
ALTER TABLE sandbox_objects
    ADD CHECK (kind IN ('ad_account', 'campaign', 'ad_set', 'ad', 'page', 'pixel')),
    ADD COLUMN owner_user_id text;

-- The sandbox's budget changes of ad sets, for Meta's rule of at most 4 per ad set per hour.
CREATE TABLE sandbox_budget_changes (
    seller_id   uuid        NOT NULL,
    external_id text        NOT NULL,
    changed_at  timestamptz NOT NULL DEFAULT clock_timestamp(),
    FOREIGN KEY (seller_id, external_id) REFERENCES sandbox_objects (seller_id, external_id)
);
CREATE INDEX sandbox_budget_changes_by_object ON sandbox_budget_changes (seller_id, external_id, changed_at);
ALTER TABLE sandbox_budget_changes ENABLE ROW LEVEL SECURITY;
ALTER TABLE sandbox_budget_changes FORCE ROW LEVEL SECURITY;
CREATE POLICY seller_rows ON sandbox_budget_changes USING (seller_id = app_seller_id()) WITH CHECK (seller_id = app_seller_id());
