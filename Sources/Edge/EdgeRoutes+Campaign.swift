import Foundation
import Hummingbird
import NIOCore
import NIOFoundationCompat
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
            update: CampaignMethods.updateCampaign
        )
        self.resource(
            "/v1/ad-sets", router: router,
            create: (CampaignMethods.createAdSet, Pixecom_Campaign_V1_CreateAdSetRequest.self),
            get: CampaignMethods.getAdSet, list: CampaignMethods.listAdSets,
            object: Pixecom_Campaign_V1_AdSet.self, page: Pixecom_Campaign_V1_ListAdSetsResponse.self,
            update: CampaignMethods.updateAdSet
        )
        self.resource(
            "/v1/ads", router: router,
            create: (CampaignMethods.createAd, Pixecom_Campaign_V1_CreateAdRequest.self),
            get: CampaignMethods.getAd, list: CampaignMethods.listAds,
            object: Pixecom_Campaign_V1_Ad.self, page: Pixecom_Campaign_V1_ListAdsResponse.self,
            update: CampaignMethods.updateAd
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
        update: String? = nil
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
        if let update {
            router.patch("\(path)/:id") { request, context in
                let id = try context.parameters.require("id")
                var request = request
                let body = try await request.collectBody(upTo: forwarder.maxBodyBytes)
                var message = try forwarder.decode(Pixecom_Campaign_V1_UpdateRequest.self, body: body, headers: request.headers)
                try Self.pathID(id, into: &message.id)
                // The field mask: `updateMask` in the body or the query, else the fields the body
                // names (a JSON body can say "set budget to 0" only by naming the field).
                if message.updateMask.isEmpty { message.updateMask = request.query("updateMask") }
                if message.updateMask.isEmpty { message.updateMask = Self.fieldsNamed(in: body).joined(separator: ",") }
                let reply = try await forwarder.call(client, update, message, as: Object.self, http: request, context: context)
                return try forwarder.json(reply)
            }
        }
    }

    /// The top-level keys of a JSON object body but `id` and `updateMask`, sorted.
    static func fieldsNamed(in body: ByteBuffer) -> [String] {
        guard let object = try? JSONSerialization.jsonObject(with: Data(buffer: body)) as? [String: Any] else { return [] }
        return object.keys.filter { $0 != "id" && $0 != "updateMask" }.sorted()
    }

    /// Puts the id of the path into a message; a body naming another id is refused.
    static func pathID(_ id: String, into field: inout String) throws {
        guard field.isEmpty || field == id else {
            throw RPCError.invalidArgument(field: "id", "differs from the id in the path")
        }
        field = id
    }
}
