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

    /// A path or query parameter and its JSON Schema.
    struct Parameter: Sendable {
        var name: String
        var description: String?
        var type = "string"
        var format: String?
        var pattern: String?
        var minimum: Int?
        var maximum: Int?
        var values: [String]?
        var isRequired = false
    }

    /// The RPC method the route calls: `pixecom.stats.v1.StatsService/GetCampaignStats`.
    var rpc: String
    var method: String
    /// OpenAPI form: `/v1/campaigns/{id}`.
    var path: String
    /// The RPC method's own name (`GetCampaignStats`), or the hand-written route's.
    var operationID: String
    var summary: String
    var tag: String
    var authentication: Authentication = .bearer
    var pathParameters: [Parameter] = []
    var query: [Parameter] = []
    /// Schema name of the JSON request body (a full protobuf name, mostly), if it takes one.
    var body: String?
    /// A request body that is not JSON, in place of `body`.
    var upload: UploadBody?

    /// The bodies of the upload routes: a whole file, or the next bytes of a chunked upload.
    enum UploadBody: Sendable {
        case wholeFile
        case chunk
        /// A CSV file as the body itself.
        case csvFile

        /// The OpenAPI `content` of the body.
        var content: [String: Any] {
            let binary: [String: Any] = ["schema": ["type": "string", "format": "binary"]]
            switch self {
            case .chunk:
                return ["application/octet-stream": binary]
            case .csvFile:
                // The file's bytes as they are (any text is a file; its rows are checked by the job).
                return ["text/csv": binary]
            case .wholeFile:
                let form: [String: Any] = [
                    "type": "object", "required": ["file"],
                    "properties": [
                        "file": ["type": "string", "format": "binary"], "name": ["type": "string"],
                        "type": ["type": "string", "enum": ["IMAGE", "VIDEO", "TEXT"]],
                    ],
                ]
                return ["multipart/form-data": ["schema": form], "application/octet-stream": binary]
            }
        }
    }
    /// Schema name of the JSON answer.
    var response: String
    /// A download instead of JSON: the answer's media type (e.g. text/csv).
    var download: String?
    /// Accepts `Idempotency-Key`.
    var idempotencyKey = false
    /// Required headers besides authentication (name, description).
    var requiredHeaders: [(name: String, description: String)] = []
}

