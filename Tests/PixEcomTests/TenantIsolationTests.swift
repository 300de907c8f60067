import Foundation
import PixEcomProtos
import RPCKit
import ServiceKit
import SwiftProtobuf
import Testing

/// Tenancy over every public method: seller B, an owner with every right in its own account,
/// calls each method of every service's access table on seller A's objects, as the edge calls
/// them. A method that names an object answers exactly as it does for ids that exist nowhere
/// (NOT_FOUND, the same message but for the id); one that names none (a list, a create, one's own
/// account) answers without anything of A's. A's objects are unchanged afterwards. The test fails
/// when a method is added to an access table without a case here.
@Suite("Tenant isolation", .serialized)
struct TenantIsolationTests {
    typealias Clients = AccessControlTests.Clients

    /// Seller A's objects and identifiers.
    struct SellerA {
        var sellerID = "", ownerID = "", ownerEmail = "", memberID = "", memberEmail = ""
        var sessionID = "", apiKeyID = "", adAccount = "", campaign = "", adSet = "", ad = "", order = "", strategy = ""
        /// A's platform connection and its ad account's id on the platform.
        var connection = "", platformAccount = ""
        /// A's asset and an upload of A's still in progress.
        var asset = "", upload = ""
        /// A's ad text and creative (a single image: A's asset).
        var adText = "", creative = ""
        /// A's sell page, and a domain A claimed (a public name, so not among the secrets).
        var sellPage = "", domain = ""
        /// A's fulfillment (of one unit of A's order).
        var fulfillment = ""
        /// A's order import, still uploading.
        var orderImport = ""
        var secrets: [String] {
            [
                self.sellerID, self.ownerID, self.ownerEmail, self.memberID, self.memberEmail, self.sessionID,
                self.apiKeyID, self.adAccount, self.campaign, self.adSet, self.ad, self.order, self.strategy, self.connection,
                self.platformAccount, self.asset, self.upload, self.adText, self.creative, self.sellPage,
                self.fulfillment, self.orderImport,
            ]
        }
    }

    /// How a method answered seller B: its JSON or its error.
    enum Outcome {
        case ok(String)
        case failed(RPCError)
    }

    static func call<Request: SwiftProtobuf.Message, Response: SwiftProtobuf.Message>(
        _ clients: Clients, _ method: String, _ request: Request, as: Response.Type, token: String
    ) async -> Outcome {
        do {
            let reply = try await clients.client(for: method).unary(
                method, request, as: Response.self, metadata: AccessControlTests.metadata(token), idempotent: false)
            return .ok((try? reply.jsonString()) ?? "")
        } catch let error as RPCError {
            return .failed(error)
        } catch {
            return .failed(RPCError(.unknown, "\(error)"))
        }
    }

    static func id(_ value: String) -> Pixecom_Campaign_V1_GetRequest {
        var request = Pixecom_Campaign_V1_GetRequest()
        request.id = value
        return request
    }

    static func updateCampaign(_ value: String) -> Pixecom_Campaign_V1_UpdateCampaignRequest {
        .with {
            $0.id = value
            $0.name = "taken over"
            $0.updateMask = "name"
        }
    }

    static func updateAdSet(_ value: String) -> Pixecom_Campaign_V1_UpdateAdSetRequest {
        .with {
            $0.id = value
            $0.targeting.countries = ["FR"]
            $0.updateMask = "targeting"
        }
    }

    static func updateAd(_ value: String) -> Pixecom_Campaign_V1_UpdateAdRequest {
        .with {
            $0.id = value
            $0.linkURL = "https://taken-over.example.com/"
            $0.updateMask = "linkUrl"
        }
    }

