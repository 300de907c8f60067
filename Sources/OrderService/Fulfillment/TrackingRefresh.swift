import Foundation
import Logging
import PostgresNIO
import RPCKit
import ServiceKit

/// The job that brings shipments' tracking up to date from the tracking provider (17TRACK), run
/// by cron. It reads the shipments due (a tracking number, not cancelled, not delivered or
/// expired, not checked within `interval`) across sellers through the `tracking_due` policy,
/// then, 40 numbers a call and no faster than the provider's 3 requests a second: registers the
/// numbers not yet registered, reads their tracking, and writes each shipment's status and new
/// tracking events back as its seller. No transaction is open while the provider is called.
///
/// A failure of a whole call ends the run where it is (what was written stays; the rest is still
/// due at the next run): HTTP 429 or an outage waits for the next run, a refused key or an
/// exhausted quota is logged as an error for the operator. A number the provider rejects gets
/// the provider's message in `tracking_error` and is tried again after `interval`.
struct TrackingRefresh: JobKind {
    struct Args: Codable, Sendable, Equatable {}

    static var name: String { "orders.tracking_refresh" }
    static var maxAttempts: Int { 3 }
    static var timeout: Duration { .seconds(900) }

    let db: PostgresClient
    let provider: TrackingProvider
    /// How long a moving shipment waits between look-ups.
    var interval: Duration = .seconds(4 * 3600)
    /// Shipments looked at per run.
    var limit = 2000
    /// The wait between two calls to the provider.
    var pause: Duration = .milliseconds(350)

    func run(_ job: JobContext<Args>) async throws -> JobOutcome {
        let summary = try await self.refresh(logger: job.logger)
        if let failure = summary.failure {
            job.logger.error("tracking.refresh.stopped", metadata: ["error": "\(failure)", "tracking.checked": "\(summary.checked)"])
        }
        return .completed
    }

    /// What one run did.
    struct Summary: Sendable, Equatable {
        var due = 0
        var registered = 0
        var checked = 0
        var rejected = 0
        var eventsAdded = 0
        /// Why the run stopped early, if it did.
        var failure: TrackingProvider.Failure?
    }

    /// A shipment due for a look-up.
    struct Due: Sendable, Hashable {
        var sellerID: UUID
        var id: UUID
        var carrier: String
        var number: String
        var registered: Bool

        var item: TrackingProvider.Item { TrackingProvider.Item(number: self.number, carrier: Carriers.carrier(named: self.carrier)?.code) }
    }

    func refresh(logger: Logger) async throws -> Summary {
        let due = try await self.due(logger: logger)
        var summary = Summary(due: due.count)
        var calls = 0
        func paced<T>(_ call: () async throws(TrackingProvider.Failure) -> T) async throws(TrackingProvider.Failure) -> T {
            if calls > 0 { try? await Task.sleep(for: self.pause) }
            calls += 1
            return try await call()
        }
        // One look-up per number, whoever's shipments carry it.
        let byNumber = Dictionary(grouping: due, by: \.number)
        let numbers = byNumber.keys.sorted()
        do {
            for start in stride(from: 0, to: numbers.count, by: TrackingProvider.maxNumbersPerCall) {
                let batch = numbers[start..<min(start + TrackingProvider.maxNumbersPerCall, numbers.count)]
                var rejected: [String: String] = [:]
                let unregistered = batch.filter { number in byNumber[number]!.contains { !$0.registered } }
                if !unregistered.isEmpty {
                    let registration = try await paced { () async throws(TrackingProvider.Failure) in
                        try await self.provider.register(unregistered.map { byNumber[$0]![0].item })
                    }
                    summary.registered += registration.accepted.count
                    for rejection in registration.rejected where rejection.error.code != TrackingProvider.alreadyRegistered {
                        rejected[rejection.number] = Self.message(rejection)
                    }
                }
                let registered = batch.filter { rejected[$0] == nil }
                if !registered.isEmpty {
                    let (infos, infoRejections) = try await paced { () async throws(TrackingProvider.Failure) in
                        try await self.provider.trackInfo(registered.map { byNumber[$0]![0].item })
                    }
                    for rejection in infoRejections { rejected[rejection.number] = Self.message(rejection) }
                    for info in infos {
                        for shipment in byNumber[info.number] ?? [] {
                            do {
                                summary.eventsAdded += try await self.apply(info, to: shipment, logger: logger)
                                summary.checked += 1
                            } catch {
                                // This shipment's report could not be stored: say so on it and go
                                // on with the others (it is tried again after the interval).
                                logger.warning(
                                    "tracking.apply_failed",
                                    metadata: ["fulfillment.id": "\(shipment.id)", "error": "\(String(reflecting: error))"])
                                try await self.recordRejection("could not store the provider's report", of: shipment, logger: logger)
                                summary.rejected += 1
                            }
                        }
                    }
                }
                for (number, message) in rejected {
                    for shipment in byNumber[number] ?? [] {
                        try await self.recordRejection(message, of: shipment, logger: logger)
                        summary.rejected += 1
                    }
                }
            }
        } catch let failure as TrackingProvider.Failure {
            summary.failure = failure
        }
        logger.info(
            "tracking.refresh.done",
            metadata: [
                "tracking.due": "\(summary.due)", "tracking.checked": "\(summary.checked)", "tracking.registered": "\(summary.registered)",
                "tracking.rejected": "\(summary.rejected)", "tracking.events_added": "\(summary.eventsAdded)",
            ])
        return summary
    }