/// The OpenAPI 3.0 document of the edge, served at `/openapi.json`: every route, its
/// parameters, request and answer schemas (generated from Protos/ by
/// scripts/generate-openapi-schemas.py) and the shared error body.
///
/// The operations of the generated routes come from the same table the router serves
/// (`EdgeRouteTable`), with the summary and access rule of their method's contract; only the
/// hand-written routes (`manualOperations`) are described by hand.
enum OpenAPIDocument {
    /// The routes written by hand (`manual_route` in the .proto): cookies and raw webhook bodies.
    static let manualOperations: [APIOperation] = [
        .init(
            rpc: AuthMethods.login, method: "post", path: "/v1/auth/login", operationID: "Login",
            summary: "Log in: an access token, and the refresh token in a cookie", tag: "auth",
            authentication: .none, body: "pixecom.auth.v1.LoginRequest", response: "TokenAnswer"),
        .init(
            rpc: AuthMethods.refresh, method: "post", path: "/v1/auth/refresh", operationID: "Refresh",
            summary: "A new access token from the refresh cookie (rotated)", tag: "auth",
            authentication: .refreshCookie, response: "TokenAnswer"),
        .init(
            rpc: AuthMethods.logout, method: "post", path: "/v1/auth/logout", operationID: "Logout",
            summary: "End the session of the refresh cookie", tag: "auth",
            authentication: .refreshCookie, response: "pixecom.auth.v1.LogoutResponse"),
        .init(
            rpc: AuthMethods.acceptInvitation, method: "post", path: "/v1/invitations/accept", operationID: "AcceptInvitation",
            summary: "Accept an invitation and log in",
            tag: "auth", authentication: .none, body: "pixecom.auth.v1.AcceptInvitationRequest", response: "TokenAnswer"),
        .init(
            rpc: AuthMethods.changePassword, method: "post", path: "/v1/account/password", operationID: "ChangePassword",
            summary: "Change one's password; other sessions end", tag: "auth",
            body: "pixecom.auth.v1.ChangePasswordRequest", response: "TokenAnswer"),
        .init(
            rpc: OrderMethods.handleWebhook, method: "post", path: "/v1/webhooks/stripe", operationID: "StripeWebhook",
            summary: "Stripe webhook delivery (signed; relayed to OrderService as is)",
            tag: "webhooks", authentication: .none, body: "StripeEvent", response: "pixecom.orders.v1.WebhookResult",
            requiredHeaders: [("Stripe-Signature", "t=<unix seconds>,v1=<HMAC-SHA256 hex>")]),
        .init(
            rpc: CampaignMethods.appendAssetUpload, method: "post", path: "/v1/assets", operationID: "UploadAsset",
            summary: "Upload a whole file as an asset (multipart/form-data, or the body itself with ?name=)", tag: "campaigns",
            query: [
                .init(
                    name: "name", description: "the file's name, for a direct body (a form sends a part \"name\" or the file's filename)"),
                .init(name: "type", description: "IMAGE, VIDEO or TEXT; empty: told by the bytes", values: ["IMAGE", "VIDEO", "TEXT"]),
            ],
            upload: .wholeFile,
            response: "pixecom.campaign.v1.Asset"),
        .init(
            rpc: CampaignMethods.appendAssetUpload, method: "put", path: "/v1/asset-uploads/{uploadId}", operationID: "AppendAssetUpload",
            summary: "The next bytes of a chunked upload, at ?offset= (the bytes received so far)", tag: "campaigns",
            pathParameters: [.init(name: "uploadId", format: "uuid", isRequired: true)],
            query: [.init(name: "offset", type: "integer", minimum: 0, isRequired: true)],
            upload: .chunk,
            response: "pixecom.campaign.v1.AssetUpload"),
        .init(
            rpc: OrderMethods.exportOrders, method: "get", path: "/v1/orders.csv", operationID: "ExportOrders",
            summary: "The seller's orders as CSV, one row per line item (streamed)", tag: "orders",
            query: [
                .init(name: "createdAfter", description: "RFC 3339; orders created at or after it", format: "date-time"),
                .init(name: "createdBefore", description: "RFC 3339; orders created before it", format: "date-time"),
                .init(
                    name: "financialStatus",
                    values: ["PENDING", "AUTHORIZED", "PAID", "PARTIALLY_REFUNDED", "REFUNDED", "VOIDED", "CHARGED_BACK"]),
                .init(name: "fulfillmentStatus", values: ["UNFULFILLED", "PARTIALLY_FULFILLED", "FULFILLED", "RETURNED"]),
                .init(name: "status", values: ["OPEN", "CANCELLED", "CLOSED"]),
                .init(name: "sellPageId", format: "uuid"),
            ],
            response: "pixecom.orders.v1.ExportChunk", download: "text/csv"),
        .init(
            rpc: OrderMethods.appendOrderImport, method: "post", path: "/v1/order-imports.csv", operationID: "ImportOrders",
            summary: "Import a whole CSV file of orders or fulfillments (the body); its rows are applied by a job", tag: "orders",
            query: [
                .init(name: "kind", values: ["ORDERS", "FULFILLMENTS"], isRequired: true),
                .init(name: "name", description: "the file's name, 1 to 255 characters", isRequired: true),
                .init(name: "dryRun", description: "check every row and apply nothing", type: "boolean"),
            ],
            upload: .csvFile,
            response: "pixecom.orders.v1.OrderImport", idempotencyKey: true),
        .init(
            rpc: OrderMethods.appendOrderImport, method: "put", path: "/v1/order-imports/{importId}", operationID: "AppendOrderImport",
            summary: "The next bytes of a chunked import, at ?offset= (the bytes received so far)", tag: "orders",
            pathParameters: [.init(name: "importId", format: "uuid", isRequired: true)],
            query: [.init(name: "offset", type: "integer", minimum: 0, isRequired: true)],
            upload: .chunk,
            response: "pixecom.orders.v1.OrderImport"),
    ]

    /// Every operation: the generated routes', then the hand-written ones.
    static let operations: [APIOperation] = EdgeRouteTable.all.map(Self.operation(for:)) + Self.manualOperations

