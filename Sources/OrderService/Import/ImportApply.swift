import Foundation
import Logging
import PostgresNIO
import RPCKit
import ServiceKit

/// What one batch of an import does, inside the batch's transaction.
enum ImportApply {
    /// Orders: each group checked (`ImportRows.order`), those whose name the seller already has
    /// left as they are, the rest written with a few statements for the whole batch (orders, line
    /// items, their first history entries, and the stats events of their money). A dry run stops
    /// before writing.
    static func orders(
        _ groups: [[CSVReader.Row]], header: ImportHeader, record: OrderImportRecord, seen: Set<String>, sellerID: UUID,
        on connection: PostgresConnection, logger: Logger
    ) async throws -> ImportRun.Outcome {
        var outcome = ImportRun.Outcome()
        let now = Date()
        var candidates: [ImportedOrder] = []
        var names = seen
        for group in groups {
            switch ImportRows.order(group, header: header, now: now) {
            case .bad(let errors, let skipped):
                outcome.errors += errors
                outcome.skipped += skipped
            case .order(let order):
                if names.contains(order.reference) {
                    outcome.errors.append(
                        ImportRowError(
                            line: order.lines[0], field: header.has("Name") ? "Name" : "Id",
                            message: "order \(order.reference) has rows earlier in the file: an order's rows must follow each other"))
                    outcome.skipped += order.lines.count - 1
                } else {
                    names.insert(order.reference)
                    candidates.append(order)
                }
            }
        }
        // Names the seller has: from an earlier import (unchanged), or from this one, before a
        // restart (a repeat within the file).
        var existing: [String: UUID?] = [:]
        let rows = try await connection.query(
            """
            SELECT import_reference, import_id FROM orders
            WHERE seller_id = \(sellerID) AND import_reference = ANY(\(candidates.map(\.reference))::text[])
            """,
            logger: logger)
        for try await (reference, importID) in rows.decode((String, UUID?).self) { existing[reference] = importID }
        // Sell pages the seller has.
        let pageIDs = Array(Set(candidates.compactMap(\.sellPageID)))
        var pages: Set<UUID> = []
        if !pageIDs.isEmpty {
            let found = try await connection.query(
                "SELECT id FROM sell_pages WHERE seller_id = \(sellerID) AND id = ANY(\(pageIDs)::uuid[])", logger: logger)
            for try await id in found.decode(UUID.self) { pages.insert(id) }
        }
        var fresh: [ImportedOrder] = []
        for order in candidates {
            if let importID = existing[order.reference] {
                if importID == record.id {
                    outcome.errors.append(
                        ImportRowError(
                            line: order.lines[0], field: header.has("Name") ? "Name" : "Id",
                            message: "order \(order.reference) has rows earlier in the file: an order's rows must follow each other"))
                    outcome.skipped += order.lines.count - 1
                } else {
                    outcome.unchanged += order.lines.count
                }
            } else if let page = order.sellPageID, !pages.contains(page) {
                outcome.errors.append(
                    ImportRowError(line: order.lines[0], field: "Sell Page Id", message: "is not one of the seller's sell pages"))
                outcome.skipped += order.lines.count - 1
            } else {
                fresh.append(order)
            }
        }
        outcome.applied = fresh.reduce(0) { $0 + $1.lines.count }
        outcome.created = fresh.count
        guard !record.dryRun, !fresh.isEmpty else { return outcome }
        try await Self.insert(fresh, importID: record.id, sellerID: sellerID, on: connection, logger: logger)
        return outcome
    }