    private static func message(_ rejection: TrackingProvider.Rejection) -> String {
        "\(rejection.error.message ?? "rejected") (\(rejection.error.code))"
    }

    /// The shipments due, least recently checked first.
    func due(logger: Logger) async throws -> [Due] {
        let cutoff = Date().addingTimeInterval(-Double(self.interval.components.seconds))
        return try await self.db.withTransaction(logger: logger) { connection in
            try await connection.query("SELECT set_config('app.tracking_refresh', 'on', true)", logger: logger)
            let rows = try await connection.query(
                """
                SELECT seller_id, id, carrier, tracking_number, tracking_registered_at IS NOT NULL FROM fulfillments
                WHERE tracking_number <> '' AND cancelled_at IS NULL AND shipment_status NOT IN ('DELIVERED', 'SHIPMENT_EXPIRED')
                  AND (tracking_checked_at IS NULL OR tracking_checked_at < \(cutoff))
                ORDER BY tracking_checked_at NULLS FIRST
                LIMIT \(self.limit)
                """,
                logger: logger
            )
            var due: [Due] = []
            for try await (seller, id, carrier, number, registered) in rows.decode((UUID, UUID, String, String, Bool).self) {
                due.append(Due(sellerID: seller, id: id, carrier: carrier, number: number, registered: registered))
            }
            return due
        }
    }

    /// Writes what the provider reported for `shipment`, as its seller; returns the tracking
    /// events that were new. Nothing is written if the shipment's number changed meanwhile.
    /// Text from the provider as a column takes it: no NUL (PostgreSQL text refuses it), at most
    /// `limit` characters as PostgreSQL counts them (Unicode scalars).
    static func clean(_ text: String, limit: Int) -> String {
        var scalars = String.UnicodeScalarView()
        for scalar in text.unicodeScalars where scalar != "\0" {
            guard scalars.count < limit else { break }
            scalars.append(scalar)
        }
        return String(scalars)
    }

    func apply(_ info: TrackingProvider.TrackInfo, to shipment: Due, logger: Logger) async throws -> Int {
        let status = ShipmentStatus(provider: info.status) ?? .unknown
        let events = info.events.map { event in
            (
                event.time, Self.clean(event.description, limit: 500),
                (ShipmentStatus(provider: event.subStatus) ?? status).rawValue, Self.clean(event.subStatus, limit: 100),
                Self.clean(event.location, limit: 200)
            )
        }
        let deliveredAt =
            status == .delivered ? (info.events.first { ShipmentStatus(provider: $0.subStatus) == .delivered }?.time ?? Date()) : nil
        return try await self.db.withSeller(shipment.sellerID, logger: logger) { connection in
            let updated = try await connection.query(
                """
                UPDATE fulfillments SET shipment_status = \(status.rawValue), shipment_sub_status = \(Self.clean(info.subStatus, limit: 100)),
                    delivered_at = CASE WHEN \(status.rawValue) = 'DELIVERED' THEN coalesce(delivered_at, \(deliveredAt)) END,
                    tracking_registered_at = coalesce(tracking_registered_at, now()), tracking_checked_at = now(), tracking_error = '',
                    updated_at = now()
                WHERE seller_id = \(shipment.sellerID) AND id = \(shipment.id) AND tracking_number = \(shipment.number)
                RETURNING id
                """,
                logger: logger
            )
            var stillCurrent = false
            for try await _ in updated.decode(UUID.self) { stillCurrent = true }
            guard stillCurrent, !events.isEmpty else { return 0 }
            let inserted = try await connection.query(
                """
                INSERT INTO tracking_events (seller_id, fulfillment_id, occurred_at, description, status, sub_status, location)
                SELECT \(shipment.sellerID), \(shipment.id), e.at, e.description, e.status, e.sub_status, e.location
                FROM unnest(\(events.map(\.0))::timestamptz[], \(events.map(\.1))::text[], \(events.map(\.2))::text[],
                            \(events.map(\.3))::text[], \(events.map(\.4))::text[])
                    AS e (at, description, status, sub_status, location)
                ON CONFLICT DO NOTHING
                RETURNING occurred_at
                """,
                logger: logger
            )
            var added = 0
            for try await _ in inserted.decode(Date.self) { added += 1 }
            return added
        }
    }

    private func recordRejection(_ message: String, of shipment: Due, logger: Logger) async throws {
        try await self.db.withSeller(shipment.sellerID, logger: logger) { connection in
            try await connection.query(
                """
                UPDATE fulfillments SET tracking_error = \(Self.clean(message, limit: 500)), tracking_checked_at = now(), updated_at = now()
                WHERE seller_id = \(shipment.sellerID) AND id = \(shipment.id) AND tracking_number = \(shipment.number)
                """,
                logger: logger
            )
        }
    }
}
