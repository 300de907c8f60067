-- Assets (docs/API.md, "Assets"): the images, videos and texts a seller's ads are made of.
--
-- An upload arrives in chunks (asset_uploads, asset_chunks), each at its byte offset, so a large
-- video never sits in one value or one request; Finish reads the chunks back in order, hashes
-- them and tells the type by the bytes. The chunks then stay as the asset's content, under the
-- upload's id (assets.content_id). Each seller has each content once: UNIQUE (seller_id, sha256),
-- and an upload of bytes already kept answers the earlier asset and drops its own chunks.
CREATE TABLE asset_uploads (
    seller_id      uuid        NOT NULL,
    id             uuid        NOT NULL,
    name           text        NOT NULL CHECK (char_length(name) BETWEEN 1 AND 255),
    -- What the sender said it is (IMAGE, VIDEO, TEXT), or NULL: told by the bytes.
    declared_type  text        CHECK (declared_type IN ('IMAGE', 'VIDEO', 'TEXT')),
    size_bytes     bigint      NOT NULL CHECK (size_bytes > 0),
    received_bytes bigint      NOT NULL DEFAULT 0 CHECK (received_bytes BETWEEN 0 AND size_bytes),
    created_at     timestamptz NOT NULL DEFAULT clock_timestamp(),
    expires_at     timestamptz NOT NULL,
    -- Set by Finish: the asset it made or found (a second Finish answers it again).
    asset_id       uuid,
    deduplicated   boolean     NOT NULL DEFAULT false,
    PRIMARY KEY (seller_id, id)
);
-- The sweep drops unfinished uploads past their expiry, across sellers.
CREATE INDEX asset_uploads_open_by_expiry ON asset_uploads (expires_at) WHERE asset_id IS NULL;

CREATE TABLE asset_chunks (
    seller_id    uuid   NOT NULL,
    content_id   uuid   NOT NULL,
    start_offset bigint NOT NULL CHECK (start_offset >= 0),
    data         bytea  NOT NULL CHECK (octet_length(data) BETWEEN 1 AND 1048576),
    PRIMARY KEY (seller_id, content_id, start_offset)
);
-- Chunks are written once and read whole: no compression to try on images and videos.
ALTER TABLE asset_chunks ALTER COLUMN data SET STORAGE EXTERNAL;

CREATE TABLE assets (
    seller_id  uuid        NOT NULL,
    id         uuid        NOT NULL,
    type       text        NOT NULL CHECK (type IN ('IMAGE', 'VIDEO', 'TEXT')),
    name       text        NOT NULL CHECK (char_length(name) BETWEEN 1 AND 255),
    mime_type  text        NOT NULL,
    size_bytes bigint      NOT NULL CHECK (size_bytes > 0),
    sha256     bytea       NOT NULL CHECK (octet_length(sha256) = 32),
    width      integer     CHECK (width > 0),
    height     integer     CHECK (height > 0),
    -- The chunks holding the bytes (asset_chunks.content_id): the upload that brought them.
    content_id uuid        NOT NULL,
    -- A text asset's text (its chunks are kept too, like any content).
    text       text,
    created_at timestamptz NOT NULL DEFAULT clock_timestamp(),
    updated_at timestamptz NOT NULL DEFAULT clock_timestamp(),
    PRIMARY KEY (seller_id, id),
    UNIQUE (seller_id, sha256),
    CHECK ((type = 'IMAGE') = (width IS NOT NULL AND height IS NOT NULL)),
    CHECK ((type = 'TEXT') = (text IS NOT NULL))
);
CREATE INDEX assets_by_created ON assets (seller_id, created_at, id);

ALTER TABLE asset_uploads ENABLE ROW LEVEL SECURITY;
ALTER TABLE asset_uploads FORCE ROW LEVEL SECURITY;
CREATE POLICY seller_rows ON asset_uploads USING (seller_id = app_seller_id()) WITH CHECK (seller_id = app_seller_id());
ALTER TABLE asset_chunks ENABLE ROW LEVEL SECURITY;
ALTER TABLE asset_chunks FORCE ROW LEVEL SECURITY;
CREATE POLICY seller_rows ON asset_chunks USING (seller_id = app_seller_id()) WITH CHECK (seller_id = app_seller_id());
ALTER TABLE assets ENABLE ROW LEVEL SECURITY;
ALTER TABLE assets FORCE ROW LEVEL SECURITY;
CREATE POLICY seller_rows ON assets USING (seller_id = app_seller_id()) WITH CHECK (seller_id = app_seller_id());

-- The sweep of expired uploads (`AssetUploadSweep`) works across sellers: it sets
-- app.asset_sweep = 'on' in its own transactions, which delete expired unfinished uploads and
-- their chunks only.
CREATE POLICY asset_sweep ON asset_uploads
    USING (current_setting('app.asset_sweep', true) = 'on' AND asset_id IS NULL AND expires_at < now());
CREATE POLICY asset_sweep_read ON asset_chunks FOR SELECT
    USING (current_setting('app.asset_sweep', true) = 'on' AND EXISTS (
        SELECT 1 FROM asset_uploads u
        WHERE u.seller_id = asset_chunks.seller_id AND u.id = asset_chunks.content_id AND u.asset_id IS NULL AND u.expires_at < now()));
CREATE POLICY asset_sweep_delete ON asset_chunks FOR DELETE
    USING (current_setting('app.asset_sweep', true) = 'on' AND EXISTS (
        SELECT 1 FROM asset_uploads u
        WHERE u.seller_id = asset_chunks.seller_id AND u.id = asset_chunks.content_id AND u.asset_id IS NULL AND u.expires_at < now()));