    /// A generated route as an operation: its contract's summary, `bearer` unless anyone may call
    /// it, its parameters with the services' rules on top (`parameter(_:of:inPath:)`).
    static func operation(for route: EdgeRoute) -> APIOperation {
        let contract = ServiceContracts.all.first { $0.name == route.method }
        let leftOut = Self.undocumentedQuery[route.method] ?? []
        let body: String? =
            switch route.body {
            case .none: nil
            case .request: Self.bodySchemas[route.method] ?? route.requestMessage
            case .field(_, let message): message
            }
        let tag: String =
            switch route.service {
            case .auth: "auth"
            case .campaign: "campaigns"
            case .stats: "stats"
            case .orders: "orders"
            }
        return APIOperation(
            rpc: route.method,
            method: route.verb.rawValue.lowercased(),
            path: route.path,
            operationID: String(route.method.split(separator: "/").last ?? Substring(route.method)),
            summary: contract?.summary ?? route.method,
            tag: tag,
            authentication: contract?.access == .anyone ? .none : .bearer,
            pathParameters: route.pathParameters.map { Self.parameter($0, of: route.requestMessage, inPath: true) },
            query: route.queryParameters.filter { !leftOut.contains($0.name) }.map {
                Self.parameter($0, of: route.requestMessage, inPath: false)
            },
            body: body,
            response: route.responseMessage,
            idempotencyKey: contract?.idempotency == .withKey
        )
    }

    /// A route's parameter: the schema of its field's type, with the services' rules for it
    /// (`applyRules(to:of:inPath:)`, in OpenAPIDocument+Constraints.swift).
    static func parameter(_ parameter: EdgeRoute.Parameter, of request: String, inPath: Bool) -> APIOperation.Parameter {
        var described = APIOperation.Parameter(name: parameter.name, isRequired: inPath)
        switch parameter.kind {
        case .string: break
        case .int32, .uint32:
            (described.type, described.format) = ("integer", "int32")
            if parameter.kind == .uint32 { described.minimum = 0 }
        case .int64, .uint64:
            (described.type, described.format) = ("integer", "int64")
            if parameter.kind == .uint64 { described.minimum = 0 }
        case .bool: described.type = "boolean"
        case .double, .float: described.type = "number"
        case .enumeration(let names): described.values = names
        }
        Self.applyRules(to: &described, of: request, inPath: inPath)
        return described
    }

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
        for parameter in operation.pathParameters {
            parameters.append(Self.describe(parameter, in: "path"))
        }
        for parameter in operation.query {
            parameters.append(Self.describe(parameter, in: "query"))
        }
        if operation.idempotencyKey {
            parameters.append([
                "name": "Idempotency-Key", "in": "header", "required": false,
                "description": "a replay with the same key and body returns what the first request created; another body is 422",
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
            "operationId": operation.operationID,
            "responses": [
                "200": [
                    "description": operation.download == nil ? "success" : "the file, streamed (Transfer-Encoding: chunked)",
                    "content": operation.download.map { [$0: ["schema": ["type": "string"]]] }
                        ?? ["application/json": ["schema": ["$ref": "#/components/schemas/\(operation.response)"]]],
                ],
                "default": ["$ref": "#/components/responses/Error"],
            ],
        ]
        if !parameters.isEmpty { described["parameters"] = parameters }
        if let upload = operation.upload {
            described["requestBody"] = ["required": true, "content": upload.content]
        } else if let body = operation.body {
            let required = !(Self.constraints[body]?.required.isEmpty ?? true) || Self.updateRequests.contains(body)
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

    private static func describe(_ parameter: APIOperation.Parameter, in place: String) -> [String: Any] {
        var schema: [String: Any] = ["type": parameter.type]
        if let format = parameter.format { schema["format"] = format }
        if let pattern = parameter.pattern { schema["pattern"] = pattern }
        if let minimum = parameter.minimum { schema["minimum"] = minimum }
        if let maximum = parameter.maximum { schema["maximum"] = maximum }
        if let values = parameter.values { schema["enum"] = values }
        var described: [String: Any] = ["name": parameter.name, "in": place, "required": parameter.isRequired, "schema": schema]
        if let description = parameter.description { described["description"] = description }
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
