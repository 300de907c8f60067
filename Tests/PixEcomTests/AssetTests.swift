import Crypto
import Foundation
import Logging
import NIOCore
import PostgresNIO
import RPCKit
import Testing

@testable import CampaignService
@testable import Edge

/// Files of each format, small and well formed enough for their headers to be read.
enum AssetFixtures {
    /// A PNG of `width` x `height`; `salt` changes its bytes but not its header.
    static func png(width: UInt32, height: UInt32, salt: String = "") -> Data {
        var bytes: [UInt8] = [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A, 0, 0, 0, 13] + Array("IHDR".utf8)
        bytes += Self.bigEndian(width) + Self.bigEndian(height) + [8, 2, 0, 0, 0, 0x12, 0x34, 0x56, 0x78]
        bytes += [0, 0, 0, UInt8(salt.utf8.count)] + Array("tEXt".utf8) + Array(salt.utf8) + [0, 0, 0, 0]
        bytes += [0, 0, 0, 0] + Array("IEND".utf8) + [0xAE, 0x42, 0x60, 0x82]
        return Data(bytes)
    }

    /// A JPEG (JFIF) of `width` x `height`, its frame header behind an APP0 segment.
    static func jpeg(width: UInt16, height: UInt16) -> Data {
        var bytes: [UInt8] = [0xFF, 0xD8, 0xFF, 0xE0, 0x00, 0x10] + Array("JFIF".utf8) + [0, 1, 1, 0, 0, 1, 0, 1, 0, 0]
        bytes +=
            [0xFF, 0xC0, 0x00, 0x11, 0x08] + Self.bigEndian16(height) + Self.bigEndian16(width) + [3, 1, 0x22, 0, 2, 0x11, 1, 3, 0x11, 1]
        bytes += [0xFF, 0xD9]
        return Data(bytes)
    }

    static func gif(width: UInt16, height: UInt16) -> Data {
        Data(Array("GIF89a".utf8) + [UInt8(width & 0xFF), UInt8(width >> 8), UInt8(height & 0xFF), UInt8(height >> 8), 0, 0, 0, 0x3B])
    }

    /// A WebP with a VP8X (extended) header.
    static func webpExtended(width: Int, height: Int) -> Data {
        var bytes = Array("RIFF".utf8) + [30, 0, 0, 0] + Array("WEBPVP8X".utf8) + [10, 0, 0, 0, 0, 0, 0, 0]
        bytes += Self.littleEndian24(width - 1) + Self.littleEndian24(height - 1)
        return Data(bytes)
    }

    /// A lossless WebP (VP8L).
    static func webpLossless(width: Int, height: Int) -> Data {
        let bits = UInt32(width - 1) | UInt32(height - 1) << 14
        let bytes =
            Array("RIFF".utf8) + [26, 0, 0, 0] + Array("WEBPVP8L".utf8) + [5, 0, 0, 0, 0x2F]
            + [UInt8(bits & 0xFF), UInt8((bits >> 8) & 0xFF), UInt8((bits >> 16) & 0xFF), UInt8(bits >> 24), 0, 0, 0, 0, 0]
        return Data(bytes)
    }

    /// A lossy WebP (VP8).
    static func webpLossy(width: UInt16, height: UInt16) -> Data {
        let bytes =
            Array("RIFF".utf8) + [26, 0, 0, 0] + Array("WEBPVP8 ".utf8) + [10, 0, 0, 0, 0x30, 0x01, 0x00, 0x9D, 0x01, 0x2A]
            + [UInt8(width & 0xFF), UInt8(width >> 8), UInt8(height & 0xFF), UInt8(height >> 8), 0, 0]
        return Data(bytes)
    }

