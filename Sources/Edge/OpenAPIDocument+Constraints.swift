import Foundation
import ServiceKit

/// What the schemas generated from Protos/ cannot say on their own: which request fields are
/// required, their enums, formats, lengths and ranges, as the services check them. A request the
/// document calls valid is one the services accept (schemathesis' positive_data_acceptance check
/// holds the document to that), so each constraint here is the service's rule or a stricter one.
///
/// The services stay the authority: these only describe their checks (`RequestValidation`,
/// `CampaignValidation`, `AuthValidation`, `OrderValidation`, `StatsValidation`).
extension OpenAPIDocument {
    /// Changes to one generated message schema.
    struct Constraint {
        var required: [String] = []
        /// Merged into the generated property schema (a `$ref` is replaced).
        var properties: [String: [String: Any]] = [:]
        /// Properties the edge does not read from the body (the path carries them), left out.
        var removed: [String] = []
    }

    /// Text that is not blank, of at most `maxLength` characters, no NUL (`RequestValidation.text`).
    static func text(maxLength: Int) -> [String: Any] {
        ["type": "string", "maxLength": maxLength, "pattern": "^[^\\x00]*[^\\s\\x00][^\\x00]*$"]
    }

    /// An object's name: not blank, no control characters, at most 200 (`CampaignValidation.name`).
    static var name: [String: Any] {
        [
            "type": "string", "maxLength": 200,
            "pattern": "^[^\\x00-\\x1f\\x7f-\\x9f]*[^\\s\\x00-\\x1f\\x7f-\\x9f][^\\x00-\\x1f\\x7f-\\x9f]*$",
        ]
    }

    /// A name that may be left empty (a default applies).
    static var optionalName: [String: Any] {
        var schema = Self.name
        schema["pattern"] = "^$|" + (schema["pattern"] as? String ?? "")
        return schema
    }

    /// Optional free text of at most `maxLength` characters, no NUL.
    static func optionalText(maxLength: Int) -> [String: Any] {
        ["type": "string", "maxLength": maxLength, "pattern": "^[^\\x00]*$"]
    }

    /// An integer between `minimum` and `maximum` as the proto3 JSON mapping reads one: a decimal
    /// string (how int64 values are written) or a JSON number.
    static func integer(_ minimum: Int64, _ maximum: Int64, digitsPattern: String) -> [String: Any] {
        [
            "anyOf": [
                ["type": "string", "pattern": digitsPattern],
                ["type": "integer", "minimum": minimum, "maximum": maximum],
            ]
        ]
    }

    /// Any positive int64 (as a string: up to 18 digits, a subset).
    static var positiveInt64: [String: Any] { Self.integer(1, Int64.max, digitsPattern: "^[1-9][0-9]{0,17}$") }

    /// `CampaignValidation.dailyBudget`: 1 to 10^12 minor units.
    static var dailyBudget: [String: Any] {
        Self.integer(1, 1_000_000_000_000, digitsPattern: "^([1-9][0-9]{0,11}|1000000000000)$")
    }

    /// A budget or bid that may be absent: 0 (none), or 1 to 10^12 minor units.
    static var optionalBudget: [String: Any] {
        Self.integer(0, 1_000_000_000_000, digitsPattern: "^(0|[1-9][0-9]{0,11}|1000000000000)$")
    }

    /// `CampaignValidation.roasAverageFloor`: 1 to 10^7 ten-thousandths.
    static var roasFloor: [String: Any] { Self.integer(1, 10_000_000, digitsPattern: "^([1-9][0-9]{0,6}|10000000)$") }
    static var optionalROASFloor: [String: Any] { Self.integer(0, 10_000_000, digitsPattern: "^(0|[1-9][0-9]{0,6}|10000000)$") }

    /// A page's or pixel's id on the platform (`CampaignHandlers.platformID`).
    static var platformID: [String: Any] { ["type": "string", "pattern": "^[0-9]{1,32}$"] }

    static var bidStrategy: [String: Any] { ["type": "string", "enum": CampaignContract.bidStrategies] }
    static var effectiveStatus: [String: Any] { ["type": "string", "enum": CampaignContract.effectiveStatuses] }
    static var specialAdCategories: [String: Any] {
        ["type": "array", "uniqueItems": true, "items": ["type": "string", "enum": CampaignContract.specialAdCategories]]
    }