    /// Every method a seller's token reaches, called by B on A's objects.
    static func cases(a: SellerA, bPassword: String) -> [String: @Sendable (Clients, String) async -> Outcome] {
        typealias Auth = AuthMethods
        typealias Campaign = CampaignMethods
        var cases: [String: @Sendable (Clients, String) async -> Outcome] = [:]
        // AuthService: the team, one's own account, API keys, the audit log.
        cases[Auth.listMembers] = {
            await call($0, Auth.listMembers, Pixecom_Auth_V1_ListMembersRequest(), as: Pixecom_Auth_V1_ListMembersResponse.self, token: $1)
        }
        cases[Auth.inviteMember] = { clients, token in
            var request = Pixecom_Auth_V1_InviteMemberRequest()
            request.email = AccessControlTests.newEmail("b-invitee")
            request.role = "VIEWER"
            return await call(clients, Auth.inviteMember, request, as: Pixecom_Auth_V1_Invitation.self, token: token)
        }
        cases[Auth.changeMemberRole] = { clients, token in
            var request = Pixecom_Auth_V1_ChangeMemberRoleRequest()
            request.userID = a.memberID
            request.role = "ADMIN"
            return await call(clients, Auth.changeMemberRole, request, as: Pixecom_Auth_V1_Member.self, token: token)
        }
        cases[Auth.removeMember] = { clients, token in
            var request = Pixecom_Auth_V1_RemoveMemberRequest()
            request.userID = a.memberID
            return await call(clients, Auth.removeMember, request, as: Pixecom_Auth_V1_RemoveMemberResponse.self, token: token)
        }
        cases[Auth.changePassword] = { clients, token in
            var request = Pixecom_Auth_V1_ChangePasswordRequest()
            request.currentPassword = bPassword
            request.newPassword = bPassword + "-next"
            return await call(clients, Auth.changePassword, request, as: Pixecom_Auth_V1_TokenPair.self, token: token)
        }
        // B's own plan (pro already: no change); A's stays as it is.
        cases[Auth.changePlan] = {
            await call(
                $0, Auth.changePlan, Pixecom_Auth_V1_ChangePlanRequest.with { $0.plan = "pro" },
                as: Pixecom_Auth_V1_ChangePlanResponse.self, token: $1)
        }
        cases[Auth.getCaller] = {
            await call($0, Auth.getCaller, Pixecom_Auth_V1_GetCallerRequest(), as: Pixecom_Auth_V1_Caller.self, token: $1)
        }
        cases[Auth.listSessions] = {
            await call(
                $0, Auth.listSessions, Pixecom_Auth_V1_ListSessionsRequest(), as: Pixecom_Auth_V1_ListSessionsResponse.self, token: $1)
        }
        cases[Auth.revokeSession] = { clients, token in
            var request = Pixecom_Auth_V1_RevokeSessionRequest()
            request.id = a.sessionID
            return await call(clients, Auth.revokeSession, request, as: Pixecom_Auth_V1_RevokeSessionResponse.self, token: token)
        }
        cases[Auth.listAuditEvents] = {
            await call(
                $0, Auth.listAuditEvents, Pixecom_Auth_V1_ListAuditEventsRequest(), as: Pixecom_Auth_V1_ListAuditEventsResponse.self,
                token: $1)
        }
        cases[Auth.createApiKey] = { clients, token in
            var request = Pixecom_Auth_V1_CreateApiKeyRequest()
            request.name = "B's script"
            request.scope = "READ"
            return await call(clients, Auth.createApiKey, request, as: Pixecom_Auth_V1_CreatedApiKey.self, token: token)
        }
        cases[Auth.listApiKeys] = {
            await call($0, Auth.listApiKeys, Pixecom_Auth_V1_ListApiKeysRequest(), as: Pixecom_Auth_V1_ListApiKeysResponse.self, token: $1)
        }
        cases[Auth.revokeApiKey] = { clients, token in
            var request = Pixecom_Auth_V1_RevokeApiKeyRequest()
            request.id = a.apiKeyID
            return await call(clients, Auth.revokeApiKey, request, as: Pixecom_Auth_V1_ApiKey.self, token: token)
        }
        // CampaignService: each object by id, each list (also filtered by A's parent), each create under A's parent.
        // Connecting A's platform account (B's own sandbox connection is made on first use).
        cases[Campaign.createAdAccount] = { clients, token in
            var request = Pixecom_Campaign_V1_CreateAdAccountRequest()
            request.name = "B's account"
            request.currency = "USD"
            request.timeZone = "UTC"
            request.externalID = a.platformAccount
            return await call(clients, Campaign.createAdAccount, request, as: Pixecom_Campaign_V1_AdAccount.self, token: token)
        }
        cases[Campaign.connectPlatform] = { clients, token in
            var request = Pixecom_Campaign_V1_ConnectPlatformRequest()
            request.platform = "sandbox"
            return await call(clients, Campaign.connectPlatform, request, as: Pixecom_Campaign_V1_PlatformConnection.self, token: token)
        }
        cases[Campaign.listPlatformConnections] = {
            await call(
                $0, Campaign.listPlatformConnections, Pixecom_Campaign_V1_ListRequest(),
                as: Pixecom_Campaign_V1_ListPlatformConnectionsResponse.self, token: $1)
        }
        cases[Campaign.updateAdAccount] = {
            await call(
                $0, Campaign.updateAdAccount,
                Pixecom_Campaign_V1_UpdateAdAccountRequest.with {
                    $0.id = a.adAccount
                    $0.name = "taken over"
                    $0.updateMask = "name"
                }, as: Pixecom_Campaign_V1_AdAccount.self, token: $1)
        }
        cases[Campaign.disconnectAdAccount] = {
            await call(
                $0, Campaign.disconnectAdAccount, Pixecom_Campaign_V1_DisconnectAdAccountRequest.with { $0.id = a.adAccount },
                as: Pixecom_Campaign_V1_AdAccount.self, token: $1)
        }
        cases[Campaign.getAdAccount] = {
            await call($0, Campaign.getAdAccount, id(a.adAccount), as: Pixecom_Campaign_V1_AdAccount.self, token: $1)
        }
        cases[Campaign.listAdAccounts] = {
            await call(
                $0, Campaign.listAdAccounts, Pixecom_Campaign_V1_ListRequest(), as: Pixecom_Campaign_V1_ListAdAccountsResponse.self,
                token: $1)
        }
        cases[Campaign.createCampaign] = { clients, token in
            var request = Pixecom_Campaign_V1_CreateCampaignRequest()
            request.adAccountID = a.adAccount
            request.name = "in A's account"
            request.objective = "OUTCOME_SALES"
            request.dailyBudget = 1000
            return await call(clients, Campaign.createCampaign, request, as: Pixecom_Campaign_V1_Campaign.self, token: token)
        }
        cases[Campaign.getCampaign] = {
            await call($0, Campaign.getCampaign, id(a.campaign), as: Pixecom_Campaign_V1_Campaign.self, token: $1)
        }
        cases[Campaign.listCampaigns] = { clients, token in
            var request = Pixecom_Campaign_V1_ListCampaignsRequest()
            request.parentID = a.adAccount
            return await call(clients, Campaign.listCampaigns, request, as: Pixecom_Campaign_V1_ListCampaignsResponse.self, token: token)
        }
        cases[Campaign.updateCampaign] = {
            await call($0, Campaign.updateCampaign, updateCampaign(a.campaign), as: Pixecom_Campaign_V1_Campaign.self, token: $1)
        }
        cases[Campaign.createAdSet] = { clients, token in
            var request = Pixecom_Campaign_V1_CreateAdSetRequest()
            request.campaignID = a.campaign
            request.name = "in A's campaign"
            request.targeting.countries = ["US"]
            return await call(clients, Campaign.createAdSet, request, as: Pixecom_Campaign_V1_AdSet.self, token: token)
        }
        cases[Campaign.getAdSet] = { await call($0, Campaign.getAdSet, id(a.adSet), as: Pixecom_Campaign_V1_AdSet.self, token: $1) }
        cases[Campaign.listAdSets] = { clients, token in
            var request = Pixecom_Campaign_V1_ListAdSetsRequest()
            request.parentID = a.campaign
            return await call(clients, Campaign.listAdSets, request, as: Pixecom_Campaign_V1_ListAdSetsResponse.self, token: token)
        }
        cases[Campaign.updateAdSet] = {
            await call($0, Campaign.updateAdSet, updateAdSet(a.adSet), as: Pixecom_Campaign_V1_AdSet.self, token: $1)
        }
        cases[Campaign.createAd] = { clients, token in
            var request = Pixecom_Campaign_V1_CreateAdRequest()
            request.adSetID = a.adSet
            request.name = "in A's ad set"
            request.linkURL = "https://shop.example.com/b"
            return await call(clients, Campaign.createAd, request, as: Pixecom_Campaign_V1_Ad.self, token: token)
        }
        cases[Campaign.getAd] = { await call($0, Campaign.getAd, id(a.ad), as: Pixecom_Campaign_V1_Ad.self, token: $1) }
        cases[Campaign.listAds] = { clients, token in
            var request = Pixecom_Campaign_V1_ListAdsRequest()
            request.parentID = a.adSet
            return await call(clients, Campaign.listAds, request, as: Pixecom_Campaign_V1_ListAdsResponse.self, token: token)
        }
        cases[Campaign.updateAd] = { await call($0, Campaign.updateAd, updateAd(a.ad), as: Pixecom_Campaign_V1_Ad.self, token: $1) }
        cases[Campaign.createCampaignTree] = { clients, token in
            let request = Pixecom_Campaign_V1_CreateCampaignTreeRequest.with {
                $0.campaign = .with {
                    $0.adAccountID = a.adAccount
                    $0.name = "in A's account"
                    $0.objective = "OUTCOME_SALES"
                    $0.dailyBudget = 1000
                }
                $0.adSets = [
                    .with {
                        $0.adSet = .with {
                            $0.name = "S"
                            $0.targeting.countries = ["US"]
                        }
                        $0.ads = [
                            .with {
                                $0.name = "Ad"
                                $0.linkURL = "https://shop.example.com/b"
                            }
                        ]
                    }
                ]
            }
            return await call(clients, Campaign.createCampaignTree, request, as: Pixecom_Campaign_V1_CampaignTree.self, token: token)
        }
        cases[Campaign.duplicateCampaign] = {
            await call(
                $0, Campaign.duplicateCampaign, Pixecom_Campaign_V1_DuplicateCampaignRequest.with { $0.id = a.campaign },
                as: Pixecom_Campaign_V1_CampaignTree.self, token: $1)
        }
        cases[Campaign.createAdStrategy] = { clients, token in
            let request = Pixecom_Campaign_V1_CreateAdStrategyRequest.with {
                $0.name = "B's own strategy"
                $0.targeting.countries = ["US"]
            }
            return await call(clients, Campaign.createAdStrategy, request, as: Pixecom_Campaign_V1_AdStrategy.self, token: token)
        }
        cases[Campaign.getAdStrategy] = {
            await call($0, Campaign.getAdStrategy, id(a.strategy), as: Pixecom_Campaign_V1_AdStrategy.self, token: $1)
        }
        cases[Campaign.listAdStrategies] = {
            await call(
                $0, Campaign.listAdStrategies, Pixecom_Campaign_V1_ListRequest(), as: Pixecom_Campaign_V1_ListAdStrategiesResponse.self,
                token: $1)
        }
        cases[Campaign.updateAdStrategy] = {
            await call(
                $0, Campaign.updateAdStrategy,
                Pixecom_Campaign_V1_UpdateAdStrategyRequest.with {
                    $0.id = a.strategy
                    $0.name = "taken over"
                    $0.updateMask = "name"
                }, as: Pixecom_Campaign_V1_AdStrategy.self, token: $1)
        }
        cases[Campaign.deleteAdStrategy] = {
            await call($0, Campaign.deleteAdStrategy, id(a.strategy), as: Pixecom_Campaign_V1_DeleteAdStrategyResponse.self, token: $1)
        }
        // Assets: B's own upload; A's upload, chunk and asset by id.
        cases[Campaign.startAssetUpload] = {
            await call(
                $0, Campaign.startAssetUpload,
                Pixecom_Campaign_V1_StartAssetUploadRequest.with {
                    $0.name = "b.txt"
                    $0.sizeBytes = 5
                }, as: Pixecom_Campaign_V1_AssetUpload.self, token: $1)
        }
        cases[Campaign.appendAssetUpload] = {
            await call(
                $0, Campaign.appendAssetUpload,
                Pixecom_Campaign_V1_AppendAssetUploadRequest.with {
                    $0.uploadID = a.upload
                    $0.offset = 0
                    $0.data = Data("taken".utf8)
                }, as: Pixecom_Campaign_V1_AssetUpload.self, token: $1)
        }
        cases[Campaign.finishAssetUpload] = {
            await call(
                $0, Campaign.finishAssetUpload, Pixecom_Campaign_V1_FinishAssetUploadRequest.with { $0.uploadID = a.upload },
                as: Pixecom_Campaign_V1_Asset.self, token: $1)
        }
        cases[Campaign.getAsset] = { await call($0, Campaign.getAsset, id(a.asset), as: Pixecom_Campaign_V1_Asset.self, token: $1) }
        cases[Campaign.listAssets] = {
            await call(
                $0, Campaign.listAssets, Pixecom_Campaign_V1_ListAssetsRequest(), as: Pixecom_Campaign_V1_ListAssetsResponse.self, token: $1
            )
        }
        cases[Campaign.deleteAsset] = {
            await call($0, Campaign.deleteAsset, id(a.asset), as: Pixecom_Campaign_V1_DeleteAssetResponse.self, token: $1)
        }
        // Ad texts and creatives: B's own text; a creative of A's asset and text; A's by id.
        cases[Campaign.createAdText] = {
            await call(
                $0, Campaign.createAdText,
                Pixecom_Campaign_V1_CreateAdTextRequest.with {
                    $0.name = "B's words"
                    $0.primaryTexts = ["B's sale"]
                }, as: Pixecom_Campaign_V1_AdText.self, token: $1)
        }
        cases[Campaign.getAdText] = { await call($0, Campaign.getAdText, id(a.adText), as: Pixecom_Campaign_V1_AdText.self, token: $1) }
        cases[Campaign.listAdTexts] = {
            await call(
                $0, Campaign.listAdTexts, Pixecom_Campaign_V1_ListRequest(), as: Pixecom_Campaign_V1_ListAdTextsResponse.self, token: $1)
        }
        cases[Campaign.deleteAdText] = {
            await call($0, Campaign.deleteAdText, id(a.adText), as: Pixecom_Campaign_V1_DeleteAdTextResponse.self, token: $1)
        }
        cases[Campaign.createCreative] = {
            await call(
                $0, Campaign.createCreative,
                Pixecom_Campaign_V1_CreateCreativeRequest.with {
                    $0.name = "on A's asset"
                    $0.format = "SINGLE_IMAGE"
                    $0.imageAssetID = a.asset
                    $0.linkURL = "https://shop.example.com/b"
                }, as: Pixecom_Campaign_V1_Creative.self, token: $1)
        }
        cases[Campaign.getCreative] = {
            await call($0, Campaign.getCreative, id(a.creative), as: Pixecom_Campaign_V1_Creative.self, token: $1)
        }
        cases[Campaign.listCreatives] = {
            await call(
                $0, Campaign.listCreatives, Pixecom_Campaign_V1_ListRequest(), as: Pixecom_Campaign_V1_ListCreativesResponse.self, token: $1
            )
        }
        cases[Campaign.deleteCreative] = {
            await call($0, Campaign.deleteCreative, id(a.creative), as: Pixecom_Campaign_V1_DeleteCreativeResponse.self, token: $1)
        }
        // A bulk change answers per object: one on A's ad must fail as one on a missing ad does.
        cases[Campaign.bulkUpdate] = { clients, token in
            let request = Pixecom_Campaign_V1_BulkUpdateRequest.with {
                $0.changes = [
                    .with {
                        $0.kind = .ad
                        $0.id = a.ad
                        $0.status = .active
                    }
                ]
            }
            let outcome = await call(clients, Campaign.bulkUpdate, request, as: Pixecom_Campaign_V1_BulkUpdateResponse.self, token: token)
            guard case .ok(let json) = outcome,
                let response = try? Pixecom_Campaign_V1_BulkUpdateResponse(jsonString: json), let result = response.results.first,
                result.code != "OK"
            else { return outcome }
            return .failed(RPCError(result.code == "NOT_FOUND" ? .notFound : .unknown, result.message))
        }
        // StatsService.
        cases[StatsMethods.ingestInsights] = { clients, token in
            var row = Pixecom_Stats_V1_InsightRow()
            row.date = "2026-11-02"
            row.adID = a.ad
            row.spend = 999_999
            row.currency = "USD"
            var request = Pixecom_Stats_V1_IngestInsightsRequest()
            request.rows = [row]
            return await call(clients, StatsMethods.ingestInsights, request, as: Pixecom_Stats_V1_IngestInsightsResponse.self, token: token)
        }
        cases[StatsMethods.getAdsManager] = { clients, token in
            let request = Pixecom_Stats_V1_AdsManagerRequest.with {
                $0.level = .ad
                $0.parentID = a.campaign
                ($0.since, $0.until) = ("2026-11-01", "2026-11-03")
            }
            return await call(clients, StatsMethods.getAdsManager, request, as: Pixecom_Stats_V1_AdsManagerPage.self, token: token)
        }
        cases[StatsMethods.getStats] = { clients, token in
            let request = Pixecom_Stats_V1_StatsRequest.with {
                $0.level = .adAccount
                $0.id = a.adAccount
                ($0.since, $0.until) = ("2026-11-01", "2026-11-03")
            }
            return await call(clients, StatsMethods.getStats, request, as: Pixecom_Stats_V1_StatsByCurrency.self, token: token)
        }
        cases[StatsMethods.getCampaignStats] = { clients, token in
            var request = Pixecom_Stats_V1_GetCampaignStatsRequest()
            request.campaignID = a.campaign
            request.since = "2026-11-01"
            request.until = "2026-11-03"
            return await call(clients, StatsMethods.getCampaignStats, request, as: Pixecom_Stats_V1_CampaignStats.self, token: token)
        }
        // OrderService.
        cases[OrderMethods.createOrder] = { clients, token in
            var item = Pixecom_Orders_V1_LineItem()
            item.sku = "B-1"
            item.title = "B's product"
            item.quantity = 1
            item.unitPrice = 1000
            var request = Pixecom_Orders_V1_CreateOrderRequest()
            request.currency = "USD"
            request.lineItems = [item]
            return await call(clients, OrderMethods.createOrder, request, as: Pixecom_Orders_V1_Order.self, token: token)
        }
        cases[OrderMethods.getOrder] = { clients, token in
            var request = Pixecom_Orders_V1_GetOrderRequest()
            request.id = a.order
            return await call(clients, OrderMethods.getOrder, request, as: Pixecom_Orders_V1_Order.self, token: token)
        }
        cases[OrderMethods.listOrders] = {
            await call(
                $0, OrderMethods.listOrders, Pixecom_Orders_V1_ListOrdersRequest(), as: Pixecom_Orders_V1_ListOrdersResponse.self, token: $1
            )
        }
        cases[OrderMethods.markPaid] = { clients, token in
            var request = Pixecom_Orders_V1_MarkPaidRequest()
            request.id = a.order
            return await call(clients, OrderMethods.markPaid, request, as: Pixecom_Orders_V1_Order.self, token: token)
        }
        cases[OrderMethods.refundOrder] = { clients, token in
            var request = Pixecom_Orders_V1_RefundOrderRequest()
            request.id = a.order
            request.amount = 1
            return await call(clients, OrderMethods.refundOrder, request, as: Pixecom_Orders_V1_Order.self, token: token)
        }
        cases[OrderMethods.authorizePayment] = { clients, token in
            let request = Pixecom_Orders_V1_AuthorizePaymentRequest.with {
                $0.id = a.order
                $0.amount = 1
            }
            return await call(clients, OrderMethods.authorizePayment, request, as: Pixecom_Orders_V1_Order.self, token: token)
        }
        cases[OrderMethods.capturePayment] = { clients, token in
            let request = Pixecom_Orders_V1_CapturePaymentRequest.with {
                $0.id = a.order
                $0.amount = 1
            }
            return await call(clients, OrderMethods.capturePayment, request, as: Pixecom_Orders_V1_Order.self, token: token)
        }
        cases[OrderMethods.voidPayment] = { clients, token in
            let request = Pixecom_Orders_V1_VoidPaymentRequest.with { $0.id = a.order }
            return await call(clients, OrderMethods.voidPayment, request, as: Pixecom_Orders_V1_Order.self, token: token)
        }
        cases[OrderMethods.recordChargeback] = { clients, token in
            let request = Pixecom_Orders_V1_RecordChargebackRequest.with {
                $0.id = a.order
                $0.amount = 1
                $0.reference = "dp_b"
            }
            return await call(clients, OrderMethods.recordChargeback, request, as: Pixecom_Orders_V1_Order.self, token: token)
        }
        cases[OrderMethods.reverseChargeback] = { clients, token in
            let request = Pixecom_Orders_V1_ReverseChargebackRequest.with {
                $0.id = a.order
                $0.reference = "dp_b"
            }
            return await call(clients, OrderMethods.reverseChargeback, request, as: Pixecom_Orders_V1_Order.self, token: token)
        }
        cases[OrderMethods.cancelOrder] = { clients, token in
            let request = Pixecom_Orders_V1_CancelOrderRequest.with {
                $0.id = a.order
                $0.reason = .fraud
            }
            return await call(clients, OrderMethods.cancelOrder, request, as: Pixecom_Orders_V1_Order.self, token: token)
        }
        cases[OrderMethods.closeOrder] = { clients, token in
            let request = Pixecom_Orders_V1_CloseOrderRequest.with { $0.id = a.order }
            return await call(clients, OrderMethods.closeOrder, request, as: Pixecom_Orders_V1_Order.self, token: token)
        }
        cases[OrderMethods.createSellPage] = { clients, token in
            let request = Pixecom_Orders_V1_CreateSellPageRequest.with {
                ($0.slug, $0.title, $0.currency) = ("a-page", "B's page", "USD")
                $0.variants = [.with { ($0.sku, $0.title, $0.price) = ("B-1", "B's product", 1) }]
            }
            return await call(clients, OrderMethods.createSellPage, request, as: Pixecom_Orders_V1_SellPage.self, token: token)
        }
        cases[OrderMethods.getSellPage] = { clients, token in
            let request = Pixecom_Orders_V1_GetSellPageRequest.with { $0.id = a.sellPage }
            return await call(clients, OrderMethods.getSellPage, request, as: Pixecom_Orders_V1_SellPage.self, token: token)
        }
        cases[OrderMethods.listSellPages] = {
            await call(
                $0, OrderMethods.listSellPages, Pixecom_Orders_V1_ListSellPagesRequest(), as: Pixecom_Orders_V1_ListSellPagesResponse.self,
                token: $1)
        }
        cases[OrderMethods.updateSellPage] = { clients, token in
            let request = Pixecom_Orders_V1_UpdateSellPageRequest.with {
                $0.id = a.sellPage
                $0.title = "B was here"
            }
            return await call(clients, OrderMethods.updateSellPage, request, as: Pixecom_Orders_V1_SellPage.self, token: token)
        }
        cases[OrderMethods.createFulfillment] = { clients, token in
            let request = Pixecom_Orders_V1_CreateFulfillmentRequest.with {
                $0.id = a.order
                $0.trackingNumber = "TAKEOVER1"
            }
            return await call(clients, OrderMethods.createFulfillment, request, as: Pixecom_Orders_V1_Fulfillment.self, token: token)
        }
        cases[OrderMethods.updateTracking] = { clients, token in
            let request = Pixecom_Orders_V1_UpdateTrackingRequest.with {
                ($0.id, $0.fulfillmentID, $0.trackingNumber) = (a.order, a.fulfillment, "TAKEOVER2")
            }
            return await call(clients, OrderMethods.updateTracking, request, as: Pixecom_Orders_V1_Fulfillment.self, token: token)
        }
        cases[OrderMethods.cancelFulfillment] = { clients, token in
            let request = Pixecom_Orders_V1_CancelFulfillmentRequest.with { ($0.id, $0.fulfillmentID) = (a.order, a.fulfillment) }
            return await call(clients, OrderMethods.cancelFulfillment, request, as: Pixecom_Orders_V1_Fulfillment.self, token: token)
        }
        cases[OrderMethods.listFulfillments] = { clients, token in
            let request = Pixecom_Orders_V1_ListFulfillmentsRequest.with { $0.id = a.order }
            return await call(
                clients, OrderMethods.listFulfillments, request, as: Pixecom_Orders_V1_ListFulfillmentsResponse.self, token: token)
        }
        cases[OrderMethods.recordReturn] = { clients, token in
            let request = Pixecom_Orders_V1_RecordReturnRequest.with {
                $0.id = a.order
                $0.lines = [.with { ($0.line, $0.quantity) = (0, 1) }]
            }
            return await call(clients, OrderMethods.recordReturn, request, as: Pixecom_Orders_V1_Order.self, token: token)
        }
        cases[OrderMethods.startOrderImport] = { clients, token in
            let request = Pixecom_Orders_V1_StartOrderImportRequest.with { ($0.kind, $0.name, $0.sizeBytes) = (.orders, "b.csv", 5) }
            return await call(clients, OrderMethods.startOrderImport, request, as: Pixecom_Orders_V1_OrderImport.self, token: token)
        }
        cases[OrderMethods.appendOrderImport] = { clients, token in
            let request = Pixecom_Orders_V1_AppendOrderImportRequest.with { ($0.importID, $0.data) = (a.orderImport, Data("Name\n".utf8)) }
            return await call(clients, OrderMethods.appendOrderImport, request, as: Pixecom_Orders_V1_OrderImport.self, token: token)
        }
        cases[OrderMethods.finishOrderImport] = { clients, token in
            let request = Pixecom_Orders_V1_FinishOrderImportRequest.with { $0.importID = a.orderImport }
            return await call(clients, OrderMethods.finishOrderImport, request, as: Pixecom_Orders_V1_OrderImport.self, token: token)
        }
        cases[OrderMethods.getOrderImport] = { clients, token in
            let request = Pixecom_Orders_V1_GetOrderImportRequest.with { $0.importID = a.orderImport }
            return await call(clients, OrderMethods.getOrderImport, request, as: Pixecom_Orders_V1_OrderImport.self, token: token)
        }
        cases[OrderMethods.listOrderImportErrors] = { clients, token in
            let request = Pixecom_Orders_V1_ListOrderImportErrorsRequest.with { $0.importID = a.orderImport }
            return await call(
                clients, OrderMethods.listOrderImportErrors, request, as: Pixecom_Orders_V1_ListOrderImportErrorsResponse.self,
                token: token)
        }
        // A stream: B's export holds B's orders only (none: the header).
        cases[OrderMethods.exportOrders] = { clients, token in
            do {
                let csv = try await clients.orders.serverStreaming(
                    OrderMethods.exportOrders, Pixecom_Orders_V1_ExportOrdersRequest(), as: Pixecom_Orders_V1_ExportChunk.self,
                    metadata: AccessControlTests.metadata(token)
                ) { stream in
                    var bytes = Data()
                    for try await chunk in stream { bytes.append(chunk.data) }
                    return String(decoding: bytes, as: UTF8.self)
                }
                return .ok(csv)
            } catch let error as RPCError {
                return .failed(error)
            } catch {
                return .failed(RPCError(.unknown, "\(error)"))
            }
        }
        cases[OrderMethods.addDomain] = { clients, token in
            // B's own domain: a claim of A's name would make it B's claim too (claims are open
            // to all until one seller proves the domain), and VerifyDomain below is about A's.
            let request = Pixecom_Orders_V1_AddDomainRequest.with { $0.domain = "b-\(a.domain)" }
            return await call(clients, OrderMethods.addDomain, request, as: Pixecom_Orders_V1_Domain.self, token: token)
        }
        cases[OrderMethods.verifyDomain] = { clients, token in
            let request = Pixecom_Orders_V1_VerifyDomainRequest.with { $0.domain = a.domain }
            return await call(clients, OrderMethods.verifyDomain, request, as: Pixecom_Orders_V1_Domain.self, token: token)
        }
        cases[OrderMethods.listDomains] = {
            await call(
                $0, OrderMethods.listDomains, Pixecom_Orders_V1_ListDomainsRequest(), as: Pixecom_Orders_V1_ListDomainsResponse.self,
                token: $1)
        }
        return cases
    }

