import Foundation
import PixEcomProtos
import RPCKit
import ServiceKit

/// The caller's own account: password and sessions.
extension AuthHandlers {
    func getCaller(_ request: Pixecom_Auth_V1_GetCallerRequest, context: ServerContext) async throws -> Pixecom_Auth_V1_Caller {
        try await Self.caller(context.authenticate(with: self.verifier))
    }

    func listSessions(_ request: Pixecom_Auth_V1_ListSessionsRequest, context: ServerContext) async throws
        -> Pixecom_Auth_V1_ListSessionsResponse
    {
        let actor = try await self.actor(context)
        var response = Pixecom_Auth_V1_ListSessionsResponse()
        response.sessions = try await self.issuer.refreshTokens.sessions(
            sellerID: actor.sellerID, userID: actor.userID, logger: context.logger)
        return response
    }

    func revokeSession(_ request: Pixecom_Auth_V1_RevokeSessionRequest, context: ServerContext) async throws
        -> Pixecom_Auth_V1_RevokeSessionResponse
    {
        let actor = try await self.actor(context)
        let family = try RequestValidation.id(request.id, field: "id")
        try await self.issuer.refreshTokens.revokeSession(
            family, sellerID: actor.sellerID, userID: actor.userID,
            recording: .init(
                sellerID: actor.sellerID, kind: "session.revoked", actor: actor.userID, subject: actor.userID,
                sourceAddress: actor.sourceAddress, details: ["session": family.uuidString.lowercased()]),
            in: self.audit, logger: context.logger
        )
        return Pixecom_Auth_V1_RevokeSessionResponse()
    }

    /// The caller as their verified access token says, with their plan's limits.
    static func caller(_ claims: AccessClaims) -> Pixecom_Auth_V1_Caller {
        let limits = PlanLimits.of(plan: claims.plan)
        var caller = Pixecom_Auth_V1_Caller()
        caller.userID = claims.sub
        caller.sellerID = claims.sellerID
        caller.role = claims.role
        caller.plan = claims.plan
        caller.limits.adAccounts = Int32(clamping: limits.adAccounts)
        caller.limits.campaigns = Int32(clamping: limits.campaigns)
        caller.limits.members = Int32(clamping: limits.members)
        caller.limits.adsPerAdSet = Int32(clamping: limits.adsPerAdSet)
        caller.limits.assetStorageBytes = limits.assetStorageBytes
        caller.tokenExpiresAt = RequestValidation.timestamp(Date(timeIntervalSince1970: TimeInterval(claims.exp)))
        return caller
    }

    /// Sets the seller's plan (the owner's call; billing is outside PixEcom) and records it in the
    /// audit log. The new limits apply from the next access token.
    func changePlan(_ request: Pixecom_Auth_V1_ChangePlanRequest, context: ServerContext) async throws
        -> Pixecom_Auth_V1_ChangePlanResponse
    {
        let actor = try await self.actor(context)
        let plan = request.plan.lowercased()
        guard ["free", "starter", "pro"].contains(plan) else {
            throw RPCError.invalidArgument(field: "plan", "must be free, starter or pro, got \"\(request.plan.prefix(40))\"")
        }
        let previous = try await self.accounts.db.withSeller(actor.sellerID, logger: context.logger) { connection in
            let rows = try await connection.query(
                "SELECT plan FROM sellers WHERE id = \(actor.sellerID) FOR UPDATE", logger: context.logger)
            var previous: String?
            for try await value in rows.decode(String.self) { previous = value }
            guard let previous else { throw RPCError(.unauthenticated, "access token does not name a seller") }
            guard previous != plan else { return previous }
            try await connection.query("UPDATE sellers SET plan = \(plan) WHERE id = \(actor.sellerID)", logger: context.logger)
            try await self.audit.record(
                .init(
                    sellerID: actor.sellerID, kind: "plan.changed", actor: actor.userID, subject: nil,
                    sourceAddress: actor.sourceAddress, details: ["from": previous, "to": plan]),
                on: connection, logger: context.logger)
            return previous
        }
        let limits = PlanLimits.of(plan: plan)
        return .with {
            $0.plan = plan
            $0.previousPlan = previous
            $0.limits.adAccounts = Int32(clamping: limits.adAccounts)
            $0.limits.campaigns = Int32(clamping: limits.campaigns)
            $0.limits.members = Int32(clamping: limits.members)
            $0.limits.adsPerAdSet = Int32(clamping: limits.adsPerAdSet)
            $0.limits.assetStorageBytes = limits.assetStorageBytes
        }
    }

    /// Checks the current password (a wrong one counts as a failed login), stores the new one,
    /// ends every session of the caller and starts a new one.
    func changePassword(_ request: Pixecom_Auth_V1_ChangePasswordRequest, context: ServerContext) async throws
        -> Pixecom_Auth_V1_TokenPair
    {
        let actor = try await self.actor(context)
        guard !request.currentPassword.isEmpty else {
            throw RPCError.invalidArgument(field: "current_password", "is required")
        }
        let newPassword = try AuthValidation.password(request.newPassword, field: "new_password")
        guard let user = try await self.accounts.user(sellerID: actor.sellerID, id: actor.userID, logger: context.logger)
        else {
            throw RPCError(.unauthenticated, "access token does not name a member")
        }
        let keys = LoginThrottle.Keys(email: user.email, sourceAddress: actor.sourceAddress)
        try await self.throttle.check(keys, logger: context.logger)
        guard try await self.passwordMatches(request.currentPassword, PasswordHash(encoded: user.passwordHash)) else {
            try await self.loginFailed(keys, user: user, source: actor.sourceAddress, context: context)
            throw RPCError.invalidArgument(field: "current_password", "is not correct")
        }
        let hash = try await self.hasher.hash(newPassword)
        try await self.accounts.changePassword(
            sellerID: actor.sellerID, userID: actor.userID, to: hash, sessions: self.issuer.refreshTokens,
            recording: .init(
                sellerID: actor.sellerID, kind: "password.changed", actor: actor.userID, subject: actor.userID,
                sourceAddress: actor.sourceAddress),
            in: self.audit, logger: context.logger
        )
        context.logger.info("password.changed", metadata: ["seller.id": "\(actor.sellerID)", "user.id": "\(actor.userID)"])
        let refresh = try await self.issuer.refreshTokens.issue(for: user, logger: context.logger)
        return try self.issuer.pair(for: user, refresh: refresh)
    }
}