    /// `CampaignValidation.linkURL` (a stricter subset: https and plain host names).
    static var linkURL: [String: Any] {
        [
            "type": "string", "maxLength": 2048,
            "pattern": "^https://[a-z0-9]+(\\.[a-z0-9]+)*\\.[a-z]{2,}(/[A-Za-z0-9._~-]*)*$",
        ]
    }

    /// Any int64 not below 0 (as a string: up to 18 digits, a subset).
    static var nonNegativeInt64: [String: Any] { Self.integer(0, Int64.max, digitsPattern: "^(0|[1-9][0-9]{0,17})$") }

    static var uuid: [String: Any] { ["type": "string", "format": "uuid"] }
    /// An id that may be empty (none).
    static var optionalUUID: [String: Any] {
        ["type": "string", "pattern": "^$|^[0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{12}$"]
    }
    static var date: [String: Any] { ["type": "string", "format": "date", "pattern": "^[0-9]{4}-[0-9]{2}-[0-9]{2}$"] }
    /// `AuthValidation.email`: trimmed, one `@`, a local part, a domain with a dot inside it, no
    /// spaces or control characters.
    static var email: [String: Any] {
        let char = "[^@\\x00-\\x20\\x7f]"
        let edge = "[^@.\\x00-\\x20\\x7f]"
        return ["type": "string", "maxLength": 320, "pattern": "^\\s*\(char)+@\(edge)\(char)*\\.\(char)*\(edge)\\s*$"]
    }
    static var password: [String: Any] { ["type": "string", "minLength": 12, "maxLength": 1024] }
    static var currency: [String: Any] {
        [
            "type": "string", "pattern": "^[A-Z]{3}$", "enum": ISO4217.codes,
            "description": "an active ISO 4217 code with a minor unit, upper case",
        ]
    }
    static var storedCurrency: [String: Any] { ["type": "string", "pattern": "^[A-Z]{3}$"] }
    static var timestamp: [String: Any] { ["type": "string", "format": "date-time"] }
    static var role: [String: Any] { ["type": "string", "enum": ["OWNER", "ADMIN", "EDITOR", "VIEWER"]] }
    static var objective: [String: Any] {
        [
            "type": "string",
            "enum": [
                "OUTCOME_APP_PROMOTION", "OUTCOME_AWARENESS", "OUTCOME_ENGAGEMENT", "OUTCOME_LEADS", "OUTCOME_SALES", "OUTCOME_TRAFFIC",
            ],
        ]
    }
    static var newRole: [String: Any] { ["type": "string", "enum": ["VIEWER", "EDITOR", "ADMIN"]] }
    static var newStatus: [String: Any] { ["type": "string", "enum": ["ACTIVE", "PAUSED"]] }
    static var anyStatus: [String: Any] { ["type": "string", "enum": ["ACTIVE", "PAUSED", "ARCHIVED", "DELETED"]] }

    /// IANA zone names the services accept (`CampaignValidation.timeZone`).
    static let timeZones: [String] = {
        let known = TimeZone.knownTimeZoneIdentifiers.filter { $0.count <= 64 && TimeZone(identifier: $0) != nil }
        return Array(Set(known + ["UTC", "Etc/UTC"])).sorted()
    }()

