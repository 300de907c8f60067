import HTTPTypes
import Hummingbird
import PixEcomProtos
import RPCKit
import ServiceKit

/// The routes written by hand, because a cookie carries the refresh token: the methods marked
/// `manual_route` in auth.proto. The refresh token never appears in a JSON body: it travels only in
/// the `pixecom_refresh` cookie (set by login, accepting an invitation, a password change and
/// refresh; read by refresh and logout), and requests it authenticates pass `CSRFCheck`. Every other
/// auth route is generated from its HTTP binding (`EdgeRouteTable.auth`).
extension EdgeRoutes {
    func addAuth(to router: Router<EdgeRequestContext>) {
        let auth = self.clients.auth
        let forwarder = self.forwarder

        router.post("/v1/auth/login") { request, context in
            let login = try await forwarder.body(Pixecom_Auth_V1_LoginRequest.self, of: request, context: context)
            let pair = try await forwarder.call(
                auth, AuthMethods.login, login, as: Pixecom_Auth_V1_TokenPair.self, http: request, context: context)
            return try Self.tokenResponse(pair, forwarder: forwarder)
        }
        router.post("/v1/auth/refresh") { request, context in
            try CSRFCheck.require(request)
            guard let token = RefreshCookie.token(in: request) else {
                throw RPCError(.unauthenticated, "no refresh token: log in first (the token travels in the \(RefreshCookie.name) cookie)")
            }
            var refresh = Pixecom_Auth_V1_RefreshRequest()
            refresh.refreshToken = token
            do {
                let pair = try await forwarder.call(
                    auth, AuthMethods.refresh, refresh, as: Pixecom_Auth_V1_TokenPair.self, http: request, context: context)
                return try Self.tokenResponse(pair, forwarder: forwarder)
            } catch let error as RPCError where error.code == .unauthenticated {
                // A dead token: drop the cookie so the browser stops sending it.
                var response = ErrorResponse.make(error, requestID: context.requestID)
                response.headers[.setCookie] = RefreshCookie.clear
                return response
            }
        }
        router.post("/v1/invitations/accept") { request, context in
            let accept = try await forwarder.body(Pixecom_Auth_V1_AcceptInvitationRequest.self, of: request, context: context)
            let pair = try await forwarder.call(
                auth, AuthMethods.acceptInvitation, accept, as: Pixecom_Auth_V1_TokenPair.self, http: request, context: context)
            return try Self.tokenResponse(pair, forwarder: forwarder)
        }
        router.post("/v1/account/password") { request, context in
            let change = try await forwarder.body(Pixecom_Auth_V1_ChangePasswordRequest.self, of: request, context: context)
            let pair = try await forwarder.call(
                auth, AuthMethods.changePassword, change, as: Pixecom_Auth_V1_TokenPair.self, http: request, context: context)
            return try Self.tokenResponse(pair, forwarder: forwarder)
        }
        self.addLogout(to: router)
    }

    /// Ends the cookie's session and clears the cookie; the same answer whether or not the token
    /// was live (401 only without a cookie).
    private func addLogout(to router: Router<EdgeRequestContext>) {
        let auth = self.clients.auth
        let forwarder = self.forwarder
        router.post("/v1/auth/logout") { request, context in
            try CSRFCheck.require(request)
            guard let token = RefreshCookie.token(in: request) else {
                throw RPCError(
                    .unauthenticated, "no refresh token: nothing to log out of (the token travels in the \(RefreshCookie.name) cookie)")
            }
            var logout = Pixecom_Auth_V1_LogoutRequest()
            logout.refreshToken = token
            let reply = try await forwarder.call(
                auth, AuthMethods.logout, logout, as: Pixecom_Auth_V1_LogoutResponse.self, http: request, context: context)
            var response = try forwarder.json(reply)
            response.headers[.setCookie] = RefreshCookie.clear
            return response
        }
    }

    /// The access token in the body, the refresh token in the cookie.
    static func tokenResponse(_ pair: Pixecom_Auth_V1_TokenPair, forwarder: RPCForwarder) throws -> Response {
        var body = pair
        body.refreshToken = ""
        body.refreshExpiresIn = 0
        var response = try forwarder.json(body)
        response.headers[.setCookie] = RefreshCookie.set(pair.refreshToken, maxAge: pair.refreshExpiresIn)
        return response
    }
}
