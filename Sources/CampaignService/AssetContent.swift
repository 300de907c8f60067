import Foundation
import RPCKit

/// The kinds of asset, with what each may be.
enum AssetType: String, Sendable, CaseIterable {
    case image = "IMAGE"
    case video = "VIDEO"
    case text = "TEXT"

    /// The largest file of the type: Meta takes images up to 30 MB; videos are capped well
    /// below its 4 GB; a text is a few paragraphs at most.
    var maxBytes: Int64 {
        switch self {
        case .image: 30 << 20
        case .video: 1 << 30
        case .text: 64 << 10
        }
    }

    var noun: String {
        switch self {
        case .image: "an image"
        case .video: "a video"
        case .text: "a text"
        }
    }

    /// The declared type of an upload: nil for empty (told by the bytes), else one of the three.
    static func declared(_ text: String, field: String) throws -> AssetType? {
        guard !text.isEmpty else { return nil }
        guard let type = AssetType(rawValue: text.uppercased()) else {
            throw RPCError.invalidArgument(
                field: field, "must be IMAGE, VIDEO or TEXT (or empty: told by the bytes), not \"\(text.prefix(40))\"")
        }
        return type
    }

    /// "30 MiB", for limits in messages.
    static func describe(bytes: Int64) -> String {
        if bytes >= 1 << 30, bytes % (1 << 30) == 0 { return "\(bytes >> 30) GiB" }
        if bytes >= 1 << 20, bytes % (1 << 20) == 0 { return "\(bytes >> 20) MiB" }
        if bytes >= 1 << 10, bytes % (1 << 10) == 0 { return "\(bytes >> 10) KiB" }
        return "\(bytes) bytes"
    }
}

/// What a file is, told by its bytes: the type, the MIME type, an image's size in pixels.
struct AssetContent: Sendable, Equatable {
    var type: AssetType
    var mimeType: String
    var width: Int?
    var height: Int?

    /// The largest image side taken, in pixels (Meta's own limit is far below).
    static let maxImageSide = 30_000

    /// Identifies `head`, the first bytes of a file (the whole file when `whole`); a text is only
    /// recognised in a whole file (it must be valid UTF-8 throughout). Throws INVALID_ARGUMENT
    /// naming `field` for bytes that are none of the supported formats, or an image whose header
    /// is cut or damaged.
    static func identify(_ head: [UInt8], whole: Bool, field: String = "data") throws -> AssetContent {
        func refuse(_ reason: String) -> RPCError { RPCError.invalidArgument(field: field, reason) }
        if head.starts(with: [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]) {
            guard head.count >= 24, Array(head[12..<16]) == Array("IHDR".utf8) else {
                throw refuse("is a PNG without its IHDR header")
            }
            return try .image("image/png", width: Int(head.bigEndian32(at: 16)), height: Int(head.bigEndian32(at: 20)), refuse: refuse)
        }
        if head.starts(with: Array("GIF87a".utf8)) || head.starts(with: Array("GIF89a".utf8)) {
            guard head.count >= 10 else { throw refuse("is a GIF cut short in its header") }
            return try .image("image/gif", width: Int(head.littleEndian16(at: 6)), height: Int(head.littleEndian16(at: 8)), refuse: refuse)
        }
        if head.starts(with: [0xFF, 0xD8, 0xFF]) {
            guard let (width, height) = Self.jpegSize(head) else {
                throw refuse("is a JPEG without a frame header (SOF) in its first \(head.count) bytes")
            }
            return try .image("image/jpeg", width: width, height: height, refuse: refuse)
        }
        if head.count >= 12, head.starts(with: Array("RIFF".utf8)), Array(head[8..<12]) == Array("WEBP".utf8) {
            guard let (width, height) = Self.webpSize(head) else { throw refuse("is a WebP without a readable VP8, VP8L or VP8X header") }
            return try .image("image/webp", width: width, height: height, refuse: refuse)
        }
        if head.count >= 12, Array(head[4..<8]) == Array("ftyp".utf8) {
            let brand = String(decoding: head[8..<12], as: UTF8.self)
            if ["M4A ", "M4B ", "M4P "].contains(brand) { throw refuse("is MPEG-4 audio (brand \(brand)); a video asset needs a picture") }
            return AssetContent(type: .video, mimeType: brand == "qt  " ? "video/quicktime" : "video/mp4")
        }
        if head.starts(with: [0x1A, 0x45, 0xDF, 0xA3]) {
            return AssetContent(type: .video, mimeType: "video/webm")
        }
        if whole, Self.isText(head) {
            return AssetContent(type: .text, mimeType: "text/plain")
        }
        throw refuse(
            "is not a supported file: an image (JPEG, PNG, GIF, WebP), a video (MP4, QuickTime, WebM) or UTF-8 text, told by its bytes")
    }

