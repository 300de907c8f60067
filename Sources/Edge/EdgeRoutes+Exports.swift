import Foundation
import HTTPTypes
import Hummingbird
import NIOCore
import PixEcomProtos
import RPCKit
import ServiceKit

/// CSV downloads, streamed: the service's chunks go out as HTTP chunks as they arrive, so the
/// edge holds one chunk at a time however large the file (`manual_route` of `ExportOrders` in
/// orders.proto: the answer is a file, not one JSON message).
///
/// - `GET /v1/orders.csv?createdAfter=&createdBefore=&financialStatus=&fulfillmentStatus=&status=&sellPageId=`:
///   the seller's orders, one row per line item (docs/API.md has the columns).
///
/// The status line waits for the service's first chunk: a refusal (a bad filter, a missing
/// token) is still an ordinary JSON error. A failure after that ends the connection without the
/// last chunk, which HTTP clients report as an incomplete download.
extension EdgeRoutes {
    func addExports(to router: Router<EdgeRequestContext>) {
        let orders = self.clients.orders
        let forwarder = self.forwarder

        router.get("/v1/orders.csv") { request, context in
            try Self.requireCredentials(request, context)
            var export = Pixecom_Orders_V1_ExportOrdersRequest()
            let query = request.uri.queryParameters
            // A filter named with no value is a mistake, not "no filter": leave it out for that.
            for name in ["createdAfter", "createdBefore", "sellPageId", "financialStatus", "fulfillmentStatus", "status"]
            where query.get(name)?.isEmpty == true {
                throw RPCError.invalidArgument(field: name, "is empty; leave the parameter out to not filter by it")
            }
            export.createdAfter = query.get("createdAfter") ?? ""
            export.createdBefore = query.get("createdBefore") ?? ""
            export.sellPageID = query.get("sellPageId") ?? ""
            // The statuses by their enum value names, read as the proto3 JSON mapping reads them.
            for field in ["financialStatus", "fulfillmentStatus", "status"] {
                guard let text = query.get(field), !text.isEmpty else { continue }
                let json = "{\"\(field)\": \(String(decoding: try JSONEncoder().encode(text), as: UTF8.self))}"
                guard let parsed = try? Pixecom_Orders_V1_ExportOrdersRequest(jsonString: json) else {
                    throw RPCError.invalidArgument(
                        field: field, "is not a status name (e.g. PAID, FULFILLED, OPEN), got \"\(text.prefix(32))\"")
                }
                try export.merge(serializedBytes: try parsed.serializedBytes() as [UInt8])
            }
            let metadata = try await forwarder.metadata(for: request, context: context)
            let exportRequest = export
            let body = ResponseBody { writer in
                try await orders.serverStreaming(
                    OrderMethods.exportOrders, exportRequest, as: Pixecom_Orders_V1_ExportChunk.self, metadata: metadata
                ) { stream in
                    for try await chunk in stream {
                        try await writer.write(ByteBuffer(bytes: chunk.data))
                    }
                }
                try await writer.finish(nil)
            }
            var headers = HTTPFields()
            headers[.contentType] = "text/csv; charset=utf-8"
            headers[.contentDisposition] = "attachment; filename=\"orders.csv\""
            return Response(status: .ok, headers: headers, body: body)
        }
    }
}
