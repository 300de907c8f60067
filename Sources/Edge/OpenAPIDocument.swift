import Foundation
import ServiceKit

/// One HTTP operation of the edge as `/openapi.json` describes it. `OpenAPIDocument.operations`
/// lists them all; a test keeps that list equal to the routes the router really serves.
struct APIOperation: Sendable {
    enum Authentication: Sendable {
        /// No credentials: register, login, accepting an invitation.
        case none
        /// `Authorization: Bearer` with an access token or an API key.
        case bearer
        /// The refresh-token cookie plus the `X-PixEcom-CSRF: 1` header.
        case refreshCookie
    }

    struct Query: Sendable {
        var name: String
        var description: String
        var isInteger = false
        var isDate = false
        var isRequired = false
        var format: String?
        var pattern: String?
    }

    var method: String
    /// OpenAPI form: `/v1/campaigns/{id}`.
    var path: String
    var summary: String
    var tag: String
    var authentication: Authentication = .bearer
    /// Full protobuf name of the JSON request body, if it takes one.
    var body: String?
    /// Full protobuf name of the JSON answer.
    var response: String
    var query: [Query] = []
    /// Accepts `Idempotency-Key`.
    var idempotencyKey = false
    /// Required headers besides authentication (name, description).
    var requiredHeaders: [(name: String, description: String)] = []
}

/// The OpenAPI 3.0 document of the edge, served at `/openapi.json`: every route, its
/// parameters, request and answer schemas (generated from Protos/ by
/// scripts/generate-openapi-schemas.py) and the shared error body.
enum OpenAPIDocument {
    static let page: [APIOperation.Query] = [
        .init(name: "pageSize", description: "0 to 200 (0 or absent: 50)", isInteger: true),
        .init(name: "pageToken", description: "nextPageToken of the previous page", pattern: "^$|" + PageToken.pattern),
    ]

    /// Lists of objects with a parent (not ad accounts) filter by it.
    static let parentID = APIOperation.Query(
        name: "parentId", description: "only the children of this object",
        pattern: "^$|^[0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{12}$")

