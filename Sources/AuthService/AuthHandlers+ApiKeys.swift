import Foundation
import PixEcomProtos
import RPCKit
import ServiceKit

/// API keys: create, list, revoke (ADMIN), and the edge's exchange of a key for a token.
extension AuthHandlers {
    func registerApiKeyMethods(on router: inout RPCRouter) {
        router.unary(AuthMethods.createApiKey, Pixecom_Auth_V1_CreateApiKeyRequest.self) { request, context in
            let actor = try await self.actor(context)
            let (name, scope) = try AuthValidation.apiKey(request)
            let created = try await self.apiKeys.create(name: name, scope: scope, by: actor, logger: context.logger)
            context.logger.info("api_key.created", metadata: ["seller.id": "\(actor.sellerID)", "api_key.id": "\(created.apiKey.id)"])
            return created
        }
        router.unary(AuthMethods.listApiKeys, Pixecom_Auth_V1_ListApiKeysRequest.self) { _, context in
            let actor = try await self.actor(context)
            var response = Pixecom_Auth_V1_ListApiKeysResponse()
            response.apiKeys = try await self.apiKeys.list(sellerID: actor.sellerID, logger: context.logger)
            return response
        }
        router.unary(AuthMethods.revokeApiKey, Pixecom_Auth_V1_RevokeApiKeyRequest.self) { request, context in
            let actor = try await self.actor(context)
            let id = try RequestValidation.id(request.id, field: "id")
            let key = try await self.apiKeys.revoke(id, by: actor, logger: context.logger)
            context.logger.info("api_key.revoked", metadata: ["seller.id": "\(actor.sellerID)", "api_key.id": "\(key.id)"])
            return key
        }
        router.unary(AuthMethods.exchangeApiKey, Pixecom_Auth_V1_ExchangeApiKeyRequest.self) { request, context in
            let holder = try await self.apiKeys.use(request.key, logger: context.logger)
            var token = Pixecom_Auth_V1_ApiKeyToken()
            token.accessToken = try self.issuer.accessToken(for: holder)
            token.expiresIn = TokenIssuer.apiKeyTokenLifetime
            return token
        }
    }
}