    static var constraints: [String: Constraint] {
        [
            "pixecom.auth.v1.RegisterRequest": .init(
                required: ["sellerName", "email", "password"],
                properties: ["sellerName": text(maxLength: 200), "email": email, "password": password]),
            "pixecom.auth.v1.LoginRequest": .init(
                required: ["email", "password"],
                properties: ["email": email, "password": ["type": "string", "minLength": 1, "maxLength": 1024]]),
            "pixecom.auth.v1.InviteMemberRequest": .init(required: ["email", "role"], properties: ["email": email, "role": newRole]),
            "pixecom.auth.v1.AcceptInvitationRequest": .init(
                required: ["token", "password"],
                properties: ["token": ["type": "string", "minLength": 1, "maxLength": 512], "password": password]),
            "pixecom.auth.v1.ChangeMemberRoleRequest": .init(required: ["role"], properties: ["role": newRole], removed: ["userId"]),
            "pixecom.auth.v1.ChangePasswordRequest": .init(
                required: ["currentPassword", "newPassword"],
                properties: ["currentPassword": ["type": "string", "minLength": 1, "maxLength": 1024], "newPassword": password]),
            "pixecom.auth.v1.ChangePlanRequest": .init(
                required: ["plan"], properties: ["plan": ["type": "string", "enum": ["free", "starter", "pro"]]]),
            "pixecom.auth.v1.ChangePlanResponse": .init(
                properties: [
                    "plan": ["type": "string", "enum": ["free", "starter", "pro"]],
                    "previousPlan": ["type": "string", "enum": ["free", "starter", "pro"]],
                ]),
            "pixecom.auth.v1.CreateApiKeyRequest": .init(
                required: ["name", "scope"],
                properties: ["name": text(maxLength: 200), "scope": ["type": "string", "enum": ["READ", "FULL", "ASSETS"]]]),
            // With an externalId, name, currency and time zone may be left empty (the platform's
            // apply); the document asks for them always, a stricter rule.
            "pixecom.campaign.v1.CreateAdAccountRequest": .init(
                required: ["name", "currency", "timeZone"],
                properties: [
                    "name": name, "currency": currency, "timeZone": ["type": "string", "enum": timeZones], "connectionId": optionalUUID,
                    "externalId": ["type": "string", "pattern": "^$|^act_[0-9]{1,32}$"],
                ]),
            "pixecom.campaign.v1.UpdateAdAccountRequest": .init(
                properties: ["name": name, "defaultPageId": platformID, "defaultPixelId": platformID], removed: ["id", "updateMask"]),
            "pixecom.campaign.v1.DisconnectAdAccountRequest": .init(removed: ["id"]),
            // Which sizes fit depends on the type (30 MiB for an image) and on the storage the plan
            // has left (422), which no schema here states.
            "pixecom.campaign.v1.StartAssetUploadRequest": .init(
                required: ["name", "sizeBytes"],
                properties: [
                    "name": text(maxLength: 255), "sizeBytes": ["type": "string", "pattern": "^[1-9][0-9]{0,9}$"],
                    "type": ["type": "string", "enum": ["IMAGE", "VIDEO", "TEXT"]],
                ]),
            "pixecom.campaign.v1.FinishAssetUploadRequest": .init(
                properties: ["sha256": ["type": "string", "pattern": "^$|^[0-9a-fA-F]{64}$"]], removed: ["uploadId"]),
            // Tokens are at most 1024 bytes: 256 characters are that even in four-byte UTF-8.
            "pixecom.campaign.v1.ConnectPlatformRequest": .init(
                required: ["platform"],
                properties: [
                    "platform": ["type": "string", "enum": ["sandbox"]],
                    "accessToken": ["type": "string", "maxLength": 256],
                ]),
            // A budget of 0 is none; which of them must be set depends on the campaign (422) or on
            // the other budget (400), which no schema here states.
            "pixecom.campaign.v1.CreateCampaignRequest": .init(
                required: ["adAccountId", "name", "objective"],
                properties: [
                    "adAccountId": uuid, "name": name,
                    "objective": objective,
                    "dailyBudget": optionalBudget, "lifetimeBudget": optionalBudget, "status": newStatus,
                    "bidStrategy": bidStrategy, "specialAdCategories": specialAdCategories,
                ]),
            "pixecom.campaign.v1.CreateAdSetRequest": .init(
                required: ["campaignId", "name", "targeting"],
                properties: [
                    "campaignId": uuid, "name": name, "dailyBudget": optionalBudget, "lifetimeBudget": optionalBudget,
                    "status": newStatus, "bidAmount": optionalBudget, "roasAverageFloor": optionalROASFloor,
                    "optimizationGoal": ["type": "string", "enum": CampaignContract.optimizationGoals],
                    "billingEvent": ["type": "string", "enum": CampaignContract.billingEvents],
                    "targeting": ["$ref": "#/components/schemas/pixecom.campaign.v1.Targeting"],
                    "startTime": timestamp, "endTime": timestamp, "strategyId": optionalUUID,
                ]),
            "pixecom.campaign.v1.CreateAdStrategyRequest": .init(
                required: ["name"],
                properties: [
                    "name": name, "dailyBudget": optionalBudget, "lifetimeBudget": optionalBudget, "bidStrategy": bidStrategy,
                    "bidAmount": optionalBudget, "roasAverageFloor": optionalROASFloor,
                    "optimizationGoal": ["type": "string", "enum": CampaignContract.optimizationGoals],
                    "billingEvent": ["type": "string", "enum": CampaignContract.billingEvents],
                    "targeting": ["$ref": "#/components/schemas/pixecom.campaign.v1.Targeting"],
                ]),
            "pixecom.campaign.v1.UpdateAdStrategyRequest": .init(
                properties: [
                    "name": name, "dailyBudget": optionalBudget, "lifetimeBudget": optionalBudget, "bidStrategy": bidStrategy,
                    "bidAmount": optionalBudget, "roasAverageFloor": optionalROASFloor,
                    "optimizationGoal": ["type": "string", "enum": CampaignContract.optimizationGoals],
                    "billingEvent": ["type": "string", "enum": CampaignContract.billingEvents],
                    "targeting": ["$ref": "#/components/schemas/pixecom.campaign.v1.Targeting"],
                ],
                removed: ["id", "updateMask"]),
            "pixecom.campaign.v1.CreateCampaignTreeRequest": .init(
                required: ["campaign", "adSets"],
                properties: [
                    "strategyId": optionalUUID,
                    "campaign": ["$ref": "#/components/schemas/pixecom.campaign.v1.CreateCampaignRequest"],
                    "adSets": [
                        "type": "array", "minItems": 1, "maxItems": 50,
                        "items": ["$ref": "#/components/schemas/pixecom.campaign.v1.AdSetTree"],
                    ],
                ]),
            "pixecom.campaign.v1.AdSetTree": .init(
                required: ["adSet", "ads"],
                properties: [
                    "adSet": ["$ref": "#/components/schemas/pixecom.campaign.v1.CreateAdSetRequest"],
                    "ads": [
                        "type": "array", "minItems": 1, "maxItems": 50,
                        "items": ["$ref": "#/components/schemas/pixecom.campaign.v1.CreateAdRequest"],
                    ],
                ]),
            "pixecom.campaign.v1.DuplicateCampaignRequest": .init(
                properties: ["name": optionalName, "status": newStatus], removed: ["id"]),
            "pixecom.campaign.v1.BulkUpdateRequest": .init(
                required: ["changes"],
                properties: [
                    "changes": [
                        "type": "array", "minItems": 1, "maxItems": 500,
                        "items": ["$ref": "#/components/schemas/pixecom.campaign.v1.BulkChange"],
                    ]
                ]),
            "pixecom.campaign.v1.BulkChange": .init(
                required: ["kind", "id"],
                properties: [
                    "kind": ["type": "string", "enum": ["CAMPAIGN", "AD_SET", "AD"]], "id": uuid, "status": anyStatus,
                    "dailyBudget": optionalBudget, "lifetimeBudget": optionalBudget,
                ]),
            "pixecom.campaign.v1.Targeting": .init(
                required: ["countries"],
                properties: [
                    "countries": [
                        "type": "array", "minItems": 1, "maxItems": 25, "uniqueItems": true,
                        "items": ["type": "string", "enum": CampaignContract.countries],
                    ],
                    // 0 is the default (18 and 65).
                    "ageMin": ["type": "integer", "anyOf": [["enum": [0]], ["minimum": 18, "maximum": 65]]],
                    "ageMax": ["type": "integer", "anyOf": [["enum": [0]], ["minimum": 18, "maximum": 65]]],
                    "genders": ["type": "array", "uniqueItems": true, "items": ["type": "integer", "enum": [1, 2]]],
                    "publisherPlatforms": [
                        "type": "array", "uniqueItems": true,
                        "items": ["type": "string", "enum": CampaignContract.publisherPlatforms],
                    ],
                ]),
            "pixecom.campaign.v1.CreateAdRequest": .init(
                required: ["adSetId", "name", "linkUrl"],
                properties: ["adSetId": uuid, "name": name, "status": newStatus, "linkUrl": linkURL, "creativeId": optionalUUID]),
            // The update mask is left out: which fields it may name depends on the body (a field it names
            // must be valid there), which JSON Schema cannot say; without one, the fields the body names
            // change (docs/API.md).
            "pixecom.campaign.v1.UpdateCampaignRequest": .init(
                properties: ["name": name, "dailyBudget": dailyBudget, "lifetimeBudget": dailyBudget, "status": anyStatus],
                removed: ["id", "updateMask"]),
            "pixecom.campaign.v1.UpdateAdSetRequest": .init(
                properties: [
                    "name": name, "dailyBudget": dailyBudget, "lifetimeBudget": dailyBudget, "status": anyStatus,
                    "bidAmount": dailyBudget, "roasAverageFloor": roasFloor,
                    "targeting": ["$ref": "#/components/schemas/pixecom.campaign.v1.Targeting"], "endTime": timestamp,
                ],
                removed: ["id", "updateMask"]),
            "pixecom.campaign.v1.UpdateAdRequest": .init(
                properties: ["name": name, "status": anyStatus, "linkUrl": linkURL],
                removed: ["id", "updateMask"]),
            "pixecom.stats.v1.IngestInsightsRequest": .init(
                required: ["rows"],
                properties: [
                    "rows": [
                        "type": "array", "minItems": 1, "maxItems": 5000, "uniqueItems": true,
                        "items": ["$ref": "#/components/schemas/pixecom.stats.v1.InsightRow"],
                    ]
                ]),
            "pixecom.stats.v1.InsightRow": .init(
                required: ["date", "adId", "currency"],
                properties: [
                    "date": date, "adId": uuid, "currency": currency, "spend": nonNegativeInt64,
                    "impressions": nonNegativeInt64, "clicks": nonNegativeInt64,
                    "actions": [
                        "type": "array", "maxItems": 100,
                        "items": ["$ref": "#/components/schemas/pixecom.stats.v1.InsightAction"],
                    ],
                ]),
            "pixecom.stats.v1.InsightAction": .init(
                required: ["actionType"],
                properties: ["actionType": text(maxLength: 100), "value": nonNegativeInt64]),
            "pixecom.orders.v1.CreateOrderRequest": .init(
                required: ["currency", "lineItems"],
                properties: [
                    "currency": currency,
                    "lineItems": [
                        "type": "array", "minItems": 1, "maxItems": 100,
                        "items": ["$ref": "#/components/schemas/pixecom.orders.v1.LineItem"],
                    ],
                ]),
            "pixecom.orders.v1.LineItem": .init(
                required: ["sku", "title", "quantity"],
                properties: [
                    "sku": text(maxLength: 100), "title": text(maxLength: 200),
                    "quantity": integer(1, 10_000, digitsPattern: "^([1-9][0-9]{0,3}|10000)$"),
                    "unitPrice": integer(0, 10_000_000_000, digitsPattern: "^(0|[1-9][0-9]{0,9}|10000000000)$"),
                ]),
            "pixecom.orders.v1.Utm": .init(
                properties: [
                    "source": optionalText(maxLength: 200), "medium": optionalText(maxLength: 200),
                    "campaign": optionalText(maxLength: 200),
                    "content": optionalText(maxLength: 200), "term": optionalText(maxLength: 200),
                ]),
            "pixecom.orders.v1.StorefrontEventsRequest": .init(
                required: ["events"],
                properties: [
                    "events": [
                        "type": "array", "minItems": 1, "maxItems": 500,
                        "items": ["$ref": "#/components/schemas/pixecom.orders.v1.StorefrontEvent"],
                    ]
                ],
                removed: ["publicKey"]),
            // Each event is checked on its own and a bad one is answered in `rejected` (200), so
            // the schema states the shape and leaves the time window to the answer.
            "pixecom.orders.v1.StorefrontEvent": .init(
                required: ["eventId", "step", "occurredAt"],
                properties: [
                    "eventId": uuid, "step": ["type": "string", "enum": ["PAGE_VIEW", "ADD_TO_CART", "CHECKOUT_STARTED", "PURCHASE"]],
                    "occurredAt": timestamp, "utmCampaign": optionalText(maxLength: 200), "utmContent": optionalText(maxLength: 200),
                ]),
            "pixecom.orders.v1.RefundOrderRequest": .init(required: ["amount"], properties: ["amount": positiveInt64], removed: ["id"]),
            "pixecom.orders.v1.MarkPaidRequest": .init(removed: ["id"]),
            // Answers: enums and formats of what the services write (currencies as a pattern only:
            // an order stored before codes were checked may hold any three letters).
            "pixecom.auth.v1.Member": .init(properties: ["role": role, "createdAt": timestamp]),
            "pixecom.auth.v1.Invitation": .init(properties: ["role": newRole]),
            "pixecom.auth.v1.Caller": .init(
                properties: ["role": role, "plan": ["type": "string", "enum": ["free", "starter", "pro"]], "tokenExpiresAt": timestamp]),
            "pixecom.auth.v1.ApiKey": .init(properties: ["scope": ["type": "string", "enum": ["READ", "FULL", "ASSETS"]]]),
            "pixecom.campaign.v1.AdAccount": .init(
                properties: ["currency": storedCurrency, "status": ["type": "string", "enum": ["CONNECTED", "DISCONNECTED"]]]),
            "pixecom.campaign.v1.Campaign": .init(
                properties: [
                    "objective": objective, "bidStrategy": bidStrategy, "specialAdCategories": specialAdCategories,
                    "effectiveStatus": effectiveStatus,
                ]),
            "pixecom.campaign.v1.AdSet": .init(properties: ["effectiveStatus": effectiveStatus]),
            "pixecom.campaign.v1.Ad": .init(properties: ["effectiveStatus": effectiveStatus]),
            "pixecom.orders.v1.Order": .init(properties: ["currency": storedCurrency]),
            "pixecom.stats.v1.CampaignStats": .init(properties: ["currency": storedCurrency]),
            "pixecom.stats.v1.DailyStats": .init(properties: ["date": date]),
            "pixecom.stats.v1.UnattributedRevenue": .init(properties: ["currency": storedCurrency]),
        ]
    }

