import Foundation
import PixEcomProtos
import RPCKit
import ServiceKit

/// A validated List request: page size and the keyset cursor after which the page starts.
struct PageRequest: Sendable {
    /// The (created_at, id) of the last row of the previous page, created_at in whole
    /// microseconds since 1970 (Postgres' own precision).
    struct Cursor: Sendable {
        var micros: Int64
        var id: UUID
    }

    var size: Int
    var after: Cursor?

    /// INVALID_ARGUMENT naming `page_size` or `page_token` when they are bad.
    init(pageSize: Int32, pageToken: String) throws {
        self.size = try RequestValidation.pageSize(pageSize)
        self.after = try PageToken.decode(pageToken).map { token in
            Cursor(micros: Int64((token.createdAt.timeIntervalSince1970 * 1_000_000).rounded()), id: token.id)
        }
    }
}

/// One page of objects and the token of the next page ("" on the last one).
struct ListPage<Object: StoredObject>: Sendable {
    var objects: [Object]
    var nextPageToken: String

    /// From up to `pageSize + 1` fetched rows: the extra row only proves there is a next page.
    init(fetched: [Object], pageSize: Int) {
        if fetched.count > pageSize, pageSize > 0 {
            self.objects = Array(fetched.prefix(pageSize))
            let last = fetched[pageSize - 1]
            self.nextPageToken = PageToken.encode(createdAt: last.createdAt, id: last.id)
        } else {
            self.objects = fetched
            self.nextPageToken = ""
        }
    }
}

/// The validated filters of a List request (nil: no filter). See `ListCampaignsRequest`.
struct ListFilter: Sendable {
    var parentID: UUID?
    var status: AdObjectStatus?
    var effectiveStatus: String?
    var objective: String?
    var nameContains: String?
    var createdAfter: Date?
    var createdBefore: Date?
    var updatedAfter: Date?
    var updatedBefore: Date?
    /// Assets: IMAGE, VIDEO or TEXT.
    var assetType: String?

    /// The filters every List of campaigns, ad sets and ads shares, each failure naming its field.
    init(
        parentID: String,
        status: Pixecom_Campaign_V1_Status = .unspecified,
        effectiveStatus: String = "",
        nameContains: String = "",
        createdAfter: String = "",
        createdBefore: String = "",
        updatedAfter: String = "",
        updatedBefore: String = ""
    ) throws {
        self.parentID = try CampaignValidation.parentFilter(parentID)
        if status != .unspecified {
            guard let known = AdObjectStatus(status) else {
                throw RPCError.invalidArgument(field: "status", "must be ACTIVE, PAUSED, ARCHIVED or DELETED")
            }
            self.status = known
        }
        if !effectiveStatus.isEmpty {
            self.effectiveStatus = try CampaignValidation.oneOf(
                effectiveStatus, CampaignValidation.effectiveStatuses, field: "effective_status")
        }
        if !nameContains.isEmpty {
            guard nameContains.count <= 200, !nameContains.unicodeScalars.contains(where: { $0.properties.generalCategory == .control })
            else {
                throw RPCError.invalidArgument(field: "name_contains", "must be at most 200 characters, without control characters")
            }
            self.nameContains = nameContains
        }
        self.createdAfter = try CampaignValidation.optionalTime(createdAfter, field: "created_after")
        self.createdBefore = try CampaignValidation.optionalTime(createdBefore, field: "created_before")
        self.updatedAfter = try CampaignValidation.optionalTime(updatedAfter, field: "updated_after")
        self.updatedBefore = try CampaignValidation.optionalTime(updatedBefore, field: "updated_before")
    }

    init(_ request: Pixecom_Campaign_V1_ListCampaignsRequest) throws {
        try self.init(
            parentID: request.parentID, status: request.status, effectiveStatus: request.effectiveStatus,
            nameContains: request.nameContains, createdAfter: request.createdAfter, createdBefore: request.createdBefore,
            updatedAfter: request.updatedAfter, updatedBefore: request.updatedBefore)
        if !request.objective.isEmpty { self.objective = try CampaignValidation.objective(request.objective) }
    }

    init(_ request: Pixecom_Campaign_V1_ListAdSetsRequest) throws {
        try self.init(
            parentID: request.parentID, status: request.status, effectiveStatus: request.effectiveStatus,
            nameContains: request.nameContains, createdAfter: request.createdAfter, createdBefore: request.createdBefore,
            updatedAfter: request.updatedAfter, updatedBefore: request.updatedBefore)
    }

    init(_ request: Pixecom_Campaign_V1_ListAdsRequest) throws {
        try self.init(
            parentID: request.parentID, status: request.status, effectiveStatus: request.effectiveStatus,
            nameContains: request.nameContains, createdAfter: request.createdAfter, createdBefore: request.createdBefore,
            updatedAfter: request.updatedAfter, updatedBefore: request.updatedBefore)
    }
}
