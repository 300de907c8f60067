import Foundation
import PixEcomProtos
import RPCKit
import ServiceKit

/// Imports of orders and fulfillments from CSV (docs/API.md, "Imports").
extension OrderHandlers {
    var imports: OrderImportStore { OrderImportStore(db: self.store.db) }

    func startOrderImport(_ request: Pixecom_Orders_V1_StartOrderImportRequest, context: ServerContext) async throws
        -> Pixecom_Orders_V1_OrderImport
    {
        let sellerID = try await self.seller(context)
        var violations = FieldViolations()
        var kind: ImportKind?
        switch request.kind {
        case .orders: kind = .orders
        case .fulfillments: kind = .fulfillments
        default: violations.add(field: "kind", "must be ORDERS or FULFILLMENTS")
        }
        let name = try violations.check { try RequestValidation.text(request.name, field: "name", maxLength: 255) }
        if request.sizeBytes < 1 || request.sizeBytes > OrderImportStore.maxFileBytes {
            violations.add(field: "size_bytes", "must be 1 to \(OrderImportStore.maxFileBytes) bytes (256 MiB), got \(request.sizeBytes)")
        }
        let key = try violations.check { try OrderValidation.idempotencyKey(context.metadata) }
        try violations.throwIfAny()
        guard let kind, let name, let key else { throw RPCError(.internal, "import validation left a field unset") }
        let claim = try key.map { try IdempotencyClaim(key: $0, method: OrderMethods.startOrderImport, request: request) }
        let (started, _) = try await self.store.idempotent(claim, sellerID: sellerID, logger: context.logger) { connection in
            try await OrderImportStore.start(
                kind: kind, name: name, sizeBytes: request.sizeBytes, dryRun: request.dryRun, sellerID: sellerID, on: connection,
                logger: context.logger
            ).proto
        }
        return started
    }

    func appendOrderImport(_ request: Pixecom_Orders_V1_AppendOrderImportRequest, context: ServerContext) async throws
        -> Pixecom_Orders_V1_OrderImport
    {
        let sellerID = try await self.seller(context)
        var violations = FieldViolations()
        let id = try violations.check { try RequestValidation.id(request.importID, field: "import_id") }
        if request.offset < 0 { violations.add(field: "offset", "must be 0 or more, got \(request.offset)") }
        if request.data.isEmpty || request.data.count > OrderImportStore.maxChunkBytes {
            violations.add(field: "data", "must be 1 to \(OrderImportStore.maxChunkBytes) bytes, got \(request.data.count)")
        }
        try violations.throwIfAny()
        guard let id else { throw RPCError(.internal, "import validation left a field unset") }
        return try await self.imports.append(id, offset: request.offset, data: request.data, sellerID: sellerID, logger: context.logger)
            .proto
    }

    func finishOrderImport(_ request: Pixecom_Orders_V1_FinishOrderImportRequest, context: ServerContext) async throws
        -> Pixecom_Orders_V1_OrderImport
    {
        let sellerID = try await self.seller(context)
        let id = try RequestValidation.id(request.importID, field: "import_id")
        return try await self.imports.finish(id, sellerID: sellerID, logger: context.logger).proto
    }

    func getOrderImport(_ request: Pixecom_Orders_V1_GetOrderImportRequest, context: ServerContext) async throws
        -> Pixecom_Orders_V1_OrderImport
    {
        let sellerID = try await self.seller(context)
        let id = try RequestValidation.id(request.importID, field: "import_id")
        return try await self.imports.get(id, sellerID: sellerID, logger: context.logger).proto
    }

    func listOrderImportErrors(_ request: Pixecom_Orders_V1_ListOrderImportErrorsRequest, context: ServerContext) async throws
        -> Pixecom_Orders_V1_ListOrderImportErrorsResponse
    {
        let sellerID = try await self.seller(context)
        var violations = FieldViolations()
        let id = try violations.check { try RequestValidation.id(request.importID, field: "import_id") }
        if request.pageSize < 0 || request.pageSize > 200 {
            violations.add(field: "page_size", "must be 0 to 200 (0: 50), got \(request.pageSize)")
        }
        var after = 0
        if !request.pageToken.isEmpty {
            let token = request.pageToken
            if token.utf8.count <= 9, token.first != "0", token.utf8.allSatisfy({ (48...57).contains($0) }), let line = Int(token) {
                after = line
            } else {
                violations.add(field: "page_token", "is not a token returned by this API")
            }
        }
        try violations.throwIfAny()
        guard let id else { throw RPCError(.internal, "import validation left a field unset") }
        let limit = request.pageSize == 0 ? 50 : Int(request.pageSize)
        let (errors, more) = try await self.imports.errors(id, after: after, limit: limit, sellerID: sellerID, logger: context.logger)
        var response = Pixecom_Orders_V1_ListOrderImportErrorsResponse()
        response.errors = errors.map { error in
            var proto = Pixecom_Orders_V1_ImportRowError()
            proto.line = Int32(error.line)
            proto.field = error.field
            proto.message = error.message
            return proto
        }
        if more, let last = errors.last { response.nextPageToken = String(last.line) }
        return response
    }
}