    /// The PATCH bodies: a field they name is a field changed.
    static let updateRequests: Set<String> = [
        "pixecom.campaign.v1.UpdateCampaignRequest", "pixecom.campaign.v1.UpdateAdSetRequest", "pixecom.campaign.v1.UpdateAdRequest",
        "pixecom.campaign.v1.UpdateAdStrategyRequest", "pixecom.campaign.v1.UpdateAdAccountRequest",
    ]

    /// Fields of PATCH bodies that null (their default) sets to a value of its own: a strategy's
    /// bid strategy (LOWEST_COST_WITHOUT_CAP), and none for its goal, billing, targeting, budgets
    /// and bids.
    static let resettable: [String: Set<String>] = [
        "pixecom.campaign.v1.UpdateAdStrategyRequest": [
            "bidStrategy", "optimizationGoal", "billingEvent", "targeting", "dailyBudget", "lifetimeBudget", "bidAmount",
            "roasAverageFloor",
        ]
    ]

    /// Messages inside requests, whose optional fields may be null there (Targeting is in answers
    /// too, which never hold null).
    static let requestParts: Set<String> = [
        "pixecom.stats.v1.InsightRow", "pixecom.stats.v1.InsightAction", "pixecom.orders.v1.LineItem", "pixecom.orders.v1.Utm",
        "pixecom.campaign.v1.AdSetTree", "pixecom.orders.v1.StorefrontEvent",
        "pixecom.campaign.v1.BulkChange", "pixecom.campaign.v1.Targeting",
    ]

