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

/// Update*: the masked fields, here and on the ad platform, in one transaction. Setting a field
/// to its current value changes nothing (a retry is harmless).
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
        let name = mask.name ? try CampaignValidation.name(request.name) : nil
        let budget = mask.dailyBudget ? try CampaignValidation.dailyBudget(request.dailyBudget) : nil
        let status = mask.status ? try CampaignValidation.newStatus(request.status) : nil
        let logger = caller.logger
        let (object, previous) = try await self.db.withSeller(caller.sellerID, logger: logger) { connection in
            let current = try await ObjectQueries.require(
                type, sellerID: caller.sellerID, id: id, lock: .update, on: connection, logger: logger)
            if let status { try current.status.checkChange(to: status, object: type.table.describe(id)) }
            if name != nil || budget != nil {
                guard current.status != .deleted else {
                    throw RPCError(.failedPrecondition, "\(type.table.describe(id)) is DELETED and cannot change")
                }
                try await ObjectQueries.setSettings(
                    type, name: name, dailyBudget: budget, sellerID: caller.sellerID, id: id, on: connection, logger: logger)
                try await self.onPlatform {
                    try await self.platform.updateSettings(
                        of: current.externalID, name: name, dailyBudget: budget, call: self.call(caller, connection))
                }
            }
            if let status, status != current.status {
                _ = try await ObjectQueries.setStatus(type, status, sellerID: caller.sellerID, id: id, on: connection, logger: logger)
                try await self.onPlatform {
                    try await self.platform.updateStatus(of: current.externalID, to: status, call: self.call(caller, connection))
                }
            }
            let updated = try await ObjectQueries.require(type, sellerID: caller.sellerID, id: id, on: connection, logger: logger)
            return (updated, current.status)
        }
        if let status, previous != status {
            logger.info(
                "object.status_changed",
                metadata: [
                    "object.kind": "\(type.table.noun)", "object.id": "\(id.wireText)",
                    "object.status.from": "\(previous.rawValue)", "object.status.to": "\(status.rawValue)",
                ]
            )
        }
        return object
    }
}