    /// Writes new orders with their line items, history and stats events.
    static func insert(
        _ orders: [ImportedOrder], importID: UUID, sellerID: UUID, on connection: PostgresConnection, logger: Logger
    ) async throws {
        let ids = orders.map { _ in UUID() }
        let states = orders.map(\.history.state)
        try await connection.query(
            """
            INSERT INTO orders (seller_id, id, import_reference, import_id, currency, total, subtotal, discount, shipping, tax,
                                financial_status, fulfillment_status, order_status, authorized, captured, refunded, charged_back,
                                paid_at, created_at, customer_email, customer_phone,
                                ship_name, ship_line1, ship_line2, ship_city, ship_region, ship_postal_code, ship_country,
                                sell_page_id, utm_source, utm_medium, utm_campaign, utm_content, utm_term)
            SELECT \(sellerID), o.id, o.reference, \(importID), o.currency, o.total, o.subtotal, o.discount, o.shipping, o.tax,
                   o.financial, 'UNFULFILLED', 'OPEN', 0, o.captured, o.refunded, 0,
                   CASE WHEN o.paid THEN o.paid_at END, o.created_at, o.email, o.phone,
                   o.ship_name, o.line1, o.line2, o.city, o.region, o.postal, o.country,
                   NULLIF(o.page, '')::uuid, o.source, o.medium, o.campaign, o.content, o.term
            FROM unnest(\(ids)::uuid[], \(orders.map(\.reference))::text[], \(orders.map(\.currency))::text[],
                        \(orders.map(\.total))::int8[], \(orders.map(\.subtotal))::int8[], \(orders.map(\.discount))::int8[],
                        \(orders.map(\.shipping))::int8[], \(orders.map(\.tax))::int8[],
                        \(states.map(\.financialStatus.rawValue))::text[], \(states.map(\.captured))::int8[],
                        \(states.map(\.refunded))::int8[], \(states.map { $0.paidAt != nil })::bool[],
                        \(states.map { $0.paidAt ?? Date(timeIntervalSince1970: 0) })::timestamptz[],
                        \(orders.map(\.createdAt))::timestamptz[], \(orders.map(\.email))::text[], \(orders.map(\.phone))::text[],
                        \(orders.map(\.address.name))::text[], \(orders.map(\.address.line1))::text[],
                        \(orders.map(\.address.line2))::text[], \(orders.map(\.address.city))::text[],
                        \(orders.map(\.address.region))::text[], \(orders.map(\.address.postalCode))::text[],
                        \(orders.map(\.address.country))::text[],
                        \(orders.map { $0.sellPageID.map { $0.uuidString } ?? "" })::text[],
                        \(orders.map(\.utm.source))::text[], \(orders.map(\.utm.medium))::text[], \(orders.map(\.utm.campaign))::text[],
                        \(orders.map(\.utm.content))::text[], \(orders.map(\.utm.term))::text[])
                AS o(id, reference, currency, total, subtotal, discount, shipping, tax, financial, captured, refunded, paid, paid_at,
                     created_at, email, phone, ship_name, line1, line2, city, region, postal, country, page,
                     source, medium, campaign, content, term)
            """,
            logger: logger)
        var itemOrders: [UUID] = []
        var positions: [Int32] = []
        var skus: [String] = []
        var titles: [String] = []
        var quantities: [Int32] = []
        var prices: [Int64] = []
        for (order, id) in zip(orders, ids) {
            for (position, item) in order.lineItems.enumerated() {
                itemOrders.append(id)
                positions.append(Int32(position))
                skus.append(item.sku)
                titles.append(item.title)
                quantities.append(item.quantity)
                prices.append(item.unitPrice)
            }
        }
        try await connection.query(
            """
            INSERT INTO order_line_items (seller_id, order_id, position, sku, title, quantity, unit_price)
            SELECT \(sellerID), i.order_id, i.position, i.sku, i.title, i.quantity, i.unit_price
            FROM unnest(\(itemOrders)::uuid[], \(positions)::int4[], \(skus)::text[], \(titles)::text[], \(quantities)::int4[],
                        \(prices)::int8[]) AS i(order_id, position, sku, title, quantity, unit_price)
            """,
            logger: logger)
        var eventOrders: [UUID] = []
        var types: [String] = []
        var amounts: [Int64] = []
        var times: [Date] = []
        for (order, id) in zip(orders, ids) {
            for entry in order.history.entries {
                eventOrders.append(id)
                types.append(entry.kind.rawValue)
                amounts.append(entry.amount)
                times.append(entry.at)
            }
        }
        try await connection.query(
            """
            INSERT INTO order_events (seller_id, id, order_id, type, amount, reference, source, reason, created_at, line_quantities)
            SELECT \(sellerID), gen_random_uuid(), e.order_id, e.type, e.amount, '', 'import', '', e.created_at, '{}'::int4[]
            FROM unnest(\(eventOrders)::uuid[], \(types)::text[], \(amounts)::int8[], \(times)::timestamptz[])
                AS e(order_id, type, amount, created_at)
            """,
            logger: logger)
        // The money the imported orders moved, for StatsService like any other.
        var events: [Outbox.Event] = []
        for (order, id) in zip(orders, ids) {
            guard let paidAt = order.paidAt else { continue }
            let locked = LockedOrder(
                id: id, total: order.total, currency: order.currency, utmCampaign: order.utm.campaign, utmContent: order.utm.content,
                sellPageID: order.sellPageID, ordered: order.lineItems.map(\.quantity))
            for entry in order.history.entries {
                guard let kind = StatsEventPublisher.Kind(entry.kind) else { continue }
                events.append(try StatsEventPublisher.event(kind, amount: entry.amount, order: locked, saleAt: paidAt, sellerID: sellerID))
            }
        }
        try await Outbox.enqueueMany(events, on: connection, logger: logger)
    }

