import RPCKit

/// Enforces a service's `AccessPolicy` before its handlers run: UNAUTHENTICATED without a valid
/// access token where one is needed, PERMISSION_DENIED when the token's role is too weak, the
/// caller is not an allowed service, or the method has no rule.
///
/// Handlers read the caller's seller from `context.authenticate(with:)` as before, which returns
/// the claims verified here (handed over as the context's `caller`) without a second lookup.
public struct AccessControlInterceptor: RPCServerInterceptor {
    let policy: AccessPolicy
    let verifier: TokenVerifier?

    public init(policy: AccessPolicy, verifier: TokenVerifier?) {
        self.policy = policy
        self.verifier = verifier
    }

    public func intercept(
        context: ServerContext,
        next: (ServerContext) async throws -> RPCResponsePayload
    ) async throws -> RPCResponsePayload {
        guard let verified = try await self.authorizedToken(context) else { return try await next(context) }
        var context = context
        context.caller = verified
        return try await next(context)
    }

    /// Throws unless the call may proceed; the caller's claims when the rule asked for a token.
    @discardableResult
    public func authorize(_ context: ServerContext) async throws -> AccessClaims? {
        try await self.authorizedToken(context)?.claims
    }

    /// Throws unless the call may proceed; the caller's verified token when the rule asked for one.
    public func authorizedToken(_ context: ServerContext) async throws -> VerifiedToken? {
        switch self.policy.rule(for: context.method) {
        case .anyone:
            return nil
        case .services(let services):
            _ = try context.requirePeer(services)
            return nil
        case .role(let required):
            guard let verifier = self.verifier else {
                throw RPCError(.internal, "no token verifier configured for \(context.method)")
            }
            // A cache hit needs no suspension; anything else takes the full path.
            let header = context.metadata["authorization"]
            let verified: VerifiedToken
            if let header, let cached = verifier.cached(authorization: header) {
                verified = cached
            } else {
                verified = try await context.verifiedToken(with: verifier, authorization: header)
            }
            guard let role = verified.role else {
                throw RPCError(.permissionDenied, "access token carries no known role")
            }
            guard role >= required else {
                throw RPCError(
                    .permissionDenied,
                    "role \(role.rawValue) may not call \(context.method); it needs \(required.rawValue) or higher"
                )
            }
            if let scope = verified.claims.scope, !self.policy.admits(scope: scope, to: context.method) {
                throw RPCError(
                    .permissionDenied,
                    "an API key scoped \(scope) may not call \(context.method); it reaches only the methods made for that scope"
                )
            }
            return verified
        case nil:
            throw RPCError(.permissionDenied, "method \(context.method) is not open to any caller")
        }
    }
}
