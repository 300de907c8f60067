import Foundation
import PixEcomProtos
import RPCKit
import ServiceKit

/// Platform connections and ad accounts: a connection holds a platform user's access token
/// (sealed at rest); ad accounts are connected through one, disconnected softly, and connected
/// again under the same id.
extension CampaignHandlers {
    static let adAccountPaths = ["name", "default_page_id", "default_pixel_id"]

    func connectPlatform(
        _ request: Pixecom_Campaign_V1_ConnectPlatformRequest,
        context: ServerContext
    ) async throws -> Pixecom_Campaign_V1_PlatformConnection {
        let caller = try await self.caller(context)
        try self.requireKnown(platform: request.platform, field: "platform")
        guard request.accessToken.utf8.count <= 1024 else {
            throw RPCError.invalidArgument(field: "access_token", "must be at most 1024 bytes")
        }
        let grant = try await self.onPlatform { try await self.platform.connect(accessToken: request.accessToken, call: self.call(caller)) }
        let connection = try await self.connections.save(
            grant, platform: self.platform.name, sellerID: caller.sellerID, logger: caller.logger)
        caller.logger.info(
            "platform.connected",
            metadata: ["connection.id": "\(connection.id.wireText)", "connection.external_user_id": "\(connection.externalUserID)"])
        return connection.message
    }

    func listPlatformConnections(
        _ request: Pixecom_Campaign_V1_ListRequest,
        context: ServerContext
    ) async throws -> Pixecom_Campaign_V1_ListPlatformConnectionsResponse {
        let page = try await self.listTopLevel(PlatformConnectionRecord.self, request, plural: "platform connections", context: context)
        return .with {
            $0.connections = page.objects.map(\.message)
            $0.nextPageToken = page.nextPageToken
        }
    }

    func createAdAccount(
        _ request: Pixecom_Campaign_V1_CreateAdAccountRequest,
        context: ServerContext
    ) async throws -> Pixecom_Campaign_V1_AdAccount {
        let caller = try await self.caller(context)
        let request = try AdAccountRequest(request)
        let (connection, grant) = try await self.connection(request.connectionID, caller)
        let quota = PlanQuota(AdAccountRecord.table, plan: caller.plan) { $0.adAccounts }
        try await self.objects.requireRoom(quota, sellerID: caller.sellerID, logger: caller.logger)
        let account: PlatformAdAccount
        if let externalID = request.externalID {
            account = try await self.onPlatform { try await self.platform.adAccount(externalID, owner: grant, call: self.call(caller)) }
            try request.check(against: account)
        } else {
            account = try await self.onPlatform {
                try await self.platform.createAdAccount(request.spec!, owner: grant, call: self.call(caller))
            }
        }
        // Ad accounts cannot be deleted on the platform: a new one refused here is left as an orphan.
        let (record, reconnected) = try await self.objects.connectAdAccount(
            AdAccountConnection(
                name: request.spec?.name ?? account.name, platform: self.platform.name, connectionID: connection, account: account),
            quota: quota, sellerID: caller.sellerID, logger: caller.logger)
        if reconnected {
            caller.logger.info("ad_account.reconnected", metadata: ["ad_account.id": "\(record.id.wireText)"])
        } else {
            Self.logCreated(AdAccountRecord.table, record.id, record.externalID, caller)
        }
        return record.message
    }

    func getAdAccount(_ request: Pixecom_Campaign_V1_GetRequest, context: ServerContext) async throws -> Pixecom_Campaign_V1_AdAccount {
        try await self.get(AdAccountRecord.self, request, context: context).message
    }

    func listAdAccounts(_ request: Pixecom_Campaign_V1_ListRequest, context: ServerContext) async throws
        -> Pixecom_Campaign_V1_ListAdAccountsResponse
    {
        let page = try await self.listTopLevel(AdAccountRecord.self, request, plural: "ad accounts", context: context)
        return Pixecom_Campaign_V1_ListAdAccountsResponse.with {
            $0.adAccounts = page.objects.map(\.message)
            $0.nextPageToken = page.nextPageToken
        }
    }

    func updateAdAccount(
        _ request: Pixecom_Campaign_V1_UpdateAdAccountRequest,
        context: ServerContext
    ) async throws -> Pixecom_Campaign_V1_AdAccount {
        let caller = try await self.caller(context)
        let id = try RequestValidation.id(request.id, field: "id")
        let mask = try UpdateMask(request.updateMask, allowed: Self.adAccountPaths)
        var update = AdAccountUpdate()
        if mask.contains("name") { update.name = try CampaignValidation.name(request.name) }
        if mask.contains("default_page_id") { update.defaultPageID = try Self.platformID(request.defaultPageID, field: "default_page_id") }
        if mask.contains("default_pixel_id") {
            update.defaultPixelID = try Self.platformID(request.defaultPixelID, field: "default_pixel_id")
        }
        return try await self.objects.db.withSeller(caller.sellerID, logger: caller.logger) { connection in
            try await AdAccountStore.update(update, id: id, sellerID: caller.sellerID, on: connection, logger: caller.logger)
        }.message
    }