    static let operations: [APIOperation] = {
        var operations: [APIOperation] = [
            .init(
                method: "post", path: "/v1/auth/register", summary: "Register a seller and its owner", tag: "auth",
                authentication: .none, body: "pixecom.auth.v1.RegisterRequest", response: "pixecom.auth.v1.RegisterResponse"),
            .init(
                method: "post", path: "/v1/auth/login", summary: "Log in: an access token, and the refresh token in a cookie", tag: "auth",
                authentication: .none, body: "pixecom.auth.v1.LoginRequest", response: "TokenAnswer"),
            .init(
                method: "post", path: "/v1/auth/refresh", summary: "A new access token from the refresh cookie (rotated)", tag: "auth",
                authentication: .refreshCookie, response: "TokenAnswer"),
            .init(
                method: "post", path: "/v1/auth/logout", summary: "End the session of the refresh cookie", tag: "auth",
                authentication: .refreshCookie, response: "pixecom.auth.v1.LogoutResponse"),
            .init(
                method: "get", path: "/v1/members", summary: "The seller's members", tag: "team",
                response: "pixecom.auth.v1.ListMembersResponse"),
            .init(
                method: "post", path: "/v1/invitations", summary: "Invite a member (ADMIN)", tag: "team",
                body: "pixecom.auth.v1.InviteMemberRequest", response: "pixecom.auth.v1.Invitation"),
            .init(
                method: "post", path: "/v1/invitations/accept", summary: "Accept an invitation and log in", tag: "team",
                authentication: .none, body: "pixecom.auth.v1.AcceptInvitationRequest", response: "TokenAnswer"),
            .init(
                method: "patch", path: "/v1/members/{id}", summary: "Change a member's role (ADMIN)", tag: "team",
                body: "pixecom.auth.v1.ChangeMemberRoleRequest", response: "pixecom.auth.v1.Member"),
            .init(
                method: "delete", path: "/v1/members/{id}", summary: "Remove a member, ending their sessions (ADMIN)", tag: "team",
                response: "pixecom.auth.v1.RemoveMemberResponse"),
            .init(
                method: "post", path: "/v1/account/password", summary: "Change one's password; other sessions end", tag: "account",
                body: "pixecom.auth.v1.ChangePasswordRequest", response: "TokenAnswer"),
            .init(
                method: "get", path: "/v1/account", summary: "Who the caller is: user, seller, role, plan and its limits", tag: "account",
                response: "pixecom.auth.v1.Caller"),
            .init(
                method: "get", path: "/v1/account/sessions", summary: "One's live sessions", tag: "account",
                response: "pixecom.auth.v1.ListSessionsResponse"),
            .init(
                method: "delete", path: "/v1/account/sessions/{id}", summary: "End one of one's sessions", tag: "account",
                response: "pixecom.auth.v1.RevokeSessionResponse"),
            .init(
                method: "get", path: "/v1/audit-events", summary: "The seller's audit log, newest first (ADMIN)", tag: "team",
                response: "pixecom.auth.v1.ListAuditEventsResponse", query: Self.page),
            .init(
                method: "post", path: "/v1/api-keys", summary: "Create an API key; the key is in this answer only (ADMIN)", tag: "team",
                body: "pixecom.auth.v1.CreateApiKeyRequest", response: "pixecom.auth.v1.CreatedApiKey"),
            .init(
                method: "get", path: "/v1/api-keys", summary: "The seller's API keys (ADMIN)", tag: "team",
                response: "pixecom.auth.v1.ListApiKeysResponse"),
            .init(
                method: "delete", path: "/v1/api-keys/{id}", summary: "Revoke an API key (ADMIN)", tag: "team",
                response: "pixecom.auth.v1.ApiKey"),
            .init(
                method: "post", path: "/v1/insights", summary: "Upsert daily ad insights", tag: "stats",
                body: "pixecom.stats.v1.IngestInsightsRequest", response: "pixecom.stats.v1.IngestInsightsResponse"),
            .init(
                method: "get", path: "/v1/campaigns/{id}/stats", summary: "A campaign's daily spend, revenue and ratios", tag: "stats",
                response: "pixecom.stats.v1.CampaignStats",
                query: [
                    .init(name: "since", description: "first day, YYYY-MM-DD", isDate: true, isRequired: true),
                    .init(name: "until", description: "last day, YYYY-MM-DD, at most 365 days after since", isDate: true, isRequired: true),
                ]),
            .init(
                method: "post", path: "/v1/orders", summary: "Create an order", tag: "orders",
                body: "pixecom.orders.v1.CreateOrderRequest", response: "pixecom.orders.v1.Order", idempotencyKey: true),
            .init(
                method: "get", path: "/v1/orders", summary: "The seller's orders", tag: "orders",
                response: "pixecom.orders.v1.ListOrdersResponse", query: Self.page),
            .init(
                method: "get", path: "/v1/orders/{id}", summary: "One order with its history", tag: "orders",
                response: "pixecom.orders.v1.Order"),
            .init(
                method: "post", path: "/v1/orders/{id}/pay", summary: "Mark an order paid", tag: "orders",
                body: "pixecom.orders.v1.MarkPaidRequest", response: "pixecom.orders.v1.Order"),
            .init(
                method: "post", path: "/v1/webhooks/stripe", summary: "Stripe webhook delivery (signed; relayed to OrderService as is)",
                tag: "webhooks", authentication: .none, body: "StripeEvent", response: "pixecom.orders.v1.WebhookResult",
                requiredHeaders: [("Stripe-Signature", "t=<unix seconds>,v1=<HMAC-SHA256 hex>")]),
            .init(
                method: "post", path: "/v1/orders/{id}/refund", summary: "Refund part or all of an order (ADMIN)", tag: "orders",
                body: "pixecom.orders.v1.RefundOrderRequest", response: "pixecom.orders.v1.Order"),
        ]
        // `status`: whether it has one the seller sets (and a parent to list by).
        let objects: [(path: String, noun: String, message: String, create: String, list: String, status: Bool)] = [
            ("/v1/ad-accounts", "ad account", "AdAccount", "CreateAdAccountRequest", "ListAdAccountsResponse", false),
            ("/v1/campaigns", "campaign", "Campaign", "CreateCampaignRequest", "ListCampaignsResponse", true),
            ("/v1/ad-sets", "ad set", "AdSet", "CreateAdSetRequest", "ListAdSetsResponse", true),
            ("/v1/ads", "ad", "Ad", "CreateAdRequest", "ListAdsResponse", true),
        ]
        for object in objects {
            let package = "pixecom.campaign.v1."
            operations.append(
                .init(
                    method: "post", path: object.path, summary: "Create an \(object.noun)", tag: "campaigns",
                    body: package + object.create, response: package + object.message))
            operations.append(
                .init(
                    method: "get", path: object.path, summary: "List \(object.noun)s", tag: "campaigns",
                    response: package + object.list,
                    query: object.status ? Self.page + [Self.parentID] : Self.page))
            operations.append(
                .init(
                    method: "get", path: object.path + "/{id}", summary: "One \(object.noun)", tag: "campaigns",
                    response: package + object.message))
            if object.status {
                let fields = object.message == "Ad" ? "name or status" : "name, daily budget or status"
                operations.append(
                    .init(
                        method: "patch", path: object.path + "/{id}",
                        summary: "Change an \(object.noun)'s \(fields): the fields the body names (or an updateMask, docs/API.md)",
                        tag: "campaigns", body: object.message == "Ad" ? Self.adUpdateSchema : package + "UpdateRequest",
                        response: package + object.message))
            }
        }
        return operations
    }()

