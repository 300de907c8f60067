import Foundation
import PixEcomProtos
import RPCKit
import ServiceKit

/// Assets: uploads in chunks (Start, Append, Finish), reads and deletes. The edge's
/// `POST /v1/assets` sends a whole file through the three; an API key scoped ASSETS reaches these
/// methods and no other (`key_scopes` in campaign.proto).
extension CampaignHandlers {
    func startAssetUpload(
        _ request: Pixecom_Campaign_V1_StartAssetUploadRequest,
        context: ServerContext
    ) async throws -> Pixecom_Campaign_V1_AssetUpload {
        let caller = try await self.caller(context)
        var violations = FieldViolations()
        let name = try violations.check { try RequestValidation.text(request.name, field: "name", maxLength: 255) }
        let declared = try violations.check { try AssetType.declared(request.type, field: "type") }
        let limit = (declared ?? nil)?.maxBytes ?? AssetType.allCases.map(\.maxBytes).max() ?? 0
        if request.sizeBytes <= 0 {
            violations.add(field: "size_bytes", "is required: the whole file's size in bytes, at least 1")
        } else if request.sizeBytes > limit {
            let what = (declared ?? nil).map { $0.noun } ?? "an asset"
            violations.add(field: "size_bytes", "is \(request.sizeBytes); \(what) may be at most \(AssetType.describe(bytes: limit))")
        }
        try violations.throwIfAny()
        guard let name, let declared else { throw RPCError.invalidArgument(violations.violations) }
        let upload = try await self.assets.start(name: name, sizeBytes: request.sizeBytes, declaredType: declared, caller: caller)
        return upload.message
    }

    func appendAssetUpload(
        _ request: Pixecom_Campaign_V1_AppendAssetUploadRequest,
        context: ServerContext
    ) async throws -> Pixecom_Campaign_V1_AssetUpload {
        let caller = try await self.caller(context)
        let id = try RequestValidation.id(request.uploadID, field: "upload_id")
        guard request.offset >= 0 else { throw RPCError.invalidArgument(field: "offset", "must be 0 or more, not \(request.offset)") }
        guard !request.data.isEmpty, request.data.count <= AssetStore.maxChunkBytes else {
            throw RPCError.invalidArgument(
                field: "data",
                "is \(request.data.count) bytes; a chunk is 1 byte to \(AssetType.describe(bytes: Int64(AssetStore.maxChunkBytes)))")
        }
        return try await self.assets.append(uploadID: id, offset: request.offset, data: request.data, caller: caller).message
    }

    func finishAssetUpload(
        _ request: Pixecom_Campaign_V1_FinishAssetUploadRequest,
        context: ServerContext
    ) async throws -> Pixecom_Campaign_V1_Asset {
        let caller = try await self.caller(context)
        let id = try RequestValidation.id(request.uploadID, field: "upload_id")
        var expected: Data?
        if !request.sha256.isEmpty {
            guard let digest = Data(hex: request.sha256), digest.count == 32 else {
                throw RPCError.invalidArgument(field: "sha256", "must be 64 hexadecimal digits (a SHA-256), or empty")
            }
            expected = digest
        }
        let (asset, deduplicated) = try await self.assets.finish(uploadID: id, expectedSHA256: expected, caller: caller)
        var message = asset.message
        message.deduplicated = deduplicated
        return message
    }

    func getAsset(_ request: Pixecom_Campaign_V1_GetRequest, context: ServerContext) async throws -> Pixecom_Campaign_V1_Asset {
        try await self.get(AssetRecord.self, request, context: context).message
    }

    func listAssets(_ request: Pixecom_Campaign_V1_ListAssetsRequest, context: ServerContext) async throws
        -> Pixecom_Campaign_V1_ListAssetsResponse
    {
        var filter = try ListFilter(parentID: "")
        filter.assetType = try AssetType.declared(request.type, field: "type")?.rawValue
        let page = try await self.list(AssetRecord.self, filter, request.pageSize, request.pageToken, context: context)
        return .with {
            $0.assets = page.objects.map(\.message)
            $0.nextPageToken = page.nextPageToken
        }
    }

    /// Idempotent: deleting an asset that is gone answers NOT_FOUND, which a retry may see.
    func deleteAsset(_ request: Pixecom_Campaign_V1_GetRequest, context: ServerContext) async throws
        -> Pixecom_Campaign_V1_DeleteAssetResponse
    {
        try await self.delete(AssetRecord.self, request, context: context) { try await self.assets.delete($0, caller: $1) }
        return .init()
    }
}

extension Data {
    /// The bytes as lower-case hexadecimal, two digits each.
    var hexText: String { self.map { String(format: "%02x", $0) }.joined() }

    /// The bytes of hexadecimal `text` (either case); nil when it is not an even run of hex digits.
    init?(hex text: String) {
        let digits = Array(text.utf8)
        guard digits.count % 2 == 0 else { return nil }
        var bytes = [UInt8]()
        bytes.reserveCapacity(digits.count / 2)
        func value(_ digit: UInt8) -> UInt8? {
            switch digit {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): digit - UInt8(ascii: "0")
            case UInt8(ascii: "a")...UInt8(ascii: "f"): digit - UInt8(ascii: "a") + 10
            case UInt8(ascii: "A")...UInt8(ascii: "F"): digit - UInt8(ascii: "A") + 10
            default: nil
            }
        }
        var index = 0
        while index < digits.count {
            guard let high = value(digits[index]), let low = value(digits[index + 1]) else { return nil }
            bytes.append(high << 4 | low)
            index += 2
        }
        self.init(bytes)
    }
}
