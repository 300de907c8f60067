import Foundation
import PixEcomProtos
import RPCKit
import ServiceKit

/// The paths an `UpdateRequest` may name, checked before anything changes.
struct UpdateMask: Sendable, Equatable {
    var name = false
    var dailyBudget = false
    var status = false

    /// Parses `update_mask` ("name,dailyBudget,status"; snake_case accepted). An empty mask, an
    /// unknown path or `daily_budget` on an object without one is INVALID_ARGUMENT naming
    /// `update_mask`.
    init(_ text: String, hasBudget: Bool, noun: String) throws {
        let paths = text.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
        guard !paths.isEmpty else {
            throw RPCError.invalidArgument(field: "update_mask", "is required: name the fields to change, e.g. \"name,dailyBudget\"")
        }
        for path in paths {
            switch path {
            case "name": self.name = true
            case "status": self.status = true
            case "daily_budget" where hasBudget, "dailyBudget" where hasBudget: self.dailyBudget = true
            case "daily_budget", "dailyBudget":
                throw RPCError.invalidArgument(field: "update_mask", "\(noun)s have no daily_budget")
            default:
                throw RPCError.invalidArgument(
                    field: "update_mask",
                    "\"\(path.prefix(40))\" is not a field that can change (name, \(hasBudget ? "dailyBudget, " : "")status)")
            }
        }
    }
}

/// Update*: the masked fields, on the ad platform and here. Setting a field to its current value
/// changes nothing (a retry is harmless).
///
/// The platform is called with no transaction open: the object is read (one round trip) and the
/// change checked against it, the platform changed, then the change stored in a transaction that
/// locks the row and checks it again (`ObjectStore.update`). The platform goes first so that its
/// refusal leaves nothing changed here. Two updates of one object may reach the platform in one
/// order and the database in the other; the one that finds the row changed since its read sends
/// the stored values to the platform again, so both end up agreeing. A crash after the platform
/// call leaves the platform ahead of the row until the caller retries (the update is
/// idempotent) or the next update of the object.
extension CampaignHandlers {
    func update<Object: StatusBearingObject>(
        _ type: Object.Type,
        _ request: Pixecom_Campaign_V1_UpdateRequest,
        hasBudget: Bool,
        context: ServerContext
    ) async throws -> Object {
        let caller = try await self.caller(context)
        let id = try RequestValidation.id(request.id, field: "id")
        let mask = try UpdateMask(request.updateMask, hasBudget: hasBudget, noun: type.table.noun)
        let change = ObjectChange(
            name: mask.name ? try CampaignValidation.name(request.name) : nil,
            dailyBudget: mask.dailyBudget ? try CampaignValidation.dailyBudget(request.dailyBudget) : nil,
            status: mask.status ? try CampaignValidation.newStatus(request.status) : nil
        )
        let logger = caller.logger
        let read = try await self.objects.get(type, id: id, sellerID: caller.sellerID, logger: logger)
        try read.check(change)
        try await self.push(change, to: read, caller)
        let (object, interleaved) = try await self.objects.update(type, change, since: read, sellerID: caller.sellerID, logger: logger)
        if interleaved {
            await self.resend(object, caller)
        }
        if let status = change.status, read.status != status {
            logger.info(
                "object.status_changed",
                metadata: [
                    "object.kind": "\(type.table.noun)", "object.id": "\(id.wireText)",
                    "object.status.from": "\(read.status.rawValue)", "object.status.to": "\(status.rawValue)",
                ]
            )
        }
        return object
    }

    /// Sends `change` to the platform copy of `object` (what differs from `object`'s status only).
    private func push<Object: StatusBearingObject>(_ change: ObjectChange, to object: Object, _ caller: Caller) async throws {
        if change.touchesSettings {
            try await self.onPlatform {
                try await self.platform.updateSettings(
                    of: object.externalID, name: change.name, dailyBudget: change.dailyBudget, call: self.call(caller))
            }
        }
        if let status = change.status, status != object.status {
            try await self.onPlatform {
                try await self.platform.updateStatus(of: object.externalID, to: status, call: self.call(caller))
            }
        }
    }

    /// Sends the stored state of `object` to the platform again, after another update interleaved
    /// with this one. The row is already committed, so a failure here is logged, not answered.
    private func resend<Object: StatusBearingObject>(_ object: Object, _ caller: Caller) async {
        do {
            if object.status != .deleted {
                try await self.platform.updateSettings(
                    of: object.externalID, name: object.name, dailyBudget: object.budget, call: self.call(caller))
            }
            try await self.platform.updateStatus(of: object.externalID, to: object.status, call: self.call(caller))
        } catch {
            caller.logger.warning(
                "object.platform_resend_failed",
                metadata: ["object.external_id": "\(object.externalID)", "error": "\(String(reflecting: error))"])
        }
    }
}
