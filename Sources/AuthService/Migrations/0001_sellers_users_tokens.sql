-- Sellers (tenants), their users, the keys that sign access tokens and the refresh tokens.
-- seller_id leads the keys of every tenant table: every query is for one seller, except the
-- login lookup by e-mail, which happens before any seller is known.

CREATE TABLE sellers (
    id         uuid        PRIMARY KEY,
    name       text        NOT NULL CHECK (char_length(name) BETWEEN 1 AND 1000),
    plan       text        NOT NULL DEFAULT 'free' CHECK (plan IN ('free', 'starter', 'pro')),
    created_at timestamptz NOT NULL DEFAULT now()
);

-- E-mail addresses are stored lower-cased and are unique across sellers: one login, one seller.
CREATE TABLE users (
    seller_id     uuid        NOT NULL REFERENCES sellers (id),
    id            uuid        NOT NULL,
    email         text        NOT NULL CHECK (email = lower(email) AND char_length(email) BETWEEN 3 AND 320),
    -- PHC string: $scrypt$ln=17,r=8,p=1$<salt>$<hash> (base64, no padding).
    password_hash text        NOT NULL,
    role          text        NOT NULL CHECK (role IN ('OWNER', 'ADMIN', 'EDITOR', 'VIEWER')),
    created_at    timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (seller_id, id),
    UNIQUE (id)
);
CREATE UNIQUE INDEX users_by_email ON users (email);

-- Ed25519 signing keys. The private key is sealed (AES-256-GCM) under a key derived from
-- PIXECOM_AUTH_TOKEN_HASH_KEY, so a database dump alone cannot mint tokens. Every replica signs
-- with the newest key that is not retired and publishes every key that is not yet expired.
CREATE TABLE signing_keys (
    kid            text        PRIMARY KEY,
    public_key     bytea       NOT NULL CHECK (length(public_key) = 32),
    sealed_private bytea       NOT NULL,
    created_at     timestamptz NOT NULL DEFAULT now(),
    -- After this time the key signs nothing new; its tokens verify until they expire.
    retired_at     timestamptz
);

-- Refresh tokens: only an HMAC-SHA256 of the token is stored. A family is the chain of tokens
-- rotated from one login; reuse of a spent token revokes the whole family.
CREATE TABLE refresh_tokens (
    seller_id     uuid        NOT NULL,
    id            uuid        NOT NULL,
    family_id     uuid        NOT NULL,
    user_id       uuid        NOT NULL,
    token_hash    bytea       NOT NULL,
    created_at    timestamptz NOT NULL DEFAULT now(),
    -- Idle lifetime: unused this long, the token is dead.
    idle_expires_at timestamptz NOT NULL,
    -- Absolute lifetime of the family, carried over on rotation.
    family_expires_at timestamptz NOT NULL,
    used_at       timestamptz,
    revoked_at    timestamptz,
    PRIMARY KEY (seller_id, id),
    FOREIGN KEY (seller_id, user_id) REFERENCES users (seller_id, id)
);
CREATE UNIQUE INDEX refresh_tokens_by_hash ON refresh_tokens (token_hash);
CREATE INDEX refresh_tokens_by_family ON refresh_tokens (seller_id, family_id);
