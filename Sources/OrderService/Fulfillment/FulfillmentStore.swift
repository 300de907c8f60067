import Foundation
import Logging
import PixEcomProtos
import PostgresNIO
import RPCKit
import ServiceKit

/// A fulfillment as stored: the units it shipped (as in its history entry), its tracking, and
/// what the tracking provider last reported.
struct FulfillmentRecord: Sendable, Hashable {
    var id: UUID
    var orderID: UUID
    var quantities: [Int32]
    var carrier: String
    var trackingNumber: String
    var trackingURL: String
    var cancelledAt: Date?
    var shipmentStatus: ShipmentStatus
    var shipmentSubStatus: String
    var deliveredAt: Date?
    var checkedAt: Date?
    var trackingError: String
    var createdAt: Date
    var events: [TrackingEventRecord] = []

    var proto: Pixecom_Orders_V1_Fulfillment {
        var fulfillment = Pixecom_Orders_V1_Fulfillment()
        fulfillment.id = self.id.uuidString.lowercased()
        fulfillment.orderID = self.orderID.uuidString.lowercased()
        fulfillment.lines = self.quantities.enumerated().filter { $0.element > 0 }.map { line, quantity in
            Pixecom_Orders_V1_FulfillmentLine.with {
                $0.line = Int32(line)
                $0.quantity = quantity
            }
        }
        fulfillment.carrier = self.carrier
        fulfillment.trackingNumber = self.trackingNumber
        fulfillment.trackingURL = self.trackingURL
        fulfillment.cancelled = self.cancelledAt != nil
        fulfillment.createTime = RequestValidation.timestamp(self.createdAt)
        fulfillment.cancelTime = self.cancelledAt.map(RequestValidation.timestamp) ?? ""
        fulfillment.shipmentStatus = self.shipmentStatus.proto
        fulfillment.shipmentSubStatus = self.shipmentSubStatus
        fulfillment.deliveredTime = self.deliveredAt.map(RequestValidation.timestamp) ?? ""
        fulfillment.trackingCheckTime = self.checkedAt.map(RequestValidation.timestamp) ?? ""
        fulfillment.trackingError = self.trackingError
        fulfillment.events = self.events.map(\.proto)
        return fulfillment
    }
}

struct TrackingEventRecord: Sendable, Hashable {
    var at: Date
    var status: ShipmentStatus
    var subStatus: String
    var description: String
    var location: String

    var proto: Pixecom_Orders_V1_TrackingEvent {
        Pixecom_Orders_V1_TrackingEvent.with {
            $0.time = RequestValidation.timestamp(self.at)
            $0.status = self.status.proto
            $0.subStatus = self.subStatus
            $0.description_p = self.description
            $0.location = self.location
        }
    }
}

/// Fulfillments' rows. Every function runs inside the caller's seller-scoped transaction; the
/// units shipped are recorded in the order's history first (`OrderHistory.Request.fulfill`),
/// under the order's row lock, and the row here only adds the tracking.
enum FulfillmentStore {
    static let columns = """
        id, order_id, line_quantities, carrier, tracking_number, tracking_url, cancelled_at, shipment_status,
        shipment_sub_status, delivered_at, tracking_checked_at, tracking_error, created_at
        """

    static func insert(_ record: FulfillmentRecord, sellerID: UUID, on connection: PostgresConnection, logger: Logger) async throws {
        try await connection.query(
            """
            INSERT INTO fulfillments (seller_id, id, order_id, line_quantities, carrier, tracking_number, tracking_url, created_at)
            VALUES (\(sellerID), \(record.id), \(record.orderID), \(record.quantities), \(record.carrier), \(record.trackingNumber),
                    \(record.trackingURL), \(record.createdAt))
            """,
            logger: logger
        )
    }

    /// The order's fulfillments, oldest first, each with its tracking events (newest first);
    /// with `id`, only that one.
    static func load(orderID: UUID, id: UUID? = nil, sellerID: UUID, on connection: PostgresConnection, logger: Logger) async throws
        -> [FulfillmentRecord]
    {
        let rows = try await connection.query(
            """
            SELECT \(unescaped: Self.columns) FROM fulfillments
            WHERE seller_id = \(sellerID) AND order_id = \(orderID) AND (\(id)::uuid IS NULL OR id = \(id))
            ORDER BY created_at, id
            """,
            logger: logger
        )
        var records: [FulfillmentRecord] = []
        let types = (UUID, UUID, [Int32], String, String, String, Date?, String, String, Date?, Date?, String, Date).self
        for try await (
            id, orderID, quantities, carrier, number, url, cancelledAt, status, subStatus, deliveredAt, checkedAt, error, createdAt
        )
            in rows.decode(types)
        {
            records.append(
                FulfillmentRecord(
                    id: id, orderID: orderID, quantities: quantities, carrier: carrier, trackingNumber: number, trackingURL: url,
                    cancelledAt: cancelledAt, shipmentStatus: ShipmentStatus(rawValue: status) ?? .unknown, shipmentSubStatus: subStatus,
                    deliveredAt: deliveredAt, checkedAt: checkedAt, trackingError: error, createdAt: createdAt))
        }
        guard !records.isEmpty else { return [] }
        let events = try await connection.query(
            """
            SELECT fulfillment_id, occurred_at, status, sub_status, description, location FROM tracking_events
            WHERE seller_id = \(sellerID) AND fulfillment_id = ANY(\(records.map(\.id))::uuid[])
            ORDER BY occurred_at DESC, description
            """,
            logger: logger
        )
        var byFulfillment: [UUID: [TrackingEventRecord]] = [:]
        for try await (id, at, status, subStatus, description, location) in events.decode((UUID, Date, String, String, String, String).self)
        {
            byFulfillment[id, default: []].append(
                TrackingEventRecord(
                    at: at, status: ShipmentStatus(rawValue: status) ?? .unknown, subStatus: subStatus, description: description,
                    location: location))
        }
        for index in records.indices { records[index].events = byFulfillment[records[index].id] ?? [] }
        return records
    }

