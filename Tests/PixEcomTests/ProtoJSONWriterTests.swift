import Foundation
import NIOCore
import PixEcomProtos
import SwiftProtobuf
import Testing

@testable import Edge

/// The edge's JSON writer against SwiftProtobuf's: for every message of the public API, random
/// messages (made from the message's JSON Schema, with strings full of characters that need
/// escaping, extreme integers and awkward doubles) come out byte for byte the same.
@Suite("JSON writer")
struct ProtoJSONWriterTests {
    static let types: [any SwiftProtobuf.Message.Type] = [
        Pixecom_Auth_V1_AcceptInvitationRequest.self,
        Pixecom_Auth_V1_ApiKey.self,
        Pixecom_Auth_V1_ApiKeyToken.self,
        Pixecom_Auth_V1_AuditEvent.self,
        Pixecom_Auth_V1_Caller.self,
        Pixecom_Auth_V1_ChangeMemberRoleRequest.self,
        Pixecom_Auth_V1_ChangePasswordRequest.self,
        Pixecom_Auth_V1_CreateApiKeyRequest.self,
        Pixecom_Auth_V1_CreatedApiKey.self,
        Pixecom_Auth_V1_ExchangeApiKeyRequest.self,
        Pixecom_Auth_V1_GetCallerRequest.self,
        Pixecom_Auth_V1_GetPublicKeysRequest.self,
        Pixecom_Auth_V1_Invitation.self,
        Pixecom_Auth_V1_InviteMemberRequest.self,
        Pixecom_Auth_V1_ListApiKeysRequest.self,
        Pixecom_Auth_V1_ListApiKeysResponse.self,
        Pixecom_Auth_V1_ListAuditEventsRequest.self,
        Pixecom_Auth_V1_ListAuditEventsResponse.self,
        Pixecom_Auth_V1_ListMembersRequest.self,
        Pixecom_Auth_V1_ListMembersResponse.self,
        Pixecom_Auth_V1_ListSessionsRequest.self,
        Pixecom_Auth_V1_ListSessionsResponse.self,
        Pixecom_Auth_V1_LoginRequest.self,
        Pixecom_Auth_V1_LogoutRequest.self,
        Pixecom_Auth_V1_LogoutResponse.self,
        Pixecom_Auth_V1_Member.self,
        Pixecom_Auth_V1_PlanQuota.self,
        Pixecom_Auth_V1_PublicKey.self,
        Pixecom_Auth_V1_PublicKeySet.self,
        Pixecom_Auth_V1_RefreshRequest.self,
        Pixecom_Auth_V1_RegisterRequest.self,
        Pixecom_Auth_V1_RegisterResponse.self,
        Pixecom_Auth_V1_RemoveMemberRequest.self,
        Pixecom_Auth_V1_RemoveMemberResponse.self,
        Pixecom_Auth_V1_RevokeApiKeyRequest.self,
        Pixecom_Auth_V1_RevokeSessionRequest.self,
        Pixecom_Auth_V1_RevokeSessionResponse.self,
        Pixecom_Auth_V1_Session.self,
        Pixecom_Auth_V1_TokenPair.self,
        Pixecom_Campaign_V1_Ad.self,
        Pixecom_Campaign_V1_AdAccount.self,
        Pixecom_Campaign_V1_AdSet.self,
        Pixecom_Campaign_V1_Campaign.self,
        Pixecom_Campaign_V1_CreateAdAccountRequest.self,
        Pixecom_Campaign_V1_CreateAdRequest.self,
        Pixecom_Campaign_V1_CreateAdSetRequest.self,
        Pixecom_Campaign_V1_CreateCampaignRequest.self,
        Pixecom_Campaign_V1_GetRequest.self,
        Pixecom_Campaign_V1_ListAdAccountsResponse.self,
        Pixecom_Campaign_V1_ListAdSetsResponse.self,
        Pixecom_Campaign_V1_ListAdsResponse.self,
        Pixecom_Campaign_V1_ListCampaignsResponse.self,
        Pixecom_Campaign_V1_ListRequest.self,
        Pixecom_Campaign_V1_AdSetTree.self,
        Pixecom_Campaign_V1_AdSetWithAds.self,
        Pixecom_Campaign_V1_AdStrategy.self,
        Pixecom_Campaign_V1_BulkChange.self,
        Pixecom_Campaign_V1_BulkResult.self,
        Pixecom_Campaign_V1_BulkUpdateRequest.self,
        Pixecom_Campaign_V1_BulkUpdateResponse.self,
        Pixecom_Campaign_V1_CampaignTree.self,
        Pixecom_Campaign_V1_CreateAdStrategyRequest.self,
        Pixecom_Campaign_V1_CreateCampaignTreeRequest.self,
        Pixecom_Campaign_V1_DeleteAdStrategyResponse.self,
        Pixecom_Campaign_V1_DuplicateCampaignRequest.self,
        Pixecom_Campaign_V1_ListAdStrategiesResponse.self,
        Pixecom_Campaign_V1_UpdateAdStrategyRequest.self,
        Pixecom_Campaign_V1_ListAdSetsRequest.self,
        Pixecom_Campaign_V1_ListAdsRequest.self,
        Pixecom_Campaign_V1_ListCampaignsRequest.self,
        Pixecom_Campaign_V1_Targeting.self,
        Pixecom_Campaign_V1_UpdateAdRequest.self,
        Pixecom_Campaign_V1_UpdateAdSetRequest.self,
        Pixecom_Campaign_V1_UpdateCampaignRequest.self,
        Pixecom_Auth_V1_ChangePlanRequest.self,
        Pixecom_Auth_V1_ChangePlanResponse.self,
        Pixecom_Campaign_V1_AdAccountPage.self,
        Pixecom_Campaign_V1_AdAccountPixel.self,
        Pixecom_Campaign_V1_ConnectPlatformRequest.self,
        Pixecom_Campaign_V1_DisconnectAdAccountRequest.self,
        Pixecom_Campaign_V1_ListPlatformConnectionsResponse.self,
        Pixecom_Campaign_V1_PlatformConnection.self,
        Pixecom_Campaign_V1_UpdateAdAccountRequest.self,
        Pixecom_Campaign_V1_AppendAssetUploadRequest.self,
        Pixecom_Campaign_V1_Asset.self,
        Pixecom_Campaign_V1_AssetUpload.self,
        Pixecom_Campaign_V1_DeleteAssetResponse.self,
        Pixecom_Campaign_V1_FinishAssetUploadRequest.self,
        Pixecom_Campaign_V1_ListAssetsRequest.self,
        Pixecom_Campaign_V1_ListAssetsResponse.self,
        Pixecom_Campaign_V1_StartAssetUploadRequest.self,
        Pixecom_Campaign_V1_AdText.self,
        Pixecom_Campaign_V1_CreateAdTextRequest.self,
        Pixecom_Campaign_V1_ListAdTextsResponse.self,
        Pixecom_Campaign_V1_DeleteAdTextResponse.self,
        Pixecom_Campaign_V1_Creative.self,
        Pixecom_Campaign_V1_CreativeCard.self,
        Pixecom_Campaign_V1_CreateCreativeRequest.self,
        Pixecom_Campaign_V1_ListCreativesResponse.self,
        Pixecom_Campaign_V1_DeleteCreativeResponse.self,
        Pixecom_Campaign_V1_DescribePlacementsRequest.self,
        Pixecom_Campaign_V1_DescribePlacementsResponse.self,
        Pixecom_Campaign_V1_Placement.self,
        Pixecom_Campaign_V1_DescribeObjectsRequest.self,
        Pixecom_Campaign_V1_DescribeObjectsResponse.self,
        Pixecom_Campaign_V1_ObjectSummary.self,
        Pixecom_Orders_V1_AddDomainRequest.self,
        Pixecom_Orders_V1_Address.self,
        Pixecom_Orders_V1_Attribution.self,
        Pixecom_Orders_V1_AuthorizePaymentRequest.self,
        Pixecom_Orders_V1_CancelOrderRequest.self,
        Pixecom_Orders_V1_CapturePaymentRequest.self,
        Pixecom_Orders_V1_CheckoutItem.self,
        Pixecom_Orders_V1_CheckoutRequest.self,
        Pixecom_Orders_V1_CheckoutResult.self,
        Pixecom_Orders_V1_StorefrontEventsRequest.self,
        Pixecom_Orders_V1_StorefrontEvent.self,
        Pixecom_Orders_V1_StorefrontEventsResult.self,
        Pixecom_Orders_V1_RejectedStorefrontEvent.self,
        Pixecom_Stats_V1_FunnelEvent.self,
        Pixecom_Stats_V1_FunnelEventBatch.self,
        Pixecom_Stats_V1_RecordFunnelEventsResponse.self,
        Pixecom_Orders_V1_CloseOrderRequest.self,
        Pixecom_Orders_V1_CreateOrderRequest.self,
        Pixecom_Orders_V1_CreateSellPageRequest.self,
        Pixecom_Orders_V1_Customer.self,
        Pixecom_Orders_V1_Discount.self,
        Pixecom_Orders_V1_Domain.self,
        Pixecom_Orders_V1_GetOrderRequest.self,
        Pixecom_Orders_V1_GetSellPageRequest.self,
        Pixecom_Orders_V1_LineItem.self,
        Pixecom_Orders_V1_ListDomainsRequest.self,
        Pixecom_Orders_V1_ListDomainsResponse.self,
        Pixecom_Orders_V1_FulfillmentLine.self,
        Pixecom_Orders_V1_TrackingEvent.self,
        Pixecom_Orders_V1_Fulfillment.self,
        Pixecom_Orders_V1_CreateFulfillmentRequest.self,
        Pixecom_Orders_V1_UpdateTrackingRequest.self,
        Pixecom_Orders_V1_CancelFulfillmentRequest.self,
        Pixecom_Orders_V1_ListFulfillmentsRequest.self,
        Pixecom_Orders_V1_ListFulfillmentsResponse.self,
        Pixecom_Orders_V1_RecordReturnRequest.self,
        Pixecom_Orders_V1_ExportOrdersRequest.self,
        Pixecom_Orders_V1_ExportChunk.self,
        Pixecom_Orders_V1_StartOrderImportRequest.self,
        Pixecom_Orders_V1_AppendOrderImportRequest.self,
        Pixecom_Orders_V1_FinishOrderImportRequest.self,
        Pixecom_Orders_V1_GetOrderImportRequest.self,
        Pixecom_Orders_V1_OrderImport.self,
        Pixecom_Orders_V1_ImportRowError.self,
        Pixecom_Orders_V1_ListOrderImportErrorsRequest.self,
        Pixecom_Orders_V1_ListOrderImportErrorsResponse.self,
        Pixecom_Orders_V1_ListOrdersRequest.self,
        Pixecom_Orders_V1_ListOrdersResponse.self,
        Pixecom_Orders_V1_ListSellPagesRequest.self,
        Pixecom_Orders_V1_ListSellPagesResponse.self,
        Pixecom_Orders_V1_MarkPaidRequest.self,
        Pixecom_Orders_V1_Order.self,
        Pixecom_Orders_V1_OrderEvent.self,
        Pixecom_Orders_V1_RecordChargebackRequest.self,
        Pixecom_Orders_V1_RefundOrderRequest.self,
        Pixecom_Orders_V1_ReverseChargebackRequest.self,
        Pixecom_Orders_V1_SellPage.self,
        Pixecom_Orders_V1_UpdateSellPageRequest.self,
        Pixecom_Orders_V1_Utm.self,
        Pixecom_Orders_V1_Variant.self,
        Pixecom_Orders_V1_VerifyDomainRequest.self,
        Pixecom_Orders_V1_VoidPaymentRequest.self,
        Pixecom_Orders_V1_WebhookDelivery.self,
        Pixecom_Orders_V1_WebhookResult.self,
        Pixecom_Stats_V1_CampaignStats.self,
        Pixecom_Stats_V1_DailyStats.self,
        Pixecom_Stats_V1_GetCampaignStatsRequest.self,
        Pixecom_Stats_V1_IngestInsightsRequest.self,
        Pixecom_Stats_V1_IngestInsightsResponse.self,
        Pixecom_Stats_V1_InsightRow.self,
        Pixecom_Stats_V1_InsightAction.self,
        Pixecom_Stats_V1_AdsManagerRequest.self,
        Pixecom_Stats_V1_AdsManagerRow.self,
        Pixecom_Stats_V1_AdsManagerSummary.self,
        Pixecom_Stats_V1_AdsManagerPage.self,
        Pixecom_Stats_V1_StatsRequest.self,
        Pixecom_Stats_V1_CurrencyStats.self,
        Pixecom_Stats_V1_StatsByCurrency.self,
        Pixecom_Stats_V1_OrderEvent.self,
        Pixecom_Stats_V1_RecordOrderEventResponse.self,
        Pixecom_Stats_V1_UnattributedRevenue.self,
    ]