    /// Methods that name one of A's objects: NOT_FOUND, as for a missing one.
    static let targeted: Set<String> = [
        AuthMethods.changeMemberRole, AuthMethods.removeMember, AuthMethods.revokeSession, AuthMethods.revokeApiKey,
        CampaignMethods.getAdAccount, CampaignMethods.createAdAccount, CampaignMethods.updateAdAccount,
        CampaignMethods.disconnectAdAccount, CampaignMethods.createCampaign, CampaignMethods.getCampaign, CampaignMethods.updateCampaign,
        CampaignMethods.createCampaignTree, CampaignMethods.duplicateCampaign, CampaignMethods.bulkUpdate,
        CampaignMethods.getAdStrategy, CampaignMethods.updateAdStrategy, CampaignMethods.deleteAdStrategy,
        CampaignMethods.createAdSet, CampaignMethods.getAdSet, CampaignMethods.updateAdSet, CampaignMethods.createAd,
        CampaignMethods.getAd, CampaignMethods.updateAd, CampaignMethods.appendAssetUpload, CampaignMethods.finishAssetUpload,
        CampaignMethods.getAsset, CampaignMethods.deleteAsset, CampaignMethods.getAdText, CampaignMethods.deleteAdText,
        CampaignMethods.createCreative, CampaignMethods.getCreative, CampaignMethods.deleteCreative, StatsMethods.ingestInsights,
        StatsMethods.getCampaignStats, StatsMethods.getAdsManager, StatsMethods.getStats,
        OrderMethods.getOrder, OrderMethods.markPaid, OrderMethods.refundOrder, OrderMethods.authorizePayment,
        OrderMethods.capturePayment, OrderMethods.voidPayment, OrderMethods.recordChargeback, OrderMethods.reverseChargeback,
        OrderMethods.cancelOrder, OrderMethods.closeOrder, OrderMethods.getSellPage, OrderMethods.updateSellPage,
        OrderMethods.verifyDomain, OrderMethods.createFulfillment, OrderMethods.updateTracking, OrderMethods.cancelFulfillment,
        OrderMethods.listFulfillments, OrderMethods.recordReturn, OrderMethods.appendOrderImport, OrderMethods.finishOrderImport,
        OrderMethods.getOrderImport, OrderMethods.listOrderImportErrors,
    ]