    /// An MP4 (or, with brand `qt  `, a QuickTime movie) of `size` bytes: an ftyp box, then filler.
    static func mp4(size: Int, brand: String = "isom", seed: UInt8 = 1) -> Data {
        var bytes: [UInt8] = [0, 0, 0, 0x18] + Array("ftyp".utf8) + Array(brand.utf8) + [0, 0, 2, 0] + Array("isomiso2".utf8)
        bytes.reserveCapacity(size)
        var value = seed
        while bytes.count < size {
            value = value &* 31 &+ 7
            bytes.append(value)
        }
        return Data(bytes.prefix(size))
    }

    static func bigEndian(_ value: UInt32) -> [UInt8] {
        [UInt8(value >> 24), UInt8((value >> 16) & 0xFF), UInt8((value >> 8) & 0xFF), UInt8(value & 0xFF)]
    }
    static func bigEndian16(_ value: UInt16) -> [UInt8] { [UInt8(value >> 8), UInt8(value & 0xFF)] }
    static func littleEndian24(_ value: Int) -> [UInt8] { [UInt8(value & 0xFF), UInt8((value >> 8) & 0xFF), UInt8((value >> 16) & 0xFF)] }

    static func hex(_ data: Data) -> String { SHA256.hash(data: data).map { String(format: "%02x", $0) }.joined() }
}

@Suite("Assets")
struct AssetTests {
    typealias Reply = EdgeHTTPClient.Reply