    /// Characters that need escaping, non-ASCII text, and the C1 controls.
    static let awkward: [String] = [
        "", "plain", "quote \" backslash \\ slash /", "tab\tnew\nline\r\u{08}\u{0C}", "nul \u{00} unit \u{1F} del \u{7F}",
        "c1 \u{80} \u{9F} nbsp \u{A0}", "é ü ß 日本 🚀", "\u{2028}\u{2029}", String(repeating: "x", count: 300),
    ]

    /// A random JSON value for `schema` (resolving `$ref` in `schemas`), `depth` levels deep.
    static func value(_ schema: [String: Any], _ schemas: [String: Any], depth: Int, random: inout SeededRandom) -> Any? {
        if let reference = schema["$ref"] as? String {
            let name = String(reference.dropFirst("#/components/schemas/".count))
            guard depth < 4, let target = schemas[name] as? [String: Any] else { return nil }
            return Self.value(target, schemas, depth: depth + 1, random: &random)
        }
        if let values = schema["enum"] as? [String] {
            return values[Int(random.next() % UInt64(values.count))]
        }
        switch schema["type"] as? String {
        case "object":
            if let entry = schema["additionalProperties"] as? [String: Any] {
                var map: [String: Any] = [:]
                for _ in 0..<Int(random.next() % 4) {
                    map[Self.string(&random)] = Self.value(entry, schemas, depth: depth + 1, random: &random)
                }
                return map
            }
            var object: [String: Any] = [:]
            for (name, property) in (schema["properties"] as? [String: Any]) ?? [:] where random.next() % 4 != 0 {
                if let property = property as? [String: Any], let value = Self.value(property, schemas, depth: depth, random: &random) {
                    object[name] = value
                }
            }
            return object
        case "array":
            guard let items = schema["items"] as? [String: Any] else { return nil }
            return (0..<Int(random.next() % 4)).compactMap { _ in Self.value(items, schemas, depth: depth + 1, random: &random) }
        case "string":
            switch schema["format"] as? String {
            case "int64":
                let pattern = schema["pattern"] as? String ?? ""
                let magnitude = [0, 1, 9, 10, 4500, UInt64(Int64.max), random.next() >> 1][Int(random.next() % 7)]
                return pattern.hasPrefix("^-?") && random.next() % 2 == 0 ? "-\(magnitude)" : "\(magnitude)"
            case "byte":
                return Data((0..<Int(random.next() % 12)).map { _ in UInt8(truncatingIfNeeded: random.next()) }).base64EncodedString()
            default:
                return Self.string(&random)
            }
        case "integer":
            let minimum = (schema["minimum"] as? Int) ?? Int(Int32.min)
            let values = [0, 1, 7, Int(Int32.max), minimum, 123_456]
            return values[Int(random.next() % UInt64(values.count))]
        case "number":
            return [0.0, 0.75, 1.0 / 3.0, 2.0, 1e21, 1e-7, -12.5, 123_456_789.125][Int(random.next() % 8)]
        case "boolean":
            return random.next() % 2 == 0
        default:
            return nil
        }
    }

