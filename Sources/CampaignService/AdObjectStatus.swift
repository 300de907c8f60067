import PixEcomProtos
import RPCKit

/// The status a seller sets on a campaign, ad set or ad: the ad platform's `status` field, stored
/// as its name.
///
/// DELETED is a soft delete: the row stays (stats and orders keep pointing at it), Get still
/// returns it, List leaves it out. As on Meta, DELETED is final and an ARCHIVED object may only be
/// deleted.
enum AdObjectStatus: String, Sendable, CaseIterable, Encodable {
    case active = "ACTIVE"
    case paused = "PAUSED"
    case archived = "ARCHIVED"
    case deleted = "DELETED"

    /// nil for STATUS_UNSPECIFIED and unknown values.
    init?(_ proto: Pixecom_Campaign_V1_Status) {
        switch proto {
        case .active: self = .active
        case .paused: self = .paused
        case .archived: self = .archived
        case .deleted: self = .deleted
        case .unspecified, .UNRECOGNIZED: return nil
        }
    }

    var proto: Pixecom_Campaign_V1_Status {
        switch self {
        case .active: .active
        case .paused: .paused
        case .archived: .archived
        case .deleted: .deleted
        }
    }

    /// Whether children may still be created under an object in this status.
    var acceptsChildren: Bool {
        self == .active || self == .paused
    }

    /// Whether an object in this status may be set to `next`. Setting the current status again is
    /// always allowed (a retried request changes nothing).
    func allowsChange(to next: AdObjectStatus) -> Bool {
        if next == self { return true }
        switch self {
        case .active, .paused: return true
        case .archived: return next == .deleted
        case .deleted: return false
        }
    }

    /// FAILED_PRECONDITION unless `allowsChange(to:)`; `object` names it, e.g. "campaign <id>".
    func checkChange(to next: AdObjectStatus, object: String) throws {
        guard self.allowsChange(to: next) else {
            let rule = self == .deleted ? "a deleted object cannot change status" : "an archived object can only be deleted"
            throw RPCError(.failedPrecondition, "\(object) is \(self.rawValue); \(rule)")
        }
    }
}
