import Hummingbird
import PixEcomProtos
import RPCKit
import ServiceKit
import SwiftProtobuf

extension EdgeRoutes {
    /// Ad accounts, campaigns, ad sets and ads: create (POST), get (GET /{id}), list (GET with
    /// `pageSize`, `pageToken`, `parentId`) and, but for ad accounts, a status change (PATCH /{id}
    /// with `{"status": ...}`).
    func addCampaign(to router: Router<EdgeRequestContext>) {
        typealias Get = Pixecom_Campaign_V1_GetRequest
        typealias Status = Pixecom_Campaign_V1_UpdateStatusRequest

        self.resource(
            "/v1/ad-accounts", router: router,
            create: (CampaignMethods.createAdAccount, Pixecom_Campaign_V1_CreateAdAccountRequest.self),
            get: CampaignMethods.getAdAccount, list: CampaignMethods.listAdAccounts,
            object: Pixecom_Campaign_V1_AdAccount.self, page: Pixecom_Campaign_V1_ListAdAccountsResponse.self
        )
        self.resource(
            "/v1/campaigns", router: router,
            create: (CampaignMethods.createCampaign, Pixecom_Campaign_V1_CreateCampaignRequest.self),
            get: CampaignMethods.getCampaign, list: CampaignMethods.listCampaigns,
            object: Pixecom_Campaign_V1_Campaign.self, page: Pixecom_Campaign_V1_ListCampaignsResponse.self,
            updateStatus: CampaignMethods.updateCampaignStatus
        )
        self.resource(
            "/v1/ad-sets", router: router,
            create: (CampaignMethods.createAdSet, Pixecom_Campaign_V1_CreateAdSetRequest.self),
            get: CampaignMethods.getAdSet, list: CampaignMethods.listAdSets,
            object: Pixecom_Campaign_V1_AdSet.self, page: Pixecom_Campaign_V1_ListAdSetsResponse.self,
            updateStatus: CampaignMethods.updateAdSetStatus
        )
        self.resource(
            "/v1/ads", router: router,
            create: (CampaignMethods.createAd, Pixecom_Campaign_V1_CreateAdRequest.self),
            get: CampaignMethods.getAd, list: CampaignMethods.listAds,
            object: Pixecom_Campaign_V1_Ad.self, page: Pixecom_Campaign_V1_ListAdsResponse.self,
            updateStatus: CampaignMethods.updateAdStatus
        )
    }

    /// The routes of one kind of campaign object.
    private func resource<Create: SwiftProtobuf.Message, Object: SwiftProtobuf.Message, Page: SwiftProtobuf.Message>(
        _ path: RouterPath,
        router: Router<EdgeRequestContext>,
        create: (method: String, request: Create.Type),
        get: String,
        list: String,
        object: Object.Type,
        page: Page.Type,
        updateStatus: String? = nil
    ) {
        let client = self.clients.campaign
        let forwarder = self.forwarder
        router.post(path) { request, context in
            try await forwarder.forward(client, create.method, Create.self, request, context: context, as: Object.self)
        }
        router.get(path) { request, context in
            var message = Pixecom_Campaign_V1_ListRequest()
            message.pageSize = try request.queryInt32("pageSize")
            message.pageToken = request.query("pageToken")
            message.parentID = request.query("parentId")
            let reply = try await forwarder.call(client, list, message, as: Page.self, http: request, context: context)
            return try forwarder.json(reply)
        }
        router.get("\(path)/:id") { request, context in
            var message = Pixecom_Campaign_V1_GetRequest()
            message.id = try context.parameters.require("id")
            let reply = try await forwarder.call(client, get, message, as: Object.self, http: request, context: context)
            return try forwarder.json(reply)
        }
        if let updateStatus {
            router.patch("\(path)/:id") { request, context in
                let id = try context.parameters.require("id")
                return try await forwarder.forward(
                    client, updateStatus, Pixecom_Campaign_V1_UpdateStatusRequest.self, request, context: context, as: Object.self
                ) { message in
                    try Self.pathID(id, into: &message.id)
                }
            }
        }
    }

    /// Puts the id of the path into a message; a body naming another id is refused.
    static func pathID(_ id: String, into field: inout String) throws {
        guard field.isEmpty || field == id else {
            throw RPCError.invalidArgument(field: "id", "differs from the id in the path")
        }
        field = id
    }
}
