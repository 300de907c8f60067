import RPCKit
import SwiftProtobuf

/// Names the field of a JSON request body that SwiftProtobuf's decoder refused, and why.
///
/// `JSONDecodingError` says neither which field failed nor, reliably, what was wrong (a number
/// out of range can come back as `invalidUTF8`). So, only once a body has been refused, this
/// splits the body along its own structure and decodes one field at a time (the field inside
/// its parents, nothing else) until it finds the smallest part that still fails; then it probes
/// that position with sample values (`0`, `"x"`, `{}`...) to tell what the field accepts. The
/// field is named by its JSON path as sent (`dailyBudget`, `lineItems[1].quantity`).
///
/// The work is bounded (`maxProbes` decodes of small documents), so a hostile body costs little
/// more than the decode that failed.
struct JSONBodyDiagnosis<M: SwiftProtobuf.Message> {
    let options: JSONDecodingOptions
    private var probes = 0
    private static var maxProbes: Int { 256 }

    init(options: JSONDecodingOptions) {
        self.options = options
    }

    /// The `INVALID_ARGUMENT` error for a `body` that failed to decode with `error`.
    static func error(for error: JSONDecodingError, body: [UInt8], options: JSONDecodingOptions) -> RPCError {
        if case .messageDepthLimit = error {
            return RPCError.invalidArgument(field: "body", "is nested too deeply")
        }
        var scanner = JSONScanner(bytes: body)
        guard let root = scanner.document() else {
            return RPCError.invalidArgument(field: "body", "is not valid JSON")
        }
        guard case .object = root.kind else {
            return RPCError.invalidArgument(field: "body", "must be a JSON object")
        }
        var diagnosis = JSONBodyDiagnosis(options: options)
        guard let culprit = diagnosis.locate(root, path: "", wrap: { $0 }) else {
            return RPCError.invalidArgument(field: "body", "is not valid JSON for this request: \(error)")
        }
        return RPCError.invalidArgument(field: culprit.path, diagnosis.reason(culprit))
    }

    /// The deepest part of `node` that fails on its own.
    private struct Culprit {
        var path: String
        var value: JSONScanner.Node
        var error: any Error
        /// Builds the whole document around a value put where the culprit is.
        var wrap: ([UInt8]) -> [UInt8]
    }

    /// Tries each member of `node` alone (inside its parents); descends into the first that
    /// fails. `wrap` turns JSON text at `node`'s position into a whole document.
    private mutating func locate(_ node: JSONScanner.Node, path: String, wrap: @escaping ([UInt8]) -> [UInt8]) -> Culprit? {
        switch node.kind {
        case .scalar:
            return nil
        case .object(let members):
            for member in members {
                let key = member.rawKey
                let around: ([UInt8]) -> [UInt8] = { wrap([UInt8(ascii: "{")] + key + [UInt8(ascii: ":")] + $0 + [UInt8(ascii: "}")]) }
                let childPath = path.isEmpty ? member.name : path + "." + member.name
                if let found = self.check(member.value, path: childPath, wrap: around) { return found }
            }
        case .array(let elements):
            for (index, element) in elements.enumerated() {
                let around: ([UInt8]) -> [UInt8] = { wrap([UInt8(ascii: "[")] + $0 + [UInt8(ascii: "]")]) }
                if let found = self.check(element, path: path + "[\(index)]", wrap: around) { return found }
            }
        }
        return nil
    }

    /// nil when `value` decodes at its position; otherwise the culprit inside it (or itself).
    private mutating func check(_ value: JSONScanner.Node, path: String, wrap: @escaping ([UInt8]) -> [UInt8]) -> Culprit? {
        guard let error = self.decodeError(wrap(Array(value.raw))) else { return nil }
        let culprit = Culprit(path: path, value: value, error: error, wrap: wrap)
        // Descend only when the field takes a container of this kind at all; otherwise the
        // container itself is the wrong type.
        let empty: [UInt8]
        switch value.kind {
        case .scalar: return culprit
        case .object: empty = Array("{}".utf8)
        case .array: empty = Array("[]".utf8)
        }
        guard self.decodeError(wrap(empty)) == nil else { return culprit }
        return self.locate(value, path: path, wrap: wrap) ?? culprit
    }

    /// The error of decoding `document`, nil when it decodes (or when the probe budget is spent,
    /// which then stops the search where it is).
    private mutating func decodeError(_ document: [UInt8]) -> (any Error)? {
        guard self.probes < Self.maxProbes else { return nil }
        self.probes += 1
        do {
            _ = try M(jsonUTF8Bytes: document, options: self.options)
            return nil
        } catch {
            return error
        }
    }

    private mutating func accepts(_ sample: String, at culprit: Culprit) -> Bool {
        self.probes < Self.maxProbes && self.decodeError(culprit.wrap(Array(sample.utf8))) == nil
    }

    /// Why the culprit's value was refused, in words.
    private mutating func reason(_ culprit: Culprit) -> String {
        if case .unknownField = culprit.error as? JSONDecodingError {
            return "is not a field of this request"
        }
        let text = String(decoding: culprit.value.raw.prefix(64), as: UTF8.self)
        if case .unrecognizedEnumValue = culprit.error as? JSONDecodingError {
            return "\(text) is not one of its values"
        }
        let first = culprit.value.raw.first ?? 0
        let isNumber = first == UInt8(ascii: "-") || (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(first)
        let numeric = self.accepts("0", at: culprit)
        if numeric && (isNumber || (first == UInt8(ascii: "\"") && self.accepts("\"0\"", at: culprit))) {
            let digits = culprit.value.raw.filter { $0 != UInt8(ascii: "\"") }
            let looksNumeric = !digits.isEmpty && digits.allSatisfy { "0123456789+-.eE".utf8.contains($0) }
            guard looksNumeric else { return "\(text) is not a number" }
            if !self.accepts("0.5", at: culprit), let dot = digits.firstIndex(of: UInt8(ascii: ".")),
                digits[(dot + 1)...].prefix(while: { (UInt8(ascii: "0")...UInt8(ascii: "9")).contains($0) }).contains(where: {
                    $0 != UInt8(ascii: "0")
                })
            {
                return "\(text) is not a whole number"
            }
            return "\(text) is out of range for this field"
        }
        var expected: [String] = []
        if self.accepts("{}", at: culprit) { expected.append("an object") }
        if self.accepts("[]", at: culprit) { expected.append("an array") }
        if self.accepts("true", at: culprit) { expected.append("true or false") }
        if numeric {
            expected.append(self.accepts("\"0\"", at: culprit) ? "a number or a string of digits" : "a number")
        }
        if case .unrecognizedEnumValue = self.decodeErrorIfAny(culprit, "\"?\"") as? JSONDecodingError {
            expected.append("one of its names")
        } else if self.accepts("\"x\"", at: culprit) {
            expected.append("a string")
        }
        guard !expected.isEmpty else { return "has a value this field does not take" }
        return "must be \(expected.joined(separator: " or ")), not \(Self.kind(of: first))"
    }

    private mutating func decodeErrorIfAny(_ culprit: Culprit, _ sample: String) -> (any Error)? {
        self.decodeError(culprit.wrap(Array(sample.utf8)))
    }

    private static func kind(of first: UInt8) -> String {
        switch first {
        case UInt8(ascii: "\""): "a string"
        case UInt8(ascii: "{"): "an object"
        case UInt8(ascii: "["): "an array"
        case UInt8(ascii: "t"), UInt8(ascii: "f"): "a boolean"
        case UInt8(ascii: "n"): "null"
        default: "a number"
        }
    }
}