    /// The methods served at the route that `path` matches, if any (for 405 and `Allow`).
    static func methods(matching path: String) -> [String] {
        let segments = path.split(separator: "/", omittingEmptySubsequences: true)
        var methods: [String] = []
        for operation in Self.operations {
            let template = operation.path.split(separator: "/", omittingEmptySubsequences: true)
            guard template.count == segments.count else { continue }
            let matches = zip(template, segments).allSatisfy { pattern, segment in pattern.hasPrefix("{") || pattern == segment }
            if matches { methods.append(operation.method.uppercased()) }
        }
        if path == "/openapi.json" { methods.append("GET") }
        return methods.sorted()
    }

    /// The document as JSON, built once.
    static let data: Data = {
        (try? JSONSerialization.data(withJSONObject: Self.document(), options: [.sortedKeys])) ?? Data("{}".utf8)
    }()

    static func document() -> [String: Any] {
        var paths: [String: [String: Any]] = [:]
        for operation in Self.operations {
            paths[operation.path, default: [:]][operation.method] = Self.describe(operation)
        }
        var schemas = Self.constrained((try? JSONSerialization.jsonObject(with: Data(ProtoSchemas.json.utf8))) as? [String: Any] ?? [:])
        schemas["TokenAnswer"] = Self.tokenAnswerSchema
        schemas["Error"] = Self.errorSchema
        schemas["StripeEvent"] = ["type": "object", "description": "a Stripe event, passed on byte for byte"]
        return [
            "openapi": "3.0.3",
            "info": [
                "title": "PixEcom API",
                "version": "1",
                "description": "HTTPS + JSON over PixEcom's services (docs/API.md). JSON follows the proto3 JSON mapping.",
            ],
            "paths": paths,
            "components": [
                "schemas": schemas,
                "securitySchemes": [
                    "bearer": ["type": "http", "scheme": "bearer", "description": "an access token or an API key (pxk_...)"],
                    "refreshCookie": ["type": "apiKey", "in": "cookie", "name": "pixecom_refresh"],
                ],
                "responses": [
                    "Error": [
                        "description": "the error body every failure has",
                        "content": ["application/json": ["schema": ["$ref": "#/components/schemas/Error"]]],
                    ]
                ],
            ],
        ]
    }

