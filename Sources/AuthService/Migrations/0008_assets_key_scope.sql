-- API keys scoped ASSETS: an outside tool (a design tool, a DAM) pushes images, videos and texts
-- with EDITOR's role but reaches only the asset methods (`key_scopes` in the .proto).
ALTER TABLE api_keys DROP CONSTRAINT api_keys_scope_check;
ALTER TABLE api_keys ADD CONSTRAINT api_keys_scope_check CHECK (scope IN ('READ', 'FULL', 'ASSETS'));