    /// Fulfillments: each group (an order and a tracking number, with the SKUs and units shipped,
    /// or every unshipped unit when no row names one) recorded in the order's history under its
    /// row lock like CreateFulfillment; an order that already has an uncancelled fulfillment with
    /// the tracking number is left as it is. A dry run checks each group against the order as the
    /// real run would find it: with the shipments of the file's earlier groups (`planned`, which
    /// the outcome carries on).
    static func fulfillments(
        _ groups: [[CSVReader.Row]], header: ImportHeader, record: OrderImportRecord, seen: Set<String>,
        planned: [UUID: ImportRun.PlannedShipments], sellerID: UUID, on connection: PostgresConnection, logger: Logger
    ) async throws -> ImportRun.Outcome {
        var outcome = ImportRun.Outcome()
        outcome.planned = planned
        for group in groups {
            var checks = group.map { RowChecks($0, header: header) }
            let reference = ImportRows.reference(group[0], header: header)
            let byID =
                !header.value(group[0], "Id").trimmingCharacters(in: .whitespaces).isEmpty && header.has("Id")
                && header.value(group[0], "Name").trimmingCharacters(in: .whitespaces).isEmpty
            let referenceField = byID ? "Id" : "Name"
            if reference.isEmpty { checks[0].add(header.has("Name") ? "Name" : "Id", "is required: the order shipped") }
            let numberText = checks[0].value("Tracking Number")
            var number = ""
            do {
                number = try FulfillmentValidation.trackingNumber(numberText)
                if number.isEmpty { checks[0].add("Tracking Number", "is required") }
            } catch let error as RPCError {
                checks[0].add("Tracking Number", error.fieldViolations.first?.description ?? error.message)
            }
            var carrier = ""
            do {
                carrier = try FulfillmentValidation.carrier(checks[0].value("Tracking Company").trimmingCharacters(in: .whitespaces))
            } catch let error as RPCError {
                checks[0].add("Tracking Company", error.fieldViolations.first?.description ?? error.message)
            }
            var url = ""
            do {
                url = try FulfillmentValidation.trackingURL(
                    checks[0].value("Tracking URL").trimmingCharacters(in: .whitespaces), carrier: carrier, number: number)
            } catch let error as RPCError {
                checks[0].add("Tracking URL", error.fieldViolations.first?.description ?? error.message)
            }
            var lines: [(sku: String, quantity: Int32?)] = []
            for index in checks.indices {
                let sku = checks[index].text("Lineitem sku", maxLength: OrderValidation.maxSKULength)
                let quantity = checks[index].integer("Lineitem quantity", in: OrderValidation.quantityRange)
                if sku.isEmpty && quantity != nil { checks[index].add("Lineitem sku", "is required with a Lineitem quantity") }
                if !sku.isEmpty { lines.append((sku, quantity)) }
            }
            if !lines.isEmpty && lines.count != group.count {
                checks[0].add("Lineitem sku", "is required on every row of a fulfillment that names its items")
            }
            func fail(_ field: String, _ message: String) {
                checks[0].add(field, message)
            }
            var orderID: UUID?
            if checks.allSatisfy(\.isValid) {
                orderID = try await Self.order(reference: reference, byID: byID, sellerID: sellerID, on: connection, logger: logger)
                if orderID == nil {
                    fail(referenceField, byID ? "the seller has no order \(reference)" : "the seller has no order named \(reference)")
                }
            }
            guard checks.allSatisfy(\.isValid), let orderID else {
                let errors = checks.compactMap(\.error)
                outcome.errors += errors
                outcome.skipped += group.count - errors.count
                continue
            }
            let locked = try await OrderStore.lock(orderID, sellerID: sellerID, on: connection, logger: logger)
            let already = try await connection.query(
                """
                SELECT 1 FROM fulfillments
                WHERE seller_id = \(sellerID) AND order_id = \(orderID) AND tracking_number = \(number) AND cancelled_at IS NULL
                """,
                logger: logger)
            var shipped = outcome.planned[orderID]?.numbers.contains(number) ?? false
            for try await _ in already.decode(Int.self) { shipped = true }
            if shipped {
                outcome.unchanged += group.count
                continue
            }
            var history = try await OrderStore.history(of: locked, sellerID: sellerID, on: connection, logger: logger)
            history.entries += outcome.planned[orderID]?.entries ?? []
            var quantities: [Int32]?
            if !lines.isEmpty {
                let items = try await connection.query(
                    "SELECT sku FROM order_line_items WHERE seller_id = \(sellerID) AND order_id = \(orderID) ORDER BY position",
                    logger: logger)
                var skus: [String] = []
                for try await sku in items.decode(String.self) { skus.append(sku) }
                let state = history.state
                var units = [Int32](repeating: 0, count: skus.count)
                for (index, line) in lines.enumerated() {
                    guard let position = skus.firstIndex(of: line.sku) else {
                        checks[index].add("Lineitem sku", "the order has no line item with SKU \(line.sku)")
                        continue
                    }
                    let unshipped = locked.ordered[position] - (position < state.fulfilled.count ? state.fulfilled[position] : 0)
                    units[position] += line.quantity ?? unshipped
                }
                quantities = units
            }
            if checks.allSatisfy(\.isValid) {
                let id = UUID()
                let request = OrderHistory.Request.fulfill(reference: id.uuidString.lowercased(), quantities: quantities)
                if record.dryRun {
                    do {
                        let entry = try history.admit(request)
                        var shipments = outcome.planned[orderID] ?? ImportRun.PlannedShipments()
                        shipments.entries.append(entry)
                        shipments.numbers.insert(number)
                        outcome.planned[orderID] = shipments
                    } catch {
                        fail(error.field.map { $0.hasPrefix("lines") ? "Lineitem quantity" : "" } ?? "", error.message)
                    }
                } else {
                    switch try await OrderStore.attempt(
                        request, orderID: orderID, sellerID: sellerID, source: "import", on: connection, logger: logger)
                    {
                    case .recorded(let entry):
                        try await FulfillmentStore.insert(
                            FulfillmentRecord(
                                id: id, orderID: orderID, quantities: entry.quantities, carrier: carrier, trackingNumber: number,
                                trackingURL: url, shipmentStatus: .unknown, shipmentSubStatus: "", trackingError: "", createdAt: entry.at),
                            sellerID: sellerID, on: connection, logger: logger)
                    case .refused(let refusal, _):
                        fail(refusal.field.map { $0.hasPrefix("lines") ? "Lineitem quantity" : "" } ?? "", refusal.message)
                    }
                }
            }
            let errors = checks.compactMap(\.error)
            if errors.isEmpty {
                outcome.applied += group.count
                outcome.created += 1
            } else {
                outcome.errors += errors
                outcome.skipped += group.count - errors.count
            }
        }
        return outcome
    }

    /// The order a fulfillment row names: by id, or by the name an import gave it.
    private static func order(reference: String, byID: Bool, sellerID: UUID, on connection: PostgresConnection, logger: Logger)
        async throws -> UUID?
    {
        if byID {
            guard let id = UUID(canonical: reference) else { return nil }
            let rows = try await connection.query("SELECT id FROM orders WHERE seller_id = \(sellerID) AND id = \(id)", logger: logger)
            for try await found in rows.decode(UUID.self) { return found }
            return nil
        }
        let rows = try await connection.query(
            "SELECT id FROM orders WHERE seller_id = \(sellerID) AND import_reference = \(reference)", logger: logger)
        for try await found in rows.decode(UUID.self) { return found }
        return nil
    }
}
