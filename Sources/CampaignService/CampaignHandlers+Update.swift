import Foundation
import PixEcomProtos
import RPCKit
import ServiceKit

/// The paths an Update* request may name, checked before anything is read or changed.
struct UpdateMask: Sendable, Equatable {
    static let campaignPaths = ["name", "status", "daily_budget", "lifetime_budget"]
    static let adSetPaths = [
        "name", "status", "daily_budget", "lifetime_budget", "bid_amount", "roas_average_floor", "targeting", "end_time",
    ]
    static let adPaths = ["name", "status", "link_url"]

    /// The named paths, in snake_case.
    private(set) var paths: Set<String> = []

    /// Parses `update_mask` ("name,dailyBudget,status"; snake_case accepted). An empty mask or a
    /// path not in `allowed` is INVALID_ARGUMENT naming `update_mask`.
    init(_ text: String, allowed: [String]) throws {
        let paths = text.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
        let names = allowed.map(Self.jsonName).joined(separator: ", ")
        guard !paths.isEmpty else {
            throw RPCError.invalidArgument(field: "update_mask", "is required: name the fields to change (\(names))")
        }
        for path in paths {
            let snake = Self.snakeCase(path)
            guard allowed.contains(snake) else {
                throw RPCError.invalidArgument(field: "update_mask", "\"\(path.prefix(40))\" is not a field that can change (\(names))")
            }
            self.paths.insert(snake)
        }
    }

    func contains(_ path: String) -> Bool { self.paths.contains(path) }

    /// "dailyBudget" for "daily_budget": how JSON clients spell a path.
    static func jsonName(_ snake: String) -> String {
        let parts = snake.split(separator: "_")
        return ([String(parts.first ?? "")] + parts.dropFirst().map { $0.prefix(1).uppercased() + $0.dropFirst() }).joined()
    }

    /// "daily_budget" for "dailyBudget"; a snake_case path stays as it is.
    static func snakeCase(_ path: String) -> String {
        var result = ""
        for character in path {
            if character.isUppercase, character.isASCII {
                result += "_" + character.lowercased()
            } else {
                result.append(character)
            }
        }
        return result
    }
}

/// The change an Update* makes: the settings it names (nil: unchanged) and perhaps a status.
struct ObjectChange: Sendable {
    var settings = PlatformSettings()
    var status: AdObjectStatus?

    var touchesSettings: Bool { !self.settings.isEmpty }

    /// A campaign's: the values checked on their own; against the campaign in `checkBudget`.
    init(campaign request: Pixecom_Campaign_V1_UpdateCampaignRequest, mask: UpdateMask) throws {
        if mask.contains("name") { self.settings.name = try CampaignValidation.name(request.name) }
        if mask.contains("daily_budget") { self.settings.dailyBudget = try CampaignValidation.dailyBudget(request.dailyBudget) }
        if mask.contains("lifetime_budget") {
            self.settings.lifetimeBudget = try CampaignValidation.dailyBudget(request.lifetimeBudget, field: "lifetime_budget")
        }
        if mask.contains("status") { self.status = try CampaignValidation.newStatus(request.status) }
    }

    /// An ad set's, checked on their own; against the ad set and its campaign in `checkAdSet`.
    init(adSet request: Pixecom_Campaign_V1_UpdateAdSetRequest, mask: UpdateMask) throws {
        if mask.contains("name") { self.settings.name = try CampaignValidation.name(request.name) }
        if mask.contains("daily_budget") { self.settings.dailyBudget = try CampaignValidation.dailyBudget(request.dailyBudget) }
        if mask.contains("lifetime_budget") {
            self.settings.lifetimeBudget = try CampaignValidation.dailyBudget(request.lifetimeBudget, field: "lifetime_budget")
        }
        if mask.contains("bid_amount") {
            self.settings.bidAmount = try CampaignValidation.dailyBudget(request.bidAmount, field: "bid_amount")
        }
        if mask.contains("roas_average_floor") {
            self.settings.roasAverageFloor = try CampaignValidation.roasAverageFloor(request.roasAverageFloor)
        }
        if mask.contains("targeting") { self.settings.targeting = try CampaignValidation.targeting(request.targeting) }
        if mask.contains("end_time") {
            if request.endTime.isEmpty {
                self.settings.clearsEndTime = true
            } else {
                self.settings.endTime = try CampaignValidation.time(request.endTime, field: "end_time")
            }
        }
        if mask.contains("status") { self.status = try CampaignValidation.newStatus(request.status) }
    }

