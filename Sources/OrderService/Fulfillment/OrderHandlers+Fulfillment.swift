import Foundation
import PixEcomProtos
import RPCKit
import ServiceKit

/// Fulfillments and returns. Each mutating call records its entry in the order's history under
/// the order's row lock (so two shipments of the last unit cannot both pass), writes the
/// fulfillment's row in the same transaction, and runs at most once per idempotency key.
extension OrderHandlers {
    func createFulfillment(_ request: Pixecom_Orders_V1_CreateFulfillmentRequest, context: ServerContext) async throws
        -> Pixecom_Orders_V1_Fulfillment
    {
        let sellerID = try await self.seller(context)
        var violations = FieldViolations()
        let orderID = try violations.check { try RequestValidation.id(request.id, field: "id") }
        let quantities = try violations.check { try FulfillmentValidation.lines(request.lines) }
        let carrier = try violations.check { try FulfillmentValidation.carrier(request.carrier) }
        let number = try violations.check { try FulfillmentValidation.trackingNumber(request.trackingNumber) }
        let key = try violations.check { try OrderValidation.idempotencyKey(context.metadata) }
        try violations.throwIfAny()
        guard let orderID, let quantities, let carrier, let number, let key else {
            throw RPCError(.internal, "fulfillment validation left a field unset")
        }
        let url = try FulfillmentValidation.trackingURL(request.trackingURL, carrier: carrier, number: number)
        let claim = try key.map { try IdempotencyClaim(key: $0, method: OrderMethods.createFulfillment, request: request) }
        let (fulfillment, _) = try await self.store.idempotent(claim, sellerID: sellerID, logger: context.logger) { connection in
            let id = UUID()
            let entry = try await OrderStore.recordEntry(
                .fulfill(reference: id.uuidString.lowercased(), quantities: quantities), orderID: orderID, sellerID: sellerID,
                on: connection, logger: context.logger)
            let record = FulfillmentRecord(
                id: id, orderID: orderID, quantities: entry.quantities, carrier: carrier, trackingNumber: number, trackingURL: url,
                shipmentStatus: .unknown, shipmentSubStatus: "", trackingError: "", createdAt: entry.at)
            try await FulfillmentStore.insert(record, sellerID: sellerID, on: connection, logger: context.logger)
            return record.proto
        }
        return fulfillment
    }

    func updateTracking(_ request: Pixecom_Orders_V1_UpdateTrackingRequest, context: ServerContext) async throws
        -> Pixecom_Orders_V1_Fulfillment
    {
        let sellerID = try await self.seller(context)
        var violations = FieldViolations()
        let orderID = try violations.check { try RequestValidation.id(request.id, field: "id") }
        let id = try violations.check { try RequestValidation.id(request.fulfillmentID, field: "fulfillment_id") }
        let carrier = try violations.check { try FulfillmentValidation.carrier(request.carrier) }
        let number = try violations.check { try FulfillmentValidation.trackingNumber(request.trackingNumber) }
        let key = try violations.check { try OrderValidation.idempotencyKey(context.metadata) }
        if request.trackingNumber.isEmpty { violations.add(field: "tracking_number", "is required") }
        try violations.throwIfAny()
        guard let orderID, let id, let carrier, let number, let key else {
            throw RPCError(.internal, "tracking validation left a field unset")
        }
        let url = try FulfillmentValidation.trackingURL(request.trackingURL, carrier: carrier, number: number)
        let claim = try key.map { try IdempotencyClaim(key: $0, method: OrderMethods.updateTracking, request: request) }
        let (fulfillment, _) = try await self.store.idempotent(claim, sellerID: sellerID, logger: context.logger) { connection in
            // The order's lock orders this change with a cancellation of the same fulfillment.
            _ = try await OrderStore.lock(orderID, sellerID: sellerID, on: connection, logger: context.logger)
            let current = try await FulfillmentStore.one(id, orderID: orderID, sellerID: sellerID, on: connection, logger: context.logger)
            guard current.cancelledAt == nil else {
                throw RPCError(.failedPrecondition, "fulfillment \(id.uuidString.lowercased()) is cancelled; its tracking cannot change")
            }
            try await FulfillmentStore.setTracking(
                id, carrier: carrier, number: number, url: url, sellerID: sellerID, on: connection, logger: context.logger)
            return try await FulfillmentStore.one(id, orderID: orderID, sellerID: sellerID, on: connection, logger: context.logger).proto
        }
        return fulfillment
    }

    func cancelFulfillment(_ request: Pixecom_Orders_V1_CancelFulfillmentRequest, context: ServerContext) async throws
        -> Pixecom_Orders_V1_Fulfillment
    {
        let sellerID = try await self.seller(context)
        var violations = FieldViolations()
        let orderID = try violations.check { try RequestValidation.id(request.id, field: "id") }
        let id = try violations.check { try RequestValidation.id(request.fulfillmentID, field: "fulfillment_id") }
        let key = try violations.check { try OrderValidation.idempotencyKey(context.metadata) }
        try violations.throwIfAny()
        guard let orderID, let id, let key else { throw RPCError(.internal, "fulfillment validation left a field unset") }
        let claim = try key.map { try IdempotencyClaim(key: $0, method: OrderMethods.cancelFulfillment, request: request) }
        let (fulfillment, _) = try await self.store.idempotent(claim, sellerID: sellerID, logger: context.logger) { connection in
            _ = try await OrderStore.recordEntry(
                .cancelFulfillment(reference: id.uuidString.lowercased()), orderID: orderID, sellerID: sellerID, on: connection,
                logger: context.logger)
            try await FulfillmentStore.markCancelled(id, sellerID: sellerID, on: connection, logger: context.logger)
            return try await FulfillmentStore.one(id, orderID: orderID, sellerID: sellerID, on: connection, logger: context.logger).proto
        }
        return fulfillment
    }

    func listFulfillments(_ request: Pixecom_Orders_V1_ListFulfillmentsRequest, context: ServerContext) async throws
        -> Pixecom_Orders_V1_ListFulfillmentsResponse
    {
        let sellerID = try await self.seller(context)
        let orderID = try RequestValidation.id(request.id, field: "id")
        return try await self.store.db.withSeller(sellerID, logger: context.logger) { connection in
            // NOT_FOUND for an order the seller does not have, rather than an empty list.
            _ = try await OrderStore.load(orderID, sellerID: sellerID, on: connection, logger: context.logger)
            var response = Pixecom_Orders_V1_ListFulfillmentsResponse()
            response.fulfillments = try await FulfillmentStore.load(
                orderID: orderID, sellerID: sellerID, on: connection, logger: context.logger
            ).map(\.proto)
            return response
        }
    }

    func recordReturn(_ request: Pixecom_Orders_V1_RecordReturnRequest, context: ServerContext) async throws -> Pixecom_Orders_V1_Order {
        try await self.transaction(OrderMethods.recordReturn, request, id: request.id, context: context) { violations in
            let quantities = try violations.check { try FulfillmentValidation.lines(request.lines, required: true) }
            let reference = try violations.check { try OrderValidation.reference(request.reference) }
            let note = try violations.check { try OrderValidation.note(request.reason) }
            guard let quantities = quantities.flatMap({ $0 }), let reference, let note else { return nil }
            return .recordReturn(quantities: quantities, reference: reference, note: note)
        }
    }
}