    /// An asset of the caller's with `bytes`, through Start, Append and Finish.
    static func upload(_ clients: Clients, token: String, name: String, _ bytes: Data) async throws -> Pixecom_Campaign_V1_Asset {
        let metadata = AccessControlTests.metadata(token)
        let upload = try await clients.campaign.unary(
            CampaignMethods.startAssetUpload,
            Pixecom_Campaign_V1_StartAssetUploadRequest.with {
                $0.name = name
                $0.sizeBytes = Int64(bytes.count)
            }, as: Pixecom_Campaign_V1_AssetUpload.self, metadata: metadata)
        _ = try await clients.campaign.unary(
            CampaignMethods.appendAssetUpload,
            Pixecom_Campaign_V1_AppendAssetUploadRequest.with {
                $0.uploadID = upload.uploadID
                $0.data = bytes
            }, as: Pixecom_Campaign_V1_AssetUpload.self, metadata: metadata)
        return try await clients.campaign.unary(
            CampaignMethods.finishAssetUpload, Pixecom_Campaign_V1_FinishAssetUploadRequest.with { $0.uploadID = upload.uploadID },
            as: Pixecom_Campaign_V1_Asset.self, metadata: metadata)
    }

    /// A text asset of the caller's ("A's headline") and an upload of 10 bytes with nothing sent yet.
    static func assets(_ clients: Clients, token: String) async throws -> (asset: String, upload: String) {
        let asset = try await Self.upload(clients, token: token, name: "headline.txt", Data("A's headline".utf8))
        let open = try await clients.campaign.unary(
            CampaignMethods.startAssetUpload,
            Pixecom_Campaign_V1_StartAssetUploadRequest.with {
                $0.name = "later.txt"
                $0.sizeBytes = 10
            }, as: Pixecom_Campaign_V1_AssetUpload.self, metadata: AccessControlTests.metadata(token))
        return (asset.id, open.uploadID)
    }