    /// Body schemas other than the request's own, by method (none today).
    static let bodySchemas: [String: String] = [:]

    /// Query parameters a route reads but the document leaves out, by method: ad accounts,
    /// connections, strategies, ad texts and creatives have no parent, and CampaignService refuses
    /// a `parentId` for them (400).
    static let undocumentedQuery: [String: Set<String>] = [
        CampaignMethods.listAdAccounts: ["parentId"], CampaignMethods.listPlatformConnections: ["parentId"],
        CampaignMethods.listAdStrategies: ["parentId"], CampaignMethods.listAdTexts: ["parentId"],
        CampaignMethods.listCreatives: ["parentId"],
    ]

    /// The ads manager's metrics (StatsService `AdsManagerMetric`) and page tokens.
    static let adsManagerMetrics = [
        "spend", "impressions", "clicks", "purchases", "orders", "revenue", "refunds", "chargebacks", "net_revenue", "cpm", "ctr",
        "cpc", "cpa", "roas", "page_views", "add_to_carts", "checkouts_started", "storefront_purchases", "cr1", "cr2", "cr3",
    ]
    static let adsManagerTokenPattern = "^(n|[0-9a-f]{16})\\.[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$"

    /// The path parameters that are not object ids, by request message and parameter: a
    /// chargeback's dispute id (a gateway reference), a sell page's public key, a domain.
    static let pathPatterns: [String: String] = [
        "pixecom.orders.v1.ReverseChargebackRequest.reference": "^[!-~]{1,255}$",
        "pixecom.orders.v1.CheckoutRequest.publicKey": "^pk_[a-z0-9]{24}$",
        "pixecom.orders.v1.StorefrontEventsRequest.publicKey": "^pk_[a-z0-9]{24}$",
        "pixecom.orders.v1.VerifyDomainRequest.domain": "^([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\\.)+[a-z]([a-z0-9-]{0,61}[a-z0-9])?$",
    ]