    static func string(_ random: inout SeededRandom) -> String {
        Self.awkward[Int(random.next() % UInt64(Self.awkward.count))]
    }

    @Test("every message of the public API comes out as SwiftProtobuf writes it, for random contents")
    func sameBytesAsSwiftProtobuf() throws {
        let document = try JSONSerialization.jsonObject(with: Data(ProtoSchemas.json.utf8)) as? [String: Any] ?? [:]
        let covered = Set(Self.types.map { $0.protoMessageName })
        #expect(
            covered == Set(ProtoJSONNames.fields.keys),
            "types missing here: \(Set(ProtoJSONNames.fields.keys).subtracting(covered).sorted())")
        var random = SeededRandom(seed: 20_261_203)
        var compared = 0
        for type in Self.types {
            let schema = try #require(document[type.protoMessageName] as? [String: Any], "\(type.protoMessageName)")
            for _ in 0..<40 {
                let value = Self.value(schema, document, depth: 0, random: &random) ?? [:]
                let json = try JSONSerialization.data(withJSONObject: value)
                let message = try type.init(jsonUTF8Data: json)
                let expected: [UInt8] = try message.jsonUTF8Bytes()
                var buffer = ByteBuffer()
                try ProtoJSONWriter.write(message, into: &buffer)
                #expect(
                    Array(buffer.readableBytesView) == expected,
                    "\(type.protoMessageName):\n ours   \(String(buffer: buffer))\n theirs \(String(decoding: expected, as: UTF8.self))")
                compared += 1
            }
        }
        #expect(compared == Self.types.count * 40)
    }

    @Test("a message the names table does not know is written by SwiftProtobuf, after what the buffer already holds")
    func unknownMessagesFallBack() throws {
        var echo = Pixecom_Testing_V1_EchoRequest()
        echo.payload = Data("hi".utf8)
        var buffer = ByteBuffer(string: "prefix:")
        try ProtoJSONWriter.write(echo, into: &buffer)
        #expect(String(buffer: buffer) == "prefix:" + (try echo.jsonString()))
    }
}
