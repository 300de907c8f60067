import Foundation
import HTTPTypes
import Hummingbird
import NIOCore
import NIOFoundationCompat
import PixEcomProtos
import RPCKit
import ServiceKit

/// Asset uploads, whose bodies are the file's bytes rather than JSON: written by hand for that
/// (`manual_route` of `AppendAssetUpload` in campaign.proto). Their bodies may be as large as
/// `PIXECOM_HTTP_MAX_UPLOAD_BYTES` (`EdgeConnectionHandler.isUpload`); the edge passes them on
/// in chunks of the service's `max_chunk_bytes`, one RPC each, in order.
///
/// - `POST /v1/assets`: a whole file, as `multipart/form-data` (a part `file`, optional parts
///   `name` and `type`) or as the body itself (`?name=...&type=...`, any other Content-Type).
///   Start, the chunks and Finish in one request; the answer is the asset (`deduplicated` when
///   the seller had these bytes already).
/// - `PUT /v1/asset-uploads/{uploadId}?offset=N`: the next part of a chunked upload (started with
///   `POST /v1/asset-uploads`, ended with `POST /v1/asset-uploads/{uploadId}/finish`).
extension EdgeRoutes {
    func addAssets(to router: Router<EdgeRequestContext>) {
        let campaign = self.clients.campaign
        let forwarder = self.forwarder

        router.post("/v1/assets") { request, context in
            try Self.requireCredentials(request, context)
            var request = request
            let body = try await request.collectBody(upTo: forwarder.maxUploadBytes)
            let file = try UploadedFile(request: request, body: body)
            var start = Pixecom_Campaign_V1_StartAssetUploadRequest()
            start.name = file.name
            start.type = file.type
            start.sizeBytes = Int64(file.bytes.readableBytes)
            let upload = try await forwarder.call(
                campaign, CampaignMethods.startAssetUpload, start, as: Pixecom_Campaign_V1_AssetUpload.self, http: request, context: context
            )
            _ = try await Self.append(
                file.bytes, at: 0, to: upload, client: campaign, forwarder: forwarder, request: request, context: context)
            var finish = Pixecom_Campaign_V1_FinishAssetUploadRequest()
            finish.uploadID = upload.uploadID
            let asset = try await forwarder.call(
                campaign, CampaignMethods.finishAssetUpload, finish, as: Pixecom_Campaign_V1_Asset.self, http: request, context: context)
            return try forwarder.json(asset)
        }

        router.put("/v1/asset-uploads/:uploadId") { request, context in
            try Self.requireCredentials(request, context)
            var request = request
            let uploadID = try context.parameters.require("uploadId")
            let offsets = request.uri.queryParameters.getAll("offset")
            guard offsets.count == 1, let offset = Int64(offsets[0]), offset >= 0 else {
                throw RPCError.invalidArgument(
                    field: "offset", "is required once in the query: where this part starts, the bytes received so far (e.g. ?offset=0)")
            }
            // No asset is larger; the offsets of the chunks sent on are computed from it.
            guard offset <= Self.maxOffset else {
                throw RPCError.invalidArgument(field: "offset", "is \(offset); no upload is larger than \(Self.maxOffset) bytes")
            }
            let body = try await request.collectBody(upTo: forwarder.maxUploadBytes)
            guard body.readableBytes > 0 else { throw RPCError.invalidArgument(field: "body", "is empty: send the next bytes of the file") }
            var upload = Pixecom_Campaign_V1_AssetUpload()
            upload.uploadID = uploadID
            upload.maxChunkBytes = Int32(Self.defaultChunkBytes)
            let state = try await Self.append(
                body, at: offset, to: upload, client: campaign, forwarder: forwarder, request: request, context: context)
            return try forwarder.json(state)
        }
    }

    /// UNAUTHENTICATED before anything of the body is read when no credentials came with it, as
    /// the service would answer (a body is only worth reading for a caller who may upload).
    static func requireCredentials(_ request: Request, _ context: EdgeRequestContext) throws {
        guard context.authorization != nil || request.headers[.authorization] != nil else {
            throw RPCError(.unauthenticated, "missing access token (authorization: Bearer <token>)")
        }
    }

