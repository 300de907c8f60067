import Foundation

/// A stored password hash in PHC string format: `$scrypt$ln=17,r=8,p=1$<salt>$<hash>`, salt and
/// hash in base64 without padding. The parameters travel with the hash, so hashes made under
/// older parameters still verify and are recognised for an upgrade at the next login.
struct PasswordHash: Sendable, Equatable {
    /// scrypt cost parameters: N = 2^logN, block size r, parallelism p.
    struct Parameters: Sendable, Equatable, CustomStringConvertible {
        var logN: Int
        var r: Int
        var p: Int

        /// OWASP Password Storage Cheat Sheet: scrypt N=2^17 (128 MiB), r=8, p=1.
        static let owasp = Parameters(logN: 17, r: 8, p: 1)

        /// Bounds accepted when parsing a stored hash, so a corrupt row cannot ask for terabytes.
        var isWithinBounds: Bool {
            (10...20).contains(self.logN) && (1...16).contains(self.r) && (1...4).contains(self.p)
        }

        /// Bytes scrypt needs: 128 * N * r * p.
        var memoryBytes: Int { 128 * (1 << self.logN) * self.r * self.p }

        var description: String { "ln=\(self.logN),r=\(self.r),p=\(self.p)" }
    }

    var parameters: Parameters
    var salt: [UInt8]
    var hash: [UInt8]

    var encoded: String {
        "$scrypt$\(self.parameters)$\(Self.base64(self.salt))$\(Self.base64(self.hash))"
    }

    /// Parses a stored hash; nil when it is not one this service wrote.
    init?(encoded: String) {
        let parts = encoded.split(separator: "$", omittingEmptySubsequences: false)
        guard parts.count == 5, parts[0].isEmpty, parts[1] == "scrypt" else { return nil }
        var values: [String: Int] = [:]
        for pair in parts[2].split(separator: ",") {
            let keyValue = pair.split(separator: "=")
            guard keyValue.count == 2, let value = Int(keyValue[1]) else { return nil }
            values[String(keyValue[0])] = value
        }
        guard let logN = values["ln"], let r = values["r"], let p = values["p"],
            let salt = Self.unbase64(parts[3]), let hash = Self.unbase64(parts[4]),
            salt.count >= 16, hash.count >= 16
        else { return nil }
        let parameters = Parameters(logN: logN, r: r, p: p)
        guard parameters.isWithinBounds else { return nil }
        self.init(parameters: parameters, salt: salt, hash: hash)
    }

    init(parameters: Parameters, salt: [UInt8], hash: [UInt8]) {
        self.parameters = parameters
        self.salt = salt
        self.hash = hash
    }

    private static func base64(_ bytes: [UInt8]) -> String {
        Data(bytes).base64EncodedString().replacingOccurrences(of: "=", with: "")
    }

    private static func unbase64(_ text: Substring) -> [UInt8]? {
        var padded = String(text)
        while padded.count % 4 != 0 { padded += "=" }
        return Data(base64Encoded: padded).map { [UInt8]($0) }
    }
}
