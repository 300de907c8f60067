-- API keys no longer carry their seller's id in their visible part: `pxk_<key id>_<secret>`, the
-- key id 24 random hex digits. Like `user_logins` for e-mails, this map from a key id to its
-- seller is read before any seller is known (to open the seller's scope, where the key itself is
-- looked up by its hash), so it is not under row-level security; it holds no secret and nothing
-- that was not already in the key's own text.
--
-- Keys made before this migration keep their `<seller id hex><6 hex>` id and keep working: their
-- seller is read from the id itself, so they need no row here.
CREATE TABLE api_key_ids (
    public_id text PRIMARY KEY CHECK (public_id ~ '^[0-9a-f]{24}$'),
    seller_id uuid NOT NULL
);