    /// What the services accept in a path or query parameter, over the schema of its field's type.
    /// Every path parameter of the API is an object's id, a UUID (one that is not needs a rule
    /// here); the query parameters are the pages' and the stats range's.
    static func applyRules(to parameter: inout APIOperation.Parameter, of request: String, inPath: Bool) {
        if inPath {
            if let pattern = Self.pathPatterns["\(request).\(parameter.name)"] {
                parameter.pattern = pattern
            } else if parameter.type == "string" {
                parameter.format = "uuid"
            }
            return
        }
        switch parameter.name {
        case "pageSize":
            parameter.description = "0 to 200 (0 or absent: 50)"
            (parameter.minimum, parameter.maximum) = (0, 200)
        case "pageToken":
            parameter.description = "nextPageToken of the previous page"
            parameter.pattern =
                "^$|"
                + (request == "pixecom.stats.v1.AdsManagerRequest"
                    ? Self.adsManagerTokenPattern
                    // An import's errors are paged by line: the last line of the previous page.
                    : request == "pixecom.orders.v1.ListOrderImportErrorsRequest" ? "^[1-9][0-9]{0,8}$" : PageToken.pattern)
        case "parentId":
            parameter.description = "only the children of this object"
            parameter.pattern = "^$|^[0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{12}$"
        // The List filters: an empty value is no filter, as an absent one.
        case "effectiveStatus":
            parameter.values = [""] + CampaignContract.effectiveStatuses
        case "nameContains":
            parameter.description = "a case-insensitive part of the name"
            parameter.pattern = "^[^\\x00-\\x1f\\x7f-\\x9f]{0,200}$"
        case "createdAfter", "createdBefore", "updatedAfter", "updatedBefore":
            // RFC 3339 in UTC; the pattern is a subset (days to 28) so that every time it allows
            // exists.
            parameter.description = "an RFC 3339 time, e.g. 2026-12-01T00:00:00Z"
            parameter.pattern =
                "^$|^(19|20)[0-9]{2}-(0[1-9]|1[0-2])-(0[1-9]|1[0-9]|2[0-8])T([01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9](\\.[0-9]{1,6})?Z$"
        case "objective":
            parameter.values = [""] + (Self.objective["enum"] as? [String] ?? [])
        case "type" where request == "pixecom.campaign.v1.ListAssetsRequest":
            parameter.values = ["", "IMAGE", "VIDEO", "TEXT"]
        case "level" where request == "pixecom.stats.v1.AdsManagerRequest":
            parameter.values = ["CAMPAIGN", "AD_SET", "AD"]
            parameter.isRequired = true
        case "level" where request == "pixecom.stats.v1.StatsRequest":
            parameter.values = ["SELLER", "AD_ACCOUNT", "CAMPAIGN", "AD_SET", "AD"]
            parameter.isRequired = true
        case "id" where request == "pixecom.stats.v1.StatsRequest":
            parameter.description = "the object's id; empty for SELLER"
            parameter.pattern = "^$|^[0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{12}$"
        case "granularity" where request == "pixecom.stats.v1.StatsRequest":
            parameter.values = ["DAY", "TOTAL"]
        case "sort" where request == "pixecom.stats.v1.AdsManagerRequest":
            parameter.description = "a metric, \"-\" in front for descending (default -spend)"
            parameter.values = [""] + Self.adsManagerMetrics.flatMap { [$0, "-" + $0] }
        case "filter" where request == "pixecom.stats.v1.AdsManagerRequest":
            parameter.description = "thresholds joined by \",\", e.g. roas<1.2,spend>5000 (money in minor units)"
            let metric = "(" + Self.adsManagerMetrics.joined(separator: "|") + ")"
            let clause = metric + "(<=|>=|<|>|=)-?[0-9]{1,12}(\\.[0-9]{1,6})?"
            parameter.pattern = "^$|^" + clause + "(," + clause + "){0,9}$"
        case "since", "until":
            guard
                ["pixecom.stats.v1.GetCampaignStatsRequest", "pixecom.stats.v1.AdsManagerRequest", "pixecom.stats.v1.StatsRequest"]
                    .contains(request)
            else { break }
            parameter.description =
                parameter.name == "since" ? "first day, YYYY-MM-DD" : "last day, YYYY-MM-DD, at most 365 days after since"
            (parameter.format, parameter.pattern) = ("date", "^[0-9]{4}-[0-9]{2}-[0-9]{2}$")
            parameter.isRequired = true
        default:
            break
        }
    }

