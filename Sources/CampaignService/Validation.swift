import Foundation
import PixEcomProtos
import RPCKit
import ServiceKit

/// Parsing of this service's request fields into domain values, each failure naming its field.
/// Generic checks (ids, names, currency, page size) come from `RequestValidation`.
enum CampaignValidation {
    /// The campaign objectives Meta's Marketing API accepts (the ODAX "OUTCOME_" set).
    static let objectives: Set<String> = [
        "OUTCOME_SALES", "OUTCOME_TRAFFIC", "OUTCOME_LEADS",
        "OUTCOME_ENGAGEMENT", "OUTCOME_AWARENESS", "OUTCOME_APP_PROMOTION",
    ]

    /// The largest daily budget accepted, in minor units (10 billion USD a day): far above any real
    /// budget, far below where sums of a few thousand budgets could overflow Int64.
    static let maximumDailyBudget: Int64 = 1_000_000_000_000

    static let maximumURLLength = 2048

    /// Names of objects: 1 to 200 characters after trimming, no control characters (Postgres text
    /// cannot even hold NUL).
    static func name(_ value: String) throws -> String {
        let name = try RequestValidation.text(value, field: "name", maxLength: 200)
        guard !name.unicodeScalars.contains(where: { $0.properties.generalCategory == .control }) else {
            throw RPCError.invalidArgument(field: "name", "must not contain control characters")
        }
        // The column allows 1000 code points: 200 characters of stacked combining marks are refused.
        guard name.unicodeScalars.count <= 1000 else {
            throw RPCError.invalidArgument(field: "name", "must be at most 200 characters")
        }
        return name
    }

    static func objective(_ value: String) throws -> String {
        guard !value.isEmpty else { throw RPCError.invalidArgument(field: "objective", "is required") }
        guard Self.objectives.contains(value) else {
            throw RPCError.invalidArgument(
                field: "objective",
                "must be one of \(Self.objectives.sorted().joined(separator: ", ")), got \"\(value.prefix(64))\""
            )
        }
        return value
    }

    /// A daily budget in minor units of the ad account's currency.
    static func dailyBudget(_ value: Int64, field: String = "daily_budget") throws -> Int64 {
        guard value > 0 else { throw RPCError.invalidArgument(field: field, "must be a positive amount in minor units") }
        guard value <= Self.maximumDailyBudget else {
            throw RPCError.invalidArgument(field: field, "must be at most \(Self.maximumDailyBudget) minor units")
        }
        return value
    }

    /// An IANA time zone name such as "Europe/Berlin" (or "UTC"). Offsets and abbreviations
    /// ("GMT+5", "EST") are refused: stats days are computed in this zone, also by Postgres, which
    /// reads POSIX-style offsets with the opposite sign.
    static func timeZone(_ value: String) throws -> String {
        guard !value.isEmpty else { throw RPCError.invalidArgument(field: "time_zone", "is required") }
        let utcNames: Set<String> = ["UTC", "Etc/UTC"]
        guard value.count <= 64, TimeZone(identifier: value) != nil,
            utcNames.contains(value) || TimeZone.knownTimeZoneIdentifiers.contains(value)
        else {
            throw RPCError.invalidArgument(
                field: "time_zone",
                "must be an IANA time zone name such as America/New_York, got \"\(value.prefix(64))\""
            )
        }
        return value
    }

    /// An absolute http or https URL with a host, at most 2048 characters.
    static func linkURL(_ value: String, field: String = "link_url") throws -> String {
        guard !value.isEmpty else { throw RPCError.invalidArgument(field: field, "is required") }
        guard value.utf8.count <= Self.maximumURLLength else {
            throw RPCError.invalidArgument(field: field, "must be at most \(Self.maximumURLLength) characters")
        }
        guard let components = URLComponents(string: value),
            let scheme = components.scheme?.lowercased(), scheme == "http" || scheme == "https",
            let host = components.host, !host.isEmpty
        else {
            throw RPCError.invalidArgument(field: field, "must be an absolute http or https URL, got \"\(value.prefix(64))\"")
        }
        return value
    }

    /// The status of a new object: PAUSED when unspecified (nothing spends money until the seller
    /// says so); only ACTIVE or PAUSED.
    static func initialStatus(_ value: Pixecom_Campaign_V1_Status) throws -> AdObjectStatus {
        if value == .unspecified { return .paused }
        guard let status = AdObjectStatus(value), status == .active || status == .paused else {
            throw RPCError.invalidArgument(field: "status", "must be ACTIVE or PAUSED for a new object")
        }
        return status
    }

    /// The target of a status change: ACTIVE, PAUSED, ARCHIVED or DELETED.
    static func newStatus(_ value: Pixecom_Campaign_V1_Status) throws -> AdObjectStatus {
        guard let status = AdObjectStatus(value) else {
            throw RPCError.invalidArgument(field: "status", "must be ACTIVE, PAUSED, ARCHIVED or DELETED")
        }
        return status
    }

    /// An optional parent filter of a List request: empty means no filter.
    static func parentFilter(_ value: String) throws -> UUID? {
        value.isEmpty ? nil : try RequestValidation.id(value, field: "parent_id")
    }
}