    /// An ad text of the caller's and a single-image creative with it (of an image uploaded here).
    static func creative(_ clients: Clients, token: String) async throws -> (adText: String, creative: String) {
        let metadata = AccessControlTests.metadata(token)
        let asset = try await Self.upload(
            clients, token: token, name: "a.png", AssetFixtures.png(width: 600, height: 600, salt: "tenant A")
        ).id
        let text = try await clients.campaign.unary(
            CampaignMethods.createAdText,
            Pixecom_Campaign_V1_CreateAdTextRequest.with {
                $0.name = "A's words"
                $0.primaryTexts = ["A's sale"]
            }, as: Pixecom_Campaign_V1_AdText.self, metadata: metadata)
        let creative = try await clients.campaign.unary(
            CampaignMethods.createCreative,
            Pixecom_Campaign_V1_CreateCreativeRequest.with {
                $0.name = "A's creative"
                $0.format = "SINGLE_IMAGE"
                $0.imageAssetID = asset
                $0.adTextID = text.id
                $0.linkURL = "https://shop.example.com/a"
            }, as: Pixecom_Campaign_V1_Creative.self, metadata: metadata)
        return (text.id, creative.id)
    }

    @Test(
        "seller B calling every method on seller A's objects gets the answer of a missing object or only its own data, and changes nothing of A's"
    )
    func crossTenantMatrix() async throws {
        let system = try await PixEcomSystem.start()
        let clients = try Clients(system: system)
        do {
            // Seller A with a member, a session, an API key, a campaign tree and an order.
            let (ownerPair, ownerEmail, ownerPassword) = try await AccessControlTests.registerOwner(clients, name: "TenantA")
            try await AccessControlTests.setPlan(system, sellerID: ownerPair.sellerID, plan: "pro")
            let owner = try await AccessControlTests.login(clients, ownerEmail, ownerPassword).accessToken
            var a = SellerA(sellerID: ownerPair.sellerID, ownerID: ownerPair.userID, ownerEmail: ownerEmail)
            let member = try await AccessControlTests.addMember(clients, owner: owner, role: .editor)
            (a.memberID, a.memberEmail) = (member.pair.userID, member.email)
            let sessions = try await clients.auth.unary(
                AuthMethods.listSessions, Pixecom_Auth_V1_ListSessionsRequest(), as: Pixecom_Auth_V1_ListSessionsResponse.self,
                metadata: AccessControlTests.metadata(owner))
            a.sessionID = try #require(sessions.sessions.first?.id)
            var key = Pixecom_Auth_V1_CreateApiKeyRequest()
            key.name = "A's script"
            key.scope = "FULL"
            a.apiKeyID = try await clients.auth.unary(
                AuthMethods.createApiKey, key, as: Pixecom_Auth_V1_CreatedApiKey.self, metadata: AccessControlTests.metadata(owner)
            ).apiKey.id
            var account = Pixecom_Campaign_V1_CreateAdAccountRequest()
            (account.name, account.currency, account.timeZone) = ("A's account", "USD", "UTC")
            let createdAccount = try await clients.campaign.unary(
                CampaignMethods.createAdAccount, account, as: Pixecom_Campaign_V1_AdAccount.self,
                metadata: AccessControlTests.metadata(owner))
            (a.adAccount, a.connection, a.platformAccount) = (createdAccount.id, createdAccount.connectionID, createdAccount.externalID)
            var campaign = Pixecom_Campaign_V1_CreateCampaignRequest()
            (campaign.adAccountID, campaign.name, campaign.objective, campaign.dailyBudget) = (
                a.adAccount, "A's campaign", "OUTCOME_SALES", 5000
            )
            a.campaign = try await clients.campaign.unary(
                CampaignMethods.createCampaign, campaign, as: Pixecom_Campaign_V1_Campaign.self,
                metadata: AccessControlTests.metadata(owner)
            ).id
            var adSet = Pixecom_Campaign_V1_CreateAdSetRequest()
            (adSet.campaignID, adSet.name) = (a.campaign, "A's ad set")
            adSet.targeting.countries = ["US", "CA"]
            a.adSet = try await clients.campaign.unary(
                CampaignMethods.createAdSet, adSet, as: Pixecom_Campaign_V1_AdSet.self, metadata: AccessControlTests.metadata(owner)
            ).id
            var ad = Pixecom_Campaign_V1_CreateAdRequest()
            (ad.adSetID, ad.name, ad.linkURL) = (a.adSet, "A's ad", "https://shop.example.com/a")
            a.ad = try await clients.campaign.unary(
                CampaignMethods.createAd, ad, as: Pixecom_Campaign_V1_Ad.self, metadata: AccessControlTests.metadata(owner)
            ).id
            a.strategy = try await clients.campaign.unary(
                CampaignMethods.createAdStrategy,
                Pixecom_Campaign_V1_CreateAdStrategyRequest.with {
                    $0.name = "A's strategy"
                    $0.targeting.countries = ["DE"]
                }, as: Pixecom_Campaign_V1_AdStrategy.self, metadata: AccessControlTests.metadata(owner)
            ).id
            (a.asset, a.upload) = try await Self.assets(clients, token: owner)
            (a.adText, a.creative) = try await Self.creative(clients, token: owner)
            var item = Pixecom_Orders_V1_LineItem()
            (item.sku, item.title, item.quantity, item.unitPrice) = ("A-1", "A's product", 2, 4500)
            var order = Pixecom_Orders_V1_CreateOrderRequest()
            order.currency = "USD"
            order.lineItems = [item]
            a.order = try await clients.orders.unary(
                OrderMethods.createOrder, order, as: Pixecom_Orders_V1_Order.self, metadata: AccessControlTests.metadata(owner)
            ).id
            a.fulfillment = try await clients.orders.unary(
                OrderMethods.createFulfillment,
                Pixecom_Orders_V1_CreateFulfillmentRequest.with {
                    $0.id = a.order
                    $0.lines = [.with { ($0.line, $0.quantity) = (0, 1) }]
                    $0.carrier = "UPS"
                    $0.trackingNumber = "1ZA0000000001"
                }, as: Pixecom_Orders_V1_Fulfillment.self, metadata: AccessControlTests.metadata(owner)
            ).id
            a.orderImport = try await clients.orders.unary(
                OrderMethods.startOrderImport,
                Pixecom_Orders_V1_StartOrderImportRequest.with { ($0.kind, $0.name, $0.sizeBytes) = (.orders, "a.csv", 10) },
                as: Pixecom_Orders_V1_OrderImport.self, metadata: AccessControlTests.metadata(owner)
            ).importID
            let page = Pixecom_Orders_V1_CreateSellPageRequest.with {
                ($0.slug, $0.title, $0.currency) = ("a-page", "A's page", "USD")
                $0.variants = [.with { ($0.sku, $0.title, $0.price) = ("A-1", "A's product", 1000) }]
            }
            a.sellPage = try await clients.orders.unary(
                OrderMethods.createSellPage, page, as: Pixecom_Orders_V1_SellPage.self, metadata: AccessControlTests.metadata(owner)
            ).id
            a.domain = "a-\(UUID().uuidString.prefix(8).lowercased()).example.com"
            _ = try await clients.orders.unary(
                OrderMethods.addDomain, Pixecom_Orders_V1_AddDomainRequest.with { $0.domain = a.domain },
                as: Pixecom_Orders_V1_Domain.self, metadata: AccessControlTests.metadata(owner))

            // Seller B, an owner in its own account, on the pro plan so no plan limit answers first.
            let (bPair, bEmail, bPassword) = try await AccessControlTests.registerOwner(clients, name: "TenantB")
            try await AccessControlTests.setPlan(system, sellerID: bPair.sellerID, plan: "pro")
            let b = try await AccessControlTests.login(clients, bEmail, bPassword).accessToken

            // Every method of the access tables that a seller's token reaches has a case.
            let cases = Self.cases(a: a, bPassword: bPassword)
            var tenantMethods: Set<String> = []
            for policy in [AccessPolicy.auth, .campaign, .stats, .orders] {
                for (method, rule) in policy.rules {
                    if case .role = rule { tenantMethods.insert(method) }
                }
            }
            #expect(Set(cases.keys) == tenantMethods, "methods without a case: \(tenantMethods.subtracting(cases.keys).sorted())")
            #expect(Self.targeted.isSubset(of: tenantMethods))

            // The same calls on ids that exist nowhere: what "not found" looks like.
            let ghost = SellerA(
                sellerID: UUID().uuidString.lowercased(), memberID: UUID().uuidString.lowercased(),
                sessionID: UUID().uuidString.lowercased(), apiKeyID: UUID().uuidString.lowercased(),
                adAccount: UUID().uuidString.lowercased(), campaign: UUID().uuidString.lowercased(),
                adSet: UUID().uuidString.lowercased(), ad: UUID().uuidString.lowercased(), order: UUID().uuidString.lowercased(),
                strategy: UUID().uuidString.lowercased(), connection: UUID().uuidString.lowercased(),
                platformAccount: "act_\(UInt64.random(in: 100_000_000_000_000...999_999_999_999_999))",
                asset: UUID().uuidString.lowercased(), upload: UUID().uuidString.lowercased(), adText: UUID().uuidString.lowercased(),
                creative: UUID().uuidString.lowercased(), sellPage: UUID().uuidString.lowercased(),
                domain: "ghost-\(UUID().uuidString.prefix(8).lowercased()).example.com", fulfillment: UUID().uuidString.lowercased(),
                orderImport: UUID().uuidString.lowercased())
            let ghostCases = Self.cases(a: ghost, bPassword: bPassword)
            // The ad platform's trace ids differ from call to call.
            func masked(_ text: String, _ seller: SellerA) -> String {
                seller.secrets.filter { !$0.isEmpty }.reduce(text) { $0.replacingOccurrences(of: $1, with: "<id>") }
                    .replacingOccurrences(of: "fbtrace_id [A-Za-z0-9_-]{11}", with: "fbtrace_id <trace>", options: .regularExpression)
            }

            for method in cases.keys.sorted() {
                let outcome = await cases[method]!(clients, b)
                switch outcome {
                case .ok(let json):
                    #expect(!Self.targeted.contains(method), "\(method) on A's object answered OK: \(json)")
                    for secret in a.secrets where !secret.isEmpty && json.contains(secret) {
                        Issue.record("\(method) showed B something of A's (\(secret)): \(json.prefix(500))")
                    }
                case .failed(let error):
                    guard Self.targeted.contains(method) else {
                        Issue.record("\(method), which names nothing of A's, failed for B: \(error.code) \(error.message)")
                        continue
                    }
                    #expect(error.code == .notFound, "\(method): \(error.code) \(error.message)")
                    guard case .failed(let missing) = await ghostCases[method]!(clients, b) else {
                        Issue.record("\(method) on ids that exist nowhere did not fail")
                        continue
                    }
                    let seen = masked(error.message + error.fieldViolations.map { $0.field + ": " + $0.description }.joined(), a)
                    let expected = masked(
                        missing.message + missing.fieldViolations.map { $0.field + ": " + $0.description }.joined(), ghost)
                    #expect(
                        error.code == missing.code && seen == expected,
                        "\(method): A's object answered \"\(seen)\", a missing one \"\(expected)\"")
                }
            }

            // A's objects are as they were.
            let mine = AccessControlTests.metadata(owner)
            let got = try await clients.campaign.unary(
                CampaignMethods.getCampaign, Self.id(a.campaign), as: Pixecom_Campaign_V1_Campaign.self, metadata: mine)
            #expect(got.name == "A's campaign")
            let gotAdSet = try await clients.campaign.unary(
                CampaignMethods.getAdSet, Self.id(a.adSet), as: Pixecom_Campaign_V1_AdSet.self, metadata: mine)
            #expect(gotAdSet.name == "A's ad set" && gotAdSet.targeting.countries == ["US", "CA"])
            let gotAd = try await clients.campaign.unary(
                CampaignMethods.getAd, Self.id(a.ad), as: Pixecom_Campaign_V1_Ad.self, metadata: mine)
            #expect(gotAd.name == "A's ad" && gotAd.linkURL == "https://shop.example.com/a")
            let strategy = try await clients.campaign.unary(
                CampaignMethods.getAdStrategy, Self.id(a.strategy), as: Pixecom_Campaign_V1_AdStrategy.self, metadata: mine)
            #expect(strategy.name == "A's strategy", "B neither renamed nor deleted A's strategy")
            let asset = try await clients.campaign.unary(
                CampaignMethods.getAsset, Self.id(a.asset), as: Pixecom_Campaign_V1_Asset.self, metadata: mine)
            #expect(asset.text == "A's headline", "B did not delete A's asset")
            let upload = try await clients.campaign.unary(
                CampaignMethods.appendAssetUpload,
                Pixecom_Campaign_V1_AppendAssetUploadRequest.with {
                    $0.uploadID = a.upload
                    $0.offset = 0
                    $0.data = Data("A's".utf8)
                }, as: Pixecom_Campaign_V1_AssetUpload.self, metadata: mine)
            #expect(upload.receivedBytes == 3, "B added nothing to A's upload")
            let creative = try await clients.campaign.unary(
                CampaignMethods.getCreative, Self.id(a.creative), as: Pixecom_Campaign_V1_Creative.self, metadata: mine)
            #expect(creative.adTextID == a.adText, "B deleted neither A's creative nor its text")
            let accountAfter = try await clients.campaign.unary(
                CampaignMethods.getAdAccount, Self.id(a.adAccount), as: Pixecom_Campaign_V1_AdAccount.self, metadata: mine)
            #expect(
                accountAfter.name == "A's account" && accountAfter.status == "CONNECTED" && accountAfter.connectionID == a.connection,
                "B neither renamed, disconnected nor took over A's ad account: \(accountAfter)")
            var getOrder = Pixecom_Orders_V1_GetOrderRequest()
            getOrder.id = a.order
            let gotOrder = try await clients.orders.unary(OrderMethods.getOrder, getOrder, as: Pixecom_Orders_V1_Order.self, metadata: mine)
            #expect(
                gotOrder.paidTime.isEmpty && gotOrder.refunded == 0 && gotOrder.events.map(\.type) == ["created", "fulfilled"]
                    && gotOrder.status == .open && gotOrder.fulfillmentStatus == .partiallyFulfilled,
                "B's payment transactions, shipments and returns left A's order alone: \(gotOrder)")
            let shipments = try await clients.orders.unary(
                OrderMethods.listFulfillments, Pixecom_Orders_V1_ListFulfillmentsRequest.with { $0.id = a.order },
                as: Pixecom_Orders_V1_ListFulfillmentsResponse.self, metadata: mine)
            #expect(
                shipments.fulfillments.map(\.trackingNumber) == ["1ZA0000000001"] && !shipments.fulfillments[0].cancelled,
                "B neither retracked nor cancelled A's fulfillment: \(shipments)")
            let members = try await clients.auth.unary(
                AuthMethods.listMembers, Pixecom_Auth_V1_ListMembersRequest(), as: Pixecom_Auth_V1_ListMembersResponse.self, metadata: mine)
            #expect(members.members.first { $0.userID == a.memberID }?.role == "EDITOR", "A's member kept its role: \(members)")
            let keys = try await clients.auth.unary(
                AuthMethods.listApiKeys, Pixecom_Auth_V1_ListApiKeysRequest(), as: Pixecom_Auth_V1_ListApiKeysResponse.self, metadata: mine)
            #expect(keys.apiKeys.first { $0.id == a.apiKeyID }?.revokedAt.isEmpty == true, "A's key is not revoked")
            let sessionsAfter = try await clients.auth.unary(
                AuthMethods.listSessions, Pixecom_Auth_V1_ListSessionsRequest(), as: Pixecom_Auth_V1_ListSessionsResponse.self,
                metadata: mine)
            #expect(sessionsAfter.sessions.contains { $0.id == a.sessionID }, "A's session is not revoked")
            var stats = Pixecom_Stats_V1_GetCampaignStatsRequest()
            (stats.campaignID, stats.since, stats.until) = (a.campaign, "2026-11-01", "2026-11-03")
            let report = try await clients.stats.unary(
                StatsMethods.getCampaignStats, stats, as: Pixecom_Stats_V1_CampaignStats.self, metadata: mine)
            #expect(report.days.allSatisfy { $0.spend == 0 }, "B's insights did not land on A's ad: \(report)")
        } catch {
            Issue.record("\(error)\n\(system.logs())")
        }
        await clients.close()
        await system.stop()
    }
}
