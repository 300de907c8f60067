-- Invitations of new members, the audit log and login throttling.

-- An invitation: only a keyed hash of its token is stored; it is usable once, for 7 days.
CREATE TABLE invitations (
    seller_id   uuid        NOT NULL REFERENCES sellers (id),
    id          uuid        NOT NULL,
    email       text        NOT NULL CHECK (email = lower(email) AND char_length(email) BETWEEN 3 AND 320),
    role        text        NOT NULL CHECK (role IN ('ADMIN', 'EDITOR', 'VIEWER')),
    token_hash  bytea       NOT NULL,
    invited_by  uuid        NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now(),
    expires_at  timestamptz NOT NULL,
    accepted_at timestamptz,
    PRIMARY KEY (seller_id, id)
);
CREATE UNIQUE INDEX invitations_by_hash ON invitations (token_hash);

-- What happened to accounts. Failed logins for unknown e-mails have no seller: operators see
-- them, sellers never do.
CREATE TABLE audit_events (
    seller_id       uuid,
    id              uuid        NOT NULL PRIMARY KEY,
    at              timestamptz NOT NULL DEFAULT clock_timestamp(),
    kind            text        NOT NULL,
    actor_user_id   uuid,
    subject_user_id uuid,
    source_address  text        NOT NULL DEFAULT '',
    details         jsonb       NOT NULL DEFAULT '{}'
);
CREATE INDEX audit_events_by_seller ON audit_events (seller_id, at DESC, id DESC);

-- Failed logins per key ("account:<email>" or "address:<source>"), with the lockout they led to.
CREATE TABLE login_throttle (
    key             text        PRIMARY KEY,
    failures        integer     NOT NULL,
    last_failure_at timestamptz NOT NULL,
    locked_until    timestamptz
);