    private static func image(
        _ mimeType: String, width: Int, height: Int, refuse: (String) -> RPCError
    ) throws -> AssetContent {
        guard (1...Self.maxImageSide).contains(width), (1...Self.maxImageSide).contains(height) else {
            throw refuse("is an image of \(width)x\(height) pixels; each side must be 1 to \(Self.maxImageSide)")
        }
        return AssetContent(type: .image, mimeType: mimeType, width: width, height: height)
    }

    /// A JPEG's size from its first frame header (SOF0-SOF15 but DHT, JPG and DAC), walking the
    /// segments from the start; nil when none is within `bytes`.
    static func jpegSize(_ bytes: [UInt8]) -> (Int, Int)? {
        var index = 2
        while index + 1 < bytes.count {
            guard bytes[index] == 0xFF else { return nil }
            var marker = bytes[index + 1]
            // Fill bytes: any number of 0xFF before a marker.
            while marker == 0xFF {
                index += 1
                guard index + 1 < bytes.count else { return nil }
                marker = bytes[index + 1]
            }
            index += 2
            // Markers without a length: TEM, RST0-7; SOI again or EOI end the search.
            if marker == 0x01 || (0xD0...0xD7).contains(marker) { continue }
            if marker == 0xD8 || marker == 0xD9 { return nil }
            guard index + 1 < bytes.count else { return nil }
            let length = Int(bytes.bigEndian16(at: index))
            guard length >= 2 else { return nil }
            if (0xC0...0xCF).contains(marker), ![0xC4, 0xC8, 0xCC].contains(marker) {
                // length, precision (1), height (2), width (2)
                guard index + 7 <= bytes.count else { return nil }
                return (Int(bytes.bigEndian16(at: index + 5)), Int(bytes.bigEndian16(at: index + 3)))
            }
            index += length
        }
        return nil
    }

    /// A WebP's canvas from its first chunk: lossy VP8, lossless VP8L or extended VP8X.
    static func webpSize(_ bytes: [UInt8]) -> (Int, Int)? {
        guard bytes.count >= 30 else { return nil }
        switch String(decoding: bytes[12..<16], as: UTF8.self) {
        case "VP8 ":
            // Frame tag (3 bytes), start code 9D 01 2A, then 14-bit width and height.
            guard Array(bytes[23..<26]) == [0x9D, 0x01, 0x2A] else { return nil }
            return (Int(bytes.littleEndian16(at: 26) & 0x3FFF), Int(bytes.littleEndian16(at: 28) & 0x3FFF))
        case "VP8L":
            guard bytes[20] == 0x2F else { return nil }
            let bits = UInt32(bytes[21]) | UInt32(bytes[22]) << 8 | UInt32(bytes[23]) << 16 | UInt32(bytes[24]) << 24
            return (Int(bits & 0x3FFF) + 1, Int((bits >> 14) & 0x3FFF) + 1)
        case "VP8X":
            let width = Int(bytes[24]) | Int(bytes[25]) << 8 | Int(bytes[26]) << 16
            let height = Int(bytes[27]) | Int(bytes[28]) << 8 | Int(bytes[29]) << 16
            return (width + 1, height + 1)
        default:
            return nil
        }
    }

    /// Valid UTF-8 with no control characters but tab, line feed and carriage return.
    static func isText(_ bytes: [UInt8]) -> Bool {
        guard let text = String(validating: bytes, as: UTF8.self) else { return false }
        return !text.unicodeScalars.contains { scalar in
            scalar.properties.generalCategory == .control && !["\t", "\n", "\r"].contains(scalar)
        }
    }
}

extension [UInt8] {
    fileprivate func bigEndian32(at index: Int) -> UInt32 {
        UInt32(self[index]) << 24 | UInt32(self[index + 1]) << 16 | UInt32(self[index + 2]) << 8 | UInt32(self[index + 3])
    }

    fileprivate func bigEndian16(at index: Int) -> UInt16 {
        UInt16(self[index]) << 8 | UInt16(self[index + 1])
    }

    fileprivate func littleEndian16(at index: Int) -> UInt16 {
        UInt16(self[index]) | UInt16(self[index + 1]) << 8
    }
}