    /// The answer of login, refresh, accepting an invitation and changing one's password: the
    /// token pair without the refresh token, which travels only in the cookie.
    static var tokenAnswerSchema: [String: Any] {
        [
            "type": "object",
            "additionalProperties": false,
            "required": ["accessToken", "expiresIn", "sellerId", "userId"],
            "properties": [
                "accessToken": ["type": "string"],
                "expiresIn": [
                    "type": "string", "format": "int64", "pattern": "^[0-9]+$", "description": "seconds until the access token expires",
                ],
                "sellerId": ["type": "string", "format": "uuid"],
                "userId": ["type": "string", "format": "uuid"],
            ],
        ]
    }

    /// The generated schemas with `constraints` applied.
    static func constrained(_ schemas: [String: Any]) -> [String: Any] {
        var schemas = schemas
        for (name, constraint) in Self.constraints {
            guard var schema = schemas[name] as? [String: Any] else { continue }
            var properties = schema["properties"] as? [String: Any] ?? [:]
            for (field, extra) in constraint.properties {
                var property = properties[field] as? [String: Any] ?? [:]
                if extra["$ref"] != nil || property["$ref"] != nil { property = [:] }
                if extra["anyOf"] != nil { property = [:] }
                property.merge(extra) { _, new in new }
                properties[field] = property
            }
            for field in constraint.removed { properties[field] = nil }
            // In a request, null is a field's default value (the proto3 JSON mapping): an optional
            // field may be null. PATCH bodies excepted, where a field named is a field changed,
            // but for the fields whose default is a value of its own (`resettable`). An enum lists
            // null too: OpenAPI 3.0 checks `enum` after `nullable`.
            let resettable = Self.resettable[name] ?? []
            if name.hasSuffix("Request") || Self.requestParts.contains(name) {
                for (field, value) in properties where !constraint.required.contains(field) {
                    guard !Self.updateRequests.contains(name) || resettable.contains(field) else { continue }
                    guard var property = value as? [String: Any] else { continue }
                    if let reference = property["$ref"] { property = ["allOf": [["$ref": reference]]] }
                    property["nullable"] = true
                    if let values = property["enum"] as? [Any] { property["enum"] = values + [NSNull()] }
                    properties[field] = property
                }
            }
            schema["properties"] = properties
            if !constraint.required.isEmpty { schema["required"] = constraint.required }
            schemas[name] = schema
        }
        // A change names at least one field.
        for name in Self.updateRequests {
            guard var update = schemas[name] as? [String: Any] else { continue }
            update["minProperties"] = 1
            schemas[name] = update
        }
        return schemas
    }
}
