import Foundation
import PixEcomProtos
import RPCKit
import ServiceKit

/// BulkUpdate: up to 500 status or budget changes, each applied as its own Update* (the same
/// checks, the platform first, then one short transaction), a few at a time. A change that fails
/// is reported in its result and the others go on; the request as a whole fails only when it is
/// malformed (no changes, too many, an object named twice, a change that changes nothing).
extension CampaignHandlers {
    static let maximumBulkChanges = 500
    /// Changes in flight at once: enough to overlap the platform's latency, few enough to leave
    /// the database pool to other callers.
    static let bulkConcurrency = 8

    func bulkUpdate(
        _ request: Pixecom_Campaign_V1_BulkUpdateRequest,
        context: ServerContext
    ) async throws -> Pixecom_Campaign_V1_BulkUpdateResponse {
        let caller = try await self.caller(context)
        try Self.checkBulk(request.changes)
        var results = [Pixecom_Campaign_V1_BulkResult?](repeating: nil, count: request.changes.count)
        await withTaskGroup(of: (Int, Pixecom_Campaign_V1_BulkResult).self) { group in
            var next = 0
            func startNext() {
                guard next < request.changes.count else { return }
                let index = next
                let change = request.changes[index]
                next += 1
                group.addTask { (index, await self.apply(change, context: context)) }
            }
            for _ in 0..<Self.bulkConcurrency { startNext() }
            for await (index, result) in group {
                results[index] = result
                startNext()
            }
        }
        var response = Pixecom_Campaign_V1_BulkUpdateResponse()
        response.results = results.map { $0 ?? Pixecom_Campaign_V1_BulkResult() }
        response.succeeded = Int32(response.results.count { $0.code == "OK" })
        response.failed = Int32(response.results.count) - response.succeeded
        caller.logger.info(
            "objects.bulk_updated", metadata: ["bulk.changes": "\(response.results.count)", "bulk.failed": "\(response.failed)"])
        return response
    }

    /// INVALID_ARGUMENT naming the change at fault when the request as a whole is malformed, or a
    /// change is bad whatever its object (a negative budget, a budget on an ad).
    static func checkBulk(_ changes: [Pixecom_Campaign_V1_BulkChange]) throws {
        guard !changes.isEmpty else {
            throw RPCError.invalidArgument(field: "changes", "is required: 1 to \(Self.maximumBulkChanges) changes")
        }
        guard changes.count <= Self.maximumBulkChanges else {
            throw RPCError.invalidArgument(field: "changes", "must hold at most \(Self.maximumBulkChanges) changes, got \(changes.count)")
        }
        var seen: [String: Int] = [:]
        for (index, change) in changes.enumerated() {
            _ = try RequestValidation.id(change.id, field: "changes[\(index)].id")
            guard [.campaign, .adSet, .ad].contains(change.kind) else {
                throw RPCError.invalidArgument(field: "changes[\(index)].kind", "must be CAMPAIGN, AD_SET or AD")
            }
            // What can be checked without the object is checked for all before any applies.
            let path = "changes[\(index)]"
            _ = try CampaignValidation.optionalBudget(change.dailyBudget, field: "\(path).daily_budget")
            _ = try CampaignValidation.optionalBudget(change.lifetimeBudget, field: "\(path).lifetime_budget")
            if change.status != .unspecified, AdObjectStatus(change.status) == nil {
                throw RPCError.invalidArgument(field: "\(path).status", "must be ACTIVE, PAUSED, ARCHIVED or DELETED")
            }
            if change.kind == .ad, change.dailyBudget != 0 || change.lifetimeBudget != 0 {
                throw RPCError.invalidArgument(
                    field: "\(path).\(change.dailyBudget != 0 ? "daily_budget" : "lifetime_budget")", "ads have no budget")
            }
            guard change.status != .unspecified || change.dailyBudget != 0 || change.lifetimeBudget != 0 else {
                throw RPCError.invalidArgument(field: "changes[\(index)]", "changes nothing: set status, dailyBudget or lifetimeBudget")
            }
            let key = "\(change.kind.rawValue)/\(change.id.lowercased())"
            if let first = seen[key] {
                throw RPCError.invalidArgument(field: "changes[\(index)].id", "names the same object as changes[\(first)]")
            }
            seen[key] = index
        }
    }

    /// One change, through the kind's Update*; its error, if any, becomes the result.
    private func apply(_ change: Pixecom_Campaign_V1_BulkChange, context: ServerContext) async -> Pixecom_Campaign_V1_BulkResult {
        var result = Pixecom_Campaign_V1_BulkResult()
        result.kind = change.kind
        result.id = change.id
        var mask: [String] = []
        if change.status != .unspecified { mask.append("status") }
        if change.dailyBudget != 0 { mask.append("daily_budget") }
        if change.lifetimeBudget != 0 { mask.append("lifetime_budget") }
        do {
            switch change.kind {
            case .campaign:
                let campaign = try await self.updateCampaign(Self.update(change, mask: mask), context: context)
                (result.status, result.effectiveStatus) = (campaign.status, campaign.effectiveStatus)
                (result.dailyBudget, result.lifetimeBudget) = (campaign.dailyBudget, campaign.lifetimeBudget)
            case .adSet:
                let adSet = try await self.updateAdSet(Self.update(change, mask: mask), context: context)
                (result.status, result.effectiveStatus) = (adSet.status, adSet.effectiveStatus)
                (result.dailyBudget, result.lifetimeBudget) = (adSet.dailyBudget, adSet.lifetimeBudget)
            default:
                guard change.dailyBudget == 0, change.lifetimeBudget == 0 else {
                    throw RPCError.invalidArgument(
                        field: change.dailyBudget != 0 ? "daily_budget" : "lifetime_budget", "ads have no budget")
                }
                let ad = try await self.updateAd(
                    .with {
                        $0.id = change.id
                        $0.status = change.status
                        $0.updateMask = "status"
                    }, context: context)
                (result.status, result.effectiveStatus) = (ad.status, ad.effectiveStatus)
            }
            result.code = "OK"
        } catch {
            // An RPCError thrown inside a transaction comes out wrapped (RPCErrorConvertible).
            if let error = (error as? RPCError) ?? (error as? any RPCErrorConvertible)?.rpcError {
                result.code = error.code.name
                result.message = error.message
                result.field = error.fieldViolations.first?.field ?? ""
                return result
            }
            context.logger.error(
                "objects.bulk_change_failed", metadata: ["object.id": "\(change.id)", "error": "\(String(reflecting: error))"])
            result.code = RPCError.Code.internal.name
            result.message = "internal error"
        }
        return result
    }

    /// The Update* request of a campaign or ad set change: status and budgets, as `mask` names.
    private static func update<Request: BudgetedUpdateRequest>(_ change: Pixecom_Campaign_V1_BulkChange, mask: [String]) -> Request {
        var request = Request()
        request.id = change.id
        request.status = change.status
        request.dailyBudget = change.dailyBudget
        request.lifetimeBudget = change.lifetimeBudget
        request.updateMask = mask.joined(separator: ",")
        return request
    }
}

/// The Update* requests of objects with a status and budgets (campaigns and ad sets).
protocol BudgetedUpdateRequest {
    init()
    var id: String { get set }
    var status: Pixecom_Campaign_V1_Status { get set }
    var dailyBudget: Int64 { get set }
    var lifetimeBudget: Int64 { get set }
    var updateMask: String { get set }
}

extension Pixecom_Campaign_V1_UpdateCampaignRequest: BudgetedUpdateRequest {}
extension Pixecom_Campaign_V1_UpdateAdSetRequest: BudgetedUpdateRequest {}