    /// The largest offset a part may start at: 1 GiB, the largest asset (a video).
    static let maxOffset: Int64 = 1 << 30

    /// The chunk size used when the service has not said its own (1 MiB, CampaignService's).
    static let defaultChunkBytes = 1 << 20

    /// Sends `bytes` from `offset` as consecutive Append calls; the upload as the last one left it.
    static func append(
        _ bytes: ByteBuffer, at offset: Int64, to upload: Pixecom_Campaign_V1_AssetUpload, client: RPCClient, forwarder: RPCForwarder,
        request: Request, context: EdgeRequestContext
    ) async throws -> Pixecom_Campaign_V1_AssetUpload {
        var state = upload
        try await Self.inChunks(bytes, from: offset, maxChunkBytes: Int(upload.maxChunkBytes)) { chunkOffset, data in
            var append = Pixecom_Campaign_V1_AppendAssetUploadRequest()
            append.uploadID = upload.uploadID
            append.offset = chunkOffset
            append.data = data
            state = try await forwarder.call(
                client, CampaignMethods.appendAssetUpload, append, as: Pixecom_Campaign_V1_AssetUpload.self, http: request, context: context
            )
        }
        return state
    }

    /// Calls `send` with consecutive slices of `bytes` (each at most `maxChunkBytes`, or
    /// `defaultChunkBytes` when that is 0) and the offset each starts at, `offset` first: the
    /// relay of every chunked upload (assets, order imports).
    static func inChunks(
        _ bytes: ByteBuffer, from offset: Int64, maxChunkBytes: Int, send: (_ offset: Int64, _ data: Data) async throws -> Void
    ) async throws {
        let chunk = maxChunkBytes > 0 ? maxChunkBytes : Self.defaultChunkBytes
        var sent = 0
        while sent < bytes.readableBytes {
            let length = min(chunk, bytes.readableBytes - sent)
            let slice = bytes.getSlice(at: bytes.readerIndex + sent, length: length)!
            try await send(offset + Int64(sent), Data(buffer: slice, byteTransferStrategy: .noCopy))
            sent += length
        }
    }
}

/// The file of a `POST /v1/assets`: from a multipart form, or the body itself.
struct UploadedFile {
    var name: String
    var type: String
    var bytes: ByteBuffer

    init(request: Request, body: ByteBuffer) throws {
        let query = request.uri.queryParameters
        if let contentType = request.headers[.contentType], let boundary = try MultipartForm.boundary(ofContentType: contentType) {
            let form = try MultipartForm(body, boundary: boundary)
            let files = form.parts(named: "file")
            guard files.count == 1, let file = files.first else {
                throw RPCError.invalidArgument(
                    field: "file", files.isEmpty ? "is required: a form part named \"file\" with the file's bytes" : "must be given once")
            }
            func text(_ field: String) throws -> String? {
                let parts = form.parts(named: field)
                guard parts.count <= 1 else { throw RPCError.invalidArgument(field: field, "must be given once") }
                return parts.first.map { String(buffer: $0.body) }
            }
            self.name = try text("name") ?? file.filename ?? ""
            self.type = try text("type") ?? ""
            self.bytes = file.body
            if self.name.isEmpty {
                throw RPCError.invalidArgument(field: "name", "is required: a form part \"name\", or a filename on the \"file\" part")
            }
        } else {
            self.name = query.get("name") ?? ""
            self.type = query.get("type") ?? ""
            self.bytes = body
            if self.name.isEmpty {
                throw RPCError.invalidArgument(
                    field: "name", "is required in the query for a direct upload, e.g. POST /v1/assets?name=photo.jpg")
            }
        }
        if self.bytes.readableBytes == 0 {
            throw RPCError.invalidArgument(field: "file", "is empty: an asset needs at least one byte")
        }
    }
}