    func disconnectAdAccount(
        _ request: Pixecom_Campaign_V1_DisconnectAdAccountRequest,
        context: ServerContext
    ) async throws -> Pixecom_Campaign_V1_AdAccount {
        let caller = try await self.caller(context)
        let id = try RequestValidation.id(request.id, field: "id")
        let account = try await self.objects.db.withSeller(caller.sellerID, logger: caller.logger) { connection in
            try await AdAccountStore.disconnect(id: id, sellerID: caller.sellerID, on: connection, logger: caller.logger)
        }
        caller.logger.info("ad_account.disconnected", metadata: ["ad_account.id": "\(id.wireText)"])
        return account.message
    }

    // MARK: - Helpers

    /// The connection to connect an account through, and its grant: the one named, or without a
    /// name the seller's first sandbox connection (signed in on first use).
    private func connection(_ id: UUID?, _ caller: Caller) async throws -> (UUID, PlatformGrant) {
        if let id {
            let (record, grant) = try await self.connections.grant(id, sellerID: caller.sellerID, logger: caller.logger)
            try self.requireKnown(platform: record.platform, field: "connection_id")
            return (record.id, grant)
        }
        guard self.platform.signsInWithoutToken else {
            throw RPCError.invalidArgument(
                field: "connection_id", "is required: connect the platform first (POST /v1/platform-connections)")
        }
        if let first = try await self.connections.first(platform: self.platform.name, sellerID: caller.sellerID, logger: caller.logger) {
            let (_, grant) = try await self.connections.grant(first, sellerID: caller.sellerID, logger: caller.logger)
            return (first, grant)
        }
        let grant = try await self.onPlatform { try await self.platform.connect(accessToken: "", call: self.call(caller)) }
        let record = try await self.connections.save(grant, platform: self.platform.name, sellerID: caller.sellerID, logger: caller.logger)
        return (record.id, grant)
    }

    private func requireKnown(platform: String, field: String) throws {
        guard platform == self.platform.name else {
            throw RPCError.invalidArgument(
                field: field,
                "\"\(platform.prefix(40))\" is not a platform this deployment connects to (it connects to: \(self.platform.name))")
        }
    }

    /// A page or pixel id as platforms write them: 1 to 32 digits.
    static func platformID(_ text: String, field: String) throws -> String {
        guard (1...32).contains(text.count), text.allSatisfy({ $0.isASCII && $0.isNumber }) else {
            throw RPCError.invalidArgument(field: field, "must be a platform id (1 to 32 digits), got \"\(text.prefix(40))\"")
        }
        return text
    }
}

/// A validated CreateAdAccount: a new account (`spec`) or an existing platform account to
/// connect (`externalID`, with whatever of the spec was given to check against it).
struct AdAccountRequest: Sendable {
    var connectionID: UUID?
    var externalID: String?
    /// Complete for a new account; for an existing one, nil unless every field was given.
    var spec: AdAccountSpec?
    var currency: String?
    var timeZone: String?

    init(_ request: Pixecom_Campaign_V1_CreateAdAccountRequest) throws {
        self.connectionID = request.connectionID.isEmpty ? nil : try RequestValidation.id(request.connectionID, field: "connection_id")
        if request.externalID.isEmpty {
            self.spec = AdAccountSpec(
                name: try CampaignValidation.name(request.name),
                currency: try RequestValidation.currency(request.currency),
                timeZone: try CampaignValidation.timeZone(request.timeZone))
            return
        }
        let digits = request.externalID.hasPrefix("act_") ? request.externalID.dropFirst(4) : ""
        guard (1...32).contains(digits.count), digits.allSatisfy({ $0.isASCII && $0.isNumber }) else {
            throw RPCError.invalidArgument(
                field: "external_id", "must be a platform account id, act_ and 1 to 32 digits, got \"\(request.externalID.prefix(40))\"")
        }
        self.externalID = request.externalID
        let name = request.name.isEmpty ? nil : try CampaignValidation.name(request.name)
        self.currency = request.currency.isEmpty ? nil : try RequestValidation.currency(request.currency)
        self.timeZone = request.timeZone.isEmpty ? nil : try CampaignValidation.timeZone(request.timeZone)
        if let name { self.spec = AdAccountSpec(name: name, currency: self.currency ?? "", timeZone: self.timeZone ?? "") }
    }

    /// INVALID_ARGUMENT when a currency or time zone was given and the platform account has
    /// another: both are fixed on the platform.
    func check(against account: PlatformAdAccount) throws {
        if let currency, currency != account.currency {
            throw RPCError.invalidArgument(
                field: "currency", "is \(currency) but platform account \(account.externalID) is in \(account.currency); leave it empty")
        }
        if let timeZone, timeZone != account.timeZone {
            throw RPCError.invalidArgument(
                field: "time_zone", "is \(timeZone) but platform account \(account.externalID) is in \(account.timeZone); leave it empty")
        }
    }
}