    static func one(_ id: UUID, orderID: UUID, sellerID: UUID, on connection: PostgresConnection, logger: Logger) async throws
        -> FulfillmentRecord
    {
        guard let record = try await Self.load(orderID: orderID, id: id, sellerID: sellerID, on: connection, logger: logger).first else {
            throw RPCError.notFound("fulfillment")
        }
        return record
    }

    /// New tracking: what the provider said of the old number no longer applies.
    static func setTracking(
        _ id: UUID, carrier: String, number: String, url: String, sellerID: UUID, on connection: PostgresConnection, logger: Logger
    ) async throws {
        try await connection.query(
            "DELETE FROM tracking_events WHERE seller_id = \(sellerID) AND fulfillment_id = \(id)", logger: logger)
        try await connection.query(
            """
            UPDATE fulfillments SET carrier = \(carrier), tracking_number = \(number), tracking_url = \(url),
                shipment_status = 'SHIPMENT_UNKNOWN', shipment_sub_status = '', delivered_at = NULL,
                tracking_registered_at = NULL, tracking_checked_at = NULL, tracking_error = '', updated_at = now()
            WHERE seller_id = \(sellerID) AND id = \(id)
            """,
            logger: logger
        )
    }

    static func markCancelled(_ id: UUID, sellerID: UUID, on connection: PostgresConnection, logger: Logger) async throws {
        try await connection.query(
            "UPDATE fulfillments SET cancelled_at = now(), updated_at = now() WHERE seller_id = \(sellerID) AND id = \(id)",
            logger: logger)
    }
}

/// The fulfillment requests' fields.
enum FulfillmentValidation {
    static let maxLines = 1000

    /// Units by line position; nil for an empty list (everything not yet shipped).
    static func lines(_ lines: [Pixecom_Orders_V1_FulfillmentLine], field: String = "lines", required: Bool = false) throws -> [Int32]? {
        guard !lines.isEmpty else {
            if required { throw RPCError.invalidArgument(field: field, "must name at least one line and its quantity") }
            return nil
        }
        var units: [Int32] = []
        for (index, line) in lines.enumerated() {
            guard line.line >= 0, line.line < Self.maxLines else {
                throw RPCError.invalidArgument(
                    field: "\(field)[\(index)].line", "must be a line item's position, 0 to \(Self.maxLines - 1)")
            }
            guard line.quantity > 0 else {
                throw RPCError.invalidArgument(field: "\(field)[\(index)].quantity", "must be positive, got \(line.quantity)")
            }
            let position = Int(line.line)
            if units.count <= position { units += [Int32](repeating: 0, count: position + 1 - units.count) }
            guard units[position] == 0 else {
                throw RPCError.invalidArgument(field: "\(field)[\(index)].line", "line \(line.line) is named twice")
            }
            units[position] = line.quantity
        }
        return units
    }

    static func carrier(_ value: String) throws -> String {
        guard !value.isEmpty else { return "" }
        return try RequestValidation.text(value, field: "carrier", maxLength: 64)
    }

    /// Upper-cased, spaces removed: 4 to 64 of A-Z 0-9 and dashes (what carriers print).
    static func trackingNumber(_ value: String) throws -> String {
        let number = value.uppercased().filter { $0 != " " }
        guard !number.isEmpty else { return "" }
        guard (4...64).contains(number.count),
            number.utf8.allSatisfy({ (0x30...0x39).contains($0) || (0x41...0x5A).contains($0) || $0 == 0x2D })
        else {
            throw RPCError.invalidArgument(field: "tracking_number", "must be 4 to 64 letters, digits or dashes")
        }
        return number
    }

    /// An https URL; empty: the carrier's tracking page for the number, when there is a number.
    static func trackingURL(_ value: String, carrier: String, number: String) throws -> String {
        guard !value.isEmpty else { return number.isEmpty ? "" : Carriers.trackingURL(carrier: carrier, number: number) }
        guard value.utf8.count <= 2048, let url = URL(string: value), url.scheme == "https", let host = url.host, !host.isEmpty else {
            throw RPCError.invalidArgument(field: "tracking_url", "must be an https URL of at most 2048 characters")
        }
        return value
    }
}
