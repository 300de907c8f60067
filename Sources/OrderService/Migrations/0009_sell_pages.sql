-- Sell pages (the storefront pages ads link to), their variants and discount codes, the
-- seller's custom domains, and what a checkout records on its order.

CREATE TABLE sell_pages (
    seller_id    uuid        NOT NULL,
    id           uuid        NOT NULL,
    slug         text        NOT NULL CHECK (slug ~ '^[a-z0-9][a-z0-9-]{0,62}$'),
    title        text        NOT NULL CHECK (char_length(title) BETWEEN 1 AND 200),
    currency     text        NOT NULL CHECK (currency ~ '^[A-Z]{3}$'),
    status       text        NOT NULL CHECK (status IN ('DRAFT', 'PUBLISHED', 'ARCHIVED')),
    shipping_fee bigint      NOT NULL DEFAULT 0 CHECK (shipping_fee >= 0),
    tax_rate_bps integer     NOT NULL DEFAULT 0 CHECK (tax_rate_bps BETWEEN 0 AND 10000),
    -- Public (it is in the page's HTML): names the page to the storefront calls.
    public_key   text        NOT NULL UNIQUE CHECK (public_key ~ '^pk_[a-z0-9]{24}$'),
    created_at   timestamptz NOT NULL DEFAULT now(),
    updated_at   timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (seller_id, id),
    UNIQUE (seller_id, slug)
);
CREATE INDEX sell_pages_seller_created_idx ON sell_pages (seller_id, created_at, id);

CREATE TABLE sell_page_variants (
    seller_id    uuid    NOT NULL,
    sell_page_id uuid    NOT NULL,
    position     integer NOT NULL CHECK (position >= 0),
    sku          text    NOT NULL,
    title        text    NOT NULL,
    price        bigint  NOT NULL CHECK (price >= 0),
    PRIMARY KEY (seller_id, sell_page_id, sku),
    UNIQUE (seller_id, sell_page_id, position),
    FOREIGN KEY (seller_id, sell_page_id) REFERENCES sell_pages (seller_id, id) ON DELETE CASCADE
);

CREATE TABLE sell_page_discounts (
    seller_id    uuid   NOT NULL,
    sell_page_id uuid   NOT NULL,
    code         text   NOT NULL CHECK (code ~ '^[A-Z0-9_-]{1,32}$'),
    kind         text   NOT NULL CHECK (kind IN ('PERCENT', 'FIXED_AMOUNT')),
    value        bigint NOT NULL CHECK (value > 0 AND (kind <> 'PERCENT' OR value <= 100)),
    PRIMARY KEY (seller_id, sell_page_id, code),
    FOREIGN KEY (seller_id, sell_page_id) REFERENCES sell_pages (seller_id, id) ON DELETE CASCADE
);

-- Custom domains. A domain is the seller's once verified; several sellers may claim one while
-- pending (whoever proves it first gets it), and a verified domain is verified for one seller
-- only (the partial unique index).
CREATE TABLE seller_domains (
    seller_id   uuid        NOT NULL,
    domain      text        NOT NULL CHECK (char_length(domain) <= 253),
    token       text        NOT NULL,
    verified_at timestamptz,
    checked_at  timestamptz,
    last_error  text        NOT NULL DEFAULT '',
    created_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (seller_id, domain)
);
CREATE UNIQUE INDEX seller_domains_verified_idx ON seller_domains (domain) WHERE verified_at IS NOT NULL;

-- What a checkout records on its order. Orders created by the API have subtotal = total.
ALTER TABLE orders NO FORCE ROW LEVEL SECURITY;
ALTER TABLE orders
    ADD COLUMN sell_page_id uuid,
    ADD COLUMN subtotal bigint NOT NULL DEFAULT 0 CHECK (subtotal >= 0),
    ADD COLUMN discount bigint NOT NULL DEFAULT 0 CHECK (discount >= 0),
    ADD COLUMN shipping bigint NOT NULL DEFAULT 0 CHECK (shipping >= 0),
    ADD COLUMN tax bigint NOT NULL DEFAULT 0 CHECK (tax >= 0),
    ADD COLUMN customer_email text NOT NULL DEFAULT '',
    ADD COLUMN customer_phone text NOT NULL DEFAULT '',
    ADD COLUMN customer_name text NOT NULL DEFAULT '',
    ADD COLUMN ship_name text NOT NULL DEFAULT '',
    ADD COLUMN ship_line1 text NOT NULL DEFAULT '',
    ADD COLUMN ship_line2 text NOT NULL DEFAULT '',
    ADD COLUMN ship_city text NOT NULL DEFAULT '',
    ADD COLUMN ship_region text NOT NULL DEFAULT '',
    ADD COLUMN ship_postal_code text NOT NULL DEFAULT '',
    ADD COLUMN ship_country text NOT NULL DEFAULT '',
    ADD COLUMN fbclid text NOT NULL DEFAULT '',
    ADD COLUMN fbc text NOT NULL DEFAULT '',
    ADD COLUMN fbp text NOT NULL DEFAULT '',
    ADD COLUMN landing_url text NOT NULL DEFAULT '',
    ADD COLUMN referrer text NOT NULL DEFAULT '';
UPDATE orders SET subtotal = total;
ALTER TABLE orders ADD CONSTRAINT orders_amounts_check CHECK (total = subtotal - discount + shipping + tax);
ALTER TABLE orders FORCE ROW LEVEL SECURITY;

ALTER TABLE sell_pages ENABLE ROW LEVEL SECURITY;
ALTER TABLE sell_pages FORCE ROW LEVEL SECURITY;
CREATE POLICY seller_rows ON sell_pages USING (seller_id = app_seller_id()) WITH CHECK (seller_id = app_seller_id());
-- A storefront call names a page by its public key before anyone knows the seller: a transaction
-- that sets app.storefront_key may read that one page (and nothing else of any seller).
CREATE POLICY storefront_page ON sell_pages FOR SELECT
    USING (public_key = current_setting('app.storefront_key', true));

ALTER TABLE sell_page_variants ENABLE ROW LEVEL SECURITY;
ALTER TABLE sell_page_variants FORCE ROW LEVEL SECURITY;
CREATE POLICY seller_rows ON sell_page_variants USING (seller_id = app_seller_id()) WITH CHECK (seller_id = app_seller_id());

ALTER TABLE sell_page_discounts ENABLE ROW LEVEL SECURITY;
ALTER TABLE sell_page_discounts FORCE ROW LEVEL SECURITY;
CREATE POLICY seller_rows ON sell_page_discounts USING (seller_id = app_seller_id()) WITH CHECK (seller_id = app_seller_id());

ALTER TABLE seller_domains ENABLE ROW LEVEL SECURITY;
ALTER TABLE seller_domains FORCE ROW LEVEL SECURITY;
CREATE POLICY seller_rows ON seller_domains USING (seller_id = app_seller_id()) WITH CHECK (seller_id = app_seller_id());
-- Verification must see whether another seller already verified the domain: only that fact.
CREATE POLICY verified_elsewhere ON seller_domains FOR SELECT
    USING (verified_at IS NOT NULL AND current_setting('app.domain_check', true) = domain);
