-- API keys for scripts: `pxk_<public id>_<secret>`. Only an HMAC of the whole key is stored; the
-- public id is kept to show which key is which (and lets secret scanners recognise leaks).
CREATE TABLE api_keys (
    seller_id    uuid        NOT NULL REFERENCES sellers (id),
    id           uuid        NOT NULL,
    public_id    text        NOT NULL UNIQUE,
    name         text        NOT NULL CHECK (char_length(name) BETWEEN 1 AND 200),
    scope        text        NOT NULL CHECK (scope IN ('READ', 'FULL')),
    key_hash     bytea       NOT NULL UNIQUE,
    created_by   uuid        NOT NULL,
    created_at   timestamptz NOT NULL DEFAULT now(),
    last_used_at timestamptz,
    revoked_at   timestamptz,
    PRIMARY KEY (seller_id, id)
);
