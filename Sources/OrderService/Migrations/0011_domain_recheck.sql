-- The periodic re-check of verified domains (DomainRecheck): a transaction that sets
-- app.domain_recheck may read which domains are verified, for whom, across sellers, and nothing
-- else; each check then runs as the domain's seller.
CREATE POLICY domains_due ON seller_domains FOR SELECT
    USING (current_setting('app.domain_recheck', true) = 'on' AND verified_at IS NOT NULL);
CREATE INDEX seller_domains_checked_idx ON seller_domains (checked_at NULLS FIRST) WHERE verified_at IS NOT NULL;
