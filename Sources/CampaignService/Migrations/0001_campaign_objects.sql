-- The ad objects of each seller: ad account -> campaign -> ad set -> ad.
-- seller_id leads every primary key, foreign key and index: every query is for one seller.
-- Names are at most 200 characters as the API counts them (grapheme clusters), which may be more
-- code points, hence the looser bound in the CHECKs.
-- Statuses mirror those of the ad platform: ACTIVE, PAUSED, ARCHIVED, DELETED (a soft delete: rows stay).

CREATE TABLE ad_accounts (
    seller_id   uuid        NOT NULL,
    id          uuid        NOT NULL,
    name        text        NOT NULL CHECK (char_length(name) BETWEEN 1 AND 1000),
    currency    text        NOT NULL CHECK (currency ~ '^[A-Z]{3}$'),
    time_zone   text        NOT NULL,
    platform    text        NOT NULL,
    external_id text        NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (seller_id, id),
    UNIQUE (platform, external_id)
);
CREATE INDEX ad_accounts_by_created ON ad_accounts (seller_id, created_at, id);

CREATE TABLE campaigns (
    seller_id     uuid        NOT NULL,
    id            uuid        NOT NULL,
    ad_account_id uuid        NOT NULL,
    name          text        NOT NULL CHECK (char_length(name) BETWEEN 1 AND 1000),
    objective     text        NOT NULL,
    status        text        NOT NULL CHECK (status IN ('ACTIVE', 'PAUSED', 'ARCHIVED', 'DELETED')),
    daily_budget  bigint      NOT NULL CHECK (daily_budget > 0),
    external_id   text        NOT NULL,
    created_at    timestamptz NOT NULL DEFAULT now(),
    updated_at    timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (seller_id, id),
    FOREIGN KEY (seller_id, ad_account_id) REFERENCES ad_accounts (seller_id, id)
);
CREATE INDEX campaigns_by_created ON campaigns (seller_id, created_at, id);
CREATE INDEX campaigns_by_ad_account ON campaigns (seller_id, ad_account_id, created_at, id);

CREATE TABLE ad_sets (
    seller_id    uuid        NOT NULL,
    id           uuid        NOT NULL,
    campaign_id  uuid        NOT NULL,
    name         text        NOT NULL CHECK (char_length(name) BETWEEN 1 AND 1000),
    status       text        NOT NULL CHECK (status IN ('ACTIVE', 'PAUSED', 'ARCHIVED', 'DELETED')),
    daily_budget bigint      NOT NULL CHECK (daily_budget > 0),
    external_id  text        NOT NULL,
    created_at   timestamptz NOT NULL DEFAULT now(),
    updated_at   timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (seller_id, id),
    FOREIGN KEY (seller_id, campaign_id) REFERENCES campaigns (seller_id, id)
);
CREATE INDEX ad_sets_by_created ON ad_sets (seller_id, created_at, id);
CREATE INDEX ad_sets_by_campaign ON ad_sets (seller_id, campaign_id, created_at, id);

-- campaign_id is denormalised from the ad set (an ad never moves), so an ad maps to its campaign
-- in one lookup and deleting a campaign reaches its ads directly.
CREATE TABLE ads (
    seller_id   uuid        NOT NULL,
    id          uuid        NOT NULL,
    ad_set_id   uuid        NOT NULL,
    campaign_id uuid        NOT NULL,
    name        text        NOT NULL CHECK (char_length(name) BETWEEN 1 AND 1000),
    status      text        NOT NULL CHECK (status IN ('ACTIVE', 'PAUSED', 'ARCHIVED', 'DELETED')),
    link_url    text        NOT NULL CHECK (char_length(link_url) BETWEEN 1 AND 2048),
    external_id text        NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (seller_id, id),
    FOREIGN KEY (seller_id, ad_set_id) REFERENCES ad_sets (seller_id, id),
    FOREIGN KEY (seller_id, campaign_id) REFERENCES campaigns (seller_id, id)
);
CREATE INDEX ads_by_created ON ads (seller_id, created_at, id);
CREATE INDEX ads_by_ad_set ON ads (seller_id, ad_set_id, created_at, id);
CREATE INDEX ads_by_campaign ON ads (seller_id, campaign_id);
