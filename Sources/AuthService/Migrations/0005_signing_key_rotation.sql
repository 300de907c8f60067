-- Scheduled signing-key rotation. A key is made ahead of its turn and published from then on,
-- so every replica and every verifier can know it before any token carries it; it signs from
-- `activates_at` until a newer key activates (then `retired_at` is set to that moment), and is
-- published until the last token it signed has expired.
ALTER TABLE signing_keys ADD COLUMN activates_at timestamptz;
UPDATE signing_keys SET activates_at = created_at;
ALTER TABLE signing_keys ALTER COLUMN activates_at SET NOT NULL;
ALTER TABLE signing_keys ALTER COLUMN activates_at SET DEFAULT now();
-- `withdrawn_at`: an operator's emergency stop for a key believed exposed. A withdrawn key neither
-- signs nor verifies from that moment; a fresh key takes over at once (docs/OPERATIONS.md).
ALTER TABLE signing_keys ADD COLUMN withdrawn_at timestamptz;
