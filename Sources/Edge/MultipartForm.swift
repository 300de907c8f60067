import Foundation
import NIOCore
import RPCKit

/// A `multipart/form-data` body (RFC 7578), as browsers send a form with a file: its parts, each
/// with its form field name, the file name when it is a file, and its bytes.
struct MultipartForm {
    struct Part {
        var name: String
        var filename: String?
        var contentType: String?
        var body: ByteBuffer
    }

    var parts: [Part]

    /// The boundary of a `multipart/form-data` content type; nil for any other type.
    static func boundary(ofContentType contentType: String) throws -> String? {
        let pieces = contentType.split(separator: ";").map { $0.trimmingCharacters(in: .whitespaces) }
        guard pieces.first?.lowercased() == "multipart/form-data" else { return nil }
        for piece in pieces.dropFirst() {
            let pair = piece.split(separator: "=", maxSplits: 1).map(String.init)
            guard pair.count == 2, pair[0].lowercased() == "boundary" else { continue }
            var value = pair[1]
            if value.count >= 2, value.hasPrefix("\""), value.hasSuffix("\"") { value = String(value.dropFirst().dropLast()) }
            guard (1...70).contains(value.utf8.count) else {
                throw RPCError.invalidArgument(
                    field: "Content-Type", "has a multipart boundary of \(value.utf8.count) characters; 1 to 70 are allowed")
            }
            return value
        }
        throw RPCError.invalidArgument(field: "Content-Type", "is multipart/form-data without a boundary")
    }

    /// The parts of `body`, delimited by `boundary`. INVALID_ARGUMENT naming `body` when it is not
    /// a well-formed multipart body.
    init(_ body: ByteBuffer, boundary: String) throws {
        func malformed(_ reason: String) -> RPCError {
            RPCError.invalidArgument(field: "body", "is not valid multipart/form-data: \(reason)")
        }
        let bytes = body.readableBytesView
        let start = bytes.startIndex
        let delimiter = Array("--\(boundary)".utf8)
        let separator = Array("\r\n--\(boundary)".utf8)
        // The first delimiter may follow a preamble; everything before it is ignored.
        guard var cursor = Self.find(delimiter, in: bytes, from: start) else { throw malformed("no --\(boundary) delimiter") }
        cursor += delimiter.count
        var parts: [Part] = []
        while true {
            // After a delimiter: "--" closes the body; else CRLF and a part's headers follow.
            if bytes[cursor...].starts(with: Array("--".utf8)) { break }
            guard bytes[cursor...].starts(with: [13, 10]) else { throw malformed("a delimiter is not followed by a line break") }
            cursor += 2
            guard let headersEnd = Self.find([13, 10, 13, 10], in: bytes, from: cursor) else {
                throw malformed("a part's headers do not end with an empty line")
            }
            let headerText = String(decoding: bytes[cursor..<headersEnd], as: UTF8.self)
            let contentStart = headersEnd + 4
            guard let contentEnd = Self.find(separator, in: bytes, from: contentStart) else {
                throw malformed("the last part is not closed by --\(boundary)--")
            }
            var part = Part(
                name: "", body: body.getSlice(at: body.readerIndex + (contentStart - start), length: contentEnd - contentStart)!)
            for line in headerText.components(separatedBy: "\r\n") {
                let pair = line.split(separator: ":", maxSplits: 1).map { $0.trimmingCharacters(in: .whitespaces) }
                guard pair.count == 2 else { continue }
                switch pair[0].lowercased() {
                case "content-disposition":
                    let parameters = Self.parameters(pair[1])
                    part.name = parameters["name"] ?? ""
                    part.filename = parameters["filename"]
                case "content-type":
                    part.contentType = pair[1]
                default:
                    break
                }
            }
            guard !part.name.isEmpty else { throw malformed("a part has no Content-Disposition form-data name") }
            parts.append(part)
            cursor = contentEnd + separator.count
            guard cursor < bytes.endIndex else { throw malformed("the body ends inside a delimiter") }
        }
        self.parts = parts
    }

    /// The parts named `name`.
    func parts(named name: String) -> [Part] {
        self.parts.filter { $0.name == name }
    }

    /// `form-data; name="file"; filename="a.jpg"` as its parameters (quotes removed).
    static func parameters(_ value: String) -> [String: String] {
        var result: [String: String] = [:]
        for piece in value.split(separator: ";").dropFirst() {
            let pair = piece.split(separator: "=", maxSplits: 1).map { $0.trimmingCharacters(in: .whitespaces) }
            guard pair.count == 2 else { continue }
            var text = pair[1]
            if text.count >= 2, text.hasPrefix("\""), text.hasSuffix("\"") {
                text = String(text.dropFirst().dropLast()).replacingOccurrences(of: "\\\"", with: "\"")
            }
            result[pair[0].lowercased()] = text
        }
        return result
    }

    /// The index where `needle` starts in `bytes` at or after `from`.
    static func find(_ needle: [UInt8], in bytes: ByteBufferView, from: Int) -> Int? {
        guard let first = needle.first, !needle.isEmpty else { return nil }
        var index = from
        let last = bytes.endIndex - needle.count
        while index <= last {
            guard let candidate = bytes[index...last].firstIndex(of: first) else { return nil }
            if bytes[candidate..<(candidate + needle.count)].elementsEqual(needle) { return candidate }
            index = candidate + 1
        }
        return nil
    }
}
