-- Ad texts and creatives (docs/API.md, "Creatives and ad texts"). Neither changes once made.
CREATE TABLE ad_texts (
    seller_id      uuid        NOT NULL,
    id             uuid        NOT NULL,
    name           text        NOT NULL CHECK (char_length(name) BETWEEN 1 AND 1000),
    primary_texts  text[]      NOT NULL CHECK (cardinality(primary_texts) BETWEEN 1 AND 5),
    headlines      text[]      NOT NULL CHECK (cardinality(headlines) <= 5),
    descriptions   text[]      NOT NULL CHECK (cardinality(descriptions) <= 5),
    call_to_action text        NOT NULL,
    created_at     timestamptz NOT NULL DEFAULT clock_timestamp(),
    updated_at     timestamptz NOT NULL DEFAULT clock_timestamp(),
    PRIMARY KEY (seller_id, id)
);
CREATE INDEX ad_texts_by_created ON ad_texts (seller_id, created_at, id);

CREATE TABLE creatives (
    seller_id          uuid        NOT NULL,
    id                 uuid        NOT NULL,
    name               text        NOT NULL CHECK (char_length(name) BETWEEN 1 AND 1000),
    format             text        NOT NULL CHECK (format IN ('SINGLE_IMAGE', 'SINGLE_VIDEO', 'CAROUSEL')),
    image_asset_id     uuid,
    video_asset_id     uuid,
    thumbnail_asset_id uuid,
    -- A carousel's cards: [{"image_asset_id", "video_asset_id", "thumbnail_asset_id", "headline",
    -- "description", "link_url"}], 2 to 10 of them; [] for the other formats.
    cards              jsonb       NOT NULL DEFAULT '[]' CHECK (jsonb_typeof(cards) = 'array'),
    ad_text_id         uuid,
    link_url           text        NOT NULL,
    url_tags           text        NOT NULL DEFAULT '',
    created_at         timestamptz NOT NULL DEFAULT clock_timestamp(),
    updated_at         timestamptz NOT NULL DEFAULT clock_timestamp(),
    PRIMARY KEY (seller_id, id),
    FOREIGN KEY (seller_id, ad_text_id) REFERENCES ad_texts (seller_id, id),
    CHECK ((format = 'CAROUSEL') = (jsonb_array_length(cards) BETWEEN 2 AND 10)),
    CHECK ((format = 'SINGLE_IMAGE') = (image_asset_id IS NOT NULL)),
    CHECK ((format = 'SINGLE_VIDEO') = (video_asset_id IS NOT NULL AND thumbnail_asset_id IS NOT NULL))
);
CREATE INDEX creatives_by_created ON creatives (seller_id, created_at, id);
CREATE INDEX creatives_by_ad_text ON creatives (seller_id, ad_text_id) WHERE ad_text_id IS NOT NULL;

-- Every asset a creative holds, in any slot (cards included): an asset in use is not deleted.
CREATE TABLE creative_assets (
    seller_id   uuid NOT NULL,
    creative_id uuid NOT NULL,
    asset_id    uuid NOT NULL,
    PRIMARY KEY (seller_id, creative_id, asset_id),
    FOREIGN KEY (seller_id, creative_id) REFERENCES creatives (seller_id, id) ON DELETE CASCADE,
    FOREIGN KEY (seller_id, asset_id) REFERENCES assets (seller_id, id)
);
CREATE INDEX creative_assets_by_asset ON creative_assets (seller_id, asset_id);

-- An ad made from a creative keeps its url_tags (expanded on its final URL); deleting the
-- creative later leaves the ad as it is.
ALTER TABLE ads
    ADD COLUMN creative_id uuid,
    ADD COLUMN url_tags    text NOT NULL DEFAULT '',
    ADD FOREIGN KEY (seller_id, creative_id) REFERENCES creatives (seller_id, id) ON DELETE SET NULL (creative_id);
CREATE INDEX ads_by_creative ON ads (seller_id, creative_id) WHERE creative_id IS NOT NULL;

ALTER TABLE ad_texts ENABLE ROW LEVEL SECURITY;
ALTER TABLE ad_texts FORCE ROW LEVEL SECURITY;
CREATE POLICY seller_rows ON ad_texts USING (seller_id = app_seller_id()) WITH CHECK (seller_id = app_seller_id());
ALTER TABLE creatives ENABLE ROW LEVEL SECURITY;
ALTER TABLE creatives FORCE ROW LEVEL SECURITY;
CREATE POLICY seller_rows ON creatives USING (seller_id = app_seller_id()) WITH CHECK (seller_id = app_seller_id());
ALTER TABLE creative_assets ENABLE ROW LEVEL SECURITY;
ALTER TABLE creative_assets FORCE ROW LEVEL SECURITY;
CREATE POLICY seller_rows ON creative_assets USING (seller_id = app_seller_id()) WITH CHECK (seller_id = app_seller_id());