    @Test("each format is told by its bytes, with an image's size; anything else is refused naming the field")
    func formatsByTheirBytes() throws {
        func identify(_ data: Data, whole: Bool = true) throws -> AssetContent { try AssetContent.identify(Array(data), whole: whole) }
        #expect(
            try identify(AssetFixtures.png(width: 1200, height: 628))
                == AssetContent(type: .image, mimeType: "image/png", width: 1200, height: 628))
        #expect(
            try identify(AssetFixtures.jpeg(width: 1080, height: 1350))
                == AssetContent(type: .image, mimeType: "image/jpeg", width: 1080, height: 1350))
        #expect(
            try identify(AssetFixtures.gif(width: 300, height: 250))
                == AssetContent(type: .image, mimeType: "image/gif", width: 300, height: 250))
        #expect(try identify(AssetFixtures.webpExtended(width: 1080, height: 1920)).width == 1080)
        #expect(try identify(AssetFixtures.webpExtended(width: 1080, height: 1920)).height == 1920)
        #expect(
            try identify(AssetFixtures.webpLossless(width: 100, height: 50))
                == AssetContent(type: .image, mimeType: "image/webp", width: 100, height: 50))
        #expect(
            try identify(AssetFixtures.webpLossy(width: 640, height: 480))
                == AssetContent(type: .image, mimeType: "image/webp", width: 640, height: 480))
        #expect(try identify(AssetFixtures.mp4(size: 64)) == AssetContent(type: .video, mimeType: "video/mp4"))
        #expect(try identify(AssetFixtures.mp4(size: 64, brand: "qt  ")) == AssetContent(type: .video, mimeType: "video/quicktime"))
        #expect(try identify(Data([0x1A, 0x45, 0xDF, 0xA3, 1, 2, 3])) == AssetContent(type: .video, mimeType: "video/webm"))
        #expect(try identify(Data("Summer sale — 20% off\nToday only".utf8)) == AssetContent(type: .text, mimeType: "text/plain"))

        func refusal(_ data: Data, whole: Bool = true) -> String {
            do {
                _ = try identify(data, whole: whole)
                return "accepted"
            } catch let error as RPCError {
                return (error.fieldViolations.first.map { $0.field + ": " + $0.description } ?? error.message)
            } catch {
                return "\(error)"
            }
        }
        #expect(refusal(Data([0, 1, 2, 0xFE, 0xFF])).hasPrefix("data: is not a supported file"))
        #expect(refusal(Data("text with a NUL\0 inside".utf8)).hasPrefix("data: is not a supported file"))
        // A text is only a text when all of it is read: a first chunk alone is not enough.
        #expect(refusal(Data("only the first chunk".utf8), whole: false).hasPrefix("data: is not a supported file"))
        #expect(refusal(AssetFixtures.mp4(size: 64, brand: "M4A ")).contains("audio"))
        #expect(refusal(Data([0xFF, 0xD8, 0xFF, 0xE0, 0x00, 0x04, 0, 0])).contains("without a frame header"))
        #expect(refusal(AssetFixtures.png(width: 0, height: 10)).contains("0x10 pixels"))
        #expect(refusal(AssetFixtures.png(width: 40_000, height: 10)).contains("1 to 30000"))
        #expect(refusal(Data(AssetFixtures.png(width: 5, height: 5).prefix(20))).contains("IHDR"))
    }

    @Test("a multipart body's parts, with their names, file names and exact bytes; a malformed one is refused")
    func multipartForms() throws {
        let file = Data([0x89, 0x50, 0x0D, 0x0A, 0x2D, 0x2D, 0x00, 0xFF])  // a CR LF and "--" inside the bytes
        var body = Data("preamble\r\n--XyZ\r\nContent-Disposition: form-data; name=\"name\"\r\n\r\nbanner.png\r\n".utf8)
        body += Data("--XyZ\r\nContent-Disposition: form-data; name=\"file\"; filename=\"b.png\"\r\nContent-Type: image/png\r\n\r\n".utf8)
        body += file + Data("\r\n--XyZ--\r\n".utf8)
        #expect(try MultipartForm.boundary(ofContentType: "multipart/form-data; boundary=\"XyZ\"") == "XyZ")
        #expect(try MultipartForm.boundary(ofContentType: "image/png") == nil)
        #expect(throws: RPCError.self) { try MultipartForm.boundary(ofContentType: "multipart/form-data") }
        let form = try MultipartForm(ByteBuffer(bytes: body), boundary: "XyZ")
        #expect(form.parts.map(\.name) == ["name", "file"])
        #expect(String(buffer: form.parts[0].body) == "banner.png")
        #expect(form.parts[1].filename == "b.png" && form.parts[1].contentType == "image/png")
        #expect(Data(buffer: form.parts[1].body) == file)
        let unterminated = Data("--XyZ\r\nContent-Disposition: form-data; name=\"file\"\r\n\r\nabc".utf8)
        #expect(throws: RPCError.self) { try MultipartForm(ByteBuffer(bytes: unterminated), boundary: "XyZ") }
    }

    /// A multipart body with a `file` part (and any other text parts).
    static func form(_ file: Data, filename: String, fields: [(String, String)] = [], boundary: String = "pixecom-test-7Q") -> Data {
        var body = Data()
        for (name, value) in fields {
            body += Data("--\(boundary)\r\nContent-Disposition: form-data; name=\"\(name)\"\r\n\r\n\(value)\r\n".utf8)
        }
        body += Data("--\(boundary)\r\nContent-Disposition: form-data; name=\"file\"; filename=\"\(filename)\"\r\n".utf8)
        body += Data("Content-Type: application/octet-stream\r\n\r\n".utf8) + file + Data("\r\n--\(boundary)--\r\n".utf8)
        return body
    }

    static func upload(
        _ edge: EdgeHTTPClient, _ path: String, _ body: Data, token: String, contentType: String = "application/octet-stream"
    )
        async throws -> Reply
    {
        try await edge.sendRaw(.POST, path, body: body, headers: [("Authorization", "Bearer \(token)"), ("Content-Type", contentType)])
    }

    @Test(
        "uploads through the edge: multipart or a direct body, told by their bytes, kept once per seller by content, each refusal naming its field and keeping nothing"
    )
    func uploadsThroughTheEdge() async throws {
        let system = try await PixEcomSystem.start(edgeEnvironment: ["PIXECOM_HTTP_MAX_UPLOAD_BYTES": "\(3 << 20)"])
        let edge = try EdgeHTTPClient(port: system.edge.httpPort, caPath: system.certificates.path("ca.pem"))
        do {
            let seller = try await EndToEndTests.register(edge, name: "Assets")
            let token = seller.token
            let banner = AssetFixtures.png(width: 1200, height: 628, salt: "banner")

            // A form with the file: an image, its size read from its header, its SHA-256.
            let first = try await Self.upload(
                edge, "/v1/assets", Self.form(banner, filename: "banner.png"), token: token,
                contentType: "multipart/form-data; boundary=pixecom-test-7Q")
            try #require(first.status == 200, "\(first.text)")
            #expect(JSONValues.string(first.json["type"]) == "IMAGE" && JSONValues.string(first.json["mimeType"]) == "image/png")
            #expect(JSONValues.string(first.json["name"]) == "banner.png")
            #expect(first.json["width"] as? Int == 1200 && first.json["height"] as? Int == 628, "\(first.text)")
            #expect(JSONValues.string(first.json["sha256"]) == AssetFixtures.hex(banner))
            #expect(JSONValues.string(first.json["sizeBytes"]) == "\(banner.count)")
            #expect(first.json["deduplicated"] == nil, "a first upload is new")
            let bannerID = JSONValues.string(first.json["id"])

            // The same bytes again, as a direct body under another name: the first asset.
            let again = try await Self.upload(edge, "/v1/assets?name=copy.png", banner, token: token)
            #expect(again.status == 200 && JSONValues.string(again.json["id"]) == bannerID, "\(again.text)")
            #expect(again.json["deduplicated"] as? Bool == true && JSONValues.string(again.json["name"]) == "banner.png")

            // A text, told by its bytes; a form part names it.
            let headline = try await Self.upload(
                edge, "/v1/assets", Self.form(Data("Summer sale: 20% off".utf8), filename: "h.txt", fields: [("name", "Headline")]),
                token: token, contentType: "multipart/form-data; boundary=pixecom-test-7Q")
            #expect(headline.status == 200 && JSONValues.string(headline.json["type"]) == "TEXT", "\(headline.text)")
            #expect(
                JSONValues.string(headline.json["text"]) == "Summer sale: 20% off" && JSONValues.string(headline.json["name"]) == "Headline"
            )

            // Refusals, each naming its field; none keeps anything.
            let notAnImage = try await Self.upload(edge, "/v1/assets?name=photo.jpg&type=IMAGE", Data("just words".utf8), token: token)
            CampaignShapeTests.expectRefused(notAnImage, 400, field: "type", "text bytes named photo.jpg and declared IMAGE")
            #expect(notAnImage.text.contains("the upload is dropped"), "\(notAnImage.text)")
            let junk = try await Self.upload(edge, "/v1/assets?name=x.bin", Data([0, 1, 2, 3, 0xFE, 0xFF, 0x80]), token: token)
            CampaignShapeTests.expectRefused(junk, 400, field: "data", "bytes of no supported format")
            let unnamed = try await Self.upload(edge, "/v1/assets", banner, token: token)
            CampaignShapeTests.expectRefused(unnamed, 400, field: "name", "a direct body without ?name=")
            let noFile = try await Self.upload(
                edge, "/v1/assets", Data("--b\r\nContent-Disposition: form-data; name=\"name\"\r\n\r\nx\r\n--b--\r\n".utf8), token: token,
                contentType: "multipart/form-data; boundary=b")
            CampaignShapeTests.expectRefused(noFile, 400, field: "file", "a form without its file")
            let tooBig = try await Self.upload(edge, "/v1/assets?name=big.mp4", AssetFixtures.mp4(size: (3 << 20) + 1), token: token)
            #expect(tooBig.status == 413, "over PIXECOM_HTTP_MAX_UPLOAD_BYTES: \(tooBig.status) \(tooBig.text)")
            let bigImage = try await edge.send(
                .POST, "/v1/asset-uploads", json: ["name": "huge.png", "sizeBytes": "\((30 << 20) + 1)", "type": "IMAGE"], token: token)
            CampaignShapeTests.expectRefused(bigImage, 400, field: "size_bytes", "an image over 30 MiB")
            #expect(bigImage.text.contains("30 MiB"), "\(bigImage.text)")

            let listed = try await edge.send(.GET, "/v1/assets", token: token)
            let assets = listed.json["assets"] as? [[String: Any]] ?? []
            #expect(assets.map { JSONValues.string($0["type"]) } == ["IMAGE", "TEXT"], "only what was accepted: \(listed.text)")
            let images = try await edge.send(.GET, "/v1/assets?type=IMAGE", token: token)
            #expect((images.json["assets"] as? [[String: Any]])?.map { JSONValues.string($0["id"]) } == [bannerID])
            let badFilter = try await edge.send(.GET, "/v1/assets?type=AUDIO", token: token)
            CampaignShapeTests.expectRefused(badFilter, 400, field: "type", "an unknown type filter")

            // Another seller uploading the same bytes gets an asset of its own, and sees none of these.
            let other = try await EndToEndTests.register(edge, name: "OtherAssets")
            let theirs = try await Self.upload(edge, "/v1/assets?name=banner.png", banner, token: other.token)
            #expect(theirs.status == 200 && JSONValues.string(theirs.json["id"]) != bannerID && theirs.json["deduplicated"] == nil)
            #expect(try await edge.send(.GET, "/v1/assets/\(bannerID)", token: other.token).status == 404)

            // Deleting frees the content: uploading it again makes a new asset.
            #expect(try await edge.send(.DELETE, "/v1/assets/\(bannerID)", token: token).status == 200)
            #expect(try await edge.send(.GET, "/v1/assets/\(bannerID)", token: token).status == 404)
            let afresh = try await Self.upload(edge, "/v1/assets?name=banner.png", banner, token: token)
            #expect(afresh.status == 200 && JSONValues.string(afresh.json["id"]) != bannerID && afresh.json["deduplicated"] == nil)
        } catch {
            Issue.record("\(error)\n\(system.logs())")
        }
        try? await edge.shutdown()
        await system.stop()
    }

    @Test(
        "a chunked upload: parts at their offsets (a repeated part is a retry, a gap is refused), Finish checks the hash, the plan's storage bounds what may start, and an ASSETS key reaches assets only"
    )
    func chunkedUploadsStorageAndKeys() async throws {
        let system = try await PixEcomSystem.start()
        let edge = try EdgeHTTPClient(port: system.edge.httpPort, caPath: system.certificates.path("ca.pem"))
        do {
            let seller = try await EndToEndTests.register(edge, name: "Chunks")
            let token = seller.token
            let clip = AssetFixtures.mp4(size: (3 << 19) + 100)  // 1.5 MiB and a bit: three chunks
            func put(_ id: String, _ offset: Int, _ bytes: Data) async throws -> Reply {
                try await edge.sendRaw(
                    .PUT, "/v1/asset-uploads/\(id)?offset=\(offset)", body: bytes,
                    headers: [("Authorization", "Bearer \(token)"), ("Content-Type", "application/octet-stream")])
            }
            func start() async throws -> String {
                let started = try await edge.send(
                    .POST, "/v1/asset-uploads", json: ["name": "clip.mp4", "sizeBytes": "\(clip.count)", "type": "VIDEO"], token: token)
                try #require(started.status == 200, "\(started.text)")
                #expect(started.json["maxChunkBytes"] as? Int == 1 << 20 && !JSONValues.string(started.json["expireTime"]).isEmpty)
                return JSONValues.string(started.json["uploadId"])
            }

            let id = try await start()
            let head = clip.prefix((1 << 20) + 50)  // the edge sends it on as two chunks
            let first = try await put(id, 0, head)
            #expect(first.status == 200 && JSONValues.string(first.json["receivedBytes"]) == "\(head.count)", "\(first.text)")
            let early = try await edge.send(.POST, "/v1/asset-uploads/\(id)/finish", json: [:], token: token)
            #expect(
                early.status == 422 && early.errorCode == "FAILED_PRECONDITION" && early.text.contains("from offset \(head.count)"),
                "\(early.text)")
            let retried = try await put(id, 0, clip.prefix(1 << 20))
            #expect(
                retried.status == 200 && JSONValues.string(retried.json["receivedBytes"]) == "\(head.count)", "a retry: \(retried.text)")
            CampaignShapeTests.expectRefused(
                try await put(id, 0, Data("other".utf8)), 400, field: "offset", "other bytes at a taken offset")
            CampaignShapeTests.expectRefused(try await put(id, head.count + 10, Data("x".utf8)), 400, field: "offset", "a gap")
            CampaignShapeTests.expectRefused(try await put(id, head.count, clip + Data("x".utf8)), 400, field: "data", "past the size")
            let missingOffset = try await edge.sendRaw(
                .PUT, "/v1/asset-uploads/\(id)", body: Data("x".utf8), headers: [("Authorization", "Bearer \(token)")])
            CampaignShapeTests.expectRefused(missingOffset, 400, field: "offset", "no offset")
            CampaignShapeTests.expectRefused(
                try await put(id, Int(Int64.max - 10), Data(count: (1 << 20) + 1)), 400, field: "offset", "an offset past any upload")
            let rest = try await put(id, head.count, clip.suffix(from: head.count))
            #expect(JSONValues.string(rest.json["receivedBytes"]) == "\(clip.count)", "\(rest.text)")

            // A hash that differs drops the upload.
            let wrong = try await edge.send(
                .POST, "/v1/asset-uploads/\(id)/finish", json: ["sha256": AssetFixtures.hex(Data("else".utf8))], token: token)
            CampaignShapeTests.expectRefused(wrong, 400, field: "sha256", "a hash of other bytes")
            #expect(try await edge.send(.POST, "/v1/asset-uploads/\(id)/finish", json: [:], token: token).status == 404, "dropped")

            // Again, whole: a video; Finish answers the same when repeated.
            let second = try await start()
            #expect(try await put(second, 0, clip).status == 200)
            let done = try await edge.send(
                .POST, "/v1/asset-uploads/\(second)/finish", json: ["sha256": AssetFixtures.hex(clip)], token: token)
            try #require(done.status == 200, "\(done.text)")
            #expect(JSONValues.string(done.json["type"]) == "VIDEO" && JSONValues.string(done.json["mimeType"]) == "video/mp4")
            let repeated = try await edge.send(.POST, "/v1/asset-uploads/\(second)/finish", json: [:], token: token)
            #expect(JSONValues.string(repeated.json["id"]) == JSONValues.string(done.json["id"]), "\(repeated.text)")
            let late = try await put(second, clip.count, Data("x".utf8))
            #expect(late.status == 422 && late.errorCode == "FAILED_PRECONDITION" && late.text.contains("is finished"), "\(late.text)")

            // The free plan keeps 1 GiB: an upload in progress holds its declared size.
            let used = Int64(clip.count)
            let fill = try await edge.send(
                .POST, "/v1/asset-uploads", json: ["name": "long.mp4", "sizeBytes": "\((Int64(1) << 30) - used)", "type": "VIDEO"],
                token: token)
            #expect(fill.status == 200, "up to the limit: \(fill.text)")
            let over = try await edge.send(.POST, "/v1/asset-uploads", json: ["name": "one.txt", "sizeBytes": "1"], token: token)
            CampaignShapeTests.expectRefused(over, 422, field: "size_bytes", "one byte over the plan's storage")
            #expect(over.errorCode == "FAILED_PRECONDITION" && over.text.contains("1 GiB"), "\(over.text)")

            // An API key scoped ASSETS uploads and reads assets, and nothing else.
            let key = try await edge.send(.POST, "/v1/api-keys", json: ["name": "design tool", "scope": "ASSETS"], token: token)
            try #require(key.status == 200, "\(key.text)")
            let apiKey = JSONValues.string(key.json["key"])
            #expect(try await edge.send(.DELETE, "/v1/assets/\(JSONValues.string(done.json["id"]))", token: apiKey).status == 200)
            let pushed = try await Self.upload(edge, "/v1/assets?name=logo.gif", AssetFixtures.gif(width: 64, height: 64), token: apiKey)
            #expect(pushed.status == 200 && pushed.json["width"] as? Int == 64, "\(pushed.text)")
            #expect(try await edge.send(.GET, "/v1/assets", token: apiKey).status == 200)
            let campaigns = try await edge.send(.GET, "/v1/campaigns", token: apiKey)
            #expect(campaigns.status == 403 && campaigns.text.contains("scoped ASSETS"), "\(campaigns.text)")
            #expect(try await edge.send(.GET, "/v1/members", token: apiKey).status == 403)
        } catch {
            Issue.record("\(error)\n\(system.logs())")
        }
        try? await edge.shutdown()
        await system.stop()
    }

    @Test(
        "the sweep drops uploads left unfinished past their expiry with their chunks, for every seller, and nothing else: finished assets and live uploads stay"
    )
    func sweepOfExpiredUploads() async throws {
        let database = try await CampaignDatabase.create()
        let logger = Logger(label: "test.asset-sweep")
        try await database.withAppClient(connections: 2) { db in
            let store = AssetStore(db: db)
            func caller(_ seller: UUID) -> Caller { Caller(sellerID: seller, plan: "free", logger: logger) }
            let (a, b) = (UUID(), UUID())
            // A's finished asset, A's and B's abandoned uploads (with a chunk each), B's live upload.
            let kept = try await store.start(name: "kept.txt", sizeBytes: 4, declaredType: nil, caller: caller(a))
            _ = try await store.append(uploadID: kept.id, offset: 0, data: Data("kept".utf8), caller: caller(a))
            let asset = try await store.finish(uploadID: kept.id, expectedSHA256: nil, caller: caller(a)).asset
            var abandoned: [UUID] = []
            for seller in [a, b] {
                let upload = try await store.start(name: "gone.txt", sizeBytes: 10, declaredType: nil, caller: caller(seller))
                _ = try await store.append(uploadID: upload.id, offset: 0, data: Data("gone".utf8), caller: caller(seller))
                abandoned.append(upload.id)
            }
            let live = try await store.start(name: "live.txt", sizeBytes: 10, declaredType: nil, caller: caller(b))
            let expired = abandoned
            try await TestDatabases.withClient(database.urls.admin) { admin in
                for id in expired {
                    try await admin.query("UPDATE asset_uploads SET expires_at = now() - interval '1 minute' WHERE id = \(id)")
                }
            }
            #expect(try await store.sweepExpired(limit: 1, logger: logger) == 1, "a batch is bounded")
            #expect(try await store.sweepExpired(limit: 100, logger: logger) == 1)
            #expect(try await store.sweepExpired(limit: 100, logger: logger) == 0)
            let counts = try await TestDatabases.withClient(database.urls.admin) { admin in
                let rows = try await admin.query(
                    "SELECT (SELECT count(*) FROM asset_uploads)::int, (SELECT count(*) FROM asset_chunks)::int, (SELECT count(*) FROM assets)::int"
                )
                var result = (0, 0, 0)
                for try await row in rows.decode((Int, Int, Int).self) { result = row }
                return result
            }
            #expect(counts == (2, 1, 1), "the finished upload, its chunk and asset, and the live upload remain: \(counts)")
            #expect(try await store.asset(asset.id, caller: caller(a)).text == "kept")
            do {
                _ = try await store.append(uploadID: abandoned[0], offset: 4, data: Data("more".utf8), caller: caller(a))
                Issue.record("a swept upload took more bytes")
            } catch {
                #expect(String(reflecting: error).contains("not found"), "\(String(reflecting: error))")
            }
            #expect(try await store.append(uploadID: live.id, offset: 0, data: Data("x".utf8), caller: caller(b)).receivedBytes == 1)
        }
    }
}
