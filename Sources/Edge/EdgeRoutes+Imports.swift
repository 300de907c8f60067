import Foundation
import HTTPTypes
import Hummingbird
import NIOCore
import NIOFoundationCompat
import PixEcomProtos
import RPCKit
import ServiceKit

/// Order imports, whose bodies are CSV files rather than JSON: written by hand for that
/// (`manual_route` of `AppendOrderImport` in orders.proto). Bodies may be as large as
/// `PIXECOM_HTTP_MAX_UPLOAD_BYTES` (`EdgeConnectionHandler.isUpload`); the edge passes them on in
/// chunks of the service's `max_chunk_bytes`, one RPC each, in order.
///
/// - `POST /v1/order-imports.csv?kind=ORDERS|FULFILLMENTS&name=...&dryRun=true`: a whole file as
///   the body; Start (with the request's Idempotency-Key), the chunks and Finish in one request.
///   The answer is the import, QUEUED: its progress is `GET /v1/order-imports/{importId}`.
/// - `PUT /v1/order-imports/{importId}?offset=N`: the next part of a chunked upload (started with
///   `POST /v1/order-imports`, ended with `POST /v1/order-imports/{importId}/finish`).
extension EdgeRoutes {
    func addImports(to router: Router<EdgeRequestContext>) {
        let orders = self.clients.orders
        let forwarder = self.forwarder

        router.post("/v1/order-imports.csv") { request, context in
            try Self.requireCredentials(request, context)
            var request = request
            let query = request.uri.queryParameters
            try Self.onlyOnce(query, ["kind", "name", "dryRun"])
            var start = Pixecom_Orders_V1_StartOrderImportRequest()
            switch query.get("kind") ?? "" {
            case "ORDERS": start.kind = .orders
            case "FULFILLMENTS": start.kind = .fulfillments
            default: throw RPCError.invalidArgument(field: "kind", "is required in the query: ORDERS or FULFILLMENTS (e.g. ?kind=ORDERS)")
            }
            start.name = query.get("name") ?? ""
            if start.name.isEmpty { throw RPCError.invalidArgument(field: "name", "is required in the query, e.g. ?name=orders.csv") }
            switch query.get("dryRun") ?? "false" {
            case "true": start.dryRun = true
            case "false": start.dryRun = false
            default: throw RPCError.invalidArgument(field: "dryRun", "must be true or false")
            }
            let body = try await request.collectBody(upTo: forwarder.maxUploadBytes)
            guard body.readableBytes > 0 else { throw RPCError.invalidArgument(field: "body", "is empty: send the CSV file as the body") }
            start.sizeBytes = Int64(body.readableBytes)
            var state = try await forwarder.call(
                orders, OrderMethods.startOrderImport, start, as: Pixecom_Orders_V1_OrderImport.self, http: request, context: context)
            state = try await Self.appendImport(
                body, at: 0, to: state, client: orders, forwarder: forwarder, request: request, context: context)
            var finish = Pixecom_Orders_V1_FinishOrderImportRequest()
            finish.importID = state.importID
            let queued = try await forwarder.call(
                orders, OrderMethods.finishOrderImport, finish, as: Pixecom_Orders_V1_OrderImport.self, http: request, context: context)
            return try forwarder.json(queued)
        }

        router.put("/v1/order-imports/:importId") { request, context in
            try Self.requireCredentials(request, context)
            var request = request
            let importID = try context.parameters.require("importId")
            try Self.onlyOnce(request.uri.queryParameters, ["offset"])
            let offsets = request.uri.queryParameters.getAll("offset")
            guard offsets.count == 1, let offset = Int64(offsets[0]), offset >= 0 else {
                throw RPCError.invalidArgument(
                    field: "offset", "is required once in the query: where this part starts, the bytes received so far (e.g. ?offset=0)")
            }
            guard offset <= Self.maxImportOffset else {
                throw RPCError.invalidArgument(field: "offset", "is \(offset); no import is larger than \(Self.maxImportOffset) bytes")
            }
            let body = try await request.collectBody(upTo: forwarder.maxUploadBytes)
            guard body.readableBytes > 0 else { throw RPCError.invalidArgument(field: "body", "is empty: send the next bytes of the file") }
            var state = Pixecom_Orders_V1_OrderImport()
            state.importID = importID
            state.maxChunkBytes = Int32(Self.defaultChunkBytes)
            state = try await Self.appendImport(
                body, at: offset, to: state, client: orders, forwarder: forwarder, request: request, context: context)
            return try forwarder.json(state)
        }
    }

    /// Refuses a query parameter not in `known`, or one given twice: a misspelt `dryrun=true`
    /// must not start a real import.
    static func onlyOnce(_ query: Parameters, _ known: Set<String>) throws {
        var seen: Set<String> = []
        for (name, _) in query {
            let name = String(name)
            guard known.contains(name) else {
                throw RPCError.invalidArgument(
                    field: name, "is not a parameter of this route (it takes \(known.sorted().joined(separator: ", ")))")
            }
            guard seen.insert(name).inserted else { throw RPCError.invalidArgument(field: name, "must be given once") }
        }
    }

    /// The largest offset a part may start at: 256 MiB, the largest import.
    static let maxImportOffset: Int64 = 256 << 20

    /// Sends `bytes` from `offset` as consecutive Append calls; the import as the last one left it.
    static func appendImport(
        _ bytes: ByteBuffer, at offset: Int64, to upload: Pixecom_Orders_V1_OrderImport, client: RPCClient, forwarder: RPCForwarder,
        request: Request, context: EdgeRequestContext
    ) async throws -> Pixecom_Orders_V1_OrderImport {
        var state = upload
        try await Self.inChunks(bytes, from: offset, maxChunkBytes: Int(upload.maxChunkBytes)) { chunkOffset, data in
            var append = Pixecom_Orders_V1_AppendOrderImportRequest()
            append.importID = upload.importID
            append.offset = chunkOffset
            append.data = data
            state = try await forwarder.call(
                client, OrderMethods.appendOrderImport, append, as: Pixecom_Orders_V1_OrderImport.self, http: request, context: context)
        }
        return state
    }
}
