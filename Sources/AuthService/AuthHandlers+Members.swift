import Foundation
import PixEcomProtos
import RPCKit
import ServiceKit

/// Members: invitations, the member list, role changes and removal.
extension AuthHandlers {
    func inviteMember(_ request: Pixecom_Auth_V1_InviteMemberRequest, context: ServerContext) async throws -> Pixecom_Auth_V1_Invitation {
        let actor = try await self.actor(context)
        let (email, role) = try AuthValidation.invitation(request)
        let invitation = try await self.members.invite(email: email, role: role, by: actor, logger: context.logger)
        context.logger.info("member.invited", metadata: ["seller.id": "\(actor.sellerID)", "member.role": "\(role.rawValue)"])
        return invitation
    }

    func acceptInvitation(_ request: Pixecom_Auth_V1_AcceptInvitationRequest, context: ServerContext) async throws
        -> Pixecom_Auth_V1_TokenPair
    {
        guard request.token.hasPrefix(MemberStore.invitationPrefix), request.token.utf8.count <= 128 else {
            throw RPCError(.unauthenticated, "invitation is not valid; ask for a new one")
        }
        let password = try AuthValidation.password(request.password)
        let hash = try await self.hasher.hash(password)
        let user = try await self.members.accept(
            token: request.token, passwordHash: hash, sourceAddress: Self.sourceAddress(of: context), logger: context.logger)
        context.logger.info("member.joined", metadata: ["seller.id": "\(user.sellerID)", "user.id": "\(user.id)"])
        let refresh = try await self.issuer.refreshTokens.issue(for: user, logger: context.logger)
        return try self.issuer.pair(for: user, refresh: refresh)
    }

    func listMembers(_ request: Pixecom_Auth_V1_ListMembersRequest, context: ServerContext) async throws
        -> Pixecom_Auth_V1_ListMembersResponse
    {
        let actor = try await self.actor(context)
        var response = Pixecom_Auth_V1_ListMembersResponse()
        response.members = try await self.members.list(sellerID: actor.sellerID, logger: context.logger)
        return response
    }

    func changeMemberRole(_ request: Pixecom_Auth_V1_ChangeMemberRoleRequest, context: ServerContext) async throws -> Pixecom_Auth_V1_Member
    {
        let actor = try await self.actor(context)
        let userID = try RequestValidation.id(request.userID, field: "user_id")
        let role = try AuthValidation.role(request.role)
        return try await self.members.changeRole(of: userID, to: role, by: actor, logger: context.logger)
    }

    func removeMember(_ request: Pixecom_Auth_V1_RemoveMemberRequest, context: ServerContext) async throws
        -> Pixecom_Auth_V1_RemoveMemberResponse
    {
        let actor = try await self.actor(context)
        let userID = try RequestValidation.id(request.userID, field: "user_id")
        try await self.members.remove(userID, by: actor, logger: context.logger)
        return Pixecom_Auth_V1_RemoveMemberResponse()
    }

    func listAuditEvents(_ request: Pixecom_Auth_V1_ListAuditEventsRequest, context: ServerContext) async throws
        -> Pixecom_Auth_V1_ListAuditEventsResponse
    {
        let actor = try await self.actor(context)
        let pageSize = try RequestValidation.pageSize(request.pageSize)
        let cursor = try PageToken.decode(request.pageToken)
        let page = try await self.audit.list(sellerID: actor.sellerID, after: cursor, limit: pageSize, logger: context.logger)
        var response = Pixecom_Auth_V1_ListAuditEventsResponse()
        response.events = page.events
        response.nextPageToken = page.next
        return response
    }

    /// The caller, from its verified access token; its role was checked against the policy.
    func actor(_ context: ServerContext) async throws -> MemberStore.Actor {
        let claims = try await context.authenticate(with: self.verifier)
        let sellerID = try claims.sellerUUID()
        guard let userID = UUID(uuidString: claims.sub), let role = Role(text: claims.role) else {
            throw RPCError(.unauthenticated, "access token does not name a member")
        }
        return MemberStore.Actor(
            sellerID: sellerID, userID: userID, role: role, plan: claims.plan, sourceAddress: Self.sourceAddress(of: context))
    }
}
