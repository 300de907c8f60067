import Hummingbird
import PixEcomProtos
import RPCKit
import ServiceKit

extension EdgeRoutes {
    /// The seller's team and the caller's own account: members and invitations, password,
    /// sessions and the audit log. Roles are AuthService's to enforce (`AccessPolicy.auth`).
    func addMembers(to router: Router<EdgeRequestContext>) {
        let auth = self.clients.auth
        let forwarder = self.forwarder

        router.get("/v1/members") { request, context in
            let reply = try await forwarder.call(
                auth, AuthMethods.listMembers, Pixecom_Auth_V1_ListMembersRequest(), as: Pixecom_Auth_V1_ListMembersResponse.self,
                http: request, context: context)
            return try forwarder.json(reply)
        }
        router.post("/v1/invitations") { request, context in
            try await forwarder.forward(
                auth, AuthMethods.inviteMember, Pixecom_Auth_V1_InviteMemberRequest.self, request, context: context,
                as: Pixecom_Auth_V1_Invitation.self)
        }
        router.post("/v1/invitations/accept") { request, context in
            let accept = try await forwarder.body(Pixecom_Auth_V1_AcceptInvitationRequest.self, of: request, context: context)
            let pair = try await forwarder.call(
                auth, AuthMethods.acceptInvitation, accept, as: Pixecom_Auth_V1_TokenPair.self, http: request, context: context)
            return try Self.tokenResponse(pair, forwarder: forwarder)
        }
        router.patch("/v1/members/:id") { request, context in
            var change = try await forwarder.body(Pixecom_Auth_V1_ChangeMemberRoleRequest.self, of: request, context: context)
            change.userID = try context.parameters.require("id")
            let reply = try await forwarder.call(
                auth, AuthMethods.changeMemberRole, change, as: Pixecom_Auth_V1_Member.self, http: request, context: context)
            return try forwarder.json(reply)
        }
        router.delete("/v1/members/:id") { request, context in
            var remove = Pixecom_Auth_V1_RemoveMemberRequest()
            remove.userID = try context.parameters.require("id")
            let reply = try await forwarder.call(
                auth, AuthMethods.removeMember, remove, as: Pixecom_Auth_V1_RemoveMemberResponse.self, http: request, context: context)
            return try forwarder.json(reply)
        }
        router.post("/v1/account/password") { request, context in
            let change = try await forwarder.body(Pixecom_Auth_V1_ChangePasswordRequest.self, of: request, context: context)
            let pair = try await forwarder.call(
                auth, AuthMethods.changePassword, change, as: Pixecom_Auth_V1_TokenPair.self, http: request, context: context)
            return try Self.tokenResponse(pair, forwarder: forwarder)
        }
        router.get("/v1/account") { request, context in
            let reply = try await forwarder.call(
                auth, AuthMethods.getCaller, Pixecom_Auth_V1_GetCallerRequest(), as: Pixecom_Auth_V1_Caller.self,
                http: request, context: context)
            return try forwarder.json(reply)
        }
        router.get("/v1/account/sessions") { request, context in
            let reply = try await forwarder.call(
                auth, AuthMethods.listSessions, Pixecom_Auth_V1_ListSessionsRequest(), as: Pixecom_Auth_V1_ListSessionsResponse.self,
                http: request, context: context)
            return try forwarder.json(reply)
        }
        router.delete("/v1/account/sessions/:id") { request, context in
            var revoke = Pixecom_Auth_V1_RevokeSessionRequest()
            revoke.id = try context.parameters.require("id")
            let reply = try await forwarder.call(
                auth, AuthMethods.revokeSession, revoke, as: Pixecom_Auth_V1_RevokeSessionResponse.self, http: request, context: context)
            return try forwarder.json(reply)
        }
        router.get("/v1/audit-events") { request, context in
            var list = Pixecom_Auth_V1_ListAuditEventsRequest()
            list.pageSize = try request.queryInt32("pageSize")
            list.pageToken = request.query("pageToken")
            let reply = try await forwarder.call(
                auth, AuthMethods.listAuditEvents, list, as: Pixecom_Auth_V1_ListAuditEventsResponse.self, http: request, context: context)
            return try forwarder.json(reply)
        }
    }
}

extension EdgeRoutes {
    /// API keys (ADMIN): create (the key is in this answer only), list, revoke.
    func addApiKeys(to router: Router<EdgeRequestContext>) {
        let auth = self.clients.auth
        let forwarder = self.forwarder

        router.post("/v1/api-keys") { request, context in
            try await forwarder.forward(
                auth, AuthMethods.createApiKey, Pixecom_Auth_V1_CreateApiKeyRequest.self, request, context: context,
                as: Pixecom_Auth_V1_CreatedApiKey.self)
        }
        router.get("/v1/api-keys") { request, context in
            let reply = try await forwarder.call(
                auth, AuthMethods.listApiKeys, Pixecom_Auth_V1_ListApiKeysRequest(), as: Pixecom_Auth_V1_ListApiKeysResponse.self,
                http: request, context: context)
            return try forwarder.json(reply)
        }
        router.delete("/v1/api-keys/:id") { request, context in
            var revoke = Pixecom_Auth_V1_RevokeApiKeyRequest()
            revoke.id = try context.parameters.require("id")
            let reply = try await forwarder.call(
                auth, AuthMethods.revokeApiKey, revoke, as: Pixecom_Auth_V1_ApiKey.self, http: request, context: context)
            return try forwarder.json(reply)
        }
    }
}