    init(ad request: Pixecom_Campaign_V1_UpdateAdRequest, mask: UpdateMask) throws {
        if mask.contains("name") { self.settings.name = try CampaignValidation.name(request.name) }
        if mask.contains("link_url") { self.settings.linkURL = try CampaignValidation.linkURL(request.linkURL) }
        if mask.contains("status") { self.status = try CampaignValidation.newStatus(request.status) }
    }

    /// FAILED_PRECONDITION naming the field when the change sets a budget of a type `object`
    /// does not have: the budget's level and type are fixed when the object is created.
    func checkBudget(of object: some StatusBearingObject, holder: String? = nil) throws {
        for (field, given, has) in [
            ("daily_budget", self.settings.dailyBudget, object.budget?.daily),
            ("lifetime_budget", self.settings.lifetimeBudget, object.budget?.lifetime),
        ] where given != nil && has == nil {
            let what = object.budget.map { "has \($0.describe)" } ?? (holder ?? "has no budget")
            throw RPCError(
                .failedPrecondition,
                "\(type(of: object).table.describe(object.id)) \(what); a budget's level and type are set when it is created",
                fieldViolations: [.init(field: field, description: "cannot be set on this \(type(of: object).table.noun)")])
        }
    }

    /// The checks of an ad set change that need the ad set and, for some, its campaign.
    func checkAdSet(_ adSet: AdSetRecord, campaign: () async throws -> CampaignRecord) async throws {
        try self.checkBudget(of: adSet, holder: "has no budget of its own: its campaign's applies")
        let describe = AdSetRecord.table.describe(adSet.id)
        if self.settings.bidAmount != nil, adSet.bidAmount == nil {
            throw RPCError(
                .failedPrecondition, "\(describe) has no bid amount: its campaign's bid strategy sets none",
                fieldViolations: [.init(field: "bid_amount", description: "cannot be set on this ad set")])
        }
        if self.settings.roasAverageFloor != nil, adSet.roasAverageFloor == nil {
            throw RPCError(
                .failedPrecondition, "\(describe) has no ROAS floor: its campaign's bid strategy is not LOWEST_COST_WITH_MIN_ROAS",
                fieldViolations: [.init(field: "roas_average_floor", description: "cannot be set on this ad set")])
        }
        if let end = self.settings.endTime {
            try CampaignValidation.schedule(start: adSet.startTime, end: end)
        }
        guard self.settings.targeting != nil || self.settings.clearsEndTime == true else { return }
        let campaign = try await campaign()
        if let targeting = self.settings.targeting {
            try CampaignValidation.targeting(targeting, allowedBy: campaign)
        }
        if self.settings.clearsEndTime == true, adSet.lifetimeBudget != nil || campaign.lifetimeBudget != nil {
            throw RPCError.invalidArgument(field: "end_time", "is required: a lifetime budget is spent by an end time")
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
    /// `change` parses the request (before anything is read); `verify` checks the change against
    /// the object as read. What `verify` relies on (budget types, bid strategy, categories) is
    /// fixed at creation, so the transaction checks only the status again.
    func update<Object: StatusBearingObject>(
        _ type: Object.Type,
        id text: String,
        context: ServerContext,
        change: () throws -> ObjectChange,
        verify: (ObjectChange, Object) async throws -> Void = { _, _ in }
    ) async throws -> Object {
        let caller = try await self.caller(context)
        let id = try RequestValidation.id(text, field: "id")
        let change = try change()
        let logger = caller.logger
        let read = try await self.objects.get(type, id: id, sellerID: caller.sellerID, logger: logger)
        try read.check(change)
        try await verify(change, read)
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
                try await self.platform.updateSettings(of: object.externalID, change.settings, call: self.call(caller))
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
                var settings = object.settings
                if let adSet = object as? AdSetRecord, adSet.endTime == nil { settings.clearsEndTime = true }
                try await self.platform.updateSettings(of: object.externalID, settings, call: self.call(caller))
            }
            try await self.platform.updateStatus(of: object.externalID, to: object.status, call: self.call(caller))
        } catch {
            caller.logger.warning(
                "object.platform_resend_failed",
                metadata: ["object.external_id": "\(object.externalID)", "error": "\(String(reflecting: error))"])
        }
    }
}
