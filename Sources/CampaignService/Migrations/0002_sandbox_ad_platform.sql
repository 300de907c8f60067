-- The state of the sandbox ad platform: what Meta would hold for the objects of each seller.
-- external_id is the id on the platform (act_<15 digits> for ad accounts, 18 digits otherwise),
-- unique platform-wide. seller_id still leads the primary key so every lookup is for one seller,
-- and a parent must belong to the same seller.

CREATE TABLE sandbox_objects (
    seller_id          uuid        NOT NULL,
    external_id        text        NOT NULL UNIQUE,
    kind               text        NOT NULL CHECK (kind IN ('ad_account', 'campaign', 'ad_set', 'ad')),
    parent_external_id text,
    name               text        NOT NULL,
    status             text        NOT NULL CHECK (status IN ('ACTIVE', 'PAUSED', 'ARCHIVED', 'DELETED')),
    -- The creation parameters as sent (the current status is in the status column).
    payload            jsonb       NOT NULL DEFAULT '{}',
    created_at         timestamptz NOT NULL DEFAULT now(),
    updated_at         timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (seller_id, external_id),
    FOREIGN KEY (seller_id, parent_external_id) REFERENCES sandbox_objects (seller_id, external_id),
    CHECK ((kind = 'ad_account') = (parent_external_id IS NULL))
);
CREATE INDEX sandbox_objects_by_parent ON sandbox_objects (seller_id, parent_external_id);
