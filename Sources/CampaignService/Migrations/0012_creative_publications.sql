-- Creatives on the ad platform (docs/API.md, "Creatives and ad texts"). On Meta a creative
-- belongs to an ad account (act_<id>/adcreatives) and an ad names it; PixEcom's creatives belong
-- to the seller, so a creative is published to an ad account the first time an ad there is made
-- from it, and the platform's id is kept here per account.
ALTER TABLE sandbox_objects DROP CONSTRAINT sandbox_objects_kind_check;
ALTER TABLE sandbox_objects ADD CONSTRAINT sandbox_objects_kind_check
    CHECK (kind IN ('ad_account', 'campaign', 'ad_set', 'ad', 'page', 'pixel', 'creative'));

CREATE TABLE creative_publications (
    seller_id     uuid        NOT NULL,
    creative_id   uuid        NOT NULL,
    ad_account_id uuid        NOT NULL,
    external_id   text        NOT NULL,
    created_at    timestamptz NOT NULL DEFAULT clock_timestamp(),
    PRIMARY KEY (seller_id, creative_id, ad_account_id),
    FOREIGN KEY (seller_id, creative_id) REFERENCES creatives (seller_id, id) ON DELETE CASCADE,
    FOREIGN KEY (seller_id, ad_account_id) REFERENCES ad_accounts (seller_id, id)
);
ALTER TABLE creative_publications ENABLE ROW LEVEL SECURITY;
ALTER TABLE creative_publications FORCE ROW LEVEL SECURITY;
CREATE POLICY seller_rows ON creative_publications USING (seller_id = app_seller_id()) WITH CHECK (seller_id = app_seller_id());
