import Foundation
import PixEcomProtos
import RPCKit
import ServiceKit

/// API keys: create, list, revoke (ADMIN), and the edge's exchange of a key for a token.
extension AuthHandlers {
    func createApiKey(_ request: Pixecom_Auth_V1_CreateApiKeyRequest, context: ServerContext) async throws -> Pixecom_Auth_V1_CreatedApiKey
    {
        let actor = try await self.actor(context)
        let (name, scope) = try AuthValidation.apiKey(request)
        let created = try await self.apiKeys.create(name: name, scope: scope, by: actor, logger: context.logger)
        context.logger.info("api_key.created", metadata: ["seller.id": "\(actor.sellerID)", "api_key.id": "\(created.apiKey.id)"])
        return created
    }

    func listApiKeys(_ request: Pixecom_Auth_V1_ListApiKeysRequest, context: ServerContext) async throws
        -> Pixecom_Auth_V1_ListApiKeysResponse
    {
        let actor = try await self.actor(context)
        var response = Pixecom_Auth_V1_ListApiKeysResponse()
        response.apiKeys = try await self.apiKeys.list(sellerID: actor.sellerID, logger: context.logger)
        return response
    }

    func revokeApiKey(_ request: Pixecom_Auth_V1_RevokeApiKeyRequest, context: ServerContext) async throws -> Pixecom_Auth_V1_ApiKey {
        let actor = try await self.actor(context)
        let id = try RequestValidation.id(request.id, field: "id")
        let key = try await self.apiKeys.revoke(id, by: actor, logger: context.logger)
        context.logger.info("api_key.revoked", metadata: ["seller.id": "\(actor.sellerID)", "api_key.id": "\(key.id)"])
        return key
    }

    func exchangeApiKey(_ request: Pixecom_Auth_V1_ExchangeApiKeyRequest, context: ServerContext) async throws
        -> Pixecom_Auth_V1_ApiKeyToken
    {
        let holder = try await self.apiKeys.use(request.key, logger: context.logger)
        var token = Pixecom_Auth_V1_ApiKeyToken()
        token.accessToken = try self.issuer.accessToken(for: holder)
        token.expiresIn = TokenIssuer.apiKeyTokenLifetime
        return token
    }
}
