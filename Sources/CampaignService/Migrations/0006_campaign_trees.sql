-- Campaign trees (the creation wizard and DuplicateCampaign) store a campaign, its ad sets and
-- ads in one transaction, where now() is one instant for all of them: clock_timestamp() keeps
-- creation order (which Lists and the tree's answer follow) within a transaction too.
ALTER TABLE campaigns ALTER COLUMN created_at SET DEFAULT clock_timestamp();
ALTER TABLE ad_sets ALTER COLUMN created_at SET DEFAULT clock_timestamp();
ALTER TABLE ads ALTER COLUMN created_at SET DEFAULT clock_timestamp();

-- Idempotency keys of tree creations: the key row is written in the transaction that stores the
-- tree, so the primary key lets one of two concurrent creations with a key through; the other
-- answers the first one's tree. request_hash is the hex SHA-256 of the request as sent (a key
-- reused for another request is refused).
CREATE TABLE creation_keys (
    seller_id    uuid        NOT NULL,
    key          text        NOT NULL CHECK (char_length(key) BETWEEN 1 AND 255),
    method       text        NOT NULL,
    request_hash text        NOT NULL,
    campaign_id  uuid        NOT NULL,
    created_at   timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (seller_id, key),
    FOREIGN KEY (seller_id, campaign_id) REFERENCES campaigns (seller_id, id)
);
ALTER TABLE creation_keys ENABLE ROW LEVEL SECURITY;
ALTER TABLE creation_keys FORCE ROW LEVEL SECURITY;
CREATE POLICY seller_rows ON creation_keys USING (seller_id = app_seller_id()) WITH CHECK (seller_id = app_seller_id());