    private static func describe(_ operation: APIOperation) -> [String: Any] {
        var parameters: [[String: Any]] = []
        for segment in operation.path.split(separator: "/") where segment.hasPrefix("{") {
            parameters.append([
                "name": String(segment.dropFirst().dropLast()), "in": "path", "required": true,
                "schema": ["type": "string", "format": "uuid"],
            ])
        }
        for query in operation.query {
            var schema: [String: Any] = ["type": query.isInteger ? "integer" : "string"]
            if query.isInteger {
                schema["minimum"] = 0
                schema["maximum"] = 200
            }
            if query.isDate {
                schema["format"] = "date"
                schema["pattern"] = "^[0-9]{4}-[0-9]{2}-[0-9]{2}$"
            }
            if let format = query.format { schema["format"] = format }
            if let pattern = query.pattern { schema["pattern"] = pattern }
            parameters.append([
                "name": query.name, "in": "query", "required": query.isRequired, "description": query.description, "schema": schema,
            ])
        }
        if operation.idempotencyKey {
            parameters.append([
                "name": "Idempotency-Key", "in": "header", "required": false,
                "description": "a replay with the same key and body returns the order the first request created; another body is 422",
                "schema": ["type": "string", "minLength": 1, "maxLength": 255],
            ])
        }
        for header in operation.requiredHeaders {
            parameters.append([
                "name": header.name, "in": "header", "required": true, "description": header.description, "schema": ["type": "string"],
            ])
        }
        if operation.authentication == .refreshCookie {
            parameters.append(["name": "X-PixEcom-CSRF", "in": "header", "required": true, "schema": ["type": "string", "enum": ["1"]]])
        }
        var described: [String: Any] = [
            "summary": operation.summary,
            "tags": [operation.tag],
            "operationId": operation.method
                + operation.path.split(separator: "/").map {
                    $0.replacingOccurrences(of: "{", with: "by-").replacingOccurrences(of: "}", with: "")
                }.joined(separator: "-"),
            "responses": [
                "200": [
                    "description": "success",
                    "content": ["application/json": ["schema": ["$ref": "#/components/schemas/\(operation.response)"]]],
                ],
                "default": ["$ref": "#/components/responses/Error"],
            ],
        ]
        if !parameters.isEmpty { described["parameters"] = parameters }
        if let body = operation.body {
            let required = !(Self.constraints[body]?.required.isEmpty ?? true) || body.hasSuffix("UpdateRequest")
            described["requestBody"] = [
                "required": required,
                "content": ["application/json": ["schema": ["$ref": "#/components/schemas/\(body)"]]],
            ]
        }
        switch operation.authentication {
        case .none: described["security"] = [[String: Any]]()
        case .bearer: described["security"] = [["bearer": [String]()]]
        case .refreshCookie: described["security"] = [["refreshCookie": [String]()]]
        }
        return described
    }

    private static var errorSchema: [String: Any] {
        [
            "type": "object",
            "required": ["error"],
            "additionalProperties": false,
            "properties": [
                "error": [
                    "type": "object",
                    "required": ["code", "message", "requestId"],
                    "additionalProperties": false,
                    "properties": [
                        "code": ["type": "string"],
                        "message": ["type": "string"],
                        "requestId": ["type": "string"],
                        "retryAfterSeconds": ["type": "integer"],
                        "details": [
                            "type": "array",
                            "items": [
                                "type": "object",
                                "additionalProperties": false,
                                "properties": ["field": ["type": "string"], "description": ["type": "string"]],
                            ],
                        ],
                    ],
                ]
            ],
        ]
    }
}
